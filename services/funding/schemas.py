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
from common.schemas import VISIBLE_CHARACTER, InputModel, IsoDate, PatchModel, WholeNumber
from services.funding.models import DossierState, Track

# Stripped, then at least one character; the pattern says in the OpenAPI that a blank string is refused.
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=200)
]
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


# Versions from the association's documents vault (projects): uploaded once, reused by every dossier.
DocumentVersionIds = Annotated[
    list[uuid.UUID],
    Field(max_length=50, description="Versions de documents du coffre-fort de l'association jointes au dossier."),
]


def _distinct_documents(version_ids: list[uuid.UUID] | None) -> None:
    if version_ids is not None and len(set(version_ids)) != len(version_ids):
        raise ValueError(bilingual("Document joint en double.", "Document attached twice."))


class DossierCreate(Input):
    programme_id: uuid.UUID
    project_id: uuid.UUID
    funding_plan: FundingPlan
    document_version_ids: DocumentVersionIds = Field(default_factory=list)

    @model_validator(mode="after")
    def _plan(self) -> "DossierCreate":
        _one_line_per_funder(self.funding_plan)
        _distinct_documents(self.document_version_ids)
        return self


class DossierUpdate(PatchModel):
    """What the holder may change in a draft: each field left out stays as it is."""

    funding_plan: FundingPlan | None = None
    document_version_ids: DocumentVersionIds | None = None

    @model_validator(mode="after")
    def _plan(self) -> "DossierUpdate":
        _one_line_per_funder(self.funding_plan)
        _distinct_documents(self.document_version_ids)
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
    project_snapshot: dict[str, Any] | None = Field(description="Le projet tel qu'au dépôt.")
    budget_snapshot: dict[str, Any] | None = Field(description="Le budget du projet (CERFA 12156) tel qu'au dépôt.")
    association_budget_snapshot: dict[str, Any] | None = Field(
        description="Le budget annuel de l'association tel qu'au dépôt."
    )
    organisation_snapshot: dict[str, Any] | None = Field(description="La fiche de l'association telle qu'au dépôt.")
    document_version_ids: list[uuid.UUID]
    documents_snapshot: list[dict[str, Any]] | None = Field(
        description="Les versions jointes, telles qu'épinglées au dépôt (elles ne peuvent plus être supprimées)."
    )
    submitted_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class RequiredDocument(BaseModel):
    kind: str = Field(examples=["insurance_certificate"])
    satisfied: bool
    document_id: uuid.UUID | None = None
    version_id: uuid.UUID | None = None
    valid_until: date | None = None
    reason: str | None = Field(default=None, examples=["missing"])


class RequiredDocuments(BaseModel):
    """What the dossier's track requires from the association's vault, and whether it holds it today."""

    dossier_id: uuid.UUID
    track: Track
    on: date
    complete: bool
    items: list[RequiredDocument]
