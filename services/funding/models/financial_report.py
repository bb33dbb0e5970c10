"""The financial report (compte rendu financier, CERFA 15059) each grant owes its funder: the budget as
planned against what was spent and received, line by line, due some months after the end of the grant's year."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    UniqueConstraint,
    and_,
    exists,
)
from sqlmodel import Field, col

from common.db import UtcDateTime
from services.funding.models.agreement import Payment, PaymentState
from services.funding.models.base import FundingTable, IdColumn, SyncedTimestamps, Versioned


class ReportKind(StrEnum):
    financial = "financial"  # the CERFA 15059, line by line
    light = "light"  # a small project's: what happened, people reached, money spent


class FinancialReportState(StrEnum):
    expected = "expected"  # nothing entered yet
    draft = "draft"
    submitted = "submitted"
    accepted = "accepted"
    changes_requested = "changes_requested"


# Its own name in the OpenAPI: projects' indicator reports have a `ReportState` of other values, and two schemas of
# one name cannot live in the merged document. The code keeps the short name.
ReportState = FinancialReportState

# Until the funder has it in hand, the report is still owed (and, past its date, overdue).
OWED_STATES = (ReportState.expected, ReportState.draft, ReportState.changes_requested)


class FinancialReport(FundingTable, IdColumn, Versioned, SyncedTimestamps, table=True):
    __tablename__ = "financial_reports"
    __table_args__ = (
        UniqueConstraint("grant_id", "year", name="uq_financial_reports_grant_year"),
        CheckConstraint(
            "state IN ('expected', 'draft', 'submitted', 'accepted', 'changes_requested')",
            name="ck_financial_reports_state",
        ),
        CheckConstraint("kind IN ('financial', 'light')", name="ck_financial_reports_kind"),
        # The overdue lists and the admissibility rule: an association's owed reports by date.
        Index("ix_financial_reports_owed", "organisation_id", "state", "due_on"),
        Index("ix_financial_reports_funder_created", "funder_id", "created_at", "id"),
        Index("ix_financial_reports_organisation_created", "organisation_id", "created_at", "id"),
        Index("ix_financial_reports_created", "created_at", "id"),
        Index("ix_financial_reports_year_created", "year", "created_at", "id"),
    )

    grant_id: uuid.UUID = Field(sa_column=Column(ForeignKey("grants.id"), index=True, nullable=False))
    dossier_id: uuid.UUID = Field(sa_column=Column(ForeignKey("dossiers.id"), index=True, nullable=False))
    funder_id: uuid.UUID = Field(nullable=False)
    organisation_id: uuid.UUID = Field(nullable=False)
    kind: str = Field(default=ReportKind.financial, max_length=16)
    year: int
    due_on: date
    state: str = Field(default=ReportState.expected, max_length=24)
    # One entry per line of the budget frozen at submission: side, account, label, planned and actual amounts,
    # and the explanation of a gap; then the lines spent or received that the budget did not plan
    # (`"planned": false`, planned at 0). An entry without `planned` is a planned one (rows of before).
    lines: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    comment: str | None = Field(default=None, max_length=4000)
    # CERFA 15059 beyond the table. The gap over which a line is explained, in basis points of the planned
    # amount: the programme's rule when the report was owed (15 % by default; server default for rows of before).
    explained_gap_bp: int = Field(default=1_500, sa_column=Column(Integer, nullable=False, server_default="1500"))
    # The annex: how indirect charges were split, the in-kind contributions, the explanation of the gaps.
    annex: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The qualitative account of the action carried out.
    qualitative: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Who certifies it: name, capacity (legal representative or delegate), date.
    signatory: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # A light report's count of the people the project reached.
    people_reached: int | None = None
    submitted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    submitted_by: str | None = Field(default=None, max_length=200)
    # When the webhook worker first found it overdue and said so (the event report.overdue, once).
    overdue_announced_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    reviewed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    reviewed_by: str | None = Field(default=None, max_length=200)
    review_comment: str | None = Field(default=None, max_length=2000)


def _money_received() -> ColumnElement[bool]:
    """SQL: something was paid on the report's grant. A report accounts for money received: a grant never paid
    (its letter never sent, its payments cancelled) owes none."""
    return exists().where(
        col(Payment.grant_id) == col(FinancialReport.grant_id), col(Payment.state) == PaymentState.paid
    )


def owed_clause() -> ColumnElement[bool]:
    """SQL: the report is still owed — not yet in the funder's hands, for money received."""
    return and_(col(FinancialReport.state).in_(OWED_STATES), _money_received())


def late_clause(today: date) -> ColumnElement[bool]:
    return and_(owed_clause(), col(FinancialReport.due_on) < today)
