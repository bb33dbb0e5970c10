"""The exports' queries: the rows of each bulk export (a funder's, or every funder's for the desk) read by batches
in the keyset order, and the SCDL export's grants with their schedules and agreements."""

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from common.pagination import keyset
from services.funding.models.agreement import Agreement, AgreementParty, Grant, Payment, PaymentState
from services.funding.models.committee import AgendaItem, FunderDecision
from services.funding.models.dossier import Dossier, DossierRouting, RoutingState
from services.funding.models.programme import Programme

# A row of any width, and the statement that reads such rows.
AnyRow = Row[*tuple[Any, ...]]
AnySelect = Select[*tuple[Any, ...]]
# The rows of one bulk export for one funder (None: every funder), each a tuple whose first item is the model row.
ExportStatement = Callable[[uuid.UUID | None], AnySelect]


def dossiers_export(funder_id: uuid.UUID | None) -> AnySelect:
    """Each dossier with what it asks: of the funder it is routed to, or in all (every funder)."""
    if funder_id is None:
        return select(Dossier, col(Dossier.requested_total_cents))
    return select(Dossier, col(DossierRouting.amount_cents)).join(
        DossierRouting, col(DossierRouting.dossier_id) == col(Dossier.id)
    ).where(col(DossierRouting.funder_id) == funder_id, col(DossierRouting.state) == RoutingState.routed)


def decisions_export(funder_id: uuid.UUID | None) -> AnySelect:
    """Each decision in session with its dossier's reference and its session."""
    statement = select(FunderDecision, col(Dossier.reference), col(AgendaItem.session_id)).join(
        Dossier, col(Dossier.id) == col(FunderDecision.dossier_id)
    ).join(AgendaItem, col(AgendaItem.id) == col(FunderDecision.item_id))
    return statement if funder_id is None else statement.where(col(FunderDecision.funder_id) == funder_id)


def payments_export(funder_id: uuid.UUID | None) -> AnySelect:
    """Each payment with its dossier's reference."""
    statement = select(Payment, col(Dossier.reference)).join(Dossier, col(Dossier.id) == col(Payment.dossier_id))
    return statement if funder_id is None else statement.where(col(Payment.funder_id) == funder_id)


async def export_batch(
    session: AsyncSession, statement: AnySelect, model: Any, *, updated_since: datetime | None, limit: int,
    cursor: str | None,
) -> Sequence[AnyRow]:
    """The next `limit` rows after `cursor` (one more, to know a batch follows), changed since `updated_since`."""
    if updated_since is not None:
        statement = statement.where(model.updated_at >= updated_since)
    return (await session.execute(keyset(statement, model, limit=limit, cursor=cursor))).all()


async def grants_batch(
    session: AsyncSession, *, funder_id: uuid.UUID, year: int, limit: int, cursor: str | None
) -> Sequence[Row[Grant, str]]:
    """The funder's grants of the year with their programme's title, the next `limit` after `cursor` (one more)."""
    statement = select(Grant, col(Programme.title)).join(
        Programme, col(Programme.id) == col(Grant.programme_id)
    ).where(col(Grant.funder_id) == funder_id, col(Grant.year) == year)
    return (await session.execute(keyset(statement, Grant, limit=limit, cursor=cursor))).all()


async def schedules_of(session: AsyncSession, grant_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Payment]]:
    """Each grant's payments not cancelled (an empty list for a grant with none)."""
    schedule: dict[uuid.UUID, list[Payment]] = {grant_id: [] for grant_id in grant_ids}
    statement = select(Payment).where(
        col(Payment.grant_id).in_(grant_ids), col(Payment.state) != PaymentState.cancelled
    )
    for payment in (await session.execute(statement)).scalars():
        schedule[payment.grant_id].append(payment)
    return schedule


async def agreements_of_grants(session: AsyncSession, grant_ids: list[uuid.UUID]) -> dict[uuid.UUID, Agreement]:
    """Each grant's agreement: its own, or the multi-party one it is a party to (whatever its payments became)."""
    found: dict[uuid.UUID, Agreement] = {}
    own = select(Agreement).where(col(Agreement.grant_id).in_(grant_ids))
    for agreement in (await session.execute(own)).scalars():
        found[agreement.grant_id] = agreement
    shared = select(AgreementParty.grant_id, Agreement).join(
        Agreement, col(Agreement.id) == col(AgreementParty.agreement_id)
    ).where(col(AgreementParty.grant_id).in_(grant_ids))
    for grant_id, agreement in (await session.execute(shared)).all():
        found[grant_id] = agreement
    return found
