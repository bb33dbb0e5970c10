"""Funding's API models."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    computed_field,
    model_serializer,
    model_validator,
)

from common.pagination import Page
from common.problems import bilingual
from common.schemas import VISIBLE_CHARACTER, PatchModel, WholeNumber
from services.funding.fields import OWN_REFERENCE, THREAD_REFERENCE, Comment, Input, PositiveCents, Title
from services.funding.models.dossier import AidNature, DossierState, RequestKind, RequestObject
from services.funding.models.programme import Track
from services.identifiers import Rna, Siret


class FundingShareIn(Input):
    funder_id: uuid.UUID | None = Field(
        description="Financeur sollicité ; null = « à répartir par le guichet ».", examples=[None]
    )
    amount_cents: PositiveCents = Field(examples=[1_500_000])


class FundingLineIn(FundingShareIn):
    yearly_amounts_cents: list[PositiveCents] | None = Field(
        default=None, min_length=1, max_length=10,
        description="CPO : le montant demandé pour chaque année, à partir de l'année du programme ; leur somme est "
                    "amount_cents. Absent : amount_cents réparti à parts égales sur la durée de la CPO.",
        examples=[None],
    )

    @model_validator(mode="after")
    def _adds_up(self) -> "FundingLineIn":
        if self.yearly_amounts_cents is not None and sum(self.yearly_amounts_cents) != self.amount_cents:
            raise ValueError(bilingual(
                f"Les montants annuels font {sum(self.yearly_amounts_cents)} centimes, pas amount_cents.",
                f"The yearly amounts add up to {sum(self.yearly_amounts_cents)} cents, not amount_cents.",
            ))
        return self


FundingPlan = Annotated[list[FundingLineIn], Field(min_length=1, max_length=20)]


def _one_line_per_funder(plan: list[FundingShareIn] | list[FundingLineIn] | None) -> None:
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


RequestedAmount = Annotated[
    PositiveCents | None,
    Field(description="Petits projets (dossier simplifié) : le montant demandé au financeur chef de file, à la place "
                      "du plan de cofinancement.", examples=[180_000]),
]


def _plan_or_amount(plan: list[FundingLineIn] | None, amount: int | None) -> None:
    if plan is not None and amount is not None:
        raise ValueError(bilingual("Un plan de cofinancement ou un montant demandé, pas les deux.",
                                   "A co-funding plan or a requested amount, not both."))


class Partner(Input):
    """A partner organisation of a seed-fund collective: registered at the desk, or named by SIRET or RNA."""

    name: Title = Field(examples=["Les Bricoleurs de Maurepas"])
    organisation_id: uuid.UUID | None = Field(default=None, description="Si elle est inscrite au guichet.")
    siret: Siret | None = None
    rna: Rna | None = None

    @model_validator(mode="after")
    def _identified(self) -> "Partner":
        if self.organisation_id is None and self.siret is None and self.rna is None:
            raise ValueError(bilingual("Un partenaire est inscrit, ou identifié par SIRET ou RNA.",
                                       "A partner is registered, or identified by SIRET or RNA."))
        return self


LearningText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=4000)
]


class LearningPlan(Input):
    """Seed fund: what is being tried, and how it will be known whether it works."""

    experiment: LearningText = Field(examples=["Un café réparation tenu par les habitants, deux samedis par mois."])
    evidence: LearningText = Field(examples=["Objets réparés, bénévoles formés, fréquentation, avis des habitants."])


Partners = Annotated[list[Partner], Field(max_length=20, description="Fonds d'amorçage : les partenaires du projet.")]
Objective = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=500)
]
Objectives = Annotated[
    list[Objective],
    Field(max_length=20, description="CPO : les objectifs de la convention (les cibles annuelles sont les "
                                     "indicateurs du projet)."),
]
CpoYears = Annotated[
    Annotated[int, Field(strict=True, ge=1, le=10), WholeNumber] | None,
    Field(description="CPO : sa durée en années (de 2 à 4 ; 3 par défaut)."),
]


REQUEST_OBJECT = (
    "Objet de la demande : project (un projet, une action) ou operating (le fonctionnement global de "
    "l'association : le plan se compare alors au budget annuel de l'association ; appel annuel et CPO seulement)."
)
REQUEST_KIND = "first : une première demande ; renewal : le renouvellement d'une subvention déjà obtenue."
AidNatures = Annotated[
    list[AidNature],
    Field(min_length=1, max_length=2, description=(
        "Nature de l'aide demandée : cash (en numéraire), in_kind (en nature : locaux, personnel, matériel mis à "
        "disposition), ou les deux."
    )),
]


def _distinct_natures(natures: list[AidNature] | None) -> None:
    if natures is not None and len(set(natures)) != len(natures):
        raise ValueError(bilingual("Une nature d'aide apparaît une fois.", "An aid nature appears once."))


class DossierCreate(Input):
    programme_id: uuid.UUID
    project_id: uuid.UUID
    funding_plan: FundingPlan | None = Field(
        default=None, description="Le plan de cofinancement (tout parcours sauf les petits projets)."
    )
    requested_amount_cents: RequestedAmount = None
    document_version_ids: DocumentVersionIds = Field(default_factory=list)
    partners: Partners = Field(default_factory=list)
    learning_plan: LearningPlan | None = None
    objectives: Objectives = Field(default_factory=list)
    cpo_years: CpoYears = None
    request_object: RequestObject = Field(default=RequestObject.project, description=REQUEST_OBJECT)
    request_kind: RequestKind = Field(default=RequestKind.first, description=REQUEST_KIND)
    aid_nature: AidNatures = Field(default_factory=lambda: [AidNature.cash])

    @model_validator(mode="after")
    def _plan(self) -> "DossierCreate":
        _distinct_natures(self.aid_nature)
        _one_line_per_funder(self.funding_plan)
        _distinct_documents(self.document_version_ids)
        _plan_or_amount(self.funding_plan, self.requested_amount_cents)
        if self.funding_plan is None and self.requested_amount_cents is None:
            raise ValueError(bilingual("Le plan de cofinancement, ou le montant demandé d'un petit projet.",
                                       "The co-funding plan, or a small project's requested amount."))
        return self


class DossierUpdate(PatchModel):
    """What the holder may change in a draft: each field left out stays as it is."""

    funding_plan: FundingPlan | None = None
    requested_amount_cents: RequestedAmount = None
    document_version_ids: DocumentVersionIds | None = None
    partners: Partners | None = None
    learning_plan: LearningPlan | None = None
    objectives: Objectives | None = None
    request_object: RequestObject | None = Field(default=None, description=REQUEST_OBJECT)
    request_kind: RequestKind | None = Field(default=None, description=REQUEST_KIND)
    aid_nature: AidNatures | None = None

    @model_validator(mode="after")
    def _plan(self) -> "DossierUpdate":
        _distinct_natures(self.aid_nature)
        _one_line_per_funder(self.funding_plan)
        _distinct_documents(self.document_version_ids)
        _plan_or_amount(self.funding_plan, self.requested_amount_cents)
        return self


class FundingLinePublic(BaseModel):
    funder_id: uuid.UUID | None
    amount_cents: int
    yearly_amounts_cents: list[int] | None = Field(
        default=None, description="CPO : le montant de chaque année (absent des autres parcours)."
    )

    @model_serializer(mode="wrap")
    def _without_years_outside_a_cpo(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        line = handler(self)
        if line.get("yearly_amounts_cents") is None:
            line.pop("yearly_amounts_cents", None)
        return line


class DossierSummary(BaseModel):
    """A dossier as a list shows it: everything but what the submission froze (the snapshots, a few KB each),
    which its own page (`GET /dossiers/{id}`) or `?view=full` gives."""

    id: uuid.UUID
    reference: str = Field(examples=["GU-2029-000456"], description=OWN_REFERENCE)
    thread_reference: str = Field(examples=["GU-2026-000123"], description=THREAD_REFERENCE)
    programme_id: uuid.UUID
    project_id: uuid.UUID
    organisation_id: uuid.UUID
    state: DossierState
    funding_plan: list[FundingLinePublic]
    requested_total_cents: int
    request_object: RequestObject = Field(description=REQUEST_OBJECT)
    request_kind: RequestKind = Field(description=REQUEST_KIND)
    aid_nature: list[AidNature] = Field(description="Nature de l'aide demandée : en numéraire, en nature, ou les deux.")
    document_version_ids: list[uuid.UUID]
    submitted_at: datetime | None
    supplements_message: str | None = Field(description="Pièces ou précisions demandées par le guichet.")
    supplements_due_on: date | None
    closing_reason: str | None = Field(description="Motif d'irrecevabilité ou de retrait.")
    agenda_session_id: uuid.UUID | None = Field(description="La séance du comité dont l'ordre du jour le porte.")
    outcome: Literal["accepted", "partially_accepted", "refused"] | None = Field(
        description="L'issue décidée par le comité, d'après la part accordée par chaque financeur."
    )
    decided_at: datetime | None
    decision_due_at: datetime | None = Field(
        description="Petits projets : quand la décision est due (horloge en marche ; vide pendant les compléments)."
    )
    clock_remaining_seconds: int | None = Field(
        description="Petits projets, horloge arrêtée pendant les compléments : le temps qu'il lui restait."
    )
    support_state: Literal["requested", "active", "ended"] | None = Field(
        description="Accompagnement administratif : demandé, pris par un accompagnant du guichet, terminé."
    )
    support_message: str | None
    support_helper: str | None = Field(description="L'accompagnant du guichet qui peut modifier le brouillon.")
    verdict: Literal["stop", "continue", "graduate"] | None = Field(
        description="Fonds d'amorçage, à la fin : arrêter, continuer, ou essaimer vers une CPO ou l'appel annuel."
    )
    verdict_comment: str | None
    verdict_at: datetime | None
    previous_dossier_id: uuid.UUID | None = Field(description="Le dossier que celui-ci prolonge.")
    partners: list[dict[str, Any]] = Field(description="Fonds d'amorçage : les organisations partenaires.")
    learning_plan: dict[str, Any] | None = Field(description="Fonds d'amorçage : ce qui est tenté, et comment on "
                                                              "saura si cela marche.")
    cpo_years: int | None = Field(description="CPO : sa durée en années, à partir de l'année du programme.")
    objectives: list[str] = Field(description="CPO : les objectifs de la convention.")
    cpo_state: Literal["running", "suspended", "terminated", "completed"] | None = Field(
        description="CPO accordée : en cours, suspendue, résiliée, achevée (évaluation finale faite)."
    )
    version: int
    created_at: datetime
    updated_at: datetime

    @computed_field(description="Durée de la demande : annual (un an), multi_year (plusieurs années : une CPO).")
    def request_period(self) -> Literal["annual", "multi_year"]:
        return "multi_year" if self.cpo_years is not None else "annual"


class DossierPublic(DossierSummary):
    project_snapshot: dict[str, Any] | None = Field(description="Le projet tel qu'au dépôt.")
    budget_snapshot: dict[str, Any] | None = Field(description="Le budget du projet (CERFA 12156) tel qu'au dépôt.")
    association_budget_snapshot: dict[str, Any] | None = Field(
        description="Le budget annuel de l'association tel qu'au dépôt."
    )
    organisation_snapshot: dict[str, Any] | None = Field(description="La fiche de l'association telle qu'au dépôt.")
    documents_snapshot: list[dict[str, Any]] | None = Field(
        description="Les versions jointes, telles qu'épinglées au dépôt (elles ne peuvent plus être supprimées)."
    )
    cpo_targets: dict[str, Any] | None = Field(
        description="CPO : les cibles des indicateurs par année, telles qu'au dépôt."
    )


class HistoryEntry(BaseModel):
    action: str
    from_state: str | None
    to_state: str
    actor: str
    actor_organisation_id: uuid.UUID | None
    comment: str | None
    at: datetime


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


class SupportRequest(Input):
    message: Comment = Field(examples=["Nous avons besoin d'aide pour le budget du projet."])


class DossierPage(Page[DossierPublic | DossierSummary]):
    """A page of dossiers, whole or summed up (`view=summary`); a class, so that the OpenAPI names it
    `DossierPage`, not `Page_Union_DossierPublic__DossierSummary__`."""
