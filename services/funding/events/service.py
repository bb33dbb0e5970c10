"""The events feed: what a caller may see after a cursor, in commit order."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from common.pagination import decode_sequence, encode_sequence
from common.tokens import Principal
from services.funding.dossiers.visibility import council_qpvs
from services.funding.events import repository
from services.funding.events.schemas import EventPage, EventPublic
from services.funding.models.event import DomainEvent
from services.funding.peers import Peers
from services.vocabulary import COUNCIL_ROLES

# A BIGINT: at most 18 digits.
SEQUENCE_DIGITS = 18


async def visible_events(
    session: AsyncSession, *, principal: Principal, after: int, limit: int, types: list[str],
    dossier_id: uuid.UUID | None, council_qpvs: frozenset[str] | None = None,
) -> list[DomainEvent]:
    """What the caller may see after the sequence `after`, in order: the desk every event, anyone else those
    its organisation is in the audience of, and a citizen council what its QPVs' dossiers go through."""
    return await repository.events_after(
        session, principal=principal, after=after, limit=limit, types=types, dossier_id=dossier_id,
        council_qpvs=council_qpvs,
    )


async def feed_page(
    session: AsyncSession, *, principal: Principal, cursor: str | None, limit: int, types: list[str],
    dossier_id: uuid.UUID | None, peers: Peers | None = None,
) -> EventPage:
    """One page of the feed after `cursor` (from the start without one); `last_cursor` resumes after the last
    event read, even when the page is not full (then the cursor given, on an empty page). A citizen council's
    QPVs are asked of identity (`peers`)."""
    after = decode_sequence(cursor, max_digits=SEQUENCE_DIGITS) if cursor else 0
    qpvs = await council_qpvs(peers, principal) if peers is not None and principal.has_any_role(COUNCIL_ROLES) else None
    rows = await visible_events(
        session, principal=principal, after=after, limit=limit, types=types, dossier_id=dossier_id,
        council_qpvs=qpvs,
    )
    page = rows[:limit]
    last = encode_sequence(page[-1].sequence) if page else cursor
    return EventPage(
        items=[EventPublic.model_validate(row, from_attributes=True) for row in page],
        next_cursor=last if len(rows) > limit else None,
        last_cursor=last,
    )
