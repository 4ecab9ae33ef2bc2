"""Systems and their datasets."""

from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile

from logsynergy_api.deps import PlatformDep, SessionDep, TenantDep
from logsynergy_api.errors import responses
from logsynergy_api.schemas import DatasetPublic, NamePath, SystemCreate, SystemPublic, SystemUpdate
from logsynergy_api.services import datasets, systems
from logsynergy_api.services.routing import commit_and_publish

router = APIRouter(prefix="/v1/systems", tags=["systems"], responses=responses(401, 422))


@router.post("", status_code=201, response_model=SystemPublic, responses=responses(409, 413, 503))
def create_system(
    body: SystemCreate, tenant: TenantDep, session: SessionDep, platform: PlatformDep
) -> object:
    system = systems.create_system(
        session,
        tenant,
        body.name,
        body.format,
        body.role,
        body.description,
        body.auto_activate,
        body.retrain_after_judgements,
    )
    commit_and_publish(session, platform.store)
    return system


@router.patch("/{name}", response_model=SystemPublic, responses=responses(404, 503))
def update_system(
    name: NamePath, body: SystemUpdate, tenant: TenantDep, session: SessionDep, platform: PlatformDep
) -> object:
    """Change a system's settings (description, auto_activate, retrain_after_judgements)."""
    system = systems.get_system(session, tenant, name)
    systems.update_system(session, system, body.model_dump(include=body.model_fields_set))
    commit_and_publish(session, platform.store)
    return system


@router.get("", response_model=list[SystemPublic])
def list_systems(tenant: TenantDep, session: SessionDep) -> object:
    return systems.list_systems(session, tenant)


@router.get("/{name}", response_model=SystemPublic, responses=responses(404))
def get_system(name: NamePath, tenant: TenantDep, session: SessionDep) -> object:
    return systems.get_system(session, tenant, name)


@router.delete("/{name}", status_code=204, responses=responses(404, 409, 503))
def delete_system(name: NamePath, tenant: TenantDep, session: SessionDep, platform: PlatformDep) -> Response:
    prefixes = systems.delete_system(session, tenant, name)
    commit_and_publish(session, platform.store)
    for prefix in prefixes:
        platform.store.delete_prefix(prefix)
    return Response(status_code=204)


@router.post(
    "/{name}/datasets", status_code=201, response_model=DatasetPublic, responses=responses(404, 413, 503)
)
def upload_dataset(
    name: NamePath,
    tenant: TenantDep,
    session: SessionDep,
    platform: PlatformDep,
    file: Annotated[UploadFile, File(description="the log file")],
    labels: Annotated[UploadFile | None, File(description="per-session labels (hdfs, openstack)")] = None,
) -> object:
    system = systems.get_system(session, tenant, name)
    return datasets.upload_dataset(
        platform,
        session,
        tenant,
        system,
        file.file,
        file.filename or "log",
        labels.file if labels else None,
        (labels.filename if labels else None) or "labels",
    )


@router.get("/{name}/datasets", response_model=list[DatasetPublic], responses=responses(404))
def list_datasets(name: NamePath, tenant: TenantDep, session: SessionDep) -> object:
    return datasets.list_datasets(session, systems.get_system(session, tenant, name))
