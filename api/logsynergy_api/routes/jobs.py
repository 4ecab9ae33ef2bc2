"""Training jobs."""

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse

from logsynergy_api.deps import PlatformDep, SessionDep, TenantDep
from logsynergy_api.errors import responses
from logsynergy_api.models import Job
from logsynergy_api.schemas import JobAccepted, JobCreate, JobPublic
from logsynergy_api.services import jobs
from logsynergy_contracts import JobStatus

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses=responses(401, 422))


def public(job: Job) -> JobPublic:
    view = JobPublic.model_validate(job)
    view.target = str(job.config.get("target", ""))
    view.ray_submission_id = job.submission_id
    return view


@router.post("", status_code=202, response_model=JobAccepted, responses=responses(404, 409, 413))
def create_job(body: JobCreate, tenant: TenantDep, session: SessionDep, platform: PlatformDep) -> JobAccepted:
    job = jobs.create_job(session, platform, tenant, **body.model_dump())
    session.commit()
    return JobAccepted(id=job.id, status=job.status, sources=job.sources)


@router.get("", response_model=list[JobPublic])
def list_jobs(tenant: TenantDep, session: SessionDep, status: JobStatus | None = None) -> list[JobPublic]:
    return [public(job) for job in jobs.list_jobs(session, tenant, status)]


@router.get("/{job_id}", response_model=JobPublic, responses=responses(404))
def get_job(job_id: str, tenant: TenantDep, session: SessionDep) -> JobPublic:
    return public(jobs.get_job(session, tenant, job_id))


@router.post("/{job_id}/cancel", response_model=JobPublic, responses=responses(404, 409, 503))
def cancel_job(job_id: str, tenant: TenantDep, session: SessionDep, platform: PlatformDep) -> JobPublic:
    job = jobs.cancel_job(session, platform, tenant, job_id)
    session.commit()
    return public(job)


@router.get(
    "/{job_id}/logs",
    response_class=Response,
    responses={
        200: {"description": "the Ray job's log", "content": {"text/plain": {"schema": {"type": "string"}}}},
        **responses(404, 503),
    },
)
def job_logs(job_id: str, tenant: TenantDep, session: SessionDep, platform: PlatformDep) -> PlainTextResponse:
    return PlainTextResponse(jobs.job_logs(platform, jobs.get_job(session, tenant, job_id)))
