"""The integrity check's reads: one funder's envelopes, grants, payments, ledgers, decisions, CPO versions and
open-data rows, each in one query."""

import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.funding.models.agreement import Agreement, AgreementParty, Grant, GrantYear, Payment
from services.funding.models.committee import (
    AgendaItem,
    CommitteeSession,
    FunderDecision,
    SessionState,
)
from services.funding.models.cpo import CpoVersion
from services.funding.models.dossier import Dossier
from services.funding.models.envelope import Envelope, EnvelopeMovement
from services.funding.models.open_data import OpenDataRow
from services.funding.models.programme import Programme


async def envelopes_of(session: AsyncSession, funder_id: uuid.UUID, year: int) -> list[Envelope]:
    statement = select(Envelope).where(col(Envelope.funder_id) == funder_id, col(Envelope.year) == year)
    return list((await session.execute(statement)).scalars())


async def grants_of(session: AsyncSession, funder_id: uuid.UUID, year: int | None = None) -> list[Grant]:
    """The funder's grants on the programmes of `year`, and those with a year of their own or money on an
    envelope of `year` (a CPO's later years); None: every grant of the funder."""
    statement = select(Grant).where(col(Grant.funder_id) == funder_id)
    if year is not None:
        touching = select(col(GrantYear.grant_id)).where(
            col(GrantYear.funder_id) == funder_id,
            or_(col(GrantYear.year) == year, col(GrantYear.envelope_year) == year))
        statement = statement.where(or_(col(Grant.year) == year, col(Grant.id).in_(touching)))
    return list((await session.execute(statement)).scalars())


async def payments_of(session: AsyncSession, grant_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Payment]]:
    found: dict[uuid.UUID, list[Payment]] = {grant_id: [] for grant_id in grant_ids}
    if grant_ids:
        for payment in (await session.execute(select(Payment).where(col(Payment.grant_id).in_(grant_ids)))).scalars():
            found[payment.grant_id].append(payment)
    return found


async def current_versions(session: AsyncSession, dossier_ids: list[uuid.UUID]) -> dict[uuid.UUID, CpoVersion]:
    """Each CPO dossier's latest version (its amounts as amended so far)."""
    if not dossier_ids:
        return {}
    latest = select(col(CpoVersion.dossier_id), func.max(col(CpoVersion.number)).label("number")).where(
        col(CpoVersion.dossier_id).in_(dossier_ids)).group_by(col(CpoVersion.dossier_id)).subquery()
    statement = select(CpoVersion).join(
        latest, (col(CpoVersion.dossier_id) == latest.c.dossier_id) & (col(CpoVersion.number) == latest.c.number))
    return {version.dossier_id: version for version in (await session.execute(statement)).scalars()}


async def ledger_sums(session: AsyncSession, envelope_ids: list[uuid.UUID]) -> dict[tuple[uuid.UUID, str], int]:
    """Σ of each envelope's movements, by kind."""
    if not envelope_ids:
        return {}
    statement = (
        select(col(EnvelopeMovement.envelope_id), col(EnvelopeMovement.kind),
               func.sum(col(EnvelopeMovement.amount_cents)))
        .where(col(EnvelopeMovement.envelope_id).in_(envelope_ids))
        .group_by(col(EnvelopeMovement.envelope_id), col(EnvelopeMovement.kind))
    )
    return {(envelope_id, kind): int(total) for envelope_id, kind, total in await session.execute(statement)}


async def closed_decisions(
    session: AsyncSession, dossier_ids: list[uuid.UUID], funder_ids: set[uuid.UUID]
) -> dict[tuple[uuid.UUID, uuid.UUID], FunderDecision]:
    """The committee decisions of closed sessions on these dossiers, by (dossier, funder)."""
    statement = (
        select(FunderDecision).join(AgendaItem, col(AgendaItem.id) == col(FunderDecision.item_id))
        .join(CommitteeSession, col(CommitteeSession.id) == col(AgendaItem.session_id))
        .where(col(CommitteeSession.state) == SessionState.closed, col(FunderDecision.dossier_id).in_(dossier_ids),
               col(FunderDecision.funder_id).in_(funder_ids))
    )
    return {(d.dossier_id, d.funder_id): d for d in (await session.execute(statement)).scalars()}


async def decided_in_open_sessions(
    session: AsyncSession, funder_id: uuid.UUID, year: int
) -> list[tuple[uuid.UUID, FunderDecision]]:
    """The funder's decisions in sessions not closed yet on the dossiers of `year`'s programmes, each with its
    programme (a decision commits on the envelope at once; its grant comes at the closing)."""
    statement = (
        select(col(Dossier.programme_id), FunderDecision)
        .join(AgendaItem, col(AgendaItem.id) == col(FunderDecision.item_id))
        .join(CommitteeSession, col(CommitteeSession.id) == col(AgendaItem.session_id))
        .join(Dossier, col(Dossier.id) == col(FunderDecision.dossier_id))
        .join(Programme, col(Programme.id) == col(Dossier.programme_id))
        .where(col(CommitteeSession.state) != SessionState.closed, col(FunderDecision.funder_id) == funder_id,
               col(Programme.year) == year)
    )
    return [(programme_id, decision) for programme_id, decision in (await session.execute(statement)).tuples()]


async def open_data_rows(session: AsyncSession, funder_id: uuid.UUID, year: int) -> list[OpenDataRow]:
    statement = select(OpenDataRow).where(col(OpenDataRow.funder_id) == funder_id, col(OpenDataRow.year) == year)
    return list((await session.execute(statement)).scalars())


async def agreements_of(session: AsyncSession, grant_ids: list[uuid.UUID]) -> dict[uuid.UUID, Agreement]:
    """The agreement each grant is notified by: its own, or the multi-party one it is a party to."""
    if not grant_ids:
        return {}
    own = {agreement.grant_id: agreement for agreement in (await session.execute(
        select(Agreement).where(col(Agreement.grant_id).in_(grant_ids)))).scalars()}
    shared = (await session.execute(select(col(AgreementParty.grant_id), Agreement).join(
        Agreement, col(Agreement.id) == col(AgreementParty.agreement_id)).where(
        col(AgreementParty.grant_id).in_(grant_ids)))).all()
    return own | {grant_id: agreement for grant_id, agreement in shared}
