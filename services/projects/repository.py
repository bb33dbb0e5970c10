"""The indicators' catalogue queries."""

import uuid
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import children_by_parent, get_row
from common.pagination import keyset
from services.projects.models import (
    Indicator,
    IndicatorPriority,
)


async def indicator_by_code(session: AsyncSession, code: str) -> Indicator | None:
    return (await session.execute(select(Indicator).where(Indicator.code == code))).scalars().first()


async def indicator_by_id(
    session: AsyncSession, indicator_id: uuid.UUID, *, for_update: bool = False
) -> Indicator | None:
    return await get_row(session, Indicator, indicator_id, for_update=for_update)


async def indicator_priorities(session: AsyncSession, indicator_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    return await children_by_parent(
        session, IndicatorPriority.indicator_id, IndicatorPriority.priority_code, indicator_ids
    )


async def replace_indicator_priorities(session: AsyncSession, indicator_id: uuid.UUID, codes: list[str]) -> None:
    await session.execute(delete(IndicatorPriority).where(IndicatorPriority.indicator_id == indicator_id))
    session.add_all(IndicatorPriority(indicator_id=indicator_id, priority_code=code) for code in sorted(set(codes)))
    await session.flush()


async def list_indicators(
    session: AsyncSession,
    *,
    priority: str | None,
    unit: str | None,
    active: bool | None,
    updated_since: datetime | None,
    limit: int,
    cursor: str | None,
) -> list[Indicator]:
    statement = select(Indicator)
    if priority:
        statement = statement.where(
            Indicator.id.in_(select(IndicatorPriority.indicator_id).where(IndicatorPriority.priority_code == priority))
        )
    if unit:
        statement = statement.where(Indicator.unit == unit)
    if active is not None:
        statement = statement.where(Indicator.active == active)
    if updated_since:
        statement = statement.where(Indicator.updated_at >= updated_since)
    return list((await session.execute(keyset(statement, Indicator, limit=limit, cursor=cursor))).scalars())
