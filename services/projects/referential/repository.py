"""The reference lists' queries: QPV and priorities, read and checked by code."""

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects.models import Priority, Qpv


async def known_qpv_codes(session: AsyncSession, codes: list[str]) -> set[str]:
    rows = await session.execute(select(col(Qpv.code)).where(col(Qpv.code).in_(codes)))
    return set(rows.scalars())


async def known_priority_codes(session: AsyncSession, codes: list[str]) -> set[str]:
    rows = await session.execute(select(col(Priority.code)).where(col(Priority.code).in_(codes)))
    return set(rows.scalars())


async def qpv_list(
    session: AsyncSession, *, department: str | None, search: str | None, insee_commune: str | None = None,
    epci: str | None = None,
) -> list[Qpv]:
    statement = select(Qpv).order_by(col(Qpv.code))
    if department:
        statement = statement.where(col(Qpv.department) == department)
    if insee_commune:
        statement = statement.where(col(Qpv.insee_commune) == insee_commune)
    if epci:
        statement = statement.where(func.lower(col(Qpv.epci)) == epci.lower())
    if search:
        # Case-insensitive, anywhere in the code, the name, the commune or the EPCI; % and _ taken literally.
        needle = search.lower()
        statement = statement.where(
            or_(
                *(
                    func.lower(column).contains(needle, autoescape=True)
                    for column in (col(Qpv.code), col(Qpv.name), col(Qpv.commune), col(Qpv.epci))
                )
            )
        )
    return list((await session.execute(statement)).scalars())


async def priority_list(session: AsyncSession) -> list[Priority]:
    statement = select(Priority).order_by(col(Priority.kind).desc(), col(Priority.code))
    return list((await session.execute(statement)).scalars())


async def qpvs_by_code(session: AsyncSession, codes: list[str]) -> dict[str, Qpv]:
    """The stored QPVs among `codes`, by code (the import compares its rows with them)."""
    return {qpv.code: qpv for qpv in (await session.execute(select(Qpv).where(col(Qpv.code).in_(codes)))).scalars()}
