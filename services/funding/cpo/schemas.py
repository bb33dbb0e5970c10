"""API models of a CPO's life: its versions, its yearly reviews and amendments, its final evaluation, its
renewal."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, model_validator

from common.problems import bilingual
from common.schemas import WholeNumber
from services.funding.committee.schemas import DecisionReference
from services.funding.dossiers.schemas import Objectives
from services.funding.fields import Comment, Input, PositiveCents

Year = Annotated[int, Field(strict=True, ge=2024, le=2100, examples=[2028]), WholeNumber]


class YearlyAmount(Input):
    funder_id: uuid.UUID
    year: Year
    amount_cents: PositiveCents = Field(examples=[1_500_000])


class Amendment(Input):
    """What an amendment changes in the years after the review's: amounts, objectives, or both."""

    amounts: list[YearlyAmount] = Field(default_factory=list, max_length=40)
    objectives: Objectives | None = None
    reference: DecisionReference | None = Field(
        default=None, examples=["DEL-2028-0107"],
        description="La référence de l'avenant chez le financeur (délibération, arrêté), publiée en données ouvertes "
        "avec l'année qu'il change ; sans elle, le numéro de la convention suivi de AV et du rang de l'avenant.",
    )

    @model_validator(mode="after")
    def _changes_something(self) -> "Amendment":
        if not self.amounts and self.objectives is None:
            raise ValueError(bilingual("Un avenant change des montants ou des objectifs.",
                                       "An amendment changes amounts or objectives."))
        keys = [(amount.funder_id, amount.year) for amount in self.amounts]
        if len(set(keys)) != len(keys):
            raise ValueError(bilingual("Un financeur et une année, une seule fois.", "One funder and year, once."))
        return self


class CpoReviewIn(Input):
    year: Year = Field(description="L'année de la revue (elle examine les comptes rendus de l'année d'avant).")
    outcome: Literal["continue", "amend", "suspend", "terminate"]
    comment: Comment | None = Field(default=None, description="Obligatoire pour avenant, suspension ou résiliation.")
    amendment: Amendment | None = Field(default=None, description="Obligatoire pour un avenant, et seulement lui.")

    @model_validator(mode="after")
    def _consistent(self) -> "CpoReviewIn":
        if (self.outcome == "amend") != (self.amendment is not None):
            raise ValueError(bilingual("Un avenant, et lui seul, porte ses changements (amendment).",
                                       "An amendment, and only one, carries its changes (amendment)."))
        if self.outcome != "continue" and self.comment is None:
            raise ValueError(bilingual("Motivez l'avenant, la suspension ou la résiliation (comment).",
                                       "Give the reason for an amendment, a suspension or a termination (comment)."))
        return self


class FinalEvaluationIn(Input):
    outcome: Literal["achieved", "partly_achieved", "not_achieved"] = Field(
        description="Les objectifs de la CPO : atteints, en partie, non atteints."
    )
    comment: Comment


class RenewalIn(Input):
    programme_id: uuid.UUID = Field(description="Le programme CPO ouvert où la CPO suivante est déposée.")
    project_id: uuid.UUID | None = Field(
        default=None, description="Le projet de l'association qui porte la CPO suivante (ses dates et ses cibles "
        "d'indicateurs pour les nouvelles années) ; sans lui, celui de la CPO renouvelée, dont les années sont "
        "passées.")


class YearCommitIn(Input):
    funder_id: uuid.UUID | None = Field(
        default=None, description="Le guichet : un financeur de la CPO (tous sans lui). Un financeur : le sien.")


class YearCommitmentPublic(BaseModel):
    """One funder's year of the CPO: decided (amended), and where its money stands on that year's envelope."""

    funder_id: uuid.UUID
    year: int
    amount_cents: int = Field(description="Le montant de l'année, tel que décidé puis modifié par avenant.")
    state: Literal["committed", "awaiting", "cancelled"] = Field(
        description="committed : engagé sur l'enveloppe ; awaiting : décidé, sous réserve du vote du budget de "
        "l'année (engagé à son ouverture) ; cancelled : la CPO a été résiliée avant.")
    committed_cents: int = Field(description="Ce que l'année tient engagé sur l'enveloppe (versements annulés "
                                             "déduits).")
    envelope_year: int | None = Field(description="L'année de l'enveloppe qui porte l'engagement.")
    committed_at: datetime | None


class YearlyAmountPublic(BaseModel):
    funder_id: uuid.UUID
    year: int
    amount_cents: int


class CpoVersionPublic(BaseModel):
    number: int
    amounts: list[YearlyAmountPublic]
    objectives: list[str]
    targets: dict[str, Any] = Field(description="Les cibles des indicateurs, par année.")
    reason: str | None = Field(description="Le motif de l'avenant (vide pour la version accordée).")
    created_at: datetime


class CpoReviewPublic(BaseModel):
    id: uuid.UUID
    number: int = Field(description="Dans l'ordre où les revues ont été tenues.")
    kind: Literal["yearly", "final"]
    year: int
    outcome: str
    comment: str | None
    version_number: int | None = Field(description="La version qu'un avenant a faite.")
    recorded_at: datetime


CpoStateName = Literal["running", "suspended", "terminated", "completed"]


class CpoPublic(BaseModel):
    dossier_id: uuid.UUID
    reference: str
    thread_reference: str = Field(description="La référence du fil : la même d'une CPO à son renouvellement.")
    state: CpoStateName
    years: list[int]
    current: CpoVersionPublic
    versions: list[CpoVersionPublic] = Field(description="Chaque version, la première accordée, puis les avenants.")
    reviews: list[CpoReviewPublic]
    commitments: list[YearCommitmentPublic] = Field(
        description="Chaque année de chaque financeur : la première engagée par la décision, chacune des suivantes "
        "à l'ouverture de son année (POST …/cpo/years/{year}/commit, ou sa revue annuelle).")
    # The dossier's version: a CPO's ETag is its dossier's (not a field of the answer).
    _dossier_version: int = PrivateAttr(default=0)

    @property
    def version(self) -> int:
        return self._dossier_version
