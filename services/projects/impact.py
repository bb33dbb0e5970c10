"""Collective impact: accepted values and targets added up by indicator × QPV × priority × year, in SQL.

- A yearly value or target counts in its year; a "span" one (the whole project) in the year of the project's
  end date, read when the query runs.
- A project counts in every QPV and under every priority it is tagged with: a project of two QPVs adds its
  values to both cells, so adding the rows of several QPVs together counts it twice. A project without
  priority is in the cells whose priority is null.
- Only accepted reports count. `actual` and `target` follow the indicator's aggregation (see `ImpactRow`).
"""

import base64
import binascii
import json
import uuid
from typing import Any

from sqlalchemy import BigInteger, Integer, and_, case, cast, distinct, extract, func, literal, null, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from common.problems import BadRequest, Text
from services.projects.models import (
    Indicator,
    IndicatorTarget,
    Project,
    ProjectPriority,
    ProjectQpv,
    Report,
    ReportState,
    ReportValue,
)
from services.projects.report_schemas import ImpactRow, format_hundredths


def _encode_cursor(key: tuple[str, str, str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, str, str, int]:
    try:
        code, qpv, priority, year = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
        if not all(isinstance(text, str) for text in (code, qpv, priority)) or type(year) is not int:
            raise ValueError("cursor of another shape")
        return code, qpv, priority, year
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest(
            Text("Curseur de pagination invalide.", "Invalid pagination cursor."), code="invalid_cursor"
        ) from exc


def _facts(indicator: str | None) -> Any:
    """One row per target and one per accepted value, each with its denominator's when a ratio."""
    target, target_den = aliased(IndicatorTarget), aliased(IndicatorTarget)
    value, value_den = aliased(ReportValue), aliased(ReportValue)
    nothing = cast(null(), BigInteger)
    targets = (
        select(
            target.project_id.label("project_id"),
            target.indicator_code.label("indicator_code"),
            target.period.label("period"),
            target.target_hundredths.label("target"),
            target_den.target_hundredths.label("target_den"),
            nothing.label("actual"),
            nothing.label("actual_den"),
        )
        .join(Indicator, Indicator.code == target.indicator_code)
        .outerjoin(
            target_den,
            and_(
                target_den.project_id == target.project_id,
                target_den.period == target.period,
                target_den.indicator_code == Indicator.denominator_code,
            ),
        )
    )
    actuals = (
        select(
            Report.project_id.label("project_id"),
            value.indicator_code.label("indicator_code"),
            Report.period.label("period"),
            nothing.label("target"),
            nothing.label("target_den"),
            value.value_hundredths.label("actual"),
            value_den.value_hundredths.label("actual_den"),
        )
        .select_from(value)
        .join(Report, and_(Report.id == value.report_id, Report.state == ReportState.accepted.value))
        .join(Indicator, Indicator.code == value.indicator_code)
        .outerjoin(
            value_den,
            and_(value_den.report_id == value.report_id, value_den.indicator_code == Indicator.denominator_code),
        )
    )
    if indicator is not None:
        targets = targets.where(target.indicator_code == indicator)
        actuals = actuals.where(value.indicator_code == indicator)
    return targets.union_all(actuals).subquery("facts")


async def aggregates(
    session: AsyncSession,
    *,
    year: int | None,
    qpv: list[str] | None,
    priority: str | None,
    indicator: str | None,
    limit: int,
    cursor: str | None,
    project_ids: list[uuid.UUID] | None = None,
) -> tuple[list[ImpactRow], str | None]:
    """One page of cells ordered by (indicator, QPV, priority, year), and the cursor of the next."""
    facts = _facts(indicator)
    # Each fact gets its cell's keys in a subquery, grouped outside: PostgreSQL would not see two copies of the
    # year's CASE (each with its own bound parameters) as the same GROUP BY expression.
    year_of = case((facts.c.period == "span", extract("year", Project.end_date)), else_=cast(facts.c.period, Integer))
    keyed = (
        select(
            facts,
            func.coalesce(ProjectQpv.qpv_code, literal("")).label("qpv_key"),
            func.coalesce(ProjectPriority.priority_code, literal("")).label("priority_key"),
            cast(year_of, Integer).label("year"),
        )
        .join(Project, Project.id == facts.c.project_id)
        .outerjoin(ProjectQpv, ProjectQpv.project_id == Project.id)
        .outerjoin(ProjectPriority, ProjectPriority.project_id == Project.id)
    )
    if qpv:
        keyed = keyed.where(ProjectQpv.qpv_code.in_(qpv))
    if project_ids is not None:
        keyed = keyed.where(Project.id.in_(project_ids))
    if priority is not None:
        keyed = keyed.where(ProjectPriority.priority_code == priority)
    keyed = keyed.subquery("keyed")
    cells = select(
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
        cells = cells.where(keyed.c.year == year)
    cells = cells.subquery("cells")
    key = (cells.c.indicator_code, cells.c.qpv_key, cells.c.priority_key, cells.c.year)
    statement = select(cells, Indicator.unit, Indicator.aggregation).join(
        Indicator, Indicator.code == cells.c.indicator_code
    )
    if cursor:
        statement = statement.where(tuple_(*key) > tuple_(*(literal(part) for part in _decode_cursor(cursor))))
    rows = (await session.execute(statement.order_by(*key).limit(limit + 1))).all()
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = _encode_cursor((last.indicator_code, last.qpv_key, last.priority_key, int(last.year)))
    return [_row(row) for row in page], next_cursor


def _whole(value: Any) -> int | None:
    """SUM answers a Decimal on PostgreSQL and an int on SQLite; None over no row."""
    return None if value is None else int(value)


def _aggregate(aggregation: str, total: int | None, count: int, denominator: int | None) -> int | None:
    """In hundredths, rounded half up: the sum, the mean, or the rate in percent."""
    if total is None or count == 0:
        return None
    if aggregation == "average":
        return (2 * total + count) // (2 * count)
    if aggregation == "ratio":
        return None if not denominator else (2 * 100_00 * total + denominator) // (2 * denominator)
    return total


def _text(hundredths: int | None) -> str | None:
    return None if hundredths is None else format_hundredths(hundredths)


def _row(row: Any) -> ImpactRow:
    actual_total, target_total = _whole(row.actual_total), _whole(row.target_total)
    ratio = row.aggregation == "ratio"
    actual_den = _whole(row.actual_den) if ratio else None
    target_den = _whole(row.target_den) if ratio else None
    return ImpactRow(
        indicator_code=row.indicator_code,
        unit=row.unit,
        aggregation=row.aggregation,
        qpv_code=row.qpv_key or None,
        priority_code=row.priority_key or None,
        year=int(row.year),
        actual=_text(_aggregate(row.aggregation, actual_total, row.actual_count, actual_den)),
        target=_text(_aggregate(row.aggregation, target_total, row.target_count, target_den)),
        actual_total=_text(actual_total),
        target_total=_text(target_total),
        actual_count=row.actual_count,
        target_count=row.target_count,
        actual_denominator=_text(actual_den),
        target_denominator=_text(target_den),
        projects=row.projects,
    )
