"""FastAPI dependencies: the platform, a database session, the calling tenant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlmodel import Session

from logsynergy_api.context import Platform
from logsynergy_api.db import session_scope
from logsynergy_api.errors import Forbidden, Unauthorized
from logsynergy_api.models import Tenant
from logsynergy_api.services import tenants


def get_platform(request: Request) -> Platform:
    return request.app.state.platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def get_session(platform: PlatformDep) -> Iterator[Session]:
    """Routes that write commit before answering; whatever is left is committed afterwards."""
    with session_scope(platform.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def current_tenant(session: SessionDep, authorization: Annotated[str | None, Header()] = None) -> Tenant:
    if not authorization:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("malformed Authorization header: expected 'Bearer <key>'")
    return tenants.authenticate(session, key.strip())


TenantDep = Annotated[Tenant, Depends(current_tenant)]


def admin_tenant(tenant: TenantDep) -> Tenant:
    if not tenant.is_admin:
        raise Forbidden("this needs the admin key")
    return tenant


AdminDep = Annotated[Tenant, Depends(admin_tenant)]
