"""The associations' projects and their tags: the QPV they serve and the priorities they pursue."""

import uuid
from datetime import date

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index
from sqlmodel import Field

from services.projects.models.base import ProjectsTable, Timestamped, UuidKey, Versioned


class Project(ProjectsTable, Timestamped, Versioned, UuidKey, table=True):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("total_cost_cents >= 0", name="ck_projects_total_cost_positive"),
        CheckConstraint("end_date >= start_date", name="ck_projects_dates_ordered"),
        Index("ix_projects_org_created", "organisation_id", "created_at", "id"),
    )

    organisation_id: uuid.UUID = Field(nullable=False)
    title: str = Field(max_length=200)
    summary: str = Field(max_length=5000)
    start_date: date
    end_date: date
    target_public: str = Field(max_length=500)
    total_cost_cents: int = Field(sa_type=BigInteger, nullable=False)
    created_by: str = Field(max_length=200)


class ProjectQpv(ProjectsTable, table=True):
    __tablename__ = "project_qpv"

    project_id: uuid.UUID = Field(sa_column=Column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True))
    qpv_code: str = Field(sa_column=Column(ForeignKey("qpv.code"), primary_key=True, index=True))


class ProjectPriority(ProjectsTable, table=True):
    __tablename__ = "project_priorities"

    project_id: uuid.UUID = Field(sa_column=Column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True))
    priority_code: str = Field(sa_column=Column(ForeignKey("priorities.code"), primary_key=True, index=True))
