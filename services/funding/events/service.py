"""The events feed: what a caller may see after a cursor, in commit order."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from common.pagination import decode_sequence, encode_sequence
from common.tokens import Principal
from services.funding.events import repository
from services.funding.events.schemas import EventPage, EventPublic
from services.funding.models.event import DomainEvent

# A BIGINT: at most 18 digits.
SEQUENCE_DIGITS = 18


async def visible_events(
    session: AsyncSession, *, principal: Principal, after: int, limit: int, types: list[str],
    dossier_id: uuid.UUID | None,
) -> list[DomainEvent]:
    """What the caller may see after the sequence `after`, in order: the desk every event, anyone else those
    its organisation is in the audience of."""
    return await repository.events_after(
        session, principal=principal, after=after, limit=limit, types=types, dossier_id=dossier_id
    )


async def feed_page(
    session: AsyncSession, *, principal: Principal, cursor: str | None, limit: int, types: list[str],
    dossier_id: uuid.UUID | None,
) -> EventPage:
    """One page of the feed after `cursor` (from the start without one); `last_cursor` resumes after the last
    event read, even when the page is not full (then the cursor given, on an empty page)."""
    after = decode_sequence(cursor, max_digits=SEQUENCE_DIGITS) if cursor else 0
    rows = await visible_events(
        session, principal=principal, after=after, limit=limit, types=types, dossier_id=dossier_id
    )
    page = rows[:limit]
    last = encode_sequence(page[-1].sequence) if page else cursor
    return EventPage(
        items=[EventPublic.model_validate(row, from_attributes=True) for row in page],
        next_cursor=last if len(rows) > limit else None,
        last_cursor=last,
    )
