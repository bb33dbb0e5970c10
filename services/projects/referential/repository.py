"""The reference lists' queries: QPV and priorities, read and checked by code."""

from datetime import datetime

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.projects.models import Priority, Qpv, QpvCommune


async def qpv_statuses(session: AsyncSession, codes: list[str]) -> dict[str, bool]:
    """The stored codes among `codes`, each with whether it is retired."""
    rows = await session.execute(select(col(Qpv.code), col(Qpv.retired_at)).where(col(Qpv.code).in_(codes)))
    return {code: retired_at is not None for code, retired_at in rows}


async def known_priority_codes(session: AsyncSession, codes: list[str]) -> set[str]:
    rows = await session.execute(select(col(Priority.code)).where(col(Priority.code).in_(codes)))
    return set(rows.scalars())


async def qpv_list(
    session: AsyncSession, *, department: str | None, search: str | None, insee_commune: str | None = None,
    epci: str | None = None, include_retired: bool = False,
) -> list[Qpv]:
    statement = select(Qpv).order_by(col(Qpv.code))
    if not include_retired:
        statement = statement.where(col(Qpv.retired_at).is_(None))
    if department:
        statement = statement.where(col(Qpv.department) == department)
    if insee_commune:
        # Any of its communes, not only the first.
        statement = statement.where(col(Qpv.code).in_(_covering(insee_commune)))
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
                ),
                col(Qpv.code).in_(_covering(search.upper())),  # an INSEE code, 2A/2B in capitals
            )
        )
    return list((await session.execute(statement)).scalars())


async def priority_list(session: AsyncSession) -> list[Priority]:
    statement = select(Priority).order_by(col(Priority.kind).desc(), col(Priority.code))
    return list((await session.execute(statement)).scalars())


async def qpvs_by_code(session: AsyncSession, codes: list[str]) -> dict[str, Qpv]:
    """The stored QPVs among `codes`, by code (the import compares its rows with them)."""
    return {qpv.code: qpv for qpv in (await session.execute(select(Qpv).where(col(Qpv.code).in_(codes)))).scalars()}


def _covering(insee_code: str) -> Select[str]:
    """The codes of the QPVs that cover a commune."""
    return select(col(QpvCommune.qpv_code)).where(col(QpvCommune.insee_code) == insee_code)


async def communes_of(session: AsyncSession, codes: list[str]) -> dict[str, list[QpvCommune]]:
    """The communes of each of `codes`, in the file's order."""
    found: dict[str, list[QpvCommune]] = {}
    for start in range(0, len(codes), 500):  # bounded IN lists: the whole country is about 1,600 codes
        statement = (
            select(QpvCommune).where(col(QpvCommune.qpv_code).in_(codes[start:start + 500]))
            .order_by(col(QpvCommune.qpv_code), col(QpvCommune.position))
        )
        for commune in (await session.execute(statement)).scalars():
            found.setdefault(commune.qpv_code, []).append(commune)
    return found


async def active_qpv_codes(session: AsyncSession) -> list[str]:
    return list((await session.execute(select(col(Qpv.code)).where(col(Qpv.retired_at).is_(None)))).scalars())


async def retire_qpvs(session: AsyncSession, codes: list[str], *, at: datetime) -> None:
    for start in range(0, len(codes), 500):  # bounded IN lists
        await session.execute(
            update(Qpv).where(col(Qpv.code).in_(codes[start:start + 500])).values(retired_at=at)
        )
