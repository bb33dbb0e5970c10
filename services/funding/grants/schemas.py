"""API models of agreements and payments."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from common.schemas import VISIBLE_CHARACTER
from services.funding.fields import OWN_REFERENCE, THREAD_REFERENCE, Comment, Input
from services.funding.models.agreement import AgreementKind, AgreementState, PaymentCondition, PaymentState, ReviewState


class PartyPublic(BaseModel):
    funder_id: uuid.UUID
    grant_id: uuid.UUID
    amount_cents: int
    signed_at: datetime | None


class AgreementPublic(BaseModel):
    id: uuid.UUID
    number: str = Field(examples=["CONV-2027-000123-1"], description="Unique : CONV- ou DEC-, la référence du fil, "
                        "pour un renouvellement sa référence propre ensuite, puis la place du financeur dans le plan "
                        "(CONV-2027-000123-2030-000456-1).")
    kind: AgreementKind = Field(description="convention (dès 23 000 € d'un financeur), sinon decision_letter.")
    grant_id: uuid.UUID
    dossier_id: uuid.UUID
    reference: str = Field(description=OWN_REFERENCE)
    thread_reference: str = Field(description=THREAD_REFERENCE)
    funder_id: uuid.UUID
    organisation_id: uuid.UUID
    state: AgreementState
    object: str
    amount_cents: int
    year: int
    terms: dict[str, Any] = Field(description="Échéancier, obligations de compte rendu, conditions.")
    sent_at: datetime | None
    funder_signed_at: datetime | None
    holder_signed_at: datetime | None
    activated_at: datetime | None
    suspended_at: datetime | None = Field(description="CPO suspendue par sa revue annuelle : les versements "
                                                      "s'arrêtent jusqu'à une revue qui la poursuit.")
    ended_at: datetime | None
    allowed_actions: list[str] = Field(description="Ce que l'appelant peut faire de la convention maintenant.")
    parties: list[PartyPublic] = Field(
        default_factory=list,
        description="Convention pluripartite : chaque financeur, sa part et sa signature (vide pour une convention "
                    "avec un seul financeur, `funder_id`).",
    )
    version: int
    created_at: datetime
    updated_at: datetime


class PaymentPublic(BaseModel):
    id: uuid.UUID
    grant_id: uuid.UUID
    agreement_id: uuid.UUID
    dossier_id: uuid.UUID
    funder_id: uuid.UUID
    organisation_id: uuid.UUID
    programme_id: uuid.UUID
    year: int
    sequence: int
    amount_cents: int
    condition: PaymentCondition
    due_on: date | None
    pay_by: date | None = Field(description="La date avant laquelle le verser (l'avance annuelle d'une CPO : "
                                            "31 mars).")
    released_at: datetime | None = Field(
        default=None, description="Quand le bilan qu'attend ce versement a été validé."
    )
    state: PaymentState = Field(description="scheduled, due (calculé), requested, paid ou cancelled.")
    requested_at: datetime | None
    paid_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class Cancellation(Input):
    reason: Comment = Field(examples=["Projet abandonné par l'association."])


class GrantYearPublic(BaseModel):
    """One year of the grant: its amount, and where it stands on that year's envelope."""

    year: int
    amount_cents: int
    state: Literal["committed", "awaiting", "cancelled"] = Field(
        description="committed : engagé sur une enveloppe ; awaiting : une année de CPO décidée, engagée à "
        "l'ouverture de son année (sous réserve du vote de son budget) ; cancelled : la CPO a été résiliée avant.")
    committed_cents: int
    envelope_year: int | None = Field(description="L'année de l'enveloppe qui porte l'engagement.")


class GrantPublic(BaseModel):
    id: uuid.UUID
    dossier_id: uuid.UUID
    funder_id: uuid.UUID
    organisation_id: uuid.UUID
    programme_id: uuid.UUID
    session_id: uuid.UUID | None = Field(description="La séance qui l'a décidée ; aucune pour une décision déléguée.")
    year: int
    amount_cents: int
    conditions: str | None
    decided_at: datetime
    created_at: datetime
    updated_at: datetime = Field(description="Sa dernière modification (un avenant de CPO change son montant) : "
                                             "`updated_since` la compare.")
    years: list[GrantYearPublic] = Field(description="Chaque année de la subvention (une seule hors CPO).")


class GrantTotals(BaseModel):
    """What the desk's funders granted one association in a year."""

    organisation_id: uuid.UUID
    year: int
    granted_cents: int
    threshold_cents: int = Field(description="153 000 € : au-delà, comptes certifiés à publier.")
    certified_accounts_required: bool


LongComment = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=8000)
]


class LearningReviewIn(Input):
    learned: LongComment = Field(description="Ce que le collectif a appris jusqu'ici.",
                                 examples=["Les habitants viennent réparer, pas seulement déposer."])
    next_steps: Comment | None = Field(default=None, description="Ce qui change pour la suite.")


class LearningReviewPublic(BaseModel):
    id: uuid.UUID
    dossier_id: uuid.UUID
    organisation_id: uuid.UUID
    state: ReviewState
    learned: str
    next_steps: str | None
    submitted_at: datetime | None
    reviewed_at: datetime | None
    review_comment: str | None
    version: int
    created_at: datetime
    updated_at: datetime
