"""The documents vault's rules: who sees which document; uploads judged by their bytes, measured, stored once per
content; versions; pins by submitted dossiers; whether an organisation holds valid documents of given kinds."""

import functools
import logging
import re
import unicodedata
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote

from anyio import CapacityLimiter, to_thread
from fastapi import UploadFile
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from common.db import Database, children_by_parent, get_row, utcnow
from common.pagination import keyset
from common.problems import Conflict, NotFound, PayloadTooLarge, Problem, Text, UnprocessableContent
from common.tokens import Principal
from services.projects.document_schemas import (
    ComplianceItem,
    ComplianceReport,
    DocumentListItem,
    DocumentPublic,
    DocumentUpload,
    DocumentVersionPublic,
    PinnedVersion,
    PinRequest,
    PinResponse,
)
from services.projects.document_storage import CHUNK_BYTES, BlobTooLarge, DocumentStorage, StagedBlob
from services.projects.document_types import ALLOWED_CONTENT_TYPES, ArchiveRefused, ZipLimits, sniff
from services.projects.models import PER_YEAR_KINDS, Document, DocumentPin, DocumentVersion, Report, ReportEvidence
from services.vocabulary import DESK_ROLES

log = logging.getLogger("projects.documents")

DOCUMENT_NOT_FOUND = Text("Document introuvable.", "Document not found.")
VERSION_NOT_FOUND = Text("Version introuvable.", "Version not found.")
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
MAX_FILENAME = 200


# --- names and types a client sends: kept for display, never trusted ---------------------------------------------


def safe_filename(raw: str | None) -> str:
    """The last segment of the client's name, without control or invisible characters (a right-to-left override
    could dress `exe.pdf` up) nor leading dots; display metadata only, never a path."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C")).strip().lstrip(".").strip()
    if len(name) > MAX_FILENAME:
        stem, dot, extension = name.rpartition(".")
        extension = extension[:20] if dot else ""
        name = (stem if dot else name)[: MAX_FILENAME - len(extension) - 1].rstrip() + (f".{extension}" if dot else "")
    return name or "document"


def declared_type(raw: str | None) -> str:
    value = (raw or "").split(";")[0].strip().lower()
    return value if len(value) <= 100 and _MEDIA_TYPE.match(value) else "application/octet-stream"


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the exact name in `filename*` (RFC 6266, RFC 8187)."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\%;' else "_" for c in filename) or "document"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download_etag(version: DocumentVersion) -> str:
    return f'"{version.sha256}"'


# --- who sees what --------------------------------------------------------------------------------------------


def sees_every_organisation(principal: Principal) -> bool:
    """The desk and the desk's services read any organisation's documents; members read their own."""
    return principal.kind == "service" or principal.has_any_role(DESK_ROLES)


async def visible_document(
    session: AsyncSession,
    *,
    principal: Principal,
    document_id: uuid.UUID,
    for_update: bool = False,
    writing: bool = False,
) -> Document:
    """The document if the caller may see it (change it, when `writing`: its own organisation only); else 404."""
    document = await get_row(session, Document, document_id, for_update=for_update)
    if document is None:
        raise NotFound(DOCUMENT_NOT_FOUND)
    own = principal.organisation_id is not None and document.organisation_id == principal.organisation_id
    if not own and (writing or not sees_every_organisation(principal)):
        raise NotFound(DOCUMENT_NOT_FOUND)
    return document


async def version_of(
    session: AsyncSession, document: Document, version_id: uuid.UUID, *, for_update: bool = False
) -> DocumentVersion:
    version = await get_row(session, DocumentVersion, version_id, for_update=for_update)
    if version is None or version.document_id != document.id:
        raise NotFound(VERSION_NOT_FOUND)
    return version


# --- uploads ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    staged: StagedBlob
    content_type: str
    declared_content_type: str
    filename: str


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        Text(
            f"Le fichier dépasse la taille maximale de {max_bytes} octets.",
            f"The file is larger than the maximum of {max_bytes} bytes.",
        ),
        code="document_too_large",
        extra={"max_bytes": max_bytes},
    )


def _unsupported(sniffed: str, declared: str) -> Problem:
    allowed = ", ".join(ALLOWED_CONTENT_TYPES)
    return Problem(
        Text(
            f"Le contenu du fichier est de type {sniffed}, qui n'est pas accepté (acceptés : {allowed}).",
            f"The file's content is {sniffed}, which is not accepted (accepted: {allowed}).",
        ),
        status=415,
        code="unsupported_document_type",
        title=Text("Type de fichier refusé", "File type refused"),
        errors=[("body.file", Text(f"Contenu de type {sniffed}.", f"Content of type {sniffed}."))],
        extra={
            "sniffed_content_type": sniffed,
            "declared_content_type": declared,
            "allowed_content_types": list(ALLOWED_CONTENT_TYPES),
        },
    )


_ARCHIVE_LIMITS = {
    "entries": Text("entrées", "entries"),
    "uncompressed_bytes": Text("octets une fois décompressé", "bytes once uncompressed"),
    "ratio": Text("fois sa taille compressée pour une entrée", "times its compressed size for one entry"),
}


def _archive_refused(refused: ArchiveRefused) -> Problem:
    what = _ARCHIVE_LIMITS[refused.limit]
    return UnprocessableContent(
        Text(
            f"L'archive du document déclare {refused.value} {what.fr} (au plus {refused.cap}).",
            f"The document's archive declares {refused.value} {what.en} (at most {refused.cap}).",
        ),
        code="document_archive_refused",
        errors=[("body.file", Text("Archive refusée.", "Archive refused."))],
        extra={"limit": refused.limit, "declared": refused.value, "max": refused.cap},
    )


# Sniffing reads and parses in a thread, never on the event loop; two at once at most (the desk's two cores), so
# that a burst of heavy uploads queues here rather than taking every worker thread of the process.
_SNIFFERS = CapacityLimiter(2)


def _check_year(kind: str, year: int | None) -> None:
    if kind in PER_YEAR_KINDS and year is None:
        message = Text("Exercice requis pour ce type de document.", "A year is required for this kind of document.")
    elif kind not in PER_YEAR_KINDS and year is not None:
        message = Text("Ce type de document n'a pas d'exercice.", "This kind of document has no year.")
    else:
        return
    raise UnprocessableContent(
        Text("Certains champs sont invalides.", "Some fields are invalid."), errors=[("body.year", message)]
    )


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    await upload.seek(0)
    while chunk := await upload.read(CHUNK_BYTES):
        yield chunk


async def receive(
    storage: DocumentStorage, upload: UploadFile, *, max_bytes: int, zip_limits: ZipLimits = ZipLimits()
) -> Received:
    """Measure the file, judge it by its bytes, and stage it in the storage (not yet published)."""
    if upload.size is not None and upload.size > max_bytes:
        raise _too_large(max_bytes)
    filename = safe_filename(upload.filename)
    declared = declared_type(upload.content_type)
    judge = functools.partial(sniff, upload.file, filename=filename, declared=declared, zip_limits=zip_limits)
    try:
        sniffed = await to_thread.run_sync(judge, limiter=_SNIFFERS)
    except ArchiveRefused as refused:
        raise _archive_refused(refused) from refused
    if sniffed not in ALLOWED_CONTENT_TYPES:
        raise _unsupported(sniffed, declared)
    try:
        staged = await storage.stage(_chunks(upload), max_bytes=max_bytes)
    except BlobTooLarge as exc:
        raise _too_large(max_bytes) from exc
    return Received(staged=staged, content_type=sniffed, declared_content_type=declared, filename=filename)


@asynccontextmanager
async def received_file(
    storage: DocumentStorage, upload: UploadFile, *, max_bytes: int, zip_limits: ZipLimits = ZipLimits()
) -> AsyncIterator[Received]:
    """`receive`, then the staged copy discarded whatever happens (nothing is left of it once kept)."""
    received = await receive(storage, upload, max_bytes=max_bytes, zip_limits=zip_limits)
    try:
        yield received
    finally:
        await storage.discard(received.staged)


async def lock_blob(session: AsyncSession, sha256: str) -> None:
    """Serialise publishing and releasing one blob until the transaction ends: an advisory lock on PostgreSQL;
    on SQLite a writer holds the database's lock from its first statement (BEGIN IMMEDIATE)."""
    if session.bind.dialect.name == "postgresql":
        key = int.from_bytes(bytes.fromhex(sha256[:16]), "big", signed=True)
        await session.execute(text("SELECT pg_advisory_xact_lock(CAST(:key AS BIGINT))"), {"key": key})
    else:
        await session.execute(text("SELECT 1"))


async def _store_version(
    session: AsyncSession, storage: DocumentStorage, received: Received, version: DocumentVersion
) -> None:
    """Write the version row, then publish its blob under the lock: a release running at the same time either
    finished before (and the blob is published again) or waits and sees this row."""
    session.add(version)
    await session.flush()
    await lock_blob(session, received.staged.sha256)
    await storage.keep(received.staged)


def _new_version(document: Document, number: int, received: Received, principal: Principal,
                 valid_until: date | None) -> DocumentVersion:
    return DocumentVersion(
        document_id=document.id,
        number=number,
        sha256=received.staged.sha256,
        size_bytes=received.staged.size,
        content_type=received.content_type,
        declared_content_type=received.declared_content_type,
        filename=received.filename,
        valid_until=valid_until,
        uploaded_by=principal.subject,
    )


async def create_document(
    session: AsyncSession, *, storage: DocumentStorage, principal: Principal, form: DocumentUpload, max_bytes: int,
    zip_limits: ZipLimits = ZipLimits(),
) -> DocumentPublic:
    """A document of the caller's organisation, with its first version."""
    _check_year(form.kind, form.year)
    async with received_file(storage, form.file, max_bytes=max_bytes, zip_limits=zip_limits) as received:
        document = Document(
            organisation_id=principal.organisation_id,
            kind=form.kind,
            year=form.year,
            label=form.label or "",
            created_by=principal.subject,
        )
        session.add(document)
        await session.flush()
        await _store_version(session, storage, received, _new_version(document, 1, received, principal,
                                                                      form.valid_until))
    return await to_public(session, document)


async def add_version(
    session: AsyncSession,
    *,
    storage: DocumentStorage,
    principal: Principal,
    document: Document,
    received: Received,
    valid_until: date | None,
) -> DocumentPublic:
    """A new version, from a file already received, of a document locked and If-Match checked; the old ones stay."""
    latest = (
        await session.execute(
            select(func.max(DocumentVersion.number)).where(DocumentVersion.document_id == document.id)
        )
    ).scalar_one()
    await _store_version(
        session, storage, received, _new_version(document, (latest or 0) + 1, received, principal, valid_until)
    )
    _touch(document)
    await session.flush()
    return await to_public(session, document)


def _touch(document: Document) -> None:
    document.version += 1
    document.updated_at = utcnow()


def _pinned(dossier_ids: list[uuid.UUID]) -> Conflict:
    listed = ", ".join(str(d) for d in dossier_ids)
    return Conflict(
        Text(
            f"Cette version est utilisée par un dossier déposé ({listed}) : elle ne peut pas être supprimée.",
            f"This version is used by a submitted dossier ({listed}): it cannot be deleted.",
        ),
        code="document_version_pinned",
        extra={"dossier_ids": [str(d) for d in dossier_ids]},
    )


def _in_reports(report_ids: list[uuid.UUID]) -> Conflict:
    listed = ", ".join(str(r) for r in report_ids)
    return Conflict(
        Text(
            f"Cette version est une pièce justificative de rapport(s) ({listed}) : elle ne peut pas être supprimée. "
            "Retirez-la d'abord des rapports encore modifiables ; celle d'un rapport déposé ou accepté reste.",
            f"This version is evidence of report(s) ({listed}): it cannot be deleted. First remove it from the "
            "reports that can still be changed; a submitted or accepted report's evidence stays.",
        ),
        code="document_version_in_report",
        extra={"report_ids": [str(r) for r in report_ids]},
    )


async def _reports_citing(session: AsyncSession, version_id: uuid.UUID) -> list[uuid.UUID]:
    """The reports, whatever their state, that cite the version as evidence (their table has no foreign key to the
    vault: the delete checks it here)."""
    rows = await session.execute(
        select(Report.id)
        .join(ReportEvidence, ReportEvidence.report_id == Report.id)
        .where(ReportEvidence.document_version_id == version_id)
        .order_by(Report.id)
    )
    return list(rows.scalars())


async def delete_version(
    session: AsyncSession, *, document: Document, version_id: uuid.UUID
) -> tuple[Document | None, str]:
    """Remove a version no dossier pins and no report cites (the document with its last one); returns the document
    left and the sha256 whose blob may now be unreferenced (see `release_blob`, run after the commit)."""
    # Locked before the checks: a pin (its foreign key) or a report's evidence (`owned_versions`) taking the
    # version's key lock either committed before, and is seen below, or waits and then finds the version gone.
    version = await version_of(session, document, version_id, for_update=True)
    pins = (await _pins_of(session, [version.id]))[version.id]
    if pins:
        raise _pinned(pins)
    # Refused for a draft's evidence too: the report's table is not the vault's to change, and a draft left
    # citing a deleted version could be submitted so.
    reports = await _reports_citing(session, version.id)
    if reports:
        raise _in_reports(reports)
    sha256 = version.sha256
    try:
        async with session.begin_nested():  # the session stays usable to read the pins again
            await session.delete(version)
            await session.flush()
    except IntegrityError as exc:  # pinned by a dossier between our check and the delete
        pins = (await _pins_of(session, [version_id]))[version_id]
        if not pins:
            raise
        raise _pinned(pins) from exc
    remaining = (
        await session.execute(
            select(func.count()).select_from(DocumentVersion).where(DocumentVersion.document_id == document.id)
        )
    ).scalar_one()
    if not remaining:
        await session.delete(document)
        await session.flush()
        return None, sha256
    _touch(document)
    await session.flush()
    return document, sha256


async def release_blob(database: Database, storage: DocumentStorage, sha256: str) -> None:
    """After a deletion is committed: the blob goes when no version references its sha256 any more."""
    try:
        async with database.writer() as session:
            await lock_blob(session, sha256)
            referenced = (
                await session.execute(
                    select(func.count()).select_from(DocumentVersion).where(DocumentVersion.sha256 == sha256)
                )
            ).scalar_one()
            if not referenced:
                await storage.delete(sha256)
            await session.commit()
    except Exception:  # the deletion stands; an unreferenced blob is only disk space
        log.exception("blob %s not released", sha256)


# --- reading ----------------------------------------------------------------------------------------------------


async def list_documents(
    session: AsyncSession,
    *,
    principal: Principal,
    organisation_id: uuid.UUID | None,
    kind: str | None,
    year: int | None,
    updated_since: datetime | None,
    limit: int,
    cursor: str | None,
) -> list[Document]:
    """A page (plus one row) of the documents the caller sees: its organisation's, or any for the desk."""
    statement = select(Document)
    if not sees_every_organisation(principal):
        if organisation_id is not None and organisation_id != principal.organisation_id:
            return []
        organisation_id = principal.organisation_id
    if organisation_id is not None:
        statement = statement.where(Document.organisation_id == organisation_id)
    if kind is not None:
        statement = statement.where(Document.kind == kind)
    if year is not None:
        statement = statement.where(Document.year == year)
    if updated_since is not None:
        statement = statement.where(Document.updated_at >= updated_since)
    return list((await session.execute(keyset(statement, Document, limit=limit, cursor=cursor))).scalars())


async def _pins_of(session: AsyncSession, version_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    return await children_by_parent(session, DocumentPin.version_id, DocumentPin.dossier_id, version_ids)


def _latest_number() -> object:
    newer = aliased(DocumentVersion)
    return (
        select(func.max(newer.number)).where(newer.document_id == DocumentVersion.document_id).scalar_subquery()
    )


async def _version_publics(
    session: AsyncSession, versions: list[DocumentVersion]
) -> dict[uuid.UUID, DocumentVersionPublic]:
    pins = await _pins_of(session, [v.id for v in versions])
    return {
        v.id: DocumentVersionPublic(**v.model_dump(), pinned_by_dossiers=pins[v.id]) for v in versions
    }


async def to_list_items(session: AsyncSession, documents: list[Document]) -> list[DocumentListItem]:
    if not documents:
        return []
    current = list(
        (
            await session.execute(
                select(DocumentVersion).where(
                    DocumentVersion.document_id.in_([d.id for d in documents]),
                    DocumentVersion.number == _latest_number(),
                )
            )
        ).scalars()
    )
    publics = await _version_publics(session, current)
    by_document = {v.document_id: publics[v.id] for v in current}
    # A document whose last version was deleted between the two reads is gone: not listed.
    return [
        DocumentListItem(**d.model_dump(), current_version=by_document[d.id]) for d in documents if d.id in by_document
    ]


async def to_public(session: AsyncSession, document: Document) -> DocumentPublic:
    versions = list(
        (
            await session.execute(
                select(DocumentVersion)
                .where(DocumentVersion.document_id == document.id)
                .order_by(DocumentVersion.number.desc())
            )
        ).scalars()
    )
    if not versions:  # its last version deleted since the document was read: the document went with it
        raise NotFound(DOCUMENT_NOT_FOUND)
    publics = await _version_publics(session, versions)
    ordered = [publics[v.id] for v in versions]
    return DocumentPublic(**document.model_dump(), current_version=ordered[0], versions=ordered)


# --- what the funding service asks --------------------------------------------------------------------------------


async def owned_versions(
    session: AsyncSession, *, organisation_id: uuid.UUID, version_ids: list[uuid.UUID] | set[uuid.UUID]
) -> set[uuid.UUID]:
    """The versions among `version_ids` that exist and belong to the organisation, key-locked until the caller
    commits as a foreign key would lock them (report evidence has none): none of them can be deleted meanwhile."""
    if not version_ids:
        return set()
    rows = await session.execute(
        select(DocumentVersion.id)
        .join(Document, Document.id == DocumentVersion.document_id)
        .where(Document.organisation_id == organisation_id, DocumentVersion.id.in_(list(version_ids)))
        .with_for_update(read=True, key_share=True, of=DocumentVersion)
    )
    return set(rows.scalars())


def _unknown_versions(request: PinRequest, unknown: set[uuid.UUID]) -> UnprocessableContent:
    return UnprocessableContent(
        Text(
            "Version(s) de document inconnue(s) pour cette organisation ; rien n'a été épinglé.",
            "Document version(s) unknown for this organisation; nothing was pinned.",
        ),
        code="unknown_document_version",
        errors=[
            (f"body.version_ids.{index}", Text("Version inconnue.", "Unknown version."))
            for index, version_id in enumerate(request.version_ids)
            if version_id in unknown
        ],
        extra={"unknown_version_ids": sorted({str(v) for v in unknown})},
    )


async def pin_versions(session: AsyncSession, *, principal: Principal, request: PinRequest) -> PinResponse:
    """Record that a submitted dossier references these versions of its organisation: they can never be deleted.
    All or nothing; pinning again is harmless."""
    wanted = list(dict.fromkeys(request.version_ids))
    # The documents first, in one order, as a delete or a new version locks the document before its versions
    # (a pin takes the version's key lock through its foreign key): no deadlock with them, nor between two pins.
    await session.execute(
        select(Document.id)
        .where(
            Document.organisation_id == request.organisation_id,
            Document.id.in_(select(DocumentVersion.document_id).where(DocumentVersion.id.in_(wanted))),
        )
        .order_by(Document.id)
        .with_for_update()
    )
    # Read once the documents are locked: a version deleted meanwhile is unknown.
    rows = (
        await session.execute(
            select(DocumentVersion, Document)
            .join(Document, Document.id == DocumentVersion.document_id)
            .where(Document.organisation_id == request.organisation_id, DocumentVersion.id.in_(wanted))
        )
    ).all()
    found = {version.id: (version, document) for version, document in rows}
    unknown = set(wanted) - set(found)
    if unknown:
        raise _unknown_versions(request, unknown)
    already = set(
        (
            await session.execute(
                select(DocumentPin.version_id).where(
                    DocumentPin.dossier_id == request.dossier_id, DocumentPin.version_id.in_(wanted)
                )
            )
        ).scalars()
    )
    new = [version_id for version_id in wanted if version_id not in already]
    if new:
        dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(DocumentPin).values(
            [
                {
                    "version_id": version_id,
                    "dossier_id": request.dossier_id,
                    "organisation_id": request.organisation_id,
                    "pinned_by": principal.subject,
                    "pinned_at": utcnow(),
                }
                for version_id in new
            ]
        )
        try:
            await session.execute(statement.on_conflict_do_nothing())
        except IntegrityError as exc:  # a version deleted since we read it
            raise _unknown_versions(request, set(new)) from exc
        # The documents' representation shows their pins: their ETag changes.
        await session.execute(
            update(Document)
            .where(Document.id.in_(sorted({found[v][1].id for v in new})))
            .values(version=Document.version + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return PinResponse(
        dossier_id=request.dossier_id,
        versions=[
            PinnedVersion(
                **found[v][0].model_dump(),
                organisation_id=found[v][1].organisation_id,
                kind=found[v][1].kind,
                year=found[v][1].year,
            )
            for v in wanted
        ],
    )


async def compliance(
    session: AsyncSession, *, organisation_id: uuid.UUID, kinds: list[str], on: date
) -> ComplianceReport:
    """For each kind: does the organisation hold a document whose latest version is valid on that date (and, for
    a per-year kind, of the year before or later)?"""
    kinds = list(dict.fromkeys(kinds))
    rows = (
        await session.execute(
            select(Document, DocumentVersion)
            .join(DocumentVersion, DocumentVersion.document_id == Document.id)
            .where(
                Document.organisation_id == organisation_id,
                Document.kind.in_(kinds),
                DocumentVersion.number == _latest_number(),
            )
        )
    ).all()
    items = []
    for kind in kinds:
        candidates = [(d, v) for d, v in rows if d.kind == kind]
        recent = [(d, v) for d, v in candidates if kind not in PER_YEAR_KINDS or d.year >= on.year - 1]
        valid = [(d, v) for d, v in recent if v.valid_until is None or v.valid_until >= on]
        if valid:
            best, reason = _most_recent(valid), None
        elif recent:
            best, reason = _most_recent(recent), "expired"
        elif candidates:
            best, reason = _most_recent(candidates), "outdated_year"
        else:
            items.append(
                ComplianceItem(kind=kind, satisfied=False, document_id=None, version_id=None, year=None,
                               valid_until=None, reason="missing")
            )
            continue
        document, version = best
        items.append(
            ComplianceItem(
                kind=kind, satisfied=reason is None, document_id=document.id, version_id=version.id,
                year=document.year, valid_until=version.valid_until, reason=reason,
            )
        )
    return ComplianceReport(organisation_id=organisation_id, on=on, items=items)


def _most_recent(pairs: list[tuple[Document, DocumentVersion]]) -> tuple[Document, DocumentVersion]:
    return max(pairs, key=lambda pair: (pair[0].year or 0, pair[1].valid_until or date.max, pair[1].uploaded_at))
