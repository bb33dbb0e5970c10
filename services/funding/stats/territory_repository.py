"""The queries of a territory's year: grouped sums and counts made by the database, the territory narrowed first
through the indexed QPV tags."""

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, distinct, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.funding.models.agreement import Grant
from services.funding.models.dossier import Dossier, DossierState, DossierTag
from services.funding.models.programme import Programme


def _dossiers_in(qpv_codes: list[str], year: int) -> Select[Any] | None:
    """SQL: the dossiers of that year's programmes whose project touched one of these QPVs at submission (none
    given: every dossier) — one range of the tags' index per QPV."""
    if not qpv_codes:
        return None
    return select(col(DossierTag.dossier_id)).where(
        col(DossierTag.kind) == "qpv", col(DossierTag.value).in_(qpv_codes), col(DossierTag.year) == year)


def _in(column: Any, territory: Select[Any] | None) -> ColumnElement[bool]:
    return col(column).in_(territory) if territory is not None else true()


def _grants_of(year: int, territory: Select[Any] | None) -> ColumnElement[bool]:
    return and_(col(Grant.year) == year, _in(Grant.dossier_id, territory))


async def _granted_by(
    session: AsyncSession, key: Any, where: ColumnElement[bool], *joins: tuple[Any, Any]
) -> list[dict[str, Any]]:
    statement = select(
        key, func.count(), func.sum(col(Grant.amount_cents)), func.count(distinct(col(Dossier.project_id)))
    ).select_from(Grant).join(Dossier, col(Dossier.id) == col(Grant.dossier_id))
    for table, on in joins:
        statement = statement.join(table, on)
    rows = await session.execute(
        statement.where(where).group_by(key).order_by(func.sum(col(Grant.amount_cents)).desc(), key)
    )
    return [
        {"value": str(value), "grants": count, "granted_cents": int(total), "projects": projects}
        for value, count, total, projects in rows
    ]


async def territory_year(session: AsyncSession, qpv_codes: list[str], year: int) -> dict[str, Any]:
    """Every figure of the territory's year (every dossier of the desk's when no QPV is given)."""
    territory = _dossiers_in(qpv_codes, year)
    granted = _grants_of(year, territory)
    totals = (await session.execute(
        select(func.count(), func.coalesce(func.sum(col(Grant.amount_cents)), 0),
               func.count(distinct(col(Dossier.project_id))), func.count(distinct(col(Grant.organisation_id))),
               func.count(distinct(col(Grant.funder_id))))
        .select_from(Grant).join(Dossier, col(Dossier.id) == col(Grant.dossier_id)).where(granted)
    )).one()
    of_the_year = col(Dossier.programme_id).in_(select(col(Programme.id)).where(col(Programme.year) == year))
    by_state = await session.execute(
        select(col(Dossier.state), func.count())
        .where(of_the_year, _in(Dossier.id, territory), col(Dossier.state) != DossierState.draft)
        .group_by(col(Dossier.state))
    )
    return {
        "year": year,
        "qpv_codes": qpv_codes,
        "grants": totals[0],
        "granted_cents": int(totals[1]),
        "projects": totals[2],
        "associations": totals[3],
        "funders": totals[4],
        "dossiers_by_state": {state: count for state, count in by_state},
        "granted_by": {
            "funder": await _granted_by(session, col(Grant.funder_id), granted),
            "track": await _granted_by(
                session, col(Programme.track), granted, (Programme, col(Programme.id) == col(Grant.programme_id))),
            "priority": await _granted_by(
                session, col(DossierTag.value), and_(granted, col(DossierTag.kind) == "priority"),
                (DossierTag, col(DossierTag.dossier_id) == col(Grant.dossier_id)),
            ),
        },
    }
