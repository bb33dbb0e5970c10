"""The outbox's queries. They run inside the session's own events (at flush, before the commit), so they are
synchronous, on the ORM session that is committing: no other session or connection is opened."""

import uuid
from typing import Any

from sqlalchemy import Table, insert, update
from sqlalchemy.orm import Session
from sqlmodel import col, select

from services.funding.models.agreement import AgreementParty
from services.funding.models.base import metadata
from services.funding.models.committee import SessionFunder
from services.funding.models.dossier import Dossier, DossierRouting, RoutingState

# The outbox writes its rows as plain table inserts (no ORM objects: the session is already flushing).
EVENTS: Table = metadata.tables["domain_events"]
AUDIENCE: Table = metadata.tables["domain_event_audience"]
COUNTER: Table = metadata.tables["domain_event_counter"]


def take_numbers(session: Session, count: int) -> int:
    """The last of `count` new numbers; the counter row stays locked until the commit."""
    taken = session.execute(
        update(COUNTER).where(COUNTER.c.id == 1).values(last_sequence=COUNTER.c.last_sequence + count)
        .returning(COUNTER.c.last_sequence)
    ).scalar_one_or_none()
    if taken is None:  # a database made without the migrations (the tests' create_all): its first event
        session.execute(insert(COUNTER).values(id=1, last_sequence=count))
        return count
    return int(taken)


def insert_events(session: Session, rows: list[dict[str, Any]], audience: list[dict[str, Any]]) -> None:
    """The events, then who may see each."""
    session.execute(insert(EVENTS), rows)
    if audience:
        session.execute(insert(AUDIENCE), audience)


def dossier_by_id(session: Session, dossier_id: uuid.UUID) -> Dossier | None:
    return session.get(Dossier, dossier_id)


def routed_funders(session: Session, dossier_id: uuid.UUID) -> set[uuid.UUID]:
    """The funders the dossier is routed to."""
    routed = session.execute(select(DossierRouting.funder_id).where(
        col(DossierRouting.dossier_id) == dossier_id, col(DossierRouting.state) == RoutingState.routed))
    return set(routed.scalars())


def invited_funders(session: Session, session_id: uuid.UUID) -> set[uuid.UUID]:
    """The funders invited to a committee session."""
    invited = session.execute(select(SessionFunder.funder_id).where(col(SessionFunder.session_id) == session_id))
    return set(invited.scalars())


def agreement_parties(session: Session, agreement_id: uuid.UUID) -> set[uuid.UUID]:
    """The funders party to an agreement."""
    parties = session.execute(
        select(AgreementParty.funder_id).where(col(AgreementParty.agreement_id) == agreement_id)
    )
    return set(parties.scalars())
