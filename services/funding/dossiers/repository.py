"""Funding's queries."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import get_row
from common.pagination import keyset
from services.funding.dossiers.filters import DossierFilters
from services.funding.dossiers.schemas import DossierSummary
from services.funding.models.dossier import (
    Dossier,
    DossierHistory,
    DossierRouting,
    DossierTag,
    FundingLine,
    ReferenceCounter,
    RoutingState,
)


async def next_reference_number(session: AsyncSession, year: int) -> int:
    """Atomic increment: a conditional UPDATE … RETURNING, the row created once per year."""
    statement = (
        update(ReferenceCounter)
        .where(ReferenceCounter.year == year)
        .values(last_value=ReferenceCounter.last_value + 1)
        .returning(ReferenceCounter.last_value)
    )
    value = (await session.execute(statement)).scalar_one_or_none()
    if value is not None:
        return value
    # First dossier of the year. A concurrent first insert makes ours fail on the primary key;
    # the savepoint lets us retry the UPDATE within the same transaction.
    try:
        async with session.begin_nested():
            await session.execute(insert(ReferenceCounter).values(year=year, last_value=1))
        return 1
    except IntegrityError:
        return (await session.execute(statement)).scalar_one()


async def lines_of(session: AsyncSession, dossier_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[FundingLine]]:
    lines: dict[uuid.UUID, list[FundingLine]] = {did: [] for did in dossier_ids}
    if not dossier_ids:
        return lines
    rows = await session.execute(
        select(FundingLine).where(FundingLine.dossier_id.in_(dossier_ids)).order_by(FundingLine.position)
    )
    for line in rows.scalars():
        lines[line.dossier_id].append(line)
    return lines


async def replace_lines(session: AsyncSession, dossier_id: uuid.UUID, lines: list[FundingLine]) -> None:
    await session.execute(delete(FundingLine).where(FundingLine.dossier_id == dossier_id))
    session.add_all(lines)
    await session.flush()


def _routed_to(funder_id: uuid.UUID):  # type: ignore[no-untyped-def]
    return exists().where(
        DossierRouting.dossier_id == Dossier.id,
        DossierRouting.funder_id == funder_id,
        DossierRouting.state == RoutingState.routed,
    )


async def dossier_by_id(session: AsyncSession, dossier_id: uuid.UUID, *, for_update: bool = False) -> Dossier | None:
    return await get_row(session, Dossier, dossier_id, for_update=for_update)


async def routings_of(session: AsyncSession, dossier_id: uuid.UUID) -> list[DossierRouting]:
    rows = await session.execute(
        select(DossierRouting).where(DossierRouting.dossier_id == dossier_id).order_by(DossierRouting.routed_at)
    )
    return list(rows.scalars())


async def routed_funders(session: AsyncSession, dossier_id: uuid.UUID) -> set[uuid.UUID]:
    """The funders the dossier is routed to now (declined ones left out)."""
    rows = await session.execute(
        select(DossierRouting.funder_id).where(
            DossierRouting.dossier_id == dossier_id, DossierRouting.state == RoutingState.routed
        )
    )
    return set(rows.scalars())


async def history_of(session: AsyncSession, dossier_id: uuid.UUID) -> list[DossierHistory]:
    rows = await session.execute(
        select(DossierHistory).where(DossierHistory.dossier_id == dossier_id).order_by(DossierHistory.at)
    )
    return list(rows.scalars())


async def declined_funders(session: AsyncSession, dossier_id: uuid.UUID) -> set[uuid.UUID]:
    rows = await session.execute(
        select(DossierRouting.funder_id).where(
            DossierRouting.dossier_id == dossier_id, DossierRouting.state == RoutingState.declined
        )
    )
    return set(rows.scalars())


async def is_routed_to(session: AsyncSession, dossier_id: uuid.UUID, funder_id: uuid.UUID) -> bool:
    """The dossier is routed to this funder now (a funder that declined it no longer sees it)."""
    statement = select(DossierRouting.id).where(
        DossierRouting.dossier_id == dossier_id,
        DossierRouting.funder_id == funder_id,
        DossierRouting.state == RoutingState.routed,
    )
    return (await session.execute(statement.limit(1))).first() is not None


# The association's size, by its yearly budget (charges): the brackets the dashboards count by.
SIZE_BRACKETS = ((5_000_000, "under_50k"), (20_000_000, "50k_200k"), (100_000_000, "200k_1m"))


def size_of(association_budget: dict[str, Any] | None) -> str | None:
    charges = ((association_budget or {}).get("totals") or {}).get("charges_cents")
    if not charges:
        return None
    return next((name for limit, name in SIZE_BRACKETS if charges < limit), "over_1m")


def tags_of(
    dossier_id: uuid.UUID, year: int, project: dict[str, Any], association_budget: dict[str, Any] | None = None
) -> list[DossierTag]:
    """The project's QPVs and priorities, and the association's size, as the submission froze them; `year`, the
    programme's."""
    tags = [DossierTag(dossier_id=dossier_id, kind=kind, value=value, year=year)
            for kind, key in (("qpv", "qpv_codes"), ("priority", "priorities"))
            for value in dict.fromkeys(project.get(key) or [])]
    size = size_of(association_budget)
    return tags + ([DossierTag(dossier_id=dossier_id, kind="size", value=size, year=year)] if size else [])


async def replace_tags(
    session: AsyncSession, dossier_id: uuid.UUID, year: int, project: dict[str, Any],
    association_budget: dict[str, Any] | None,
) -> None:
    await session.execute(delete(DossierTag).where(DossierTag.dossier_id == dossier_id))
    session.add_all(tags_of(dossier_id, year, project, association_budget))


# A summary's columns: what DossierSummary shows of the row (its funding plan is another table's).
SUMMARY_COLUMNS = tuple(getattr(Dossier, name) for name in DossierSummary.model_fields if name != "funding_plan")


async def list_dossiers(
    session: AsyncSession,
    *,
    holder_organisation: uuid.UUID | None,
    funder_organisation: uuid.UUID | None,
    state: str | None,
    programme_id: uuid.UUID | None,
    updated_since: datetime | None,
    limit: int,
    cursor: str | None,
    decision_overdue: bool | None = None,
    now: datetime | None = None,
    filters: DossierFilters | None = None,
    summary: bool = False,
) -> list[Any]:
    """Exactly one of the two organisations narrows the list; neither means the desk (everything). A `summary`
    list reads plain rows of the summary's columns: the frozen snapshots (the bulk of a dossier's row, and of a
    page's bytes) stay in the database, and no ORM object is built."""
    statement = select(*SUMMARY_COLUMNS) if summary else select(Dossier)
    if holder_organisation is not None:
        statement = statement.where(Dossier.organisation_id == holder_organisation)
    if funder_organisation is not None:
        statement = statement.where(_routed_to(funder_organisation))
    if state:
        statement = statement.where(Dossier.state == state)
    if programme_id:
        statement = statement.where(Dossier.programme_id == programme_id)
    if updated_since:
        statement = statement.where(Dossier.updated_at >= updated_since)
    if decision_overdue is not None and now is not None:  # a running clock only: a paused one has no due time
        late = Dossier.decision_due_at < now
        statement = statement.where(late if decision_overdue else or_(Dossier.decision_due_at.is_(None), ~late))
    if filters is not None:
        statement = filters.narrow(statement)
    found = await session.execute(keyset(statement, Dossier, limit=limit, cursor=cursor))
    return list(found.all() if summary else found.scalars())
