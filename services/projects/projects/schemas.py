"""API models of an association's projects."""

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from common.money import IntegerCents
from common.problems import bilingual
from common.schemas import VISIBLE_CHARACTER, InputModel, IsoDate, PatchModel
from services.projects.referential.schemas import PriorityCode, QpvCode

# Stripped, then at least one visible character: the pattern says in the OpenAPI that a blank string is refused,
# the blanks Python strips (\x85, \ufeff…) included.
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=200)
]
Summary = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=5000)
]
TargetPublic = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=500)
]
# Strict: `false` or "12" is not an amount (12.0 is: JSON has one number type).
# Upper bound: ten million euros is far above any project here.
Cents = Annotated[int, Field(strict=True, ge=0, le=1_000_000_000), IntegerCents]


class Input(InputModel):
    model_config = ConfigDict(extra="forbid")


def _dates_ordered(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise ValueError(
            bilingual("La date de fin précède la date de début.", "The end date is before the start date.")
        )


class ProjectCreate(Input):
    title: Title = Field(examples=["Aide aux devoirs au Blosne"])
    summary: Summary = Field(examples=["Accompagnement scolaire de 60 collégiens, quatre soirs par semaine."])
    qpv_codes: list[QpvCode] = Field(min_length=1, max_length=20, examples=[["QN03505M"]])
    priorities: list[PriorityCode] = Field(default_factory=list, max_length=10, examples=[["social_cohesion", "youth"]])
    start_date: IsoDate = Field(examples=["2027-01-05"])
    end_date: IsoDate = Field(examples=["2027-12-18"])
    target_public: TargetPublic = Field(examples=["Collégiens du Blosne et leurs parents"])
    total_cost_cents: Cents = Field(examples=[4_800_000])

    @model_validator(mode="after")
    def _check_dates(self) -> "ProjectCreate":
        _dates_ordered(self.start_date, self.end_date)
        return self


class ProjectUpdate(PatchModel):

    title: Title | None = None
    summary: Summary | None = None
    qpv_codes: list[QpvCode] | None = Field(default=None, min_length=1, max_length=20)
    priorities: list[PriorityCode] | None = Field(default=None, max_length=10)
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None
    target_public: TargetPublic | None = None
    total_cost_cents: Cents | None = None

    @model_validator(mode="after")
    def _check_dates(self) -> "ProjectUpdate":
        _dates_ordered(self.start_date, self.end_date)
        return self


class ProjectPublic(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    title: str
    summary: str
    qpv_codes: list[str]
    priorities: list[str]
    start_date: date
    end_date: date
    target_public: str
    total_cost_cents: int
    version: int
    created_at: datetime
    updated_at: datetime
