"""The indicators' queries: the catalogue, a project's targets, and the collective impact's cells."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    and_,
    case,
    cast,
    delete,
    distinct,
    extract,
    func,
    literal,
    null,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from common.db import children_by_parent, get_row
from common.pagination import keyset
from services.projects.models import (
    Indicator,
    IndicatorPlan,
    IndicatorPriority,
    IndicatorTarget,
    Project,
    ProjectPriority,
    ProjectQpv,
    Report,
    ReportState,
    ReportValue,
)


async def indicator_by_code(session: AsyncSession, code: str) -> Indicator | None:
    return (await session.execute(select(Indicator).where(col(Indicator.code) == code))).scalars().first()


async def indicator_by_id(
    session: AsyncSession, indicator_id: uuid.UUID, *, for_update: bool = False
) -> Indicator | None:
    return await get_row(session, Indicator, indicator_id, for_update=for_update)


async def indicator_priorities(session: AsyncSession, indicator_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    return await children_by_parent(
        session, IndicatorPriority.indicator_id, IndicatorPriority.priority_code, indicator_ids
    )


async def replace_indicator_priorities(session: AsyncSession, indicator_id: uuid.UUID, codes: list[str]) -> None:
    await session.execute(delete(IndicatorPriority).where(col(IndicatorPriority.indicator_id) == indicator_id))
    session.add_all(IndicatorPriority(indicator_id=indicator_id, priority_code=code) for code in sorted(set(codes)))
    await session.flush()


async def list_indicators(
    session: AsyncSession,
    *,
    priority: str | None,
    unit: str | None,
    active: bool | None,
    updated_since: datetime | None,
    limit: int,
    cursor: str | None,
) -> list[Indicator]:
    statement = select(Indicator)
    if priority:
        statement = statement.where(
            col(Indicator.id).in_(
                select(col(IndicatorPriority.indicator_id)).where(col(IndicatorPriority.priority_code) == priority)
            )
        )
    if unit:
        statement = statement.where(col(Indicator.unit) == unit)
    if active is not None:
        statement = statement.where(col(Indicator.active) == active)
    if updated_since:
        statement = statement.where(col(Indicator.updated_at) >= updated_since)
    return list((await session.execute(keyset(statement, Indicator, limit=limit, cursor=cursor))).scalars())


async def indicators_by_code(session: AsyncSession, codes: set[str]) -> dict[str, Indicator]:
    """The catalogue rows named, with the wholes and denominators they refer to (one level is enough:
    a whole or a denominator is itself checked when it is named)."""
    found: dict[str, Indicator] = {}
    wanted = set(codes)
    for _ in range(2):
        missing = wanted - set(found)
        if not missing:
            break
        rows = (await session.execute(select(Indicator).where(col(Indicator.code).in_(missing)))).scalars()
        for row in rows:
            found[row.code] = row
        wanted |= {code for row in found.values() for code in (row.part_of_code, row.denominator_code) if code}
    return found


async def plan_of(session: AsyncSession, project_id: uuid.UUID) -> IndicatorPlan | None:
    return await session.get(IndicatorPlan, project_id, populate_existing=True)


async def targets_of(session: AsyncSession, project_id: uuid.UUID) -> list[IndicatorTarget]:
    statement = (
        select(IndicatorTarget)
        .where(col(IndicatorTarget.project_id) == project_id)
        .order_by(col(IndicatorTarget.period), col(IndicatorTarget.indicator_code))
    )
    return list((await session.execute(statement)).scalars())


async def replace_targets(session: AsyncSession, project_id: uuid.UUID, targets: list[IndicatorTarget]) -> None:
    await session.execute(delete(IndicatorTarget).where(col(IndicatorTarget.project_id) == project_id))
    session.add_all(targets)
    await session.flush()


async def reported_pairs(session: AsyncSession, project_id: uuid.UUID) -> set[tuple[str, str]]:
    """(indicator, period) pairs holding a value in a submitted or accepted report of the project."""
    statement = (
        select(col(ReportValue.indicator_code), col(Report.period))
        .join(Report, col(Report.id) == col(ReportValue.report_id))
        .where(
            col(Report.project_id) == project_id,
            col(Report.state).in_([ReportState.submitted, ReportState.accepted]),
        )
    )
    return {(code, period) for code, period in await session.execute(statement)}


def _facts(indicator: str | None) -> Any:
    """One row per target and one per accepted value, each with its denominator's when a ratio."""
    target, target_den = aliased(IndicatorTarget), aliased(IndicatorTarget)
    value, value_den = aliased(ReportValue), aliased(ReportValue)
    nothing = cast(null(), BigInteger)
    targets: Select[*tuple[Any, ...]] = (
        select(
            col(target.project_id).label("project_id"),
            col(target.indicator_code).label("indicator_code"),
            col(target.period).label("period"),
            col(target.target_hundredths).label("target"),
            col(target_den.target_hundredths).label("target_den"),
            nothing.label("actual"),
            nothing.label("actual_den"),
        )
        .join(Indicator, col(Indicator.code) == col(target.indicator_code))
        .outerjoin(
            target_den,
            and_(
                col(target_den.project_id) == col(target.project_id),
                col(target_den.period) == col(target.period),
                col(target_den.indicator_code) == col(Indicator.denominator_code),
            ),
        )
    )
    actuals: Select[*tuple[Any, ...]] = (
        select(
            col(Report.project_id).label("project_id"),
            col(value.indicator_code).label("indicator_code"),
            col(Report.period).label("period"),
            nothing.label("target"),
            nothing.label("target_den"),
            col(value.value_hundredths).label("actual"),
            col(value_den.value_hundredths).label("actual_den"),
        )
        .select_from(value)
        .join(Report, and_(col(Report.id) == col(value.report_id), col(Report.state) == ReportState.accepted.value))
        .join(Indicator, col(Indicator.code) == col(value.indicator_code))
        .outerjoin(
            value_den,
            and_(
                col(value_den.report_id) == col(value.report_id),
                col(value_den.indicator_code) == col(Indicator.denominator_code),
            ),
        )
    )
    if indicator is not None:
        targets = targets.where(col(target.indicator_code) == indicator)
        actuals = actuals.where(col(value.indicator_code) == indicator)
    return targets.union_all(actuals).subquery("facts")


async def impact_cells(
    session: AsyncSession,
    *,
    indicator: str | None,
    qpv: list[str] | None,
    priority: str | None,
    year: int | None,
    project_ids: list[uuid.UUID] | None,
    after: tuple[str, str, str, int] | None,
    limit: int,
) -> list[Any]:
    """The impact's cells ordered by (indicator, QPV, priority, year) after the key `after`, one more than
    `limit` (see `impact`)."""
    facts = _facts(indicator)
    # Each fact gets its cell's keys in a subquery, grouped outside: PostgreSQL would not see two copies of the
    # year's CASE (each with its own bound parameters) as the same GROUP BY expression.
    year_of = case(
        (facts.c.period == "span", extract("year", col(Project.end_date))), else_=cast(facts.c.period, Integer)
    )
    keyed_rows = (
        select(
            facts,
            func.coalesce(col(ProjectQpv.qpv_code), literal("")).label("qpv_key"),
            func.coalesce(col(ProjectPriority.priority_code), literal("")).label("priority_key"),
            cast(year_of, Integer).label("year"),
        )
        .join(Project, col(Project.id) == facts.c.project_id)
        .outerjoin(ProjectQpv, col(ProjectQpv.project_id) == col(Project.id))
        .outerjoin(ProjectPriority, col(ProjectPriority.project_id) == col(Project.id))
    )
    if qpv:
        keyed_rows = keyed_rows.where(col(ProjectQpv.qpv_code).in_(qpv))
    if project_ids is not None:
        keyed_rows = keyed_rows.where(col(Project.id).in_(project_ids))
    if priority is not None:
        keyed_rows = keyed_rows.where(col(ProjectPriority.priority_code) == priority)
    keyed = keyed_rows.subquery("keyed")
    grouped = select(
        keyed.c.indicator_code,
        keyed.c.qpv_key,
        keyed.c.priority_key,
        keyed.c.year,
        func.sum(keyed.c.actual).label("actual_total"),
        func.count(keyed.c.actual).label("actual_count"),
        func.sum(keyed.c.actual_den).label("actual_den"),
        func.sum(keyed.c.target).label("target_total"),
        func.count(keyed.c.target).label("target_count"),
        func.sum(keyed.c.target_den).label("target_den"),
        func.count(distinct(keyed.c.project_id)).label("projects"),
    ).group_by(keyed.c.indicator_code, keyed.c.qpv_key, keyed.c.priority_key, keyed.c.year)
    if year is not None:
        grouped = grouped.where(keyed.c.year == year)
    cells = grouped.subquery("cells")
    key = (cells.c.indicator_code, cells.c.qpv_key, cells.c.priority_key, cells.c.year)
    statement = select(cells, col(Indicator.unit), col(Indicator.aggregation)).join(
        Indicator, col(Indicator.code) == cells.c.indicator_code
    )
    if after is not None:
        statement = statement.where(tuple_(*key) > tuple_(*(literal(part) for part in after)))
    return list((await session.execute(statement.order_by(*key).limit(limit + 1))).all())
