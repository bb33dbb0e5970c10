"""Funding's API models."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from common.problems import bilingual
from common.schemas import InputModel, IsoDate, WholeNumber
from services.funding.models import DossierState, Track

# Stripped, then at least one character; `\S` says in the OpenAPI that a blank string is refused.
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, pattern=r"\S", max_length=200)]
# Strict: `false` or "1500" is not an amount (1500.0 is: JSON has one number type); a line asks for at least one cent.
PositiveCents = Annotated[int, Field(strict=True, gt=0, le=1_000_000_000), WholeNumber]


class Input(InputModel):
    model_config = ConfigDict(extra="forbid")


class ProgrammeCreate(Input):
    title: Title = Field(examples=["Appel à projets contrat de ville 2027"])
    track: Track
    year: Annotated[int, WholeNumber] = Field(strict=True, ge=2024, le=2100, examples=[2027])
    funder_ids: list[uuid.UUID] = Field(min_length=1, max_length=50)
    opens_on: IsoDate
    closes_on: IsoDate

    @model_validator(mode="after")
    def _ordered(self) -> "ProgrammeCreate":
        if self.closes_on < self.opens_on:
            raise ValueError(
                bilingual("La clôture précède l'ouverture.", "The closing date is before the opening date.")
            )
        if len(set(self.funder_ids)) != len(self.funder_ids):
            raise ValueError(bilingual("Financeur en double.", "Duplicate funder."))
        return self


class ProgrammePublic(BaseModel):
    id: uuid.UUID
    title: str
    track: Track
    year: int
    funder_ids: list[uuid.UUID]
    opens_on: date
    closes_on: date
    is_open: bool
    created_at: datetime
    updated_at: datetime


class FundingLineIn(Input):
    funder_id: uuid.UUID | None = Field(
        description="Financeur sollicité ; null = « à répartir par le guichet ».", examples=[None]
    )
    amount_cents: PositiveCents = Field(examples=[1_500_000])


FundingPlan = Annotated[list[FundingLineIn], Field(min_length=1, max_length=20)]


def _one_line_per_funder(plan: list[FundingLineIn] | None) -> None:
    if plan is None:
        return
    named = [line.funder_id for line in plan if line.funder_id is not None]
    if len(set(named)) != len(named):
        raise ValueError(bilingual("Un financeur ne figure qu'une fois au plan.", "A funder appears once in the plan."))
    if sum(1 for line in plan if line.funder_id is None) > 1:
        raise ValueError(bilingual("Une seule ligne « à répartir ».", "Only one to-be-allocated line."))


class DossierCreate(Input):
    programme_id: uuid.UUID
    project_id: uuid.UUID
    funding_plan: FundingPlan

    @model_validator(mode="after")
    def _plan(self) -> "DossierCreate":
        _one_line_per_funder(self.funding_plan)
        return self


class DossierUpdate(Input):
    funding_plan: FundingPlan

    @model_validator(mode="after")
    def _plan(self) -> "DossierUpdate":
        _one_line_per_funder(self.funding_plan)
        return self


class FundingLinePublic(BaseModel):
    funder_id: uuid.UUID | None
    amount_cents: int


class DossierPublic(BaseModel):
    id: uuid.UUID
    reference: str = Field(examples=["GU-2026-000123"])
    programme_id: uuid.UUID
    project_id: uuid.UUID
    organisation_id: uuid.UUID
    state: DossierState
    funding_plan: list[FundingLinePublic]
    requested_total_cents: int
    project_snapshot: dict[str, Any] | None
    submitted_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
