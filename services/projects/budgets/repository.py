"""Budgets' queries: a project's budget, an association's budget of a year, a budget's lines in order."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects.models import Budget, BudgetLine


async def lines_of(session: AsyncSession, budget_id: uuid.UUID) -> list[BudgetLine]:
    """A budget's lines, charges then income, each side in its order."""
    lines = await session.execute(
        select(BudgetLine)
        .where(col(BudgetLine.budget_id) == budget_id)
        .order_by(col(BudgetLine.side), col(BudgetLine.position))
    )
    return list(lines.scalars())


async def project_budget_row(session: AsyncSession, project_id: uuid.UUID) -> Budget | None:
    return (await session.execute(select(Budget).where(col(Budget.project_id) == project_id))).scalars().first()


async def association_budget_row(
    session: AsyncSession, organisation_id: uuid.UUID, year: int, *, for_update: bool = False
) -> Budget | None:
    statement = select(Budget).where(col(Budget.organisation_id) == organisation_id, col(Budget.year) == year)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalars().first()
