"""Projects' tables: the reference lists (QPV, priorities) and the associations' projects."""

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from common.db import UtcDateTime, utcnow
from common.idempotency import idempotency_table


class ProjectsTable(SQLModel, registry=registry()):
    pass


metadata = ProjectsTable.metadata
idempotency_keys = idempotency_table(metadata)


class Qpv(ProjectsTable, table=True):
    __tablename__ = "qpv"

    code: str = Field(primary_key=True, max_length=8)
    name: str = Field(max_length=200)
    commune: str = Field(max_length=200)
    insee_commune: str = Field(max_length=5)
    epci: str = Field(max_length=200)
    epci_siren: str = Field(max_length=9)
    department: str = Field(max_length=3, index=True)


class Priority(ProjectsTable, table=True):
    __tablename__ = "priorities"

    code: str = Field(primary_key=True, max_length=40)
    kind: str = Field(max_length=20)
    label_fr: str = Field(max_length=200)
    label_en: str = Field(max_length=200)


class Project(ProjectsTable, table=True):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("total_cost_cents >= 0", name="ck_projects_total_cost_positive"),
        CheckConstraint("end_date >= start_date", name="ck_projects_dates_ordered"),
        Index("ix_projects_org_created", "organisation_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(nullable=False)
    title: str = Field(max_length=200)
    summary: str = Field(max_length=5000)
    start_date: date
    end_date: date
    target_public: str = Field(max_length=500)
    total_cost_cents: int = Field(sa_type=BigInteger, nullable=False)
    created_by: str = Field(max_length=200)
    version: int = Field(default=1, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False, index=True)


class ProjectQpv(ProjectsTable, table=True):
    __tablename__ = "project_qpv"

    project_id: uuid.UUID = Field(sa_column=Column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True))
    qpv_code: str = Field(sa_column=Column(ForeignKey("qpv.code"), primary_key=True, index=True))


class ProjectPriority(ProjectsTable, table=True):
    __tablename__ = "project_priorities"

    project_id: uuid.UUID = Field(sa_column=Column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True))
    priority_code: str = Field(sa_column=Column(ForeignKey("priorities.code"), primary_key=True, index=True))


class Indicator(ProjectsTable, table=True):
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

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
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
    version: int = Field(default=1, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False, index=True)


class IndicatorPriority(ProjectsTable, table=True):
    __tablename__ = "indicator_priorities"

    indicator_id: uuid.UUID = Field(sa_column=Column(ForeignKey("indicators.id", ondelete="CASCADE"), primary_key=True))
    priority_code: str = Field(sa_column=Column(ForeignKey("priorities.code"), primary_key=True, index=True))
