"""Tables of what follows a grant: the grant itself (one funder's share of one dossier), its agreement (a
convention, or a decision letter below the legal threshold) and the payments of its schedule."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, Column, ForeignKey, Index, UniqueConstraint, false
from sqlmodel import Field

from common.db import UtcDateTime
from services.funding.models.base import FundingTable, IdColumn, SyncedTimestamps, Timestamps, Versioned


class AgreementKind(StrEnum):
    convention = "convention"
    decision_letter = "decision_letter"


class AgreementState(StrEnum):
    drafted = "drafted"
    sent = "sent"
    signed = "signed"
    active = "active"
    ended = "ended"


class PaymentState(StrEnum):
    scheduled = "scheduled"
    # Not stored: a scheduled payment whose agreement is active, whose date has come and whose condition holds
    # reads as due.
    due = "due"
    requested = "requested"
    paid = "paid"
    cancelled = "cancelled"


class PaymentCondition(StrEnum):
    on_activation = "on_activation"  # due once the agreement is active (and its date, if any, has come)
    after_review = "after_review"  # due once the review it waits for is accepted (seed fund, CPO balance)


class Grant(FundingTable, IdColumn, SyncedTimestamps, table=True):
    """What one funder granted on one dossier; its money is committed on the funder's envelope. `updated_at`
    moves when the grant changes (a CPO's amendment), for `GET /grants?updated_since=`."""

    __tablename__ = "grants"
    __table_args__ = (
        UniqueConstraint("dossier_id", "funder_id", name="uq_grants_dossier_funder"),
        CheckConstraint("amount_cents > 0", name="ck_grants_amount_positive"),
        Index("ix_grants_funder_created", "funder_id", "created_at", "id"),
        Index("ix_grants_organisation_created", "organisation_id", "created_at", "id"),
        Index("ix_grants_year_created", "year", "created_at", "id"),
    )

    dossier_id: uuid.UUID = Field(sa_column=Column(ForeignKey("dossiers.id"), index=True, nullable=False))
    funder_id: uuid.UUID = Field(nullable=False)
    organisation_id: uuid.UUID = Field(nullable=False)
    programme_id: uuid.UUID = Field(foreign_key="programmes.id", index=True)
    session_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("committee_sessions.id"), nullable=True)
    )
    year: int
    amount_cents: int = Field(sa_type=BigInteger, nullable=False)
    conditions: str | None = Field(default=None, max_length=2000)
    # The funder's own reference of its decision, when it gave one (the open data's referenceDecision).
    decision_reference: str | None = Field(default=None, max_length=100)
    decided_at: datetime = Field(sa_type=UtcDateTime, nullable=False)


class GrantYearState(StrEnum):
    committed = "committed"  # the year's money is committed on that year's envelope
    awaiting = "awaiting"  # a CPO's later year, decided, waiting for that year's budget (its envelope)
    cancelled = "cancelled"  # a CPO terminated before the year was committed


class GrantYear(FundingTable, IdColumn, Versioned, SyncedTimestamps, table=True):
    """One year of a grant: what it gives that year, and what of it is committed on which year's envelope. A
    grant of one year has one, committed at the decision; a CPO has one per year, the first committed at the
    decision and each later one when its year opens (each year's amount is subject to that year's budget vote)."""

    __tablename__ = "grant_years"
    __table_args__ = (
        UniqueConstraint("grant_id", "year", name="uq_grant_years_year"),
        CheckConstraint("state IN ('committed', 'awaiting', 'cancelled')", name="ck_grant_years_state"),
        CheckConstraint("amount_cents >= 0 AND committed_cents >= 0", name="ck_grant_years_amounts"),
        CheckConstraint("state = 'committed' OR committed_cents = 0", name="ck_grant_years_committed_only"),
        # What a funder's envelope of a year has committed, and what waits for it.
        Index("ix_grant_years_funder_year", "funder_id", "year", "programme_id"),
    )

    grant_id: uuid.UUID = Field(sa_column=Column(ForeignKey("grants.id"), nullable=False, index=True))
    dossier_id: uuid.UUID = Field(sa_column=Column(ForeignKey("dossiers.id"), nullable=False, index=True))
    funder_id: uuid.UUID = Field(nullable=False)
    programme_id: uuid.UUID = Field(foreign_key="programmes.id")
    year: int
    # The year's amount as decided, then amended.
    amount_cents: int = Field(sa_type=BigInteger, nullable=False)
    state: str = Field(max_length=16)
    # What the year holds on its envelope now: its amount, less its cancelled payments.
    committed_cents: int = Field(default=0, sa_type=BigInteger, nullable=False)
    # The year of the envelope its money is committed on: its own (a CPO granted before each year was
    # committed on its own envelope committed all its years on the programme's year's).
    envelope_year: int | None = None
    committed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    committed_by: str | None = Field(default=None, max_length=200)


class Agreement(FundingTable, IdColumn, Versioned, SyncedTimestamps, table=True):
    __tablename__ = "agreements"
    __table_args__ = (
        CheckConstraint("kind IN ('convention', 'decision_letter')", name="ck_agreements_kind"),
        CheckConstraint(
            "state IN ('drafted', 'sent', 'signed', 'active', 'ended')", name="ck_agreements_state"
        ),
        Index("ix_agreements_funder_created", "funder_id", "created_at", "id"),
        Index("ix_agreements_organisation_created", "organisation_id", "created_at", "id"),
        Index("ix_agreements_created", "created_at", "id"),
    )

    number: str = Field(max_length=40, unique=True)
    kind: str = Field(max_length=16)
    grant_id: uuid.UUID = Field(sa_column=Column(ForeignKey("grants.id"), unique=True, nullable=False))
    dossier_id: uuid.UUID = Field(sa_column=Column(ForeignKey("dossiers.id"), index=True, nullable=False))
    funder_id: uuid.UUID = Field(nullable=False)
    organisation_id: uuid.UUID = Field(nullable=False)
    state: str = Field(default=AgreementState.drafted, max_length=16, index=True)
    object: str = Field(max_length=500)
    amount_cents: int = Field(sa_type=BigInteger, nullable=False)
    # What the parties commit to besides the amount: payment terms, reporting duties, conditions.
    terms: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    sent_by: str | None = Field(default=None, max_length=200)
    funder_signed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    funder_signed_by: str | None = Field(default=None, max_length=200)
    holder_signed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    holder_signed_by: str | None = Field(default=None, max_length=200)
    activated_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # A CPO's yearly review may suspend it: its payments stop until a later review lets it go on.
    suspended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class AgreementParty(FundingTable, IdColumn, table=True):
    """A funder party to a multi-party agreement (one agreement for all the dossier's funders, when the programme
    asks for it): its grant, and its signature."""

    __tablename__ = "agreement_parties"
    __table_args__ = (
        UniqueConstraint("agreement_id", "funder_id", name="uq_agreement_parties_funder"),
        # A party's page of its agreements walks this index from the cursor on (`list_agreements`).
        Index("ix_agreement_parties_funder_created", "funder_id", "agreement_created_at", "agreement_id"),
    )

    agreement_id: uuid.UUID = Field(sa_column=Column(ForeignKey("agreements.id"), nullable=False))
    # The agreement's own `created_at` (it never changes): the order of the agreements' pages.
    agreement_created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    funder_id: uuid.UUID = Field(nullable=False)
    grant_id: uuid.UUID = Field(sa_column=Column(ForeignKey("grants.id"), unique=True, nullable=False))
    signed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    signed_by: str | None = Field(default=None, max_length=200)


class Payment(FundingTable, IdColumn, Versioned, SyncedTimestamps, table=True):
    """One instalment of a grant's schedule; the instalments of a grant add up to its amount, to the cent."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("grant_id", "sequence", name="uq_payments_grant_sequence"),
        CheckConstraint("amount_cents > 0", name="ck_payments_amount_positive"),
        CheckConstraint(
            "state IN ('scheduled', 'requested', 'paid', 'cancelled')", name="ck_payments_state"
        ),
        CheckConstraint("condition IN ('on_activation', 'after_review')", name="ck_payments_condition"),
        Index("ix_payments_funder_created", "funder_id", "created_at", "id"),
        Index("ix_payments_organisation_created", "organisation_id", "created_at", "id"),
        Index("ix_payments_created", "created_at", "id"),
        Index("ix_payments_year_created", "year", "created_at", "id"),
    )

    grant_id: uuid.UUID = Field(sa_column=Column(ForeignKey("grants.id"), index=True, nullable=False))
    agreement_id: uuid.UUID = Field(sa_column=Column(ForeignKey("agreements.id"), index=True, nullable=False))
    dossier_id: uuid.UUID = Field(sa_column=Column(ForeignKey("dossiers.id"), index=True, nullable=False))
    funder_id: uuid.UUID = Field(nullable=False)
    organisation_id: uuid.UUID = Field(nullable=False)
    programme_id: uuid.UUID = Field(foreign_key="programmes.id")
    year: int
    sequence: int
    amount_cents: int = Field(sa_type=BigInteger, nullable=False)
    condition: str = Field(max_length=16)
    due_on: date | None = None
    # The date by which it should be paid (a CPO's yearly advance: 31 March), shown to both sides.
    pay_by: date | None = None
    # When the webhook worker first found it due and said so (the event payment.due, once).
    due_announced_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # When the review an `after_review` instalment waits for was accepted: it may then fall due.
    released_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    state: str = Field(default=PaymentState.scheduled, max_length=16, index=True)
    requested_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    requested_by: str | None = Field(default=None, max_length=200)
    paid_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    paid_by: str | None = Field(default=None, max_length=200)
    cancelled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    cancelled_by: str | None = Field(default=None, max_length=200)
    cancel_reason: str | None = Field(default=None, max_length=2000)
    # A CPO year's instalment while the year waits for its budget (grant_years): not due, whatever its date.
    budget_pending: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))


class ReviewState(StrEnum):
    draft = "draft"
    submitted = "submitted"
    accepted = "accepted"
    changes_requested = "changes_requested"


class LearningReview(FundingTable, IdColumn, Versioned, Timestamps, table=True):
    """A seed fund's mid-term learning review: what the collective has learnt so far. Accepted by the desk, it
    lets the grants' last instalments fall due."""

    __tablename__ = "learning_reviews"
    __table_args__ = (
        UniqueConstraint("dossier_id", name="uq_learning_reviews_dossier"),
        CheckConstraint(
            "state IN ('draft', 'submitted', 'accepted', 'changes_requested')", name="ck_learning_reviews_state"
        ),
    )

    dossier_id: uuid.UUID = Field(sa_column=Column(ForeignKey("dossiers.id"), nullable=False))
    organisation_id: uuid.UUID = Field(nullable=False)
    state: str = Field(default=ReviewState.draft, max_length=24)
    learned: str = Field(max_length=8000)
    next_steps: str | None = Field(default=None, max_length=4000)
    submitted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    reviewed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    reviewed_by: str | None = Field(default=None, max_length=200)
    review_comment: str | None = Field(default=None, max_length=2000)
