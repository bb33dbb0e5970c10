"""Tables of a CPO's life after the committee: its versions (each amendment keeps the one before) and its yearly
reviews and final evaluation."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, UniqueConstraint
from sqlmodel import Field

from common.db import UtcDateTime, utcnow
from services.funding.models.base import CreatedAt, FundingTable, IdColumn


class CpoState(StrEnum):
    running = "running"
    suspended = "suspended"
    terminated = "terminated"
    completed = "completed"


class ReviewOutcome(StrEnum):
    continue_ = "continue"
    amend = "amend"
    suspend = "suspend"
    terminate = "terminate"


class Achievement(StrEnum):
    """The final evaluation's judgement on the objectives."""

    achieved = "achieved"
    partly_achieved = "partly_achieved"
    not_achieved = "not_achieved"


class CpoVersion(FundingTable, IdColumn, CreatedAt, table=True):
    """What the CPO commits to, as granted (version 1) and after each amendment: the amount of each funder for
    each year, the objectives, the indicator targets per year."""

    __tablename__ = "cpo_versions"
    __table_args__ = (UniqueConstraint("dossier_id", "number", name="uq_cpo_versions_number"),)

    dossier_id: uuid.UUID = Field(sa_column=Column(ForeignKey("dossiers.id"), nullable=False))
    number: int
    # {funder id: {year: cents}}, years as strings (JSON keys).
    amounts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    objectives: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # {year: [{indicator_code, target}]}
    targets: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reason: str | None = Field(default=None, max_length=2000)
    review_id: uuid.UUID | None = None
    created_by: str = Field(max_length=200)


class CpoReview(FundingTable, IdColumn, table=True):
    """A yearly review (held in its year, on the reports of the year before) or the final evaluation."""

    __tablename__ = "cpo_reviews"
    __table_args__ = (
        CheckConstraint("kind IN ('yearly', 'final')", name="ck_cpo_reviews_kind"),
        CheckConstraint(
            "outcome IN ('continue', 'amend', 'suspend', 'terminate', 'achieved', 'partly_achieved', "
            "'not_achieved')",
            name="ck_cpo_reviews_outcome",
        ),
        UniqueConstraint("dossier_id", "number", name="uq_cpo_reviews_number"),
    )

    dossier_id: uuid.UUID = Field(sa_column=Column(ForeignKey("dossiers.id"), nullable=False))
    # In the order they were held (the dossier locked meanwhile): 1, 2, 3…
    number: int
    kind: str = Field(max_length=8)
    year: int
    outcome: str = Field(max_length=16)
    comment: str | None = Field(default=None, max_length=4000)
    # The version an amendment made.
    version_number: int | None = None
    recorded_by: str = Field(max_length=200)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)
