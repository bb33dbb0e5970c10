"""The feed's queries: which events a caller may read, in commit order."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from common.db import where_given
from common.tokens import Principal
from services.funding.models.event import DomainEvent, EventAudience
from services.vocabulary import DESK_ROLES


def readable_events(principal: Principal) -> SelectOfScalar[DomainEvent]:
    """The events `principal` may read: every one for the desk, anyone else those its organisation is in the
    audience of."""
    statement = select(DomainEvent)
    if not principal.has_any_role(DESK_ROLES):
        statement = statement.join(
            EventAudience, col(EventAudience.event_sequence) == col(DomainEvent.sequence)
        ).where(col(EventAudience.organisation_id) == principal.organisation_id)
    return statement


async def events_after(
    session: AsyncSession, *, principal: Principal, after: int, limit: int, types: list[str],
    dossier_id: uuid.UUID | None,
) -> list[DomainEvent]:
    """Those readable after the sequence `after`, in order, one more than `limit` (to know a page follows)."""
    statement = where_given(
        readable_events(principal).where(col(DomainEvent.sequence) > after), (DomainEvent.dossier_id, dossier_id)
    )
    if types:
        statement = statement.where(col(DomainEvent.type).in_(types))
    rows = await session.execute(statement.order_by(col(DomainEvent.sequence)).limit(limit + 1))
    return list(rows.scalars())
