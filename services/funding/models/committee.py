"""Tables of the comité des financeurs: sessions, the funders invited, the agenda, conflicts of interest and each
funder's decision on each item."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, ForeignKey, Index, UniqueConstraint
from sqlmodel import Field

from common.db import UtcDateTime
from services.funding.models.base import (
    CreatedAt,
    FundingTable,
    IdColumn,
    SyncedTimestamps,
    Timestamps,
    Versioned,
    created_column,
)


class SessionState(StrEnum):
    planned = "planned"
    open = "open"
    closed = "closed"


class ItemState(StrEnum):
    pending = "pending"
    decided = "decided"
    deferred = "deferred"
    withdrawn = "withdrawn"


class Outcome(StrEnum):
    accepted = "accepted"
    partially_accepted = "partially_accepted"
    refused = "refused"


def _session_fk() -> Any:
    return Field(sa_column=Column(ForeignKey("committee_sessions.id", ondelete="CASCADE"), nullable=False))


class CommitteeSession(FundingTable, IdColumn, Versioned, SyncedTimestamps, table=True):
    __tablename__ = "committee_sessions"
    __table_args__ = (
        CheckConstraint("state IN ('planned', 'open', 'closed')", name="ck_committee_sessions_state"),
        Index("ix_committee_sessions_created", "created_at", "id"),
    )

    title: str = Field(max_length=200)
    held_on: date
    place: str = Field(max_length=300)
    state: str = Field(default=SessionState.planned, max_length=16, index=True)
    opened_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    opened_by: str | None = Field(default=None, max_length=200)
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    closed_by: str | None = Field(default=None, max_length=200)
    # Frozen at closing: what the minutes say, whatever changes afterwards.
    minutes: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_by: str = Field(max_length=200)


class SessionProgramme(FundingTable, table=True):
    __tablename__ = "committee_session_programmes"

    session_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("committee_sessions.id", ondelete="CASCADE"), primary_key=True)
    )
    programme_id: uuid.UUID = Field(sa_column=Column(ForeignKey("programmes.id"), primary_key=True))


class SessionFunder(FundingTable, table=True):
    """A funder invited to the session; whether it sat is recorded when the session opens."""

    __tablename__ = "committee_session_funders"
    __table_args__ = (Index("ix_committee_session_funders_funder", "funder_id"),)

    session_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("committee_sessions.id", ondelete="CASCADE"), primary_key=True)
    )
    funder_id: uuid.UUID = Field(primary_key=True)
    # As identity named it at the invitation: the minutes need it, and the quorum needs to know the State.
    name: str = Field(max_length=200)
    category: str | None = Field(default=None, max_length=32)
    present: bool | None = None
    invited_by: str = Field(max_length=200)
    invited_at: datetime = created_column()


class AgendaItem(FundingTable, IdColumn, table=True):
    __tablename__ = "committee_agenda_items"
    __table_args__ = (
        UniqueConstraint("session_id", "dossier_id", name="uq_committee_agenda_items_dossier"),
        CheckConstraint(
            "state IN ('pending', 'decided', 'deferred', 'withdrawn')", name="ck_committee_agenda_items_state"
        ),
        CheckConstraint(
            "outcome IS NULL OR outcome IN ('accepted', 'partially_accepted', 'refused')",
            name="ck_committee_agenda_items_outcome",
        ),
    )

    session_id: uuid.UUID = _session_fk()
    dossier_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    position: int
    note: str | None = Field(default=None, max_length=2000)
    state: str = Field(default=ItemState.pending, max_length=16)
    outcome: str | None = Field(default=None, max_length=24)
    deferral_reason: str | None = Field(default=None, max_length=2000)


class Recusal(FundingTable, IdColumn, table=True):
    """A conflict of interest a committee member declared on an item: that member records no decision on it."""

    __tablename__ = "committee_recusals"
    __table_args__ = (UniqueConstraint("item_id", "member", name="uq_committee_recusals_member"),)

    session_id: uuid.UUID = _session_fk()
    item_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("committee_agenda_items.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    member: str = Field(max_length=200)
    member_name: str | None = Field(default=None, max_length=200)
    organisation_id: uuid.UUID | None = None
    reason: str = Field(max_length=2000)
    declared_at: datetime = created_column()


class FunderDecision(FundingTable, IdColumn, Versioned, SyncedTimestamps, table=True):
    """One funder's answer on one item: an amount granted (committed on its envelope), or none with a reason. A
    small project's decision, taken outside any session by its lead funder (committee/delegated.py), has no
    item: it is final when recorded."""

    __tablename__ = "committee_decisions"
    __table_args__ = (
        UniqueConstraint("item_id", "funder_id", name="uq_committee_decisions_funder"),
        CheckConstraint("granted_cents >= 0", name="ck_committee_decisions_granted_not_negative"),
        CheckConstraint(
            "granted_cents > 0 OR refusal_reason IS NOT NULL", name="ck_committee_decisions_refusal_has_reason"
        ),
        # The decisions list pages in (created_at, id) order: all of them for the desk, one funder's for its people.
        Index("ix_committee_decisions_created", "created_at", "id"),
        Index("ix_committee_decisions_funder_created", "funder_id", "created_at", "id"),
    )

    item_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("committee_agenda_items.id", ondelete="CASCADE"), index=True, nullable=True),
    )
    dossier_id: uuid.UUID = Field(sa_column=Column(ForeignKey("dossiers.id"), index=True, nullable=False))
    funder_id: uuid.UUID = Field(nullable=False)
    granted_cents: int = Field(sa_type=BigInteger, nullable=False)
    conditions: str | None = Field(default=None, max_length=2000)
    refusal_reason: str | None = Field(default=None, max_length=2000)
    # The funder's own reference of its decision (a deliberation, an order), published as open data.
    decision_reference: str | None = Field(default=None, max_length=100)
    decided_by: str = Field(max_length=200)
    # A CPO's: the amount of each of its years ({year: cents}, years as strings: JSON keys), adding up to
    # `granted_cents`. Only the first is committed at the decision; each later one when its year opens.
    yearly_cents: dict[str, int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class DecisionAmendment(FundingTable, IdColumn, CreatedAt, table=True):
    """A new version of a funder's decision, made by a CPO's amendment (avenant): what it grants from then on,
    each year, with the amendment's reference and date. The decision as the committee took it stays as it was
    (its minutes say it); the versions after it are these rows, numbered from 2."""

    __tablename__ = "decision_amendments"
    __table_args__ = (
        UniqueConstraint("decision_id", "number", name="uq_decision_amendments_number"),
        CheckConstraint("granted_cents >= 0", name="ck_decision_amendments_granted_not_negative"),
    )

    decision_id: uuid.UUID = Field(sa_column=Column(ForeignKey("committee_decisions.id"), nullable=False,
                                                    index=True))
    dossier_id: uuid.UUID = Field(sa_column=Column(ForeignKey("dossiers.id"), nullable=False))
    funder_id: uuid.UUID = Field(nullable=False)
    # The decision's version this row is: 2 for the first amendment.
    number: int
    granted_cents: int = Field(sa_type=BigInteger, nullable=False)
    yearly_cents: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The amendment's own reference (the funder's, or the desk's AV- number), published with the year it changes.
    reference: str = Field(max_length=100)
    amended_on: date
    reason: str | None = Field(default=None, max_length=4000)
    review_id: uuid.UUID | None = None
    amended_by: str = Field(max_length=200)


class Score(FundingTable, IdColumn, Versioned, Timestamps, table=True):
    """A committee member's scores of a seed-fund item on the grid (0 to 5 each), with an optional comment."""

    __tablename__ = "committee_scores"
    __table_args__ = (
        UniqueConstraint("item_id", "member", name="uq_committee_scores_member"),
        CheckConstraint(
            "innovation BETWEEN 0 AND 5 AND collective BETWEEN 0 AND 5 AND residents_involvement BETWEEN 0 AND 5 "
            "AND feasibility BETWEEN 0 AND 5",
            name="ck_committee_scores_grid",
        ),
    )

    session_id: uuid.UUID = _session_fk()
    item_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("committee_agenda_items.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    member: str = Field(max_length=200)
    organisation_id: uuid.UUID | None = None
    innovation: int
    collective: int
    residents_involvement: int
    feasibility: int
    comment: str | None = Field(default=None, max_length=2000)
