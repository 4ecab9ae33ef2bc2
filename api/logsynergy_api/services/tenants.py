"""Tenants and their API keys."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from logsynergy.errors import InputError
from logsynergy_api.errors import Conflict, Unauthorized
from logsynergy_api.models import ApiKey, Tenant
from logsynergy_api.security import hash_key, key_id, new_api_key

ADMIN = "admin"
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def check_name(name: str, what: str) -> str:
    """Names appear in object keys and URLs: lower-case letters, digits and dashes."""
    if not NAME.fullmatch(name or ""):
        raise InputError(
            f"invalid {what} name {name!r}: use 1-63 lower-case letters, digits or dashes, starting with a "
            "letter or digit"
        )
    return name


def add_key(session: Session, tenant: Tenant, key: str | None = None) -> str:
    key = key or new_api_key()
    session.add(ApiKey(tenant_id=tenant.id, key_hash=hash_key(key), prefix=key_id(key)))
    return key


def ensure_admin(session: Session, bootstrap_key: str | None) -> str | None:
    """Create the admin tenant on first start. Returns a generated key (to print once), else None."""
    admin = session.exec(select(Tenant).where(Tenant.name == ADMIN)).first()
    if admin is None:
        admin = Tenant(name=ADMIN, is_admin=True)
        session.add(admin)
        session.flush()
    if bootstrap_key:
        if session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(bootstrap_key))).first() is None:
            add_key(session, admin, bootstrap_key)
        return None
    if session.exec(select(ApiKey).where(ApiKey.tenant_id == admin.id)).first() is None:
        return add_key(session, admin)
    return None


def create_tenant(session: Session, name: str) -> tuple[Tenant, str]:
    check_name(name, "tenant")
    if session.exec(select(Tenant).where(Tenant.name == name)).first() is not None:
        raise Conflict(f"tenant {name!r} already exists")
    tenant = Tenant(name=name)
    session.add(tenant)
    session.flush()
    return tenant, add_key(session, tenant)


def authenticate(session: Session, key: str) -> Tenant:
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).first()
    tenant = session.get(Tenant, row.tenant_id) if row else None
    if tenant is None:
        raise Unauthorized("unknown API key")
    return tenant
