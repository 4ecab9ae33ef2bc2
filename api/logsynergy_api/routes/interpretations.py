"""Review, edit, regenerate, import and export a system's interpretations."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from logsynergy.errors import InputError, ObjectTooLarge
from logsynergy_api.deps import PlatformDep, SessionDep, TenantDep
from logsynergy_api.errors import responses
from logsynergy_api.schemas import ImportSummary, InterpretationEdit, InterpretationPublic, NamePath
from logsynergy_api.services import interpretations as service
from logsynergy_api.services.systems import get_system

router = APIRouter(
    prefix="/v1/systems/{name}/interpretations",
    tags=["interpretations"],
    responses=responses(401, 404, 422),
)
JSONL_BODY = {
    "required": True,
    "description": "JSONL: one InterpretationRecord object per line (the export format)",
    "content": {media: {"schema": {"type": "string"}} for media in ("application/x-ndjson", "text/plain")},
}


async def read_limited(request: Request, limit: int, what: str) -> bytes:
    """The request body, refused (413) as soon as it is larger than `limit` bytes."""
    too_large = ObjectTooLarge(f"{what} is larger than the limit of {limit / 2**20:g} MiB")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


@router.get("", response_model=list[InterpretationPublic])
def list_interpretations(name: NamePath, tenant: TenantDep, session: SessionDep) -> object:
    return service.list_interpretations(session, get_system(session, tenant, name))


@router.get(
    "/export",
    response_class=Response,
    responses={
        200: {"description": "JSONL", "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}
    },
)
def export_interpretations(name: NamePath, tenant: TenantDep, session: SessionDep) -> PlainTextResponse:
    rows = service.list_interpretations(session, get_system(session, tenant, name))
    return PlainTextResponse(service.export_jsonl(rows), media_type="application/x-ndjson")


@router.post(
    "/import",
    response_model=ImportSummary,
    responses=responses(413),
    openapi_extra={"requestBody": JSONL_BODY},
)
async def import_interpretations(
    name: NamePath, request: Request, tenant: TenantDep, session: SessionDep, platform: PlatformDep
) -> object:
    """Body: JSONL, one {"template", "interpretation", ...} object per line (the export format), at most
    `LOGSYNERGY_MAX_IMPORT_MB`; a bad line is refused, naming it, and nothing is written."""
    system = get_system(session, tenant, name)
    body = await read_limited(request, platform.settings.max_import_bytes, "the import")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError("the import is not UTF-8 text") from error
    written, kept = service.upsert(session, system, service.parse_jsonl(text), keep_reviewed=False)
    session.commit()
    return ImportSummary(written=written, kept_reviewed=kept)


@router.put("/{template_id}", response_model=InterpretationPublic)
def edit_interpretation(
    name: NamePath, template_id: str, body: InterpretationEdit, tenant: TenantDep, session: SessionDep
) -> object:
    row = service.edit(session, get_system(session, tenant, name), template_id, body.interpretation)
    session.commit()
    return row


@router.post("/{template_id}/regenerate", response_model=InterpretationPublic, responses=responses(502))
def regenerate_interpretation(
    name: NamePath, template_id: str, tenant: TenantDep, session: SessionDep, platform: PlatformDep
) -> object:
    system = get_system(session, tenant, name)
    row = service.regenerate(session, platform.settings, system, template_id)
    session.commit()
    return row
