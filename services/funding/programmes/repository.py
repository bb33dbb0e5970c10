"""The programmes' queries."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import children_by_parent, where_given
from common.pagination import keyset
from services.funding.models.programme import Programme, ProgrammeFunder


async def programme_by_id(session: AsyncSession, programme_id: uuid.UUID) -> Programme | None:
    return await session.get(Programme, programme_id)


async def locked_programme(session: AsyncSession, programme_id: uuid.UUID) -> Programme | None:
    statement = select(Programme).where(col(Programme.id) == programme_id).with_for_update().execution_options(
        populate_existing=True)
    return (await session.execute(statement)).scalars().first()


async def funders_of_programmes(
    session: AsyncSession, programme_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    return await children_by_parent(session, ProgrammeFunder.programme_id, ProgrammeFunder.funder_id, programme_ids)


async def list_programmes(
    session: AsyncSession, *, track: str | None, year: int | None, limit: int, cursor: str | None
) -> list[Programme]:
    statement = where_given(select(Programme), (col(Programme.track), track), (col(Programme.year), year))
    return list((await session.execute(keyset(statement, Programme, limit=limit, cursor=cursor))).scalars())
