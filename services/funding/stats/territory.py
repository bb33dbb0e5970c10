"""A territory's year in figures — a QPV, a commune, a contrat de ville (the QPVs the gateway resolves it to), or
everything the desk covers: the money granted by funder, track and priority, and how many dossiers, projects and
associations it reached. Every figure is made by the database (territory_repository.py)."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.funding.stats import territory_repository as repository


async def territory_year(
    session: AsyncSession, qpv_codes: list[str], year: int, *, min_projects: int | None = None
) -> dict[str, Any]:
    """The figures of the territory made of these QPVs (each once, in order; none: everything the desk covers);
    with `min_projects`, what rests on fewer projects (or dossiers) is suppressed (services/shared_figures.py)."""
    figures = await repository.territory_year(session, sorted(set(qpv_codes)), year)
    return figures if min_projects is None else _suppressed(figures, min_projects)


TOTALS = ("grants", "granted_cents", "projects", "associations", "funders")


def _suppressed(figures: dict[str, Any], min_projects: int) -> dict[str, Any]:
    """The lines of fewer projects keep their value and lose their figures; so do the totals of a territory of
    fewer projects, and the states of fewer dossiers. A line is never dropped: its absence would say as much."""
    shown = dict(figures)
    if figures["projects"] < min_projects:
        shown |= {name: None for name in TOTALS} | {"suppressed": True}
    shown["dossiers_by_state"] = {
        state: count if count >= min_projects else None for state, count in figures["dossiers_by_state"].items()
    }
    shown["granted_by"] = {
        kind: [
            line if line["projects"] >= min_projects else
            {"value": line["value"], "grants": None, "granted_cents": None, "projects": None, "suppressed": True}
            for line in lines
        ]
        for kind, lines in figures["granted_by"].items()
    }
    return shown
