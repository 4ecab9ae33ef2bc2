"""Alert webhooks of a system: anomaly reports are POSTed there by the detection service."""

from fastapi import APIRouter, Response
from sqlmodel import select

from logsynergy_api.deps import PlatformDep, SessionDep, TenantDep
from logsynergy_api.errors import NotFound
from logsynergy_api.models import AlertHook
from logsynergy_api.schemas import HookCreate, HookPublic
from logsynergy_api.services.routing import commit_and_publish
from logsynergy_api.services.systems import get_system

router = APIRouter(prefix="/v1/systems/{name}/hooks", tags=["alert hooks"])


@router.post("", status_code=201, response_model=HookPublic)
def add_hook(
    name: str, body: HookCreate, tenant: TenantDep, session: SessionDep, platform: PlatformDep
) -> object:
    system = get_system(session, tenant, name)
    hook = AlertHook(tenant_id=tenant.id, system_id=system.id, url=body.url)
    session.add(hook)
    commit_and_publish(session, platform.store)
    return hook


@router.get("", response_model=list[HookPublic])
def list_hooks(name: str, tenant: TenantDep, session: SessionDep) -> object:
    system = get_system(session, tenant, name)
    return list(session.exec(select(AlertHook).where(AlertHook.system_id == system.id)))


@router.delete("/{hook_id}", status_code=204)
def delete_hook(
    name: str, hook_id: int, tenant: TenantDep, session: SessionDep, platform: PlatformDep
) -> Response:
    system = get_system(session, tenant, name)
    hook = session.get(AlertHook, hook_id)
    if hook is None or hook.system_id != system.id:
        raise NotFound(f"system {name!r} has no hook {hook_id}")
    session.delete(hook)
    commit_and_publish(session, platform.store)
    return Response(status_code=204)
