"""The exports' queries: the rows of each bulk export (a funder's, or every funder's for the desk) read by batches
in the keyset order, and the SCDL export's open-data rows with their grants' payments."""

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, func, or_
from sqlalchemy import select as select_columns  # sqlmodel's `select` types four columns at most
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from common.pagination import keyset
from services.funding.models.agreement import Agreement, AgreementParty, Grant, Payment, PaymentState
from services.funding.models.committee import AgendaItem, CommitteeSession, DecisionAmendment, FunderDecision
from services.funding.models.dossier import Dossier, DossierRouting, RoutingState
from services.funding.models.open_data import OpenDataRow
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
    """Each decision, in session or delegated (no item, no session), with its dossier's references, its session
    and the session's state."""
    # Correlated on the decision only: the amendments joined outside are not the ones this counts.
    latest = (select(func.max(col(DecisionAmendment.number)))
              .where(col(DecisionAmendment.decision_id) == col(FunderDecision.id))
              .correlate(FunderDecision).scalar_subquery())
    statement = select_columns(
        FunderDecision, col(Dossier.reference), col(Dossier.thread_reference), col(AgendaItem.session_id),
        col(CommitteeSession.state), DecisionAmendment,
    ).join(Dossier, col(Dossier.id) == col(FunderDecision.dossier_id)).outerjoin(
        AgendaItem, col(AgendaItem.id) == col(FunderDecision.item_id)
    ).outerjoin(CommitteeSession, col(CommitteeSession.id) == col(AgendaItem.session_id)).outerjoin(
        # The decision as it stands: its last amendment, when a CPO's avenant made one.
        DecisionAmendment,
        and_(col(DecisionAmendment.decision_id) == col(FunderDecision.id), col(DecisionAmendment.number) == latest),
    )
    return statement if funder_id is None else statement.where(col(FunderDecision.funder_id) == funder_id)


def payments_export(funder_id: uuid.UUID | None) -> AnySelect:
    """Each payment with its dossier's references."""
    statement = select(Payment, col(Dossier.reference), col(Dossier.thread_reference)).join(
        Dossier, col(Dossier.id) == col(Payment.dossier_id))
    return statement if funder_id is None else statement.where(col(Payment.funder_id) == funder_id)


async def export_batch(
    session: AsyncSession, statement: AnySelect, model: Any, *, updated_since: datetime | None, limit: int,
    cursor: str | None,
) -> Sequence[AnyRow]:
    """The next `limit` rows after `cursor` (one more, to know a batch follows), changed since `updated_since`."""
    if updated_since is not None:
        statement = statement.where(model.updated_at >= updated_since)
    return (await session.execute(keyset(statement, model, limit=limit, cursor=cursor))).all()


async def open_data_batch(
    session: AsyncSession, *, funder_id: uuid.UUID, year: int, limit: int, cursor: str | None,
    excluded_only: bool = False,
) -> Sequence[OpenDataRow]:
    """The funder's open-data rows of the year, the next `limit` after `cursor` (one more). `excluded_only`: those
    kept out, or whose identity facts were not kept (rows from before they were, judged on identity's card)."""
    statement = select(OpenDataRow).where(col(OpenDataRow.funder_id) == funder_id, col(OpenDataRow.year) == year)
    if excluded_only:
        statement = statement.where(or_(col(OpenDataRow.excluded_reason).is_not(None),
                                        col(OpenDataRow.beneficiary_name).is_(None)))
    return (await session.execute(keyset(statement, OpenDataRow, limit=limit, cursor=cursor))).scalars().all()


async def excluded_counts(
    session: AsyncSession, *, funder_id: uuid.UUID, year: int
) -> tuple[int, dict[uuid.UUID, int]]:
    """How many of the funder's rows of the year are kept out as frozen, and, for rows without identity's facts
    (written before they were kept), how many each association has (its card decides)."""
    of_year = (col(OpenDataRow.funder_id) == funder_id, col(OpenDataRow.year) == year)
    frozen = await session.execute(select(func.count()).select_from(OpenDataRow).where(
        *of_year, col(OpenDataRow.excluded_reason).is_not(None), col(OpenDataRow.beneficiary_name).is_not(None)))
    legacy = await session.execute(select(col(OpenDataRow.organisation_id), func.count()).where(
        *of_year, col(OpenDataRow.beneficiary_name).is_(None)).group_by(col(OpenDataRow.organisation_id)))
    return int(frozen.scalar_one()), {organisation: int(count) for organisation, count in legacy.all()}


async def schedules_of(session: AsyncSession, grant_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Payment]]:
    """Each grant's payments not cancelled (an empty list for a grant with none)."""
    schedule: dict[uuid.UUID, list[Payment]] = {grant_id: [] for grant_id in grant_ids}
    statement = select(Payment).where(
        col(Payment.grant_id).in_(grant_ids), col(Payment.state) != PaymentState.cancelled
    )
    for payment in (await session.execute(statement)).scalars():
        schedule[payment.grant_id].append(payment)
    return schedule


async def grants_of_agreement(session: AsyncSession, agreement: Agreement) -> list[Grant]:
    """The agreement's grants: each party's of a multi-party agreement, else its own."""
    parties = select(Grant).join(AgreementParty, col(AgreementParty.grant_id) == col(Grant.id)).where(
        col(AgreementParty.agreement_id) == agreement.id)
    found = list((await session.execute(parties)).scalars())
    if found:
        return found
    grant = await session.get(Grant, agreement.grant_id)
    assert grant is not None  # a foreign key
    return [grant]


async def published_years(session: AsyncSession, grant_id: uuid.UUID) -> set[int]:
    statement = select(col(OpenDataRow.year)).where(col(OpenDataRow.grant_id) == grant_id)
    return set((await session.execute(statement)).scalars())


async def programme_of(session: AsyncSession, grant: Grant) -> Programme:
    programme = await session.get(Programme, grant.programme_id)
    assert programme is not None  # a foreign key
    return programme


async def row_of(session: AsyncSession, grant_id: uuid.UUID, year: int) -> OpenDataRow | None:
    statement = select(OpenDataRow).where(col(OpenDataRow.grant_id) == grant_id, col(OpenDataRow.year) == year)
    return (await session.execute(statement)).scalars().first()
