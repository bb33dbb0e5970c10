"""The events feed: what a caller may see after a cursor, in commit order."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from common.tokens import Principal
from services.funding.models.event import DomainEvent, EventAudience
from services.vocabulary import DESK_ROLES


async def visible_events(
    session: AsyncSession, *, principal: Principal, after: int, limit: int, types: list[str],
    dossier_id: uuid.UUID | None,
) -> list[DomainEvent]:
    """What the caller may see after the sequence `after`, in order: the desk every event, anyone else those
    its organisation is in the audience of."""
    statement = select(DomainEvent).where(DomainEvent.sequence > after)
    if not principal.has_any_role(DESK_ROLES):
        statement = statement.join(EventAudience, EventAudience.event_sequence == DomainEvent.sequence).where(
            EventAudience.organisation_id == principal.organisation_id
        )
    if types:
        statement = statement.where(DomainEvent.type.in_(types))
    if dossier_id is not None:
        statement = statement.where(DomainEvent.dossier_id == dossier_id)
    rows = await session.execute(statement.order_by(DomainEvent.sequence).limit(limit + 1))
    return list(rows.scalars())
