"""The documents vault's rules: who sees which document; documents and their versions created, read and deleted
(an upload is judged in `uploads`, each content stored once in `storage`); whether an organisation holds valid
documents of given kinds. Pins by submitted dossiers are in `pins`."""

import logging
import uuid
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import Database, utcnow
from common.problems import Conflict, Forbidden, NotFound, Text
from common.tokens import Principal
from services.projects.documents import repository, uploads
from services.projects.documents.content_types import ZipLimits
from services.projects.documents.schemas import (
    ComplianceItem,
    ComplianceReason,
    ComplianceReport,
    DocumentKind,
    DocumentListItem,
    DocumentPublic,
    DocumentUpload,
    DocumentVersionPublic,
)
from services.projects.documents.storage import DocumentStorage
from services.projects.documents.uploads import Received
from services.projects.models import PER_YEAR_KINDS, Document, DocumentPin, DocumentVersion

log = logging.getLogger("projects.documents")

DOCUMENT_NOT_FOUND = Text("Document introuvable.", "Document not found.")
VERSION_NOT_FOUND = Text("Version introuvable.", "Version not found.")


def download_etag(version: DocumentVersion) -> str:
    return f'"{version.sha256}"'


# --- who sees what --------------------------------------------------------------------------------------------


async def readable_document(session: AsyncSession, principal: Principal, document_id: uuid.UUID) -> Document:
    """The document if the caller may read it (`repository.readable_documents`); else 404."""
    return _found(await repository.readable_document(session, principal, document_id))


async def locked_own_document(session: AsyncSession, principal: Principal, document_id: uuid.UUID) -> Document:
    """The caller's own document, locked for a change of its versions; else 404."""
    return _found(await repository.locked_writable_document(session, principal, document_id))


def _found(document: Document | None) -> Document:
    if document is None:
        raise NotFound(DOCUMENT_NOT_FOUND)
    return document


async def downloadable_version(
    session: AsyncSession, storage: DocumentStorage, document: Document, version_id: uuid.UUID
) -> DocumentVersion:
    """One of the document's versions whose content the storage still holds; else 404
    (`document_content_missing` when the blob is gone, which is logged)."""
    version = await version_of(session, document, version_id)
    if not await storage.exists(version.sha256):
        log.error("blob %s of version %s is missing from the storage", version.sha256, version.id)
        raise NotFound(
            Text("Le contenu de cette version est introuvable.", "This version's content cannot be found."),
            code="document_content_missing",
        )
    return version


async def version_of(
    session: AsyncSession, document: Document, version_id: uuid.UUID, *, for_update: bool = False
) -> DocumentVersion:
    version = await repository.version_by_id(session, version_id, for_update=for_update)
    if version is None or version.document_id != document.id:
        raise NotFound(VERSION_NOT_FOUND)
    return version


# --- documents and versions -------------------------------------------------------------------------------------


async def _store_version(
    session: AsyncSession, storage: DocumentStorage, received: Received, version: DocumentVersion
) -> None:
    """Write the version row, then publish its blob under the lock: a release running at the same time either
    finished before (and the blob is published again) or waits and sees this row."""
    session.add(version)
    await session.flush()
    await repository.lock_blob(session, received.staged.sha256)
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
    if principal.organisation_id is None:  # identity puts an organisation in every token carrying a holder's role
        raise Forbidden(Text("Seule une organisation dépose des pièces.", "Only an organisation uploads documents."))
    organisation_id = principal.organisation_id
    uploads.check_year(form.kind, form.year)
    async with uploads.received_file(storage, form.file, max_bytes=max_bytes, zip_limits=zip_limits) as received:
        document = Document(
            organisation_id=organisation_id,
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
    latest = await repository.latest_version_number(session, document.id)
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


async def delete_version(
    session: AsyncSession, *, document: Document, version_id: uuid.UUID, now: datetime
) -> tuple[Document | None, str]:
    """Remove a version no dossier pins and no report cites (the document with its last one); returns the document
    left and the sha256 whose blob may now be unreferenced (see `release_blob`, run after the commit)."""
    # Locked before the checks: a pin (its foreign key) or a report's evidence (`owned_versions`) taking the
    # version's key lock either committed before, and is seen below, or waits and then finds the version gone.
    version = await version_of(session, document, version_id, for_update=True)
    # A reservation past its time never blocks a deletion, swept or not yet.
    await repository.delete_pins(
        session, col(DocumentPin.version_id) == version.id, repository.expired_reservations(now)
    )
    pins = (await repository.pins_of(session, [version.id]))[version.id]
    if pins:
        raise _pinned(pins)
    # Refused for a draft's evidence too: the report's table is not the vault's to change, and a draft left
    # citing a deleted version could be submitted so.
    reports = await repository.reports_citing(session, version.id)
    if reports:
        raise _in_reports(reports)
    sha256 = version.sha256
    try:
        async with session.begin_nested():  # the session stays usable to read the pins again
            await session.delete(version)
            await session.flush()
    except IntegrityError as exc:  # pinned by a dossier between our check and the delete
        pins = (await repository.pins_of(session, [version_id]))[version_id]
        if not pins:
            raise
        raise _pinned(pins) from exc
    remaining = await repository.version_count(session, document.id)
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
            await repository.lock_blob(session, sha256)
            referenced = await repository.blob_references(session, sha256)
            if not referenced:
                await storage.delete(sha256)
            await session.commit()
    except Exception:  # the deletion stands; an unreferenced blob is only disk space
        log.exception("blob %s not released", sha256)


# --- reading ----------------------------------------------------------------------------------------------------


# A page (plus one row) of the documents the caller sees: its organisation's, or any for the desk.
list_documents = repository.list_documents


async def _version_publics(
    session: AsyncSession, versions: list[DocumentVersion]
) -> dict[uuid.UUID, DocumentVersionPublic]:
    pins = await repository.pins_of(session, [v.id for v in versions])
    return {
        v.id: DocumentVersionPublic(**v.model_dump(), pinned_by_dossiers=pins[v.id]) for v in versions
    }


async def to_list_items(session: AsyncSession, documents: list[Document]) -> list[DocumentListItem]:
    if not documents:
        return []
    current = await repository.current_versions(session, [d.id for d in documents])
    publics = await _version_publics(session, current)
    by_document = {v.document_id: publics[v.id] for v in current}
    # A document whose last version was deleted between the two reads is gone: not listed.
    return [
        DocumentListItem(**d.model_dump(), current_version=by_document[d.id]) for d in documents if d.id in by_document
    ]


async def to_public(session: AsyncSession, document: Document) -> DocumentPublic:
    versions = await repository.versions_of(session, document.id)
    if not versions:  # its last version deleted since the document was read: the document went with it
        raise NotFound(DOCUMENT_NOT_FOUND)
    publics = await _version_publics(session, versions)
    ordered = [publics[v.id] for v in versions]
    return DocumentPublic(**document.model_dump(), current_version=ordered[0], versions=ordered)


# --- compliance (the funding service asks) ----------------------------------------------------------------------


async def compliance(
    session: AsyncSession, *, organisation_id: uuid.UUID, kinds: list[DocumentKind], on: date
) -> ComplianceReport:
    """For each kind: does the organisation hold a document whose latest version is valid on that date (and, for
    a per-year kind, of the year before or later)?"""
    kinds = list(dict.fromkeys(kinds))
    rows = await repository.latest_versions_of_kinds(session, organisation_id=organisation_id, kinds=kinds)
    items = []
    for kind in kinds:
        candidates = [(d, v) for d, v in rows if d.kind == kind]
        recent = [(d, v) for d, v in candidates if kind not in PER_YEAR_KINDS or d.year >= on.year - 1]
        valid = [(d, v) for d, v in recent if v.valid_until is None or v.valid_until >= on]
        reason: ComplianceReason | None
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
