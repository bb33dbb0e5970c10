"""The documents vault: an association's documents (statutes, RIB, accounts…), their versions and downloads; pins
and compliance for the funding service."""

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from common.app import API_PREFIX
from common.clock import ClockDep, TodayDep
from common.db import Database, SessionDep
from common.etag import if_match_parameter
from common.idempotency import IdempotencyDep
from common.observability import BodyLimit
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses
from common.resources import answer, with_etag
from common.schemas import IsoDate
from services.projects.documents import service, uploads
from services.projects.documents.auth import ComplianceRead, DocumentRead, DocumentWrite
from services.projects.documents.content_types import ALLOWED_CONTENT_TYPES
from services.projects.documents.dependencies import (
    CurrentDocument,
    DocumentGettingVersion,
    DocumentLosingVersion,
    MaxBytes,
    NewVersionDep,
    StorageDep,
    VersionId,
    ZipLimitsDep,
)
from services.projects.documents.schemas import (
    FILE_CONTENT_TYPES,
    ComplianceReport,
    DocumentKind,
    DocumentListItem,
    DocumentPublic,
    DocumentUpload,
    Year,
)

router = APIRouter(prefix="/documents", tags=["documents"])

# Room for the form's other fields and the multipart framing around the largest file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def upload_body_limits(max_file_bytes: int) -> list[BodyLimit]:
    """The upload routes take bodies up to the largest file (the service's own limit is far smaller); the file
    itself is measured again while it is stored."""
    limit = max_file_bytes + MULTIPART_OVERHEAD_BYTES
    return [
        BodyLimit("POST", re.compile(re.escape(API_PREFIX) + r"/documents/?"), limit),
        BodyLimit("POST", re.compile(re.escape(API_PREFIX) + r"/documents/[^/]+/versions/?"), limit),
    ]


_UPLOAD_ENCODING = {
    "requestBody": {"content": {"multipart/form-data": {"encoding": {"file": {"contentType": FILE_CONTENT_TYPES}}}}}
}
_REFUSED_TYPE = {
    **problem_responses(415)[415],
    "description": "Type de fichier refusé, reconnu à son contenu (le problème donne `sniffed_content_type`)",
}
_UPLOAD_PROBLEMS = {**problem_responses(400, 401, 403, 409, 413, 422), 415: _REFUSED_TYPE}


def _upload_description(first: str) -> str:
    return (
        f"{first} Formulaire multipart/form-data ; le fichier est jugé sur son contenu (octets magiques, entrées "
        "d'une archive ZIP) : PDF, PNG, JPEG, ODT, DOCX, XLSX, CSV. Autre contenu : 415 `unsupported_document_type` "
        "avec le type reconnu (`sniffed_content_type`). Au-delà de la taille maximale : 413. Une archive (ODT, DOCX, "
        "XLSX) qui déclare trop d'entrées, une taille décompressée ou un taux de compression excessifs : 422 "
        "`document_archive_refused`, sans rien décompresser. Le type annoncé est "
        "gardé à côté du type reconnu, qui l'emporte ; le nom du fichier n'est qu'un libellé nettoyé."
    )


def _link(operation: str, **parameters: str) -> dict[str, Any]:
    return {"operationId": operation, "parameters": parameters}


# OpenAPI links: what a client can do next with the document it got back (schemathesis' stateful run follows them).
CREATED_LINKS = {
    "GetDocument": _link("get_document", document_id="$response.body#/id"),
    "AddDocumentVersion": _link(
        "add_document_version", document_id="$response.body#/id", **{"header.If-Match": "$response.header.ETag"}
    ),
    "DownloadDocumentVersion": _link(
        "download_document_version",
        document_id="$response.body#/id",
        version_id="$response.body#/current_version/id",
    ),
    "DeleteDocumentVersion": _link(
        "delete_document_version",
        document_id="$response.body#/id",
        version_id="$response.body#/current_version/id",
        **{"header.If-Match": "$response.header.ETag"},
    ),
}
READ_LINKS = {
    "AddDocumentVersion": _link(
        "add_document_version",
        document_id="$request.path.document_id",
        **{"header.If-Match": "$response.header.ETag"},
    ),
    "DownloadDocumentVersion": _link(
        "download_document_version",
        document_id="$request.path.document_id",
        version_id="$response.body#/current_version/id",
    ),
    "DeleteDocumentVersion": _link(
        "delete_document_version",
        document_id="$request.path.document_id",
        version_id="$response.body#/current_version/id",
        **{"header.If-Match": "$response.header.ETag"},
    ),
}


@router.post(
    "",
    summary="Déposer un document de mon association, avec sa première version",
    description=_upload_description("Le document appartient à l'association de l'appelant."),
    status_code=201,
    response_model=DocumentPublic,
    responses={**_UPLOAD_PROBLEMS, 201: {"links": CREATED_LINKS}},
    openapi_extra=_UPLOAD_ENCODING,
)
async def create_document(
    form: Annotated[DocumentUpload, Form(media_type="multipart/form-data")],
    session: SessionDep,
    caller: DocumentWrite,
    call: IdempotencyDep,
    storage: StorageDep,
    max_bytes: MaxBytes,
    zip_limits: ZipLimitsDep,
) -> Response:
    """Deposits a document of the caller's association with its first version (its members only)."""
    document = await service.create_document(
        session, storage=storage, principal=caller, form=form, max_bytes=max_bytes, zip_limits=zip_limits
    )
    return await answer(session, call, document, status_code=201, location=f"/api/v1/documents/{document.id}")


@router.get(
    "",
    summary="Documents de mon association (le guichet : de toute organisation)",
    response_model=Page[DocumentListItem],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_documents(
    session: SessionDep,
    caller: DocumentRead,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    kind: Annotated[DocumentKind | None, Query()] = None,
    year: Annotated[Year | None, Query()] = None,
    organisation_id: Annotated[
        uuid.UUID | None, Query(description="Le guichet et les services : une organisation ; les autres : la leur.")
    ] = None,
    updated_since: UpdatedSinceParam = None,
) -> dict:
    """The documents the caller reads, filtered and paged: its organisation's; any organisation's for the desk and
    its services."""
    rows = await service.list_documents(
        session, principal=caller, organisation_id=organisation_id, kind=kind, year=year,
        updated_since=updated_since, limit=limit, cursor=cursor,
    )
    page, next_cursor = split_page(rows, limit=limit)
    return {"items": await service.to_list_items(session, page), "next_cursor": next_cursor}


@router.get(
    "/compliance",
    summary="L'organisation détient-elle des documents valides de ces types à cette date ? (services, guichet)",
    description=(
        "Un type est satisfait quand la dernière version d'un document de ce type est valide à la date "
        "(`valid_until` absent ou postérieur ou égal) et, pour approved_accounts et activity_report, porte sur "
        "l'exercice précédent ou un plus récent. Sinon `reason` : missing, expired ou outdated_year."
    ),
    response_model=ComplianceReport,
    responses=problem_responses(400, 401, 403, 422),
)
async def document_compliance(
    session: SessionDep,
    _caller: ComplianceRead,
    organisation_id: Annotated[uuid.UUID, Query()],
    kinds: Annotated[list[DocumentKind], Query(min_length=1, max_length=20, examples=[["statutes", "bank_details"]])],
    today: TodayDep,
    on: Annotated[IsoDate | None, Query(description="Date de référence (AAAA-MM-JJ) ; aujourd'hui par défaut.")] = None,
) -> ComplianceReport:
    """For each kind asked, whether the organisation holds a valid document of it on the date (the desk and its
    services)."""
    return await service.compliance(session, organisation_id=organisation_id, kinds=kinds, on=on or today)


@router.get(
    "/{document_id}",
    summary="Lire un document et ses versions (la plus récente d'abord)",
    response_model=DocumentPublic,
    responses={**problem_responses(401, 403, 404, 422), 200: {"links": READ_LINKS}},
)
async def get_document(document: CurrentDocument, session: SessionDep, response: Response) -> DocumentPublic:
    """One document with its versions and ETag, read by its organisation's members, the desk and the desk's
    services; 404 for anyone else."""
    return with_etag(response, await service.to_public(session, document))


@router.post(
    "/{document_id}/versions",
    summary="Remplacer un document par une nouvelle version (If-Match requis ; les anciennes restent)",
    description=_upload_description("If-Match porte l'ETag du document."),
    response_model=DocumentPublic,
    responses={
        **_UPLOAD_PROBLEMS,
        **problem_responses(404, 412, 428),
        200: {"links": {
            "DownloadDocumentVersion": _link(
                "download_document_version",
                document_id="$request.path.document_id",
                version_id="$response.body#/current_version/id",
            ),
            "DeleteDocumentVersion": _link(
                "delete_document_version",
                document_id="$request.path.document_id",
                version_id="$response.body#/current_version/id",
                **{"header.If-Match": "$response.header.ETag"},
            ),
        }},
    },
    openapi_extra={**if_match_parameter(), **_UPLOAD_ENCODING},
)
async def add_document_version(
    document: DocumentGettingVersion,
    new: NewVersionDep,
    session: SessionDep,
    caller: DocumentWrite,
    call: IdempotencyDep,
    storage: StorageDep,
) -> Response:
    """Adds a version to one of the caller's association's documents (its members only; 404 for another's).
    Refused: 428 without If-Match, 412 on a stale one."""
    updated = await service.add_version(
        session, storage=storage, principal=caller, document=document, received=new.received,
        valid_until=new.valid_until,
    )
    return await answer(session, call, updated)


@router.get(
    "/{document_id}/versions/{version_id}/content",
    summary="Télécharger une version (en pièce jointe, au type reconnu ; ETag : son sha256)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Le fichier, servi avec le type reconnu à son contenu.",
            "content": {content_type: {"schema": {"type": "string", "format": "binary"}}
                        for content_type in ALLOWED_CONTENT_TYPES},
            "headers": {
                "ETag": {"description": "Le sha256 du contenu, entre guillemets.", "schema": {"type": "string"}},
                "Content-Disposition": {"description": "attachment; filename=…; filename*=UTF-8''…",
                                        "schema": {"type": "string"}},
            },
        },
        **problem_responses(401, 403, 404, 422),
    },
)
async def download_document_version(
    document: CurrentDocument,
    version_id: VersionId,
    session: SessionDep,
    storage: StorageDep,
) -> StreamingResponse:
    """Streams a version's content as an attachment, read by whoever reads the document; 404 for an unknown
    version, or `document_content_missing` when its content is gone from the storage."""
    version = await service.downloadable_version(session, storage, document, version_id)
    return StreamingResponse(
        storage.open(version.sha256),
        media_type=version.content_type,
        headers={
            "Content-Length": str(version.size_bytes),
            "Content-Disposition": uploads.content_disposition(version.filename),
            "ETag": service.download_etag(version),
            "Cache-Control": "private, no-cache",
            # Served as an attachment of the type its bytes showed: no browser second-guessing, no script.
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.delete(
    "/{document_id}/versions/{version_id}",
    summary="Supprimer une version (If-Match requis) ; refusé (409) si un dossier déposé ou un rapport l'utilise",
    description=(
        "409 `document_version_pinned` avec `dossier_ids` quand un dossier déposé s'appuie sur la version ; "
        "409 `document_version_in_report` avec `report_ids` quand un rapport (brouillon compris) la cite en pièce "
        "justificative. "
        "La dernière version supprimée emporte le document. Le fichier n'est effacé que si plus aucune version "
        "ne le référence."
    ),
    status_code=204,
    response_class=Response,
    responses={
        204: {
            "description": "Version supprimée",
            "headers": {
                "ETag": {"description": "Nouvel ETag du document, s'il lui reste des versions.",
                         "schema": {"type": "string"}},
            },
        },
        **problem_responses(401, 403, 404, 409, 412, 422, 428),
    },
    openapi_extra=if_match_parameter(),
)
async def delete_document_version(
    document: DocumentLosingVersion,
    version_id: VersionId,
    request: Request,
    session: SessionDep,
    storage: StorageDep,
    clock: ClockDep,
) -> Response:
    """Deletes a version of one of the caller's association's documents (its members only; 404 for another's).
    Refused: 428 without If-Match, 412 on a stale one; 409 as described above."""
    remaining, sha256 = await service.delete_version(
        session, document=document, version_id=version_id, now=clock.now()
    )
    database: Database = request.app.state.db
    # After the response, hence after the commit: the blob goes if nothing references it any more.
    response = Response(status_code=204, background=BackgroundTask(service.release_blob, database, storage, sha256))
    if remaining is not None:
        with_etag(response, remaining)
    return response
