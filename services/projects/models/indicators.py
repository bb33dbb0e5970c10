"""The shared indicators' catalogue (with the priorities they serve) and the targets each project sets on them.

A target is stored in hundredths (an integer); its period is a calendar year ("2027") or "span" (the project's
whole duration).
"""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index
from sqlmodel import Field

from common.db import UtcDateTime, utcnow
from services.projects.models.base import ProjectsTable, Timestamped, UuidKey, Versioned

PERIOD_CHECK = "period = 'span' OR length(period) = 4"


class Indicator(ProjectsTable, Timestamped, Versioned, UuidKey, table=True):
    """A shared indicator of the catalogue (collective impact): everyone measures with the same ones."""

    __tablename__ = "indicators"
    __table_args__ = (
        CheckConstraint(
            "unit IN ('people', 'organisations', 'hours', 'events', 'euros', 'percent')", name="ck_indicators_unit"
        ),
        CheckConstraint("aggregation IN ('sum', 'average', 'ratio')", name="ck_indicators_aggregation"),
        CheckConstraint(
            "(aggregation = 'ratio') = (denominator_code IS NOT NULL)", name="ck_indicators_ratio_has_denominator"
        ),
        CheckConstraint("part_of_code IS NULL OR part_of_code <> code", name="ck_indicators_part_of_not_self"),
    )

    code: str = Field(max_length=40, unique=True)
    label: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    unit: str = Field(max_length=16)
    aggregation: str = Field(max_length=16)
    denominator_code: str | None = Field(default=None, sa_column=Column(ForeignKey("indicators.code"), nullable=True))
    # "Of whom": this indicator counts a part of that one (women among the residents reached), so a value of it
    # never exceeds the whole's in the same report or plan.
    part_of_code: str | None = Field(
        default=None,
        sa_column=Column(ForeignKey("indicators.code", name="fk_indicators_part_of_code"), nullable=True),
    )
    active: bool = Field(default=True, nullable=False)


class IndicatorPriority(ProjectsTable, table=True):
    __tablename__ = "indicator_priorities"

    indicator_id: uuid.UUID = Field(sa_column=Column(ForeignKey("indicators.id", ondelete="CASCADE"), primary_key=True))
    priority_code: str = Field(sa_column=Column(ForeignKey("priorities.code"), primary_key=True, index=True))


class IndicatorPlan(ProjectsTable, Versioned, table=True):
    """The head of a project's targets: one version (ETag) for the whole list, replaced in one piece."""

    __tablename__ = "indicator_plans"

    project_id: uuid.UUID = Field(sa_column=Column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True))
    updated_by: str = Field(max_length=200)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)


class IndicatorTarget(ProjectsTable, table=True):
    """One indicator picked by a project for one period, with its target."""

    __tablename__ = "indicator_targets"
    __table_args__ = (
        CheckConstraint("target_hundredths >= 0", name="ck_indicator_targets_target_positive"),
        CheckConstraint(PERIOD_CHECK, name="ck_indicator_targets_period"),
        Index("ix_indicator_targets_indicator", "indicator_code"),
    )

    project_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("indicator_plans.project_id", ondelete="CASCADE"), primary_key=True)
    )
    indicator_code: str = Field(sa_column=Column(ForeignKey("indicators.code"), primary_key=True))
    period: str = Field(primary_key=True, max_length=4)
    target_hundredths: int = Field(sa_type=BigInteger, nullable=False)
