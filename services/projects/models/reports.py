"""The reports of a project (actual values, narrative, evidence, history).

Every measured value is stored in hundredths (an integer): 12.5 hours is 1250, never a float.
A period is a calendar year ("2027") or "span" (the project's whole duration).
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, Text, UniqueConstraint
from sqlmodel import Field

from common.db import UtcDateTime, utcnow
from services.projects.models.base import ProjectsTable, Timestamped, UuidKey, Versioned
from services.projects.models.indicators import PERIOD_CHECK


class ReportState(StrEnum):
    draft = "draft"
    submitted = "submitted"
    accepted = "accepted"
    changes_requested = "changes_requested"


class Report(ProjectsTable, Timestamped, Versioned, UuidKey, table=True):
    """What a project did over one period: one report per project and period."""

    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("project_id", "period", name="uq_reports_project_period"),
        CheckConstraint(
            "state IN ('draft', 'submitted', 'accepted', 'changes_requested')", name="ck_reports_state"
        ),
        CheckConstraint(PERIOD_CHECK, name="ck_reports_period"),
        Index("ix_reports_org_created", "organisation_id", "created_at", "id"),
        Index("ix_reports_created", "created_at", "id"),
        # The aggregation reads accepted reports only.
        Index("ix_reports_state_project", "state", "project_id"),
    )

    project_id: uuid.UUID = Field(sa_column=Column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False))
    organisation_id: uuid.UUID = Field(nullable=False)
    period: str = Field(max_length=4)
    state: str = Field(default=ReportState.draft, max_length=32)
    narrative: str = Field(default="", sa_column=Column(Text, nullable=False))
    submitted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_by: str = Field(max_length=200)


class ReportValue(ProjectsTable, table=True):
    """The actual value of one indicator in one report."""

    __tablename__ = "report_values"
    __table_args__ = (
        CheckConstraint("value_hundredths >= 0", name="ck_report_values_value_positive"),
        Index("ix_report_values_indicator", "indicator_code"),
    )

    report_id: uuid.UUID = Field(sa_column=Column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True))
    indicator_code: str = Field(sa_column=Column(ForeignKey("indicators.code"), primary_key=True))
    value_hundredths: int = Field(sa_type=BigInteger, nullable=False)


class ReportEvidence(ProjectsTable, table=True):
    """A document version of the organisation's vault attached to a report as evidence."""

    __tablename__ = "report_evidence"

    report_id: uuid.UUID = Field(sa_column=Column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True))
    document_version_id: uuid.UUID = Field(primary_key=True, index=True)


class ReportHistory(ProjectsTable, UuidKey, table=True):
    """The audit trail: who moved a report, from which state to which, when, and why."""

    __tablename__ = "report_history"
    __table_args__ = (Index("ix_report_history_report_at", "report_id", "at"),)

    report_id: uuid.UUID = Field(sa_column=Column(ForeignKey("reports.id", ondelete="CASCADE"), nullable=False))
    action: str = Field(max_length=40)
    from_state: str | None = Field(default=None, max_length=32)
    to_state: str = Field(max_length=32)
    actor: str = Field(max_length=200)
    actor_organisation_id: uuid.UUID | None = None
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)
