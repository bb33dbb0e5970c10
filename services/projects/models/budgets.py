"""Budgets shaped like the CERFA 12156: a project's forecast budget and the association's yearly one."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, UniqueConstraint
from sqlmodel import Field

from common.db import UtcDateTime, utcnow
from services.projects.models.base import ProjectsTable, UuidKey, Versioned


class Budget(ProjectsTable, Versioned, UuidKey, table=True):
    """One budget: either a project's (project_id set) or an association's for a year (year set)."""

    __tablename__ = "budgets"
    __table_args__ = (
        CheckConstraint("(project_id IS NULL) <> (year IS NULL)", name="ck_budgets_project_or_year"),
        # NULLs are distinct in a unique constraint: one budget per project, one per organisation and year.
        UniqueConstraint("organisation_id", "year", name="uq_budgets_organisation_year"),
    )

    organisation_id: uuid.UUID = Field(nullable=False)
    project_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("projects.id", ondelete="CASCADE"), unique=True, nullable=True)
    )
    year: int | None = Field(default=None)
    updated_by: str = Field(max_length=200)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)


class BudgetLine(ProjectsTable, UuidKey, table=True):
    """A charge or income line of the form: an account group or sub-account, or one of the form's lines that
    are no account (indirect charges, own resources, forecast surplus or deficit); in kind under 86 and 87."""

    __tablename__ = "budget_lines"
    __table_args__ = (
        CheckConstraint("side IN ('charge', 'income')", name="ck_budget_lines_side"),
        CheckConstraint("amount_cents > 0", name="ck_budget_lines_amount_positive"),
        CheckConstraint(
            "(funder_id IS NULL AND NOT to_be_allocated AND funder_type IS NULL) OR account_group = '74'",
            name="ck_budget_lines_grant_only",
        ),
        # Also the index that reads a budget's lines (its leading column).
        UniqueConstraint("budget_id", "side", "position", name="uq_budget_lines_position"),
    )

    budget_id: uuid.UUID = Field(sa_column=Column(ForeignKey("budgets.id", ondelete="CASCADE"), nullable=False))
    side: str = Field(max_length=8)
    position: int
    account_group: str = Field(max_length=24)
    label: str = Field(max_length=200)
    amount_cents: int = Field(sa_type=BigInteger, nullable=False)
    funder_id: uuid.UUID | None = Field(default=None)
    to_be_allocated: bool = Field(default=False, nullable=False)
    # Account 74 asked of a funder outside the desk: its type as the form lists them (schemas.FunderType).
    funder_type: str | None = Field(default=None, max_length=32)
