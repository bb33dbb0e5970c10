"""The financial reports' queries: who reads which report (one statement, for the list and for the one-item
loader), and whether one is late."""

import uuid
from datetime import date, datetime

from sqlalchemy import Select, false, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import where_given
from common.pagination import keyset
from common.problems import NotFound, Text
from common.tokens import Principal
from services.funding.dossiers.filters import DossierFilters
from services.funding.models.financial_report import FinancialReport, late_clause
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES

REPORT_NOT_FOUND = Text("Compte rendu financier introuvable.", "Financial report not found.")


def readable_reports(principal: Principal) -> Select[FinancialReport]:
    """The reports the caller may read: every one for the desk, those owed to its funder for a funder's people,
    the association's own for its members."""
    statement = select(FinancialReport)
    if principal.has_any_role(DESK_ROLES):
        return statement
    if principal.has_any_role(FUNDER_ROLES):
        return statement.where(col(FinancialReport.funder_id) == principal.organisation_id)
    if principal.has_any_role(HOLDER_ROLES):
        return statement.where(col(FinancialReport.organisation_id) == principal.organisation_id)
    return statement.where(false())


async def report_for(
    session: AsyncSession, principal: Principal, report_id: uuid.UUID, *, for_update: bool = False
) -> FinancialReport:
    """One report the caller may read (locked `for_update`, for the change about to be made); 404 otherwise."""
    statement = readable_reports(principal).where(col(FinancialReport.id) == report_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    report = (await session.execute(statement)).scalar_one_or_none()
    if report is None:
        raise NotFound(REPORT_NOT_FOUND)
    return report


async def readable_report(session: AsyncSession, principal: Principal, report_id: uuid.UUID) -> FinancialReport:
    return await report_for(session, principal, report_id)


async def locked_report(session: AsyncSession, principal: Principal, report_id: uuid.UUID) -> FinancialReport:
    return await report_for(session, principal, report_id, for_update=True)


async def list_reports(
    session: AsyncSession, *, principal: Principal, today: date, state: str | None, overdue: bool | None,
    funder_id: uuid.UUID | None, dossier_id: uuid.UUID | None, updated_since: datetime | None, limit: int,
    cursor: str | None, year: int | None = None, filters: DossierFilters | None = None,
) -> list[FinancialReport]:
    """A page of the reports the caller may read. `year`: the one the report accounts for (a CPO owes one a
    year); `overdue`: still owed after their date (or not); `filters` narrow by the dossier."""
    statement = where_given(
        readable_reports(principal),
        (FinancialReport.state, state or None), (FinancialReport.funder_id, funder_id),
        (FinancialReport.dossier_id, dossier_id), (FinancialReport.year, year),
    )
    if overdue is True:
        statement = statement.where(late_clause(today))
    elif overdue is False:
        statement = statement.where(~late_clause(today))
    if updated_since:
        statement = statement.where(col(FinancialReport.updated_at) >= updated_since)
    if filters is not None:
        statement = filters.narrow_rows(statement, col(FinancialReport.dossier_id))
    return list((await session.execute(keyset(statement, FinancialReport, limit=limit, cursor=cursor))).scalars())


async def is_late(session: AsyncSession, report_id: uuid.UUID, today: date) -> bool:
    """Whether the report is still owed after its date, as the lists' `overdue` filter says it."""
    found = await session.execute(
        select(col(FinancialReport.id)).where(col(FinancialReport.id) == report_id, late_clause(today))
    )
    return found.first() is not None
