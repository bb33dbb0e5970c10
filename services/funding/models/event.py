"""The outbox: each state change of a dossier, session, decision, agreement, payment or report is a domain event,
written in the transaction that made it, numbered in commit order, with the organisations that may see it."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer
from sqlmodel import Field

from common.db import UtcDateTime
from services.funding.models.base import FundingTable

# SQLite numbers its rowid only as INTEGER; PostgreSQL takes the sequence as BIGINT.
SequenceType = BigInteger().with_variant(Integer(), "sqlite")


class DomainEvent(FundingTable, table=True):
    __tablename__ = "domain_events"

    # Given at commit from the one counter row (see events/outbox.py): the feed's order is the commit order.
    sequence: int = Field(sa_column=Column(SequenceType, primary_key=True, autoincrement=False))
    id: uuid.UUID = Field(default_factory=uuid.uuid4, unique=True)
    type: str = Field(max_length=64, index=True)
    subject_kind: str = Field(max_length=24)
    subject_id: uuid.UUID
    dossier_id: uuid.UUID | None = Field(default=None, index=True)
    reference: str | None = Field(default=None, max_length=20)
    # The dossier's thread (the reference to quote: the same from a CPO to its renewal).
    thread_reference: str | None = Field(default=None, max_length=20)
    # The association concerned.
    organisation_id: uuid.UUID | None = None
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    occurred_at: datetime = Field(sa_type=UtcDateTime, nullable=False)


class EventAudience(FundingTable, table=True):
    """An organisation that may see the event (the desk sees every one)."""

    __tablename__ = "domain_event_audience"
    __table_args__ = (Index("ix_domain_event_audience_organisation", "organisation_id", "event_sequence"),)

    event_sequence: int = Field(
        sa_column=Column(SequenceType, ForeignKey("domain_events.sequence", ondelete="CASCADE"), primary_key=True)
    )
    organisation_id: uuid.UUID = Field(primary_key=True)


class EventCounter(FundingTable, table=True):
    """One row: the last sequence given. Taken at commit, its lock orders the events as their transactions
    commit, so that a reader resuming from a cursor never misses an event committed later with a lower number."""

    __tablename__ = "domain_event_counter"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_sequence: int = Field(default=0, sa_type=BigInteger, nullable=False)
