"""A system's incidents: its anomalies grouped by template pattern, and their judgements (a
`not_anomaly` verdict suppresses the pattern at the endpoint at once; its windows take the verdict)."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from logsynergy_api.deps import PlatformDep, SessionDep, TenantDep
from logsynergy_api.errors import responses
from logsynergy_api.models import IncidentStatus
from logsynergy_api.routes.anomalies import Limit, Offset
from logsynergy_api.schemas import IncidentPublic, JudgementCreate, NamePath, RowId
from logsynergy_api.services import anomalies
from logsynergy_api.services.retraining import queue_retraining_if_due
from logsynergy_api.services.routing import commit_and_publish
from logsynergy_api.services.systems import get_system

router = APIRouter(
    prefix="/v1/systems/{name}/incidents", tags=["anomalies"], responses=responses(401, 404, 422)
)


@router.get("", response_model=list[IncidentPublic])
def list_incidents(
    name: NamePath,
    tenant: TenantDep,
    session: SessionDep,
    status: IncidentStatus | None = None,
    order: Annotated[anomalies.IncidentOrder, Query(description="sorted by this, descending")] = "last_seen",
    limit: Limit = 100,
    offset: Offset = 0,
) -> object:
    system = get_system(session, tenant, name)
    return anomalies.list_incidents(session, system, status, order, limit, offset)


@router.get("/{incident_id}", response_model=IncidentPublic)
def get_incident(name: NamePath, incident_id: RowId, tenant: TenantDep, session: SessionDep) -> object:
    return anomalies.get_incident(session, get_system(session, tenant, name), incident_id)


@router.post("/{incident_id}/judgement", response_model=IncidentPublic, responses=responses(503))
def judge_incident(
    name: NamePath,
    incident_id: RowId,
    body: JudgementCreate,
    tenant: TenantDep,
    session: SessionDep,
    platform: PlatformDep,
) -> object:
    """Judge a pattern (replacing an earlier verdict); its windows without their own verdict take it. A
    system that retrains after N judgements queues its training job here once the N-th is made."""
    system = get_system(session, tenant, name)
    incident = anomalies.get_incident(session, system, incident_id)
    anomalies.judge(session, incident, body.verdict, body.note)
    queue_retraining_if_due(session, platform, tenant, system)
    commit_and_publish(session, platform.store)
    return incident


@router.delete("/{incident_id}/judgement", status_code=204, responses=responses(503))
def unjudge_incident(
    name: NamePath, incident_id: RowId, tenant: TenantDep, session: SessionDep, platform: PlatformDep
) -> Response:
    """Take an incident's verdict back (nothing to take back is fine)."""
    incident = anomalies.get_incident(session, get_system(session, tenant, name), incident_id)
    anomalies.judge(session, incident, None)
    commit_and_publish(session, platform.store)
    return Response(status_code=204)
