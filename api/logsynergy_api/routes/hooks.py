"""Alert webhooks of a system: anomaly reports are POSTed there by the detection service, in the hook's
`format` (LogSynergy's own, or Alertmanager's webhook payload). A URL must pass `check_hook_url` (public
targets only, unless allowed by LOGSYNERGY_HOOK_ALLOW_PRIVATE)."""

from fastapi import APIRouter, Response
from sqlmodel import select

from logsynergy.errors import InputError
from logsynergy_api.deps import PlatformDep, SessionDep, TenantDep
from logsynergy_api.errors import NotFound, responses
from logsynergy_api.models import AlertHook
from logsynergy_api.schemas import HookCreate, HookPublic, NamePath, RowId
from logsynergy_api.services.routing import commit_and_publish
from logsynergy_api.services.systems import get_system
from logsynergy_contracts import HookUrlError, check_hook_url

router = APIRouter(
    prefix="/v1/systems/{name}/hooks", tags=["alert hooks"], responses=responses(401, 404, 422)
)


@router.post("", status_code=201, response_model=HookPublic, responses=responses(413, 503))
def add_hook(
    name: NamePath, body: HookCreate, tenant: TenantDep, session: SessionDep, platform: PlatformDep
) -> object:
    system = get_system(session, tenant, name)
    try:
        check_hook_url(body.url, platform.settings.hook_allow)
    except HookUrlError as error:
        raise InputError(f"url: {error}") from None
    hook = AlertHook(tenant_id=tenant.id, system_id=system.id, url=body.url, format=body.format)
    session.add(hook)
    commit_and_publish(session, platform.store)
    return hook


@router.get("", response_model=list[HookPublic])
def list_hooks(name: NamePath, tenant: TenantDep, session: SessionDep) -> object:
    system = get_system(session, tenant, name)
    return list(session.exec(select(AlertHook).where(AlertHook.system_id == system.id)))


@router.delete("/{hook_id}", status_code=204, responses=responses(503))
def delete_hook(
    name: NamePath, hook_id: RowId, tenant: TenantDep, session: SessionDep, platform: PlatformDep
) -> Response:
    system = get_system(session, tenant, name)
    hook = session.get(AlertHook, hook_id)
    if hook is None or hook.system_id != system.id:
        raise NotFound(f"system {name!r} has no hook {hook_id}")
    session.delete(hook)
    commit_and_publish(session, platform.store)
    return Response(status_code=204)
