"""A territory's year in figures — a QPV, a commune, a contrat de ville (the QPVs the gateway resolves it to), or
everything the desk covers: the money granted by funder, track and priority, and how many dossiers, projects and
associations it reached. Every figure is made by the database (territory_repository.py)."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.funding.stats import territory_repository as repository


async def territory_year(session: AsyncSession, qpv_codes: list[str], year: int) -> dict[str, Any]:
    """The figures of the territory made of these QPVs (each once, in order; none: everything the desk covers)."""
    return await repository.territory_year(session, sorted(set(qpv_codes)), year)
