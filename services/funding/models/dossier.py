"""Tables of the dossiers: the dossier, its co-funding plan, tags, history, routings and opinions."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, ForeignKey, Index, String, UniqueConstraint
from sqlmodel import Field

from common.db import UtcDateTime
from services.funding.models.base import FundingTable, IdColumn, SyncedTimestamps, Timestamps, Versioned, created_column


class DossierState(StrEnum):
    draft = "draft"
    submitted = "submitted"
    supplements_requested = "supplements_requested"
    admissible = "admissible"
    inadmissible = "inadmissible"
    in_instruction = "in_instruction"
    ready_for_committee = "ready_for_committee"
    deferred = "deferred"
    decided = "decided"
    withdrawn = "withdrawn"


class RequestObject(StrEnum):
    """What a request funds (CERFA 12156, « objet de la demande »)."""

    project = "project"  # one project or action
    operating = "operating"  # the association's overall running costs (« fonctionnement global »)


class RequestKind(StrEnum):
    first = "first"  # a first request
    renewal = "renewal"  # the renewal of a grant already obtained


class AidNature(StrEnum):
    cash = "cash"  # aide en numéraire
    in_kind = "in_kind"  # aide en nature (premises, staff, equipment made available)


class RoutingState(StrEnum):
    routed = "routed"
    declined = "declined"


class OpinionKind(StrEnum):
    favourable = "favourable"
    reserved = "reserved"
    unfavourable = "unfavourable"


def _own_reference(context: Any) -> str:
    """A dossier written without its thread's reference (a first one, by a writer that left it out) is its own
    thread."""
    return str(context.get_current_parameters()["reference"])


class ReferenceCounter(FundingTable, table=True):
    """Last number given per year, for the human references GU-YYYY-NNNNNN."""

    __tablename__ = "reference_counters"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_value: int = Field(default=0, nullable=False)


class Dossier(FundingTable, IdColumn, Versioned, SyncedTimestamps, table=True):
    __tablename__ = "dossiers"
    __table_args__ = (
        Index("ix_dossiers_org_created", "organisation_id", "created_at", "id"),
        Index("ix_dossiers_created", "created_at", "id"),
        CheckConstraint("request_object IN ('project', 'operating')", name="ck_dossiers_request_object"),
        CheckConstraint("request_kind IN ('first', 'renewal')", name="ck_dossiers_request_kind"),
    )

    reference: str = Field(max_length=20, unique=True)
    programme_id: uuid.UUID = Field(foreign_key="programmes.id", index=True)
    project_id: uuid.UUID = Field(index=True)
    organisation_id: uuid.UUID = Field(nullable=False)
    state: str = Field(default=DossierState.draft, max_length=32, index=True)
    requested_total_cents: int = Field(default=0, sa_type=BigInteger, nullable=False)
    # What the request asks (CERFA 12156): a project, or the association's overall running costs (then its yearly
    # budget is the one the plan is checked against); a first request or a renewal; cash, in kind, or both.
    # (Server defaults too: the bulk loaders of the seeds write rows without these columns.)
    request_object: str = Field(
        default=RequestObject.project, sa_column=Column(String(16), nullable=False, server_default="project")
    )
    request_kind: str = Field(
        default=RequestKind.first, sa_column=Column(String(16), nullable=False, server_default="first")
    )
    aid_nature: list[str] = Field(
        default_factory=lambda: [AidNature.cash.value],
        sa_column=Column(JSON, nullable=False, server_default='["cash"]'),
    )
    # What the dossier was judged on, frozen at submission: later edits elsewhere never change it.
    project_snapshot: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    budget_snapshot: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    association_budget_snapshot: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    organisation_snapshot: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The attached versions of the association's documents (ids in projects' vault), in order.
    document_version_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    documents_snapshot: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The submission attempt whose pins projects holds for the dossier's documents, and what is still owed to
    # them once this row is committed: `confirm` (the submission), `release` (withdrawn, inadmissible), or nothing.
    # Written in the move's transaction, done right after its commit or else by the worker (docs/architecture.md).
    pin_attempt_id: uuid.UUID | None = Field(default=None)
    pin_step: str | None = Field(default=None, max_length=8, index=True)
    submitted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # The desk's current request for supplements (while the dossier is back with the holder).
    supplements_message: str | None = Field(default=None, max_length=2000)
    supplements_due_on: date | None = None
    # Why it was declared inadmissible, or withdrawn.
    closing_reason: str | None = Field(default=None, max_length=2000)
    # The committee session whose agenda holds the dossier (planned or open): one at a time.
    agenda_session_id: uuid.UUID | None = Field(default=None, index=True)
    # The committee's answer, from every funder's share, and when the session that gave it closed.
    outcome: str | None = Field(default=None, max_length=24)
    decided_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # The service clock of a delegated decision (small projects): when the decision is due, while it runs;
    # while supplements are awaited it stands still and keeps the time it had left.
    decision_due_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    clock_remaining_seconds: int | None = None
    # Administrative support: asked by the holder, taken by one of the desk's people (the helper), who may then
    # edit the draft for the holder until the holder ends it.
    support_state: str | None = Field(default=None, max_length=16)
    support_message: str | None = Field(default=None, max_length=2000)
    support_helper: str | None = Field(default=None, max_length=200)
    # Seed fund: the partner organisations of the collective, and what is tried and how it will be known.
    partners: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    learning_plan: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The end of a seed-fund project: stop, continue or graduate (towards a CPO or the annual call).
    verdict: str | None = Field(default=None, max_length=16)
    verdict_comment: str | None = Field(default=None, max_length=2000)
    verdict_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # One thread across the years: the reference the association, the funders and the open data quote for the
    # dossier. A first dossier's own; a dossier that follows another (a graduation, a renewal) keeps the first
    # one's, and names the one it follows.
    thread_reference: str = Field(
        default=None, max_length=20, index=True, nullable=False, sa_column_kwargs={"default": _own_reference}
    )
    previous_dossier_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("dossiers.id", name="fk_dossiers_previous_dossier"), nullable=True)
    )
    # CPO: how many years it runs (from the programme's year), its objectives, the indicator targets per year as
    # projects held them at submission, and where it stands once granted (running, suspended, terminated,
    # completed).
    cpo_years: int | None = None
    objectives: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cpo_targets: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    cpo_state: str | None = Field(default=None, max_length=16)
    created_by: str = Field(max_length=200)


class FundingLine(FundingTable, IdColumn, table=True):
    """One line of the co-funding plan: what is asked of one funder, or of the desk to allocate (no funder)."""

    __tablename__ = "funding_lines"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="ck_funding_lines_amount_positive"),
        UniqueConstraint("dossier_id", "position", name="uq_funding_lines_position"),
    )

    dossier_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    position: int
    funder_id: uuid.UUID | None = Field(default=None, index=True)
    amount_cents: int = Field(sa_type=BigInteger, nullable=False)
    # CPO: the amount asked for each year, adding up to `amount_cents` (empty for the other tracks).
    yearly_amounts_cents: list[int] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )


class DossierTag(FundingTable, table=True):
    """What the dossier's project touched at its last submission, for the lists' filters and the territory's
    figures: each QPV, each priority (the snapshot is JSON, which no index reaches); with the programme's year, so
    that a territory's year is one range of the index, however many years the desk has behind it."""

    __tablename__ = "dossier_tags"
    __table_args__ = (Index("ix_dossier_tags_value", "kind", "value", "year", "dossier_id"),)

    dossier_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("dossiers.id", ondelete="CASCADE"), primary_key=True)
    )
    kind: str = Field(max_length=16, primary_key=True)
    value: str = Field(max_length=40, primary_key=True)
    year: int


class DossierHistory(FundingTable, IdColumn, table=True):
    """The audit trail: who moved a dossier, from which state to which, when."""

    __tablename__ = "dossier_history"

    dossier_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    action: str = Field(max_length=40)
    from_state: str | None = Field(default=None, max_length=32)
    to_state: str = Field(max_length=32)
    actor: str = Field(max_length=200)
    actor_organisation_id: uuid.UUID | None = None
    comment: str | None = Field(default=None, max_length=2000)
    at: datetime = created_column()


class DossierRouting(FundingTable, IdColumn, table=True):
    """A dossier sent to one funder of its plan: that funder's people see it and give their opinion, or the
    funder declines it (its line goes back to the desk to allocate)."""

    __tablename__ = "dossier_routings"
    __table_args__ = (
        UniqueConstraint("dossier_id", "funder_id", name="uq_dossier_routings_funder"),
        CheckConstraint("state IN ('routed', 'declined')", name="ck_dossier_routings_state"),
        # A funder's page of its dossiers walks this index from the cursor on (`dossiers.repository.list_dossiers`).
        Index("ix_dossier_routings_funder_dossier_created", "funder_id", "state", "dossier_created_at", "dossier_id"),
    )

    dossier_id: uuid.UUID = Field(sa_column=Column(ForeignKey("dossiers.id", ondelete="CASCADE"), nullable=False))
    # The dossier's own `created_at` (it never changes), copied at insert by `dossiers.repository`: the order of
    # the dossiers' pages, beside the funder in one index.
    dossier_created_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=False))
    funder_id: uuid.UUID = Field(nullable=False)
    state: str = Field(default=RoutingState.routed, max_length=16)
    amount_cents: int = Field(sa_type=BigInteger, nullable=False)
    routed_by: str = Field(max_length=200)
    routed_at: datetime = created_column()
    declined_by: str | None = Field(default=None, max_length=200)
    declined_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    decline_reason: str | None = Field(default=None, max_length=2000)


class DossierOpinion(FundingTable, IdColumn, Versioned, Timestamps, table=True):
    """An instruction opinion: one per routed funder, and one advisory opinion of the QPV's citizen council."""

    __tablename__ = "dossier_opinions"
    __table_args__ = (
        UniqueConstraint("dossier_id", "organisation_id", name="uq_dossier_opinions_author"),
        CheckConstraint("opinion IN ('favourable', 'reserved', 'unfavourable')", name="ck_dossier_opinions_opinion"),
        CheckConstraint("author_kind IN ('funder', 'citizen_council')", name="ck_dossier_opinions_author_kind"),
        CheckConstraint(
            "proposed_amount_cents IS NULL OR (author_kind = 'funder' AND proposed_amount_cents >= 0)",
            name="ck_dossier_opinions_amount",
        ),
    )

    dossier_id: uuid.UUID = Field(sa_column=Column(ForeignKey("dossiers.id", ondelete="CASCADE"), nullable=False))
    organisation_id: uuid.UUID = Field(nullable=False)
    author_kind: str = Field(max_length=16)
    opinion: str = Field(max_length=16)
    proposed_amount_cents: int | None = Field(default=None, sa_type=BigInteger)
    conditions: str | None = Field(default=None, max_length=2000)
    comment: str | None = Field(default=None, max_length=4000)
    author: str = Field(max_length=200)
