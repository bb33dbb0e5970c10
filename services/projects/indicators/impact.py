"""Collective impact: accepted values and targets added up by indicator × QPV × priority × year, in SQL (the query is
`repository.impact_cells`; the cursor and the arithmetic of each cell are here).

- A yearly value or target counts in its year; a "span" one (the whole project) in the year of the project's
  end date, read when the query runs.
- A project counts in every QPV and under every priority it is tagged with: a project of two QPVs adds its
  values to both cells, so adding the rows of several QPVs together counts it twice. A project without
  priority is in the cells whose priority is null.
- Only accepted reports count. `actual` and `target` follow the indicator's aggregation (see `ImpactRow`).
- A cell of fewer projects than the caller's threshold (services/shared_figures.py) keeps its keys and loses its
  figures (`suppressed`); it still takes its place in the pages, so that paging does not tell it apart.
"""

import base64
import binascii
import json
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.problems import BadRequest, Text
from services.projects.indicators import repository
from services.projects.indicators.schemas import ImpactRow, format_hundredths


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
    min_projects: int | None = None,
) -> tuple[list[ImpactRow], str | None]:
    """One page of cells ordered by (indicator, QPV, priority, year), and the cursor of the next; the cells of
    fewer than `min_projects` projects suppressed (None: none)."""
    after = _decode_cursor(cursor) if cursor else None
    rows = await repository.impact_cells(
        session, indicator=indicator, qpv=qpv, priority=priority, year=year, project_ids=project_ids, after=after,
        limit=limit,
    )
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = _encode_cursor((last.indicator_code, last.qpv_key, last.priority_key, int(last.year)))
    return [_row(row, min_projects) for row in page], next_cursor


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


def _row(row: Any, min_projects: int | None = None) -> ImpactRow:
    if min_projects is not None and row.projects < min_projects:
        return ImpactRow(
            indicator_code=row.indicator_code, unit=row.unit, aggregation=row.aggregation,
            qpv_code=row.qpv_key or None, priority_code=row.priority_key or None, year=int(row.year),
            actual=None, target=None, actual_total=None, target_total=None, actual_count=None, target_count=None,
            actual_denominator=None, target_denominator=None, projects=None, suppressed=True,
        )
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
