"""The vault's queries: documents and versions by id, their lists and current versions, pins, the reports citing a
version, the blob lock, and what compliance reads."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, false, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from common.db import children_by_parent, get_row, utcnow, where_given
from common.pagination import keyset
from common.tokens import Principal
from services.projects.models import Document, DocumentPin, DocumentVersion, Report, ReportEvidence
from services.vocabulary import DESK_ROLES


def readable_documents(principal: Principal) -> Select[Document]:
    """The documents a caller may read: any organisation's for the desk and the desk's services (their service
    token), its own organisation's for anyone else."""
    statement = select(Document)
    if principal.kind == "service" or principal.has_any_role(DESK_ROLES):
        return statement
    return writable_documents(principal)


def writable_documents(principal: Principal) -> Select[Document]:
    """The documents a caller may change (new versions, deletions): its own organisation's, none without one."""
    if principal.organisation_id is None:
        return select(Document).where(false())
    return select(Document).where(col(Document.organisation_id) == principal.organisation_id)


async def readable_document(session: AsyncSession, principal: Principal, document_id: uuid.UUID) -> Document | None:
    statement = readable_documents(principal).where(col(Document.id) == document_id)
    return (await session.execute(statement)).scalars().first()


async def locked_writable_document(
    session: AsyncSession, principal: Principal, document_id: uuid.UUID
) -> Document | None:
    """The caller's own document, locked until the commit (PostgreSQL; on SQLite a writer holds the database)."""
    statement = (
        writable_documents(principal).where(col(Document.id) == document_id)
        .with_for_update().execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalars().first()


async def version_by_id(
    session: AsyncSession, version_id: uuid.UUID, *, for_update: bool = False
) -> DocumentVersion | None:
    return await get_row(session, DocumentVersion, version_id, for_update=for_update)


async def lock_blob(session: AsyncSession, sha256: str) -> None:
    """Serialise publishing and releasing one blob until the transaction ends: an advisory lock on PostgreSQL;
    on SQLite a writer holds the database's lock from its first statement (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(bytes.fromhex(sha256[:16]), "big", signed=True)
        await session.execute(text("SELECT pg_advisory_xact_lock(CAST(:key AS BIGINT))"), {"key": key})
    else:
        await session.execute(text("SELECT 1"))


async def latest_version_number(session: AsyncSession, document_id: uuid.UUID) -> int | None:
    return (
        await session.execute(
            select(func.max(col(DocumentVersion.number))).where(col(DocumentVersion.document_id) == document_id)
        )
    ).scalar_one()


async def version_count(session: AsyncSession, document_id: uuid.UUID) -> int:
    return (
        await session.execute(
            select(func.count()).select_from(DocumentVersion).where(col(DocumentVersion.document_id) == document_id)
        )
    ).scalar_one()


async def blob_references(session: AsyncSession, sha256: str) -> int:
    """How many versions reference the blob."""
    return (
        await session.execute(
            select(func.count()).select_from(DocumentVersion).where(col(DocumentVersion.sha256) == sha256)
        )
    ).scalar_one()


async def reports_citing(session: AsyncSession, version_id: uuid.UUID) -> list[uuid.UUID]:
    """The reports, whatever their state, that cite the version as evidence (their table has no foreign key to the
    vault: the delete checks it here)."""
    rows = await session.execute(
        select(col(Report.id))
        .join(ReportEvidence, col(ReportEvidence.report_id) == col(Report.id))
        .where(col(ReportEvidence.document_version_id) == version_id)
        .order_by(col(Report.id))
    )
    return list(rows.scalars())


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
    """A page (plus one row) of the documents the caller reads, filtered (another organisation than the caller's
    own gives nothing unless the caller reads every one)."""
    statement = where_given(
        readable_documents(principal),
        (col(Document.organisation_id), organisation_id), (col(Document.kind), kind), (col(Document.year), year),
    )
    if updated_since is not None:
        statement = statement.where(col(Document.updated_at) >= updated_since)
    return list((await session.execute(keyset(statement, Document, limit=limit, cursor=cursor))).scalars())


async def pins_of(session: AsyncSession, version_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    return await children_by_parent(session, DocumentPin.version_id, DocumentPin.dossier_id, version_ids)


async def delete_pins(session: AsyncSession, *conditions: Any) -> tuple[int, list[uuid.UUID]]:
    """Delete the pins matching `conditions`: how many, and the documents whose versions they pinned. Their
    documents are locked first, in id order, as a pin, a new version and a deletion lock them: no deadlock."""
    pinned = select(col(DocumentPin.version_id)).where(*conditions)
    documents = list((await session.execute(
        select(col(Document.id))
        .where(col(Document.id).in_(
            select(col(DocumentVersion.document_id)).where(col(DocumentVersion.id).in_(pinned))
        ))
        .order_by(col(Document.id))
        .with_for_update()
    )).scalars())
    if not documents:
        return 0, []
    result = await session.execute(delete(DocumentPin).where(*conditions).execution_options(synchronize_session=False))
    return int(result.rowcount or 0), documents  # type: ignore[attr-defined]


def expired_reservations(now: datetime) -> Any:
    """The condition of a reservation past its time (never a confirmed pin)."""
    return and_(col(DocumentPin.state) == "reserved", col(DocumentPin.reserved_until) < now)


async def confirm_pins(session: AsyncSession, *, dossier_id: uuid.UUID, attempt_id: uuid.UUID, now: datetime) -> int:
    """The attempt's reservations become confirmed pins, expired or not as long as the sweep left them."""
    result = await session.execute(
        update(DocumentPin)
        .where(col(DocumentPin.dossier_id) == dossier_id, col(DocumentPin.attempt_id) == attempt_id,
               col(DocumentPin.state) == "reserved")
        .values(state="confirmed", confirmed_at=now, reserved_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def confirmed_versions(
    session: AsyncSession, *, dossier_id: uuid.UUID, version_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    return set((await session.execute(
        select(col(DocumentPin.version_id)).where(
            col(DocumentPin.dossier_id) == dossier_id, col(DocumentPin.version_id).in_(version_ids),
            col(DocumentPin.state) == "confirmed",
        )
    )).scalars())


async def renew_reservations(
    session: AsyncSession, *, dossier_id: uuid.UUID, version_ids: list[uuid.UUID], attempt_id: uuid.UUID,
    until: datetime,
) -> None:
    """The dossier's reservations of these versions (an earlier attempt's, not yet lapsed or swept) pass to this
    attempt: its confirmation confirms them, its failure releases them."""
    await session.execute(
        update(DocumentPin)
        .where(col(DocumentPin.dossier_id) == dossier_id, col(DocumentPin.version_id).in_(version_ids),
               col(DocumentPin.state) == "reserved")
        .values(attempt_id=attempt_id, reserved_until=until)
        .execution_options(synchronize_session=False)
    )


def _latest_number() -> object:
    newer = aliased(DocumentVersion)
    return (
        select(func.max(col(newer.number)))
        .where(col(newer.document_id) == col(DocumentVersion.document_id))
        .scalar_subquery()
    )


async def current_versions(session: AsyncSession, document_ids: list[uuid.UUID]) -> list[DocumentVersion]:
    """The latest version of each document."""
    return list(
        (
            await session.execute(
                select(DocumentVersion).where(
                    col(DocumentVersion.document_id).in_(document_ids),
                    col(DocumentVersion.number) == _latest_number(),
                )
            )
        ).scalars()
    )


async def versions_of(session: AsyncSession, document_id: uuid.UUID) -> list[DocumentVersion]:
    """A document's versions, the latest first."""
    return list(
        (
            await session.execute(
                select(DocumentVersion)
                .where(col(DocumentVersion.document_id) == document_id)
                .order_by(col(DocumentVersion.number).desc())
            )
        ).scalars()
    )


async def owned_version_ids(
    session: AsyncSession, *, organisation_id: uuid.UUID, version_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """The versions among `version_ids` of the organisation's documents, key-locked (FOR KEY SHARE)."""
    rows = await session.execute(
        select(col(DocumentVersion.id))
        .join(Document, col(Document.id) == col(DocumentVersion.document_id))
        .where(col(Document.organisation_id) == organisation_id, col(DocumentVersion.id).in_(version_ids))
        .with_for_update(read=True, key_share=True, of=DocumentVersion)
    )
    return set(rows.scalars())


async def lock_documents_of_versions(
    session: AsyncSession, *, organisation_id: uuid.UUID, version_ids: list[uuid.UUID]
) -> None:
    """Lock, in id order, the organisation's documents holding these versions."""
    await session.execute(
        select(col(Document.id))
        .where(
            col(Document.organisation_id) == organisation_id,
            col(Document.id).in_(select(col(DocumentVersion.document_id)).where(col(DocumentVersion.id).in_(version_ids))),
        )
        .order_by(col(Document.id))
        .with_for_update()
    )


async def versions_with_documents(
    session: AsyncSession, *, organisation_id: uuid.UUID, version_ids: list[uuid.UUID]
) -> list[Any]:
    """(version, document) rows of the organisation's versions among `version_ids`."""
    return list(
        (
            await session.execute(
                select(DocumentVersion, Document)
                .join(Document, col(Document.id) == col(DocumentVersion.document_id))
                .where(col(Document.organisation_id) == organisation_id, col(DocumentVersion.id).in_(version_ids))
            )
        ).all()
    )


async def pinned_versions(
    session: AsyncSession, *, dossier_id: uuid.UUID, version_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """The versions among `version_ids` the dossier already pins."""
    return set(
        (
            await session.execute(
                select(col(DocumentPin.version_id)).where(
                    col(DocumentPin.dossier_id) == dossier_id, col(DocumentPin.version_id).in_(version_ids)
                )
            )
        ).scalars()
    )


async def insert_pins(session: AsyncSession, pins: list[dict[str, Any]]) -> None:
    """Insert pins, a pin already there left as it is (an IntegrityError if a version is gone)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    await session.execute(dialect.insert(DocumentPin).values(pins).on_conflict_do_nothing())


async def bump_documents(session: AsyncSession, document_ids: list[uuid.UUID]) -> None:
    """A new version (and ETag) for each document, without loading them."""
    await session.execute(
        update(Document)
        .where(col(Document.id).in_(document_ids))
        .values(version=col(Document.version) + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def latest_versions_of_kinds(
    session: AsyncSession, *, organisation_id: uuid.UUID, kinds: Sequence[str]
) -> list[Any]:
    """(document, its latest version) rows of the organisation's documents of these kinds."""
    return list(
        (
            await session.execute(
                select(Document, DocumentVersion)
                .join(DocumentVersion, col(DocumentVersion.document_id) == col(Document.id))
                .where(
                    col(Document.organisation_id) == organisation_id,
                    col(Document.kind).in_(kinds),
                    col(DocumentVersion.number) == _latest_number(),
                )
            )
        ).all()
    )
