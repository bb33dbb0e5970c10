"""The grant years' queries: a grant's years, one year locked for its move, what a year's cancelled payments gave
back."""

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.funding.models.agreement import GrantYear, Payment, PaymentState


async def locked_year(session: AsyncSession, grant_id: uuid.UUID, year: int) -> GrantYear | None:
    rows = await session.execute(
        select(GrantYear).where(col(GrantYear.grant_id) == grant_id, col(GrantYear.year) == year)
        .with_for_update().execution_options(populate_existing=True)
    )
    return rows.scalar_one_or_none()


async def years_of_dossier(session: AsyncSession, dossier_id: uuid.UUID, *, lock: bool = False) -> list[GrantYear]:
    """The dossier's grant years, by funder then year (the order every move takes its locks in)."""
    statement = (select(GrantYear).where(col(GrantYear.dossier_id) == dossier_id)
                 .order_by(col(GrantYear.funder_id), col(GrantYear.year)))
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return list((await session.execute(statement)).scalars())


async def years_of_grants(session: AsyncSession, grant_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[GrantYear]]:
    found: dict[uuid.UUID, list[GrantYear]] = {grant_id: [] for grant_id in grant_ids}
    if grant_ids:
        rows = await session.execute(select(GrantYear).where(col(GrantYear.grant_id).in_(grant_ids))
                                     .order_by(col(GrantYear.year)))
        for row in rows.scalars():
            found[row.grant_id].append(row)
    return found


async def lock_pending_payments(session: AsyncSession, dossier_id: uuid.UUID, year: int) -> None:
    """Lock the dossier's instalments of `year` that wait for its budget, before its grant years: a payment's
    cancel or pay locks the payment, then its year, and this keeps that order."""
    await session.execute(
        select(col(Payment.id)).where(col(Payment.dossier_id) == dossier_id, col(Payment.year) == year,
                                      col(Payment.budget_pending).is_(True))
        .order_by(col(Payment.id)).with_for_update()
    )


async def pending_payments(session: AsyncSession, grant_id: uuid.UUID, year: int) -> list[Payment]:
    """The year's instalments still waiting for its budget, locked."""
    rows = await session.execute(
        select(Payment).where(col(Payment.grant_id) == grant_id, col(Payment.year) == year,
                              col(Payment.budget_pending).is_(True))
        .order_by(col(Payment.sequence)).with_for_update()
    )
    return list(rows.scalars())


async def cancelled_in_year(session: AsyncSession, grant_id: uuid.UUID, year: int) -> int:
    """What the year's cancelled payments came to (an awaiting year commits only the rest)."""
    total = await session.execute(
        select(func.coalesce(func.sum(col(Payment.amount_cents)), 0)).where(
            col(Payment.grant_id) == grant_id, col(Payment.year) == year,
            col(Payment.state) == PaymentState.cancelled)
    )
    return int(total.scalar_one())
