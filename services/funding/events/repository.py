"""The feed's queries: which events a caller may read, in commit order."""

import uuid

from sqlalchemy import ColumnElement, and_, false, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from common.db import where_given
from common.tokens import Principal
from services.funding.models.dossier import DossierTag
from services.funding.models.event import DomainEvent, EventAudience
from services.vocabulary import DESK_ROLES

# What a citizen council follows of the dossiers of its QPVs: their way through instruction and the committee.
COUNCIL_EVENT_TYPES = ("dossier.routed", "dossier.ready_for_committee", "dossier.decided", "dossier.deferred")


def council_events(qpv_codes: frozenset[str]) -> ColumnElement[bool]:
    """The events a citizen council follows: those of COUNCIL_EVENT_TYPES of the dossiers whose project (as
    submitted) touches one of its QPVs, through the QPV tags' index. Its QPVs come from identity, at reading time,
    so that a council given a new QPV follows its dossiers at once."""
    if not qpv_codes:
        return false()
    return and_(
        col(DomainEvent.type).in_(COUNCIL_EVENT_TYPES),
        col(DomainEvent.dossier_id).in_(select(col(DossierTag.dossier_id)).where(
            col(DossierTag.kind) == "qpv", col(DossierTag.value).in_(sorted(qpv_codes)))),
    )


def audience_of(organisation_id: uuid.UUID | None) -> ColumnElement[bool]:
    return col(DomainEvent.sequence).in_(
        select(col(EventAudience.event_sequence)).where(col(EventAudience.organisation_id) == organisation_id))


def readable_events(principal: Principal, council_qpvs: frozenset[str] | None = None) -> SelectOfScalar[DomainEvent]:
    """The events `principal` may read: every one for the desk, anyone else those its organisation is in the
    audience of; a citizen council (given its QPVs) besides, `council_events`."""
    statement = select(DomainEvent)
    if principal.has_any_role(DESK_ROLES):
        return statement
    if council_qpvs is not None:
        return statement.where(or_(audience_of(principal.organisation_id), council_events(council_qpvs)))
    return statement.join(
        EventAudience, col(EventAudience.event_sequence) == col(DomainEvent.sequence)
    ).where(col(EventAudience.organisation_id) == principal.organisation_id)


async def events_after(
    session: AsyncSession, *, principal: Principal, after: int, limit: int, types: list[str],
    dossier_id: uuid.UUID | None, council_qpvs: frozenset[str] | None = None,
) -> list[DomainEvent]:
    """Those readable after the sequence `after`, in order, one more than `limit` (to know a page follows)."""
    statement = where_given(
        readable_events(principal, council_qpvs).where(col(DomainEvent.sequence) > after),
        (DomainEvent.dossier_id, dossier_id),
    )
    if types:
        statement = statement.where(col(DomainEvent.type).in_(types))
    rows = await session.execute(statement.order_by(col(DomainEvent.sequence)).limit(limit + 1))
    return list(rows.scalars())
