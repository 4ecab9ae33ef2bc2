"""A system's anomaly history: the windows the detection endpoint flagged, and operators' judgements of
them (a `not_anomaly` verdict suppresses the window's pattern at the endpoint at once)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from logsynergy_api.deps import PlatformDep, SessionDep, TenantDep
from logsynergy_api.errors import responses
from logsynergy_api.models import Anomaly, IncidentStatus
from logsynergy_api.schemas import MAX_ROW_ID, AnomalyPublic, AnomalyReport, JudgementCreate, NamePath, RowId
from logsynergy_api.services import anomalies
from logsynergy_api.services.retraining import queue_retraining_if_due
from logsynergy_api.services.routing import commit_and_publish
from logsynergy_api.services.systems import get_system
from logsynergy_contracts import Verdict

router = APIRouter(
    prefix="/v1/systems/{name}/anomalies", tags=["anomalies"], responses=responses(401, 404, 422)
)

Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, le=MAX_ROW_ID, description="rows to skip")]


def public(anomaly: Anomaly, incident_verdict: Verdict | None) -> AnomalyPublic:
    view = AnomalyPublic.model_validate(anomaly)
    view.status = anomalies.status_of(anomalies.effective_verdict(anomaly, incident_verdict))
    return view


@router.get("", response_model=list[AnomalyPublic])
def list_anomalies(
    name: NamePath,
    tenant: TenantDep,
    session: SessionDep,
    since: Annotated[datetime | None, Query(description="received at or after (UTC if naive)")] = None,
    until: Annotated[datetime | None, Query(description="received before (UTC if naive)")] = None,
    status: IncidentStatus | None = None,
    min_score: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    version: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="flagged by")] = None,
    incident: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AnomalyPublic]:
    """The system's anomalies, newest first, a page at a time."""
    system = get_system(session, tenant, name)
    where = anomalies.AnomalyFilter(since, until, status, min_score, version, incident)
    return [public(a, v) for a, v in anomalies.list_anomalies(session, system, where, limit, offset)]


@router.get("/{anomaly_id}", response_model=AnomalyReport)
def get_anomaly(
    name: NamePath, anomaly_id: RowId, tenant: TenantDep, session: SessionDep, platform: PlatformDep
) -> AnomalyReport:
    """The full report: the window's lines, templates and interpretations, from the archive."""
    anomaly, incident = anomalies.get_anomaly(session, get_system(session, tenant, name), anomaly_id)
    window = anomalies.recorded_window(platform.store, anomaly)
    view = public(anomaly, incident.verdict)
    return AnomalyReport(**view.model_dump(), events=list(window.events), findings=list(window.findings))


@router.post("/{anomaly_id}/judgement", response_model=AnomalyPublic, responses=responses(503))
def judge_anomaly(
    name: NamePath,
    anomaly_id: RowId,
    body: JudgementCreate,
    tenant: TenantDep,
    session: SessionDep,
    platform: PlatformDep,
) -> AnomalyPublic:
    """Judge one window (replacing an earlier verdict); a system that retrains after N judgements
    queues its training job here once the N-th is made."""
    system = get_system(session, tenant, name)
    anomaly, incident = anomalies.get_anomaly(session, system, anomaly_id)
    anomalies.judge(session, anomaly, body.verdict, body.note)
    queue_retraining_if_due(session, platform, tenant, system)
    commit_and_publish(session, platform.store)
    return public(anomaly, incident.verdict)


@router.delete("/{anomaly_id}/judgement", status_code=204, responses=responses(503))
def unjudge_anomaly(
    name: NamePath, anomaly_id: RowId, tenant: TenantDep, session: SessionDep, platform: PlatformDep
) -> Response:
    """Take a window's verdict back (nothing to take back is fine)."""
    anomaly, _incident = anomalies.get_anomaly(session, get_system(session, tenant, name), anomaly_id)
    anomalies.judge(session, anomaly, None)
    commit_and_publish(session, platform.store)
    return Response(status_code=204)
