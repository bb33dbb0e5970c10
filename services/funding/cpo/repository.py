"""The CPOs' queries: a CPO's versions and reviews, the agreements, grants and payments a review or an
evaluation moves, the reports it reads."""

import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.funding.models.agreement import (
    Agreement,
    AgreementParty,
    Grant,
    Payment,
    PaymentCondition,
    PaymentState,
)
from services.funding.models.committee import DecisionAmendment, FunderDecision
from services.funding.models.cpo import CpoReview, CpoVersion, ReviewOutcome
from services.funding.models.financial_report import FinancialReport, ReportState

PASSING = (ReviewOutcome.continue_, ReviewOutcome.amend)
OUTSTANDING = (PaymentState.scheduled, PaymentState.requested)


async def versions_of(session: AsyncSession, dossier_id: uuid.UUID) -> list[CpoVersion]:
    """The CPO's versions, the one granted first, then its amendments."""
    rows = await session.execute(
        select(CpoVersion).where(col(CpoVersion.dossier_id) == dossier_id).order_by(col(CpoVersion.number))
    )
    return list(rows.scalars())


async def reviews_of(session: AsyncSession, dossier_id: uuid.UUID) -> list[CpoReview]:
    rows = await session.execute(
        select(CpoReview).where(col(CpoReview.dossier_id) == dossier_id).order_by(col(CpoReview.number))
    )
    return list(rows.scalars())


async def next_review_number(session: AsyncSession, dossier_id: uuid.UUID) -> int:
    """The next review's number (the dossier is locked: no other review is being written)."""
    last = await session.execute(
        select(func.max(col(CpoReview.number))).where(col(CpoReview.dossier_id) == dossier_id)
    )
    return (last.scalar_one() or 0) + 1


async def years_passed(session: AsyncSession, dossier_id: uuid.UUID) -> set[int]:
    """The years whose review let the CPO go on (continue or amend)."""
    rows = await session.execute(
        select(col(CpoReview.year)).where(
            col(CpoReview.dossier_id) == dossier_id, col(CpoReview.kind) == "yearly",
            col(CpoReview.outcome).in_(list(PASSING)),
        )
    )
    return set(rows.scalars())


async def financial_reports_of(session: AsyncSession, dossier_id: uuid.UUID, year: int) -> list[FinancialReport]:
    """The financial reports the dossier owes for `year`, by due date and funder."""
    rows = await session.execute(
        select(FinancialReport)
        .where(col(FinancialReport.dossier_id) == dossier_id, col(FinancialReport.year) == year)
        .order_by(col(FinancialReport.due_on), col(FinancialReport.funder_id))
    )
    return list(rows.scalars())


async def locked_agreements(session: AsyncSession, dossier_id: uuid.UUID) -> list[Agreement]:
    """The dossier's agreements, in number order, locked for the move."""
    rows = await session.execute(
        select(Agreement).where(col(Agreement.dossier_id) == dossier_id).order_by(col(Agreement.number))
        .with_for_update()
    )
    return list(rows.scalars())


async def balances_to_release(session: AsyncSession, dossier_id: uuid.UUID, year: int) -> list[Payment]:
    """The year's instalments that wait for its review and were not released yet."""
    rows = await session.execute(
        select(Payment).where(
            col(Payment.dossier_id) == dossier_id, col(Payment.year) == year,
            col(Payment.condition) == PaymentCondition.after_review, col(Payment.released_at).is_(None),
        )
    )
    return list(rows.scalars())


async def outstanding_payments(session: AsyncSession, dossier_id: uuid.UUID) -> list[Payment]:
    """The dossier's payments still to be paid or cancelled, by funder and sequence, locked and read afresh: a
    payment cancelled meanwhile is not cancelled twice, and each is locked before its grant year (a payment's own
    cancel takes that order)."""
    rows = await session.execute(
        select(Payment).where(col(Payment.dossier_id) == dossier_id, col(Payment.state).in_(list(OUTSTANDING)))
        .order_by(col(Payment.funder_id), col(Payment.sequence))
        .with_for_update().execution_options(populate_existing=True)
    )
    return list(rows.scalars())


async def has_outstanding_payments(session: AsyncSession, dossier_id: uuid.UUID) -> bool:
    found = await session.execute(
        select(col(Payment.id)).where(col(Payment.dossier_id) == dossier_id, col(Payment.state).in_(list(OUTSTANDING)))
    )
    return found.first() is not None


async def drop_reports_after(session: AsyncSession, dossier_id: uuid.UUID, year: int) -> None:
    """The reports of the years after `year` not started yet: no longer owed."""
    await session.execute(delete(FinancialReport).where(
        col(FinancialReport.dossier_id) == dossier_id, col(FinancialReport.year) > year,
        col(FinancialReport.state) == ReportState.expected,
    ))


async def locked_grants_by_funder(session: AsyncSession, dossier_id: uuid.UUID) -> dict[uuid.UUID, Grant]:
    """The dossier's grants, locked, by their funder."""
    rows = await session.execute(select(Grant).where(col(Grant.dossier_id) == dossier_id).with_for_update())
    return {grant.funder_id: grant for grant in rows.scalars()}


async def parties_of(session: AsyncSession, agreement_ids: list[uuid.UUID]) -> list[AgreementParty]:
    """The funder parties of these (multi-party) agreements."""
    rows = await session.execute(select(AgreementParty).where(col(AgreementParty.agreement_id).in_(agreement_ids)))
    return list(rows.scalars())


async def locked_payments_of_grant(session: AsyncSession, grant_id: uuid.UUID) -> list[Payment]:
    """The grant's payments in sequence order, locked for their recutting."""
    rows = await session.execute(
        select(Payment).where(col(Payment.grant_id) == grant_id).order_by(col(Payment.sequence)).with_for_update()
    )
    return list(rows.scalars())


async def delete_payments(session: AsyncSession, payments: list[Payment]) -> None:
    for payment in payments:
        await session.delete(payment)
    await session.flush()


async def locked_decision(session: AsyncSession, dossier_id: uuid.UUID, funder_id: uuid.UUID) -> FunderDecision | None:
    """The funder's committee decision on the dossier (a deferral or a withdrawal deleted any other), locked for
    its amendment."""
    rows = await session.execute(
        select(FunderDecision).where(col(FunderDecision.dossier_id) == dossier_id,
                                     col(FunderDecision.funder_id) == funder_id)
        .order_by(col(FunderDecision.created_at).desc()).limit(1).with_for_update()
    )
    return rows.scalar_one_or_none()


async def amendments_count(session: AsyncSession, decision_id: uuid.UUID) -> int:
    total = await session.execute(
        select(func.count()).select_from(DecisionAmendment).where(col(DecisionAmendment.decision_id) == decision_id)
    )
    return int(total.scalar_one())
