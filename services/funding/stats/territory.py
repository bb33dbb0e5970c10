"""A territory's year in figures — a QPV, a commune, a contrat de ville (the QPVs the gateway resolves it to), or
everything the desk covers: the money granted by funder, track and priority, and how many dossiers, projects and
associations it reached. Every figure is a grouped sum or count made by the database, the territory narrowed
first through the indexed QPV tags."""

from typing import Any

from sqlalchemy import and_, distinct, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.funding.models.agreement import Grant
from services.funding.models.dossier import Dossier, DossierState, DossierTag
from services.funding.models.programme import Programme


def _dossiers_in(qpv_codes: list[str], year: int) -> Any:
    """SQL: the dossiers of that year's programmes whose project touched one of these QPVs at submission (none
    given: every dossier) — one range of the tags' index per QPV."""
    if not qpv_codes:
        return None
    return select(DossierTag.dossier_id).where(
        DossierTag.kind == "qpv", DossierTag.value.in_(qpv_codes), DossierTag.year == year)


def _grants_of(year: int, territory: Any) -> Any:
    return and_(Grant.year == year, Grant.dossier_id.in_(territory) if territory is not None else true())


async def _granted_by(session: AsyncSession, key: Any, where: Any, *joins: tuple[Any, Any]) -> list[dict[str, Any]]:
    statement = select(key, func.count(), func.sum(Grant.amount_cents)).select_from(Grant)
    for table, on in joins:
        statement = statement.join(table, on)
    rows = await session.execute(
        statement.where(where).group_by(key).order_by(func.sum(Grant.amount_cents).desc(), key)
    )
    return [{"value": str(value), "grants": count, "granted_cents": int(total)} for value, count, total in rows]


async def territory_year(session: AsyncSession, qpv_codes: list[str], year: int) -> dict[str, Any]:
    territory = _dossiers_in(qpv_codes, year)
    granted = _grants_of(year, territory)
    totals = (await session.execute(
        select(func.count(), func.coalesce(func.sum(Grant.amount_cents), 0), func.count(distinct(Dossier.project_id)),
               func.count(distinct(Grant.organisation_id)), func.count(distinct(Grant.funder_id)))
        .select_from(Grant).join(Dossier, Dossier.id == Grant.dossier_id).where(granted)
    )).one()
    of_the_year = Dossier.programme_id.in_(select(Programme.id).where(Programme.year == year))
    in_territory = Dossier.id.in_(territory) if territory is not None else true()
    by_state = await session.execute(
        select(Dossier.state, func.count()).where(of_the_year, in_territory, Dossier.state != DossierState.draft)
        .group_by(Dossier.state)
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
            "funder": await _granted_by(session, Grant.funder_id, granted),
            "track": await _granted_by(
                session, Programme.track, granted, (Programme, Programme.id == Grant.programme_id)),
            "priority": await _granted_by(
                session, DossierTag.value, and_(granted, DossierTag.kind == "priority"),
                (DossierTag, DossierTag.dossier_id == Grant.dossier_id),
            ),
        },
    }
