"""Tenants (admin only)."""

from fastapi import APIRouter

from logsynergy_api.deps import AdminDep, PlatformDep, SessionDep
from logsynergy_api.errors import responses
from logsynergy_api.schemas import TenantCreate, TenantCreated
from logsynergy_api.services import tenants
from logsynergy_api.services.routing import commit_and_publish

router = APIRouter(prefix="/v1/tenants", tags=["tenants"], responses=responses(401, 403, 422))


@router.post("", status_code=201, response_model=TenantCreated, responses=responses(409, 413, 503))
def create_tenant(
    body: TenantCreate, _admin: AdminDep, session: SessionDep, platform: PlatformDep
) -> TenantCreated:
    tenant, key = tenants.create_tenant(session, body.name)
    commit_and_publish(session, platform.store)
    return TenantCreated(name=tenant.name, api_key=key)
