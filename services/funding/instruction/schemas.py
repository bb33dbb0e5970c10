"""API models of the instruction: admissibility, routing, the opinions."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from common.money import IntegerCents
from common.problems import bilingual
from common.schemas import VISIBLE_CHARACTER, InputModel, IsoDate, listed
from services.funding.dossiers.schemas import FundingShareIn, _one_line_per_funder
from services.funding.fields import Comment, Input
from services.funding.models.dossier import DossierState, OpinionKind, RoutingState

AuthorKind = Literal["funder", "citizen_council"]

# Strict as every amount: `false` or "1500" is not one (1500.0 is: JSON has one number type); zero is a proposal.
ProposedCents = Annotated[int, Field(strict=True, ge=0, le=1_000_000_000), IntegerCents]


Conditions = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=2000)
]
OpinionComment = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=4000)
]


class OpinionIn(InputModel):
    """The caller's organisation's opinion, whole: a field left out is cleared."""

    opinion: OpinionKind = Field(examples=["favourable"])
    proposed_amount_cents: ProposedCents | None = Field(
        default=None,
        description="Montant proposé par le financeur (obligatoire pour lui) ; jamais pour un conseil citoyen.",
        examples=[1_200_000],
    )
    conditions: Conditions | None = Field(
        default=None, examples=["Bilan intermédiaire à mi-parcours."]
    )
    comment: OpinionComment | None = Field(
        default=None, examples=["Projet solide, public bien identifié."]
    )


class OpinionPublic(BaseModel):
    organisation_id: uuid.UUID
    author_kind: AuthorKind
    opinion: OpinionKind
    proposed_amount_cents: int | None
    conditions: str | None
    comment: str | None
    author: str = Field(description="Qui l'a saisi en dernier.")
    updated_at: datetime
    version: int = Field(description="L'ETag de l'avis est cette version entre guillemets.")


class AdmissibilityDecision(Input):
    decision: Literal["admissible", "inadmissible"]
    reason: Comment | None = Field(default=None, description="Obligatoire pour une irrecevabilité.")

    @model_validator(mode="after")
    def _reason_when_inadmissible(self) -> "AdmissibilityDecision":
        if self.decision == "inadmissible" and self.reason is None:
            raise ValueError(bilingual("Le motif d'irrecevabilité est obligatoire.", "The reason is required."))
        return self


class SupplementsRequest(Input):
    message: Comment = Field(examples=["Merci de joindre l'attestation d'assurance 2027."])
    due_on: IsoDate = Field(description="Date limite de réponse (après aujourd'hui).")


class Allocation(Input):
    """How the desk shares out the amount the plan left to it, among the programme's funders."""

    lines: Annotated[list[FundingShareIn], Field(min_length=1, max_length=20)]

    @model_validator(mode="after")
    def _named_once(self) -> "Allocation":
        if any(line.funder_id is None for line in self.lines):
            raise ValueError(bilingual("Chaque part nomme un financeur.", "Each share names a funder."))
        _one_line_per_funder(self.lines)
        return self


class RoutingDecline(Input):
    reason: Comment = Field(examples=["Hors de nos champs d'intervention."])


class RoutingPublic(BaseModel):
    funder_id: uuid.UUID
    state: str = Field(examples=["routed"], json_schema_extra=listed(RoutingState))
    amount_cents: int
    routed_at: datetime
    declined_at: datetime | None
    decline_reason: str | None


class Withdrawal(Input):
    reason: Comment | None = None


class AdmissibilityRule(BaseModel):
    rule: str = Field(examples=["required_documents"])
    satisfied: bool
    detail: str


class AdmissibilityCheck(BaseModel):
    """The rules the desk checks before declaring a dossier admissible, each with what fails."""

    dossier_id: uuid.UUID
    state: DossierState
    admissible: bool
    rules: list[AdmissibilityRule]
