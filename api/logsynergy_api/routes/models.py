"""Model versions of a system: list, activate (rollback = activate an older one)."""

from fastapi import APIRouter

from logsynergy_api.deps import PlatformDep, SessionDep, TenantDep
from logsynergy_api.errors import responses
from logsynergy_api.schemas import ModelPublic, NamePath, RowId
from logsynergy_api.services import models
from logsynergy_api.services.routing import commit_and_publish
from logsynergy_api.services.systems import get_system

router = APIRouter(prefix="/v1/systems/{name}/models", tags=["models"], responses=responses(401, 404, 422))


@router.get("", response_model=list[ModelPublic])
def list_models(name: NamePath, tenant: TenantDep, session: SessionDep) -> list[ModelPublic]:
    system = get_system(session, tenant, name)
    views = []
    for model in models.list_models(session, system):
        view = ModelPublic.model_validate(model)
        view.active = model.version == system.active_version
        views.append(view)
    return views


@router.post("/{version}/activate", response_model=ModelPublic, responses=responses(503))
def activate(
    name: NamePath, version: RowId, tenant: TenantDep, session: SessionDep, platform: PlatformDep
) -> ModelPublic:
    system = get_system(session, tenant, name)
    view = ModelPublic.model_validate(models.activate(session, system, version))
    commit_and_publish(session, platform.store)
    view.active = True
    return view
