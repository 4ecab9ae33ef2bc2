"""API keys and names: a chosen admin key must be strong, rows keep no part of a key, names are whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from pydantic import ValidationError
from sqlalchemy import text
from sqlmodel import Session, select

from logsynergy.errors import InputError
from logsynergy_api.db import MIGRATIONS, make_engine, migrate
from logsynergy_api.models import ApiKey, Tenant
from logsynergy_api.security import hash_key, key_id, new_api_key
from logsynergy_api.services.tenants import authenticate, check_name, create_tenant
from logsynergy_api.settings import Settings


@pytest.mark.parametrize(
    "weak", ["x", "lsk_short", "a" * 40, "lsk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "has space " * 4]
)
def test_a_weak_bootstrap_key_is_refused_naming_the_setting(weak: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="LOGSYNERGY_BOOTSTRAP_API_KEY"):
        Settings(data_dir=tmp_path, bootstrap_api_key=weak)


def test_strong_bootstrap_keys_pass(tmp_path: Path) -> None:
    for key in (new_api_key(), "lsk_test-admin-key-0123456789"):
        assert Settings(data_dir=tmp_path, bootstrap_api_key=key).bootstrap_api_key is not None


@pytest.mark.parametrize("name", ["name\n", "name\r\n", "\nname", "Name", "-x", "", "a" * 64, "a b"])
def test_names_must_match_whole(name: str) -> None:
    with pytest.raises(InputError, match="invalid system name"):
        check_name(name, "system")


def test_rows_keep_a_digest_label_not_the_keys_first_characters(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'k.db'}")
    migrate(engine)
    with Session(engine) as session:
        tenant, key = create_tenant(session, "team")
        session.commit()
        row = session.exec(select(ApiKey).where(ApiKey.tenant_id == tenant.id)).one()
        assert row.prefix == key_id(key) == "lsk_" + hash_key(key)[:4]
        assert authenticate(session, key).name == "team"
    engine.dispose()


def test_the_migration_replaces_stored_key_prefixes_and_old_keys_still_work(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    key = "lsk_" + "k" * 3 + "0123456789abcdefghijkl"
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text("INSERT INTO tenant (id, name, is_admin, created_at) VALUES (1, 'team', 0, '2026-01-01')")
        )
        connection.execute(
            text(
                "INSERT INTO apikey (tenant_id, key_hash, prefix, created_at) "
                "VALUES (1, :h, :p, '2026-01-01')"
            ),
            {"h": hash_key(key), "p": key[:8]},
        )
    migrate(engine)
    with Session(engine) as session:
        assert session.exec(select(ApiKey.prefix)).one() == key_id(key)
        assert authenticate(session, key) == session.get(Tenant, 1)
    engine.dispose()
