"""The serving routing table (`routing/routes.json`): who may call, and which version serves a system.

Publication is ordered through the database, so that it holds with several API processes: a publisher
bumps the revision row (`RoutingState`), which locks it until the publisher commits, rebuilds the table
from the database, writes it to the store and then commits. Publishers thus write one at a time, in
revision order, and the last one read the database after every change that was committed before it
(each change publishes after its commit), so the stored table ends up matching the database."""

from __future__ import annotations

import logging
from collections import defaultdict

from sqlmodel import Session, col, select, update

from logsynergy.errors import LogSynergyError, ObjectNotFound
from logsynergy.store import ObjectStore
from logsynergy_api.models import AlertHook, ApiKey, ModelVersion, RoutingState, System, Tenant
from logsynergy_api.services.anomalies import suppressed_patterns
from logsynergy_contracts import ROUTES_KEY, HookFormat, RoutingDocument, SystemRoute, system_key, utc_now

log = logging.getLogger(__name__)


def build_routes(session: Session, revision: int = 0) -> RoutingDocument:
    """The routing table as the database has it now (suppressed patterns: `anomalies.suppressed_patterns`)."""
    tenants = {t.id: t.name for t in session.exec(select(Tenant))}
    keys = {k.key_hash: tenants[k.tenant_id] for k in session.exec(select(ApiKey)) if k.tenant_id in tenants}
    versions: defaultdict[int | None, dict[str, str]] = defaultdict(dict)
    for model in session.exec(select(ModelVersion)):
        versions[model.system_id][str(model.version)] = model.artifact_key
    hooks: defaultdict[int | None, list[str]] = defaultdict(list)
    formats: defaultdict[int | None, dict[str, HookFormat]] = defaultdict(dict)
    for hook in session.exec(select(AlertHook)):
        hooks[hook.system_id].append(hook.url)
        if hook.format != HookFormat.LOGSYNERGY:  # the default format is left out of the table
            formats[hook.system_id][hook.url] = hook.format
    suppressed = suppressed_patterns(session)
    systems = {
        system_key(tenants[s.tenant_id], s.name): SystemRoute(
            active=str(s.active_version) if s.active_version is not None else None,
            versions=versions[s.id],
            hooks=hooks[s.id],
            hook_formats=formats[s.id],
            suppressed=frozenset(suppressed.get(s.id or 0, ())),
        )
        for s in session.exec(select(System))
        if s.tenant_id in tenants  # PostgreSQL reads each query at its own time: skip a newer tenant's
    }
    return RoutingDocument(revision=revision, updated=utc_now(), keys=keys, systems=systems)


def published_revision(store: ObjectStore) -> int:
    """The revision of the stored table; 0 when there is none or it is unreadable."""
    try:
        return RoutingDocument.parse(store.get_json(ROUTES_KEY))[0].revision
    except ObjectNotFound:
        return 0
    except LogSynergyError as error:
        log.warning("the stored routing table is unreadable (%s); rewriting it", error)
        return 0


def _lock_next_revision(session: Session) -> int:
    """Bump the revision row as the transaction's first write (its lock is held until commit) and return
    the new revision."""
    bumped = session.exec(
        update(RoutingState).where(col(RoutingState.id) == 1).values(revision=col(RoutingState.revision) + 1)
    )
    if bumped.rowcount == 0:  # a database created without the migrations' row
        session.add(RoutingState(id=1, revision=1))
        session.flush()
    return session.exec(select(RoutingState.revision).where(RoutingState.id == 1)).one()


def publish_routes(session: Session, store: ObjectStore) -> int:
    """Rebuild the routing table from the database and write it, under the revision row's lock, then
    commit the session (with whatever it holds; a failed write rolls it back). Returns the revision."""
    try:
        revision = _lock_next_revision(session)
        stored = published_revision(store)
        if stored >= revision:  # a table published before this database kept revisions
            revision = stored + 1
            session.exec(update(RoutingState).where(col(RoutingState.id) == 1).values(revision=revision))
        document = build_routes(session, revision)
        store.put_json(ROUTES_KEY, document.model_dump(mode="json"))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return revision


def commit_and_publish(session: Session, store: ObjectStore) -> None:
    """Commit a change to what the routing table holds, then publish the table from the committed state."""
    session.commit()
    publish_routes(session, store)
