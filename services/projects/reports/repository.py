"""Reports' queries: one report, a project's report of a period, the lists, and their values, evidence and
history."""

import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import Select, delete, false, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import children_by_parent, where_given
from common.pagination import keyset
from common.tokens import Principal
from services.projects.models import (
    Report,
    ReportEvidence,
    ReportHistory,
    ReportValue,
)
from services.vocabulary import DESK_ROLES, HOLDER_ROLES


def readable_reports(principal: Principal) -> Select[Report]:
    """The reports a caller may read: every one for the desk and the desk's services (their service token), its
    own organisation's for a holder, none otherwise."""
    statement = select(Report)
    if principal.kind == "service" or principal.has_any_role(DESK_ROLES):
        return statement
    if not principal.has_any_role(HOLDER_ROLES):
        return statement.where(false())
    return statement.where(col(Report.organisation_id) == principal.organisation_id)


def writable_reports(principal: Principal) -> Select[Report]:
    """The reports a caller may change and submit: its own organisation's."""
    return select(Report).where(col(Report.organisation_id) == principal.organisation_id)


def _locked(statement: Select[Report]) -> Select[Report]:
    """Locked until the commit (PostgreSQL; on SQLite a writer already holds the database)."""
    return statement.with_for_update().execution_options(populate_existing=True)


async def readable_report(
    session: AsyncSession, principal: Principal, report_id: uuid.UUID, *, for_update: bool = False
) -> Report | None:
    statement = readable_reports(principal).where(col(Report.id) == report_id)
    return (await session.execute(_locked(statement) if for_update else statement)).scalars().first()


async def locked_writable_report(session: AsyncSession, principal: Principal, report_id: uuid.UUID) -> Report | None:
    statement = _locked(writable_reports(principal).where(col(Report.id) == report_id))
    return (await session.execute(statement)).scalars().first()


async def report_for(session: AsyncSession, project_id: uuid.UUID, period: str) -> Report | None:
    statement = select(Report).where(col(Report.project_id) == project_id, col(Report.period) == period)
    return (await session.execute(statement)).scalars().first()


async def list_reports(
    session: AsyncSession,
    *,
    principal: Principal,
    project_id: uuid.UUID | None,
    state: str | None,
    period: str | None,
    updated_since: datetime | None,
    limit: int,
    cursor: str | None,
) -> list[Report]:
    """A page (plus one row) of the reports the caller reads, filtered."""
    statement = where_given(
        readable_reports(principal),
        (col(Report.project_id), project_id), (col(Report.state), state), (col(Report.period), period),
    )
    if updated_since is not None:
        statement = statement.where(col(Report.updated_at) >= updated_since)
    return list((await session.execute(keyset(statement, Report, limit=limit, cursor=cursor))).scalars())


async def values_of(session: AsyncSession, report_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[ReportValue]]:
    found: dict[uuid.UUID, list[ReportValue]] = {report_id: [] for report_id in report_ids}
    if report_ids:
        statement = (
            select(ReportValue).where(col(ReportValue.report_id).in_(report_ids)).order_by(col(ReportValue.indicator_code))
        )
        for row in (await session.execute(statement)).scalars():
            found[row.report_id].append(row)
    return found


async def evidence_of(session: AsyncSession, report_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    return await children_by_parent(
        session, ReportEvidence.report_id, ReportEvidence.document_version_id, report_ids
    )


async def history_of(session: AsyncSession, report_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[ReportHistory]]:
    found: dict[uuid.UUID, list[ReportHistory]] = defaultdict(list)
    if report_ids:
        statement = (
            select(ReportHistory).where(col(ReportHistory.report_id).in_(report_ids)).order_by(col(ReportHistory.at))
        )
        for row in (await session.execute(statement)).scalars():
            found[row.report_id].append(row)
    return found


async def replace_values(session: AsyncSession, report_id: uuid.UUID, values: dict[str, int]) -> None:
    await session.execute(delete(ReportValue).where(col(ReportValue.report_id) == report_id))
    session.add_all(
        ReportValue(report_id=report_id, indicator_code=code, value_hundredths=value) for code, value in values.items()
    )
    await session.flush()


async def replace_evidence(session: AsyncSession, report_id: uuid.UUID, version_ids: list[uuid.UUID]) -> None:
    await session.execute(delete(ReportEvidence).where(col(ReportEvidence.report_id) == report_id))
    session.add_all(
        ReportEvidence(report_id=report_id, document_version_id=version_id) for version_id in sorted(set(version_ids))
    )
    await session.flush()
