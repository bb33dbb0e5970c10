"""The envelopes' queries: who reads which envelope (one statement, for the list and for the one-item loader),
the conditional UPDATE that moves their money, and their ledger."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, case, false, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import utcnow, where_given
from common.pagination import decode_sequence, keyset
from common.problems import NotFound, Text
from common.tokens import Principal
from services.funding.models.envelope import Envelope, EnvelopeMovement, MovementKind
from services.vocabulary import DESK_ROLES, FUNDER_ROLES

ENVELOPE_NOT_FOUND = Text("Enveloppe introuvable.", "Envelope not found.")
# The movements that say what a dossier holds on an envelope.
DOSSIER_KINDS = (MovementKind.committed, MovementKind.released, MovementKind.paid)


def readable_envelopes(principal: Principal) -> Select[Envelope]:
    """The envelopes the caller may read: every one for the desk, its organisation's for a funder's people."""
    statement = select(Envelope)
    if principal.has_any_role(DESK_ROLES):
        return statement
    if principal.has_any_role(FUNDER_ROLES):
        return statement.where(col(Envelope.funder_id) == principal.organisation_id)
    return statement.where(false())


async def envelope_for(
    session: AsyncSession, principal: Principal, envelope_id: uuid.UUID, *, for_update: bool = False
) -> Envelope:
    """One envelope the caller may read (locked `for_update`, for the change about to be made); 404 otherwise."""
    statement = readable_envelopes(principal).where(col(Envelope.id) == envelope_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    envelope = (await session.execute(statement)).scalar_one_or_none()
    if envelope is None:
        raise NotFound(ENVELOPE_NOT_FOUND)
    return envelope


async def readable_envelope(session: AsyncSession, principal: Principal, envelope_id: uuid.UUID) -> Envelope:
    return await envelope_for(session, principal, envelope_id)


async def locked_envelope(session: AsyncSession, principal: Principal, envelope_id: uuid.UUID) -> Envelope:
    return await envelope_for(session, principal, envelope_id, for_update=True)


async def list_envelopes(
    session: AsyncSession, *, principal: Principal, programme_id: uuid.UUID | None, year: int | None,
    funder_id: uuid.UUID | None, updated_since: datetime | None, limit: int, cursor: str | None,
) -> list[Envelope]:
    """A page of the envelopes the caller may read; `funder_id`, `programme_id`, `year` narrow it."""
    statement = where_given(
        readable_envelopes(principal),
        (Envelope.funder_id, funder_id), (Envelope.programme_id, programme_id), (Envelope.year, year),
    )
    if updated_since is not None:
        statement = statement.where(col(Envelope.updated_at) >= updated_since)
    return list((await session.execute(keyset(statement, Envelope, limit=limit, cursor=cursor))).scalars())


async def envelope_id_of(
    session: AsyncSession, *, funder_id: uuid.UUID, programme_id: uuid.UUID, year: int
) -> uuid.UUID | None:
    """The funder's envelope for that programme and year, if it has one."""
    statement = select(col(Envelope.id)).where(
        col(Envelope.funder_id) == funder_id, col(Envelope.programme_id) == programme_id, col(Envelope.year) == year
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def locked_by_id(session: AsyncSession, envelope_id: uuid.UUID) -> Envelope:
    """The envelope, locked until commit and read afresh (a move checks the dossier's share against it)."""
    statement = (
        select(Envelope).where(col(Envelope.id) == envelope_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one()


async def refreshed(session: AsyncSession, envelope_id: uuid.UUID) -> Envelope:
    """The envelope as the database holds it now (a refusal names its balances)."""
    statement = select(Envelope).where(col(Envelope.id) == envelope_id).execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one()


async def move(
    session: AsyncSession, envelope_id: uuid.UUID, *, condition: ColumnElement[bool], **values: Any
) -> Row[int, int, int, int] | None:
    """One conditional UPDATE of the envelope: its balances after it (total, committed, paid, version), or None
    when the condition failed."""
    statement = (
        update(Envelope)
        .where(col(Envelope.id) == envelope_id, condition)
        .values(**values, version=col(Envelope.version) + 1, updated_at=utcnow())
        .returning(col(Envelope.total_cents), col(Envelope.committed_cents), col(Envelope.paid_cents),
                   col(Envelope.version))
        # Refreshes an Envelope this session already holds from the row the database returns.
        .execution_options(synchronize_session="fetch")
    )
    return (await session.execute(statement)).first()


async def dossier_money(session: AsyncSession, envelope_id: uuid.UUID, dossier_id: uuid.UUID) -> tuple[int, int]:
    """What the dossier has committed (commitments less releases) and been paid on the envelope, from its ledger."""
    is_paid = col(EnvelopeMovement.kind) == MovementKind.paid
    amount = col(EnvelopeMovement.amount_cents)
    statement = select(
        func.coalesce(func.sum(case((is_paid, 0), else_=amount)), 0),
        func.coalesce(func.sum(case((is_paid, amount), else_=0)), 0),
    ).where(
        col(EnvelopeMovement.envelope_id) == envelope_id,
        col(EnvelopeMovement.dossier_id) == dossier_id,
        col(EnvelopeMovement.kind).in_(DOSSIER_KINDS),
    )
    committed, paid = (await session.execute(statement)).tuples().one()
    return int(committed), int(paid)


async def ledger_page(
    session: AsyncSession, envelope_id: uuid.UUID, *, limit: int, cursor: str | None
) -> list[EnvelopeMovement]:
    """The envelope's movements in the order of its versions, after the cursor, one more than the page."""
    statement = select(EnvelopeMovement).where(col(EnvelopeMovement.envelope_id) == envelope_id)
    if cursor:
        statement = statement.where(col(EnvelopeMovement.sequence) > decode_sequence(cursor))
    statement = statement.order_by(col(EnvelopeMovement.sequence)).limit(limit + 1)
    return list((await session.execute(statement)).scalars())
