"""Review, edit, regenerate, import and export a system's interpretations."""

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from logsynergy.errors import InputError
from logsynergy_api.deps import PlatformDep, SessionDep, TenantDep
from logsynergy_api.schemas import ImportSummary, InterpretationEdit, InterpretationPublic
from logsynergy_api.services import interpretations as service
from logsynergy_api.services.systems import get_system

router = APIRouter(prefix="/v1/systems/{name}/interpretations", tags=["interpretations"])
MAX_IMPORT = 20 * 1024 * 1024


@router.get("", response_model=list[InterpretationPublic])
def list_interpretations(name: str, tenant: TenantDep, session: SessionDep) -> object:
    return service.list_interpretations(session, get_system(session, tenant, name))


@router.get("/export", response_class=PlainTextResponse)
def export_interpretations(name: str, tenant: TenantDep, session: SessionDep) -> PlainTextResponse:
    rows = service.list_interpretations(session, get_system(session, tenant, name))
    return PlainTextResponse(service.export_jsonl(rows), media_type="application/x-ndjson")


@router.post("/import", response_model=ImportSummary)
async def import_interpretations(
    name: str, request: Request, tenant: TenantDep, session: SessionDep
) -> object:
    """Body: JSONL, one {"template", "interpretation", ...} object per line (the export format)."""
    body = await request.body()
    if len(body) > MAX_IMPORT:
        raise InputError("the import is larger than 20 MiB")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError("the import is not UTF-8 text") from error
    entries = service.parse_jsonl(text)
    system = get_system(session, tenant, name)
    written, kept = service.upsert(session, system, entries, keep_reviewed=False)
    session.commit()
    return ImportSummary(written=written, kept_reviewed=kept)


@router.put("/{template_id}", response_model=InterpretationPublic)
def edit_interpretation(
    name: str, template_id: str, body: InterpretationEdit, tenant: TenantDep, session: SessionDep
) -> object:
    row = service.edit(session, get_system(session, tenant, name), template_id, body.interpretation)
    session.commit()
    return row


@router.post("/{template_id}/regenerate", response_model=InterpretationPublic)
def regenerate_interpretation(
    name: str, template_id: str, tenant: TenantDep, session: SessionDep, platform: PlatformDep
) -> object:
    system = get_system(session, tenant, name)
    row = service.regenerate(session, platform.settings, system, template_id)
    session.commit()
    return row
