"""API models of the financial reports (compte rendu financier, CERFA 15059)."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator, model_validator

from common.money import IntegerCents
from common.problems import bilingual
from common.schemas import VISIBLE_CHARACTER, IsoDate, WholeNumber, listed
from services.funding.fields import OWN_REFERENCE, THREAD_REFERENCE, Comment, Input, Title
from services.funding.models.financial_report import ReportKind, ReportState

ActualCents = Annotated[int, Field(strict=True, ge=0, le=10_000_000_000), IntegerCents]
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=4000)
]


class ReportLineIn(Input):
    actual_cents: ActualCents = Field(description="Réalisé, en centimes.", examples=[1_320_000])
    explanation: Comment | None = Field(
        default=None,
        description="Obligatoire au dépôt quand l'écart au prévu dépasse le seuil du programme (15 % par défaut).",
    )


# The lines of the form (CERFA 12156/15059) an expense or a receipt that the budget did not plan may fall on, by
# side: an account group, a sub-account the form names, an indirect charge or own resources. The forecast surplus
# or deficit is no line of what happened.
UNPLANNED_CHARGE_LINES = (
    "60", "61", "62", "63", "64", "65", "66", "67", "68", "69",
    "indirect_fixed", "indirect_financial", "indirect_other", "86", "860", "861", "862", "864",
)
UNPLANNED_INCOME_LINES = (
    "70", "71", "72", "73", "74", "75", "756", "758", "76", "77", "78", "79", "own_resources",
    "87", "870", "871", "875",
)


class UnplannedLineIn(Input):
    """Money spent or received on a line the budget did not plan; always explained."""

    side: Literal["charge", "income"]
    account_group: str = Field(
        max_length=24, json_schema_extra=listed(UNPLANNED_CHARGE_LINES + UNPLANNED_INCOME_LINES), examples=["62"],
        description="Une ligne du formulaire, du côté dit : charges (60 à 69, charges indirectes, 86 et ses "
                    "sous-comptes) ou produits (70 à 79, 756, 758, ressources propres, 87 et ses sous-comptes).",
    )
    label: Title = Field(examples=["Location d'un minibus"])
    actual_cents: Annotated[int, Field(strict=True, gt=0, le=10_000_000_000), IntegerCents] = Field(
        examples=[180_000]
    )
    explanation: Comment = Field(description="Pourquoi cette dépense ou cette recette n'était pas prévue.")

    @field_validator("account_group")
    @classmethod
    def _a_line_of_the_form(cls, code: str) -> str:
        if code not in UNPLANNED_CHARGE_LINES + UNPLANNED_INCOME_LINES:
            raise ValueError(bilingual(
                f"« {code} » n'est pas une ligne du formulaire où porter une dépense ou une recette.",
                f"'{code}' is not a line of the form an expense or a receipt falls on.",
            ))
        return code

    @model_validator(mode="after")
    def _a_line_of_its_side(self) -> "UnplannedLineIn":
        allowed = UNPLANNED_CHARGE_LINES if self.side == "charge" else UNPLANNED_INCOME_LINES
        if self.account_group not in allowed:
            raise ValueError(bilingual(
                f"« {self.account_group} » n'est pas une ligne des {'charges' if self.side == 'charge' else 'produits'}"
                f" : {', '.join(allowed)}.",
                f"'{self.account_group}' is not a {self.side} line: {', '.join(allowed)}.",
            ))
        return self


class Annex(Input):
    """The annex of the CERFA 15059. Each text becomes required at submission when the figures call for it."""

    indirect_costs_method: LongText | None = Field(
        default=None, description="La règle de répartition des charges indirectes affectées à l'action (requise "
                                  "quand des charges indirectes sont réalisées).",
    )
    in_kind_contributions: LongText | None = Field(
        default=None, description="Les contributions volontaires en nature : leur nature, et comment elles sont "
                                  "valorisées (requise quand des lignes 86 ou 87 sont réalisées).",
    )
    gaps_explanation: LongText | None = Field(
        default=None, description="L'explication d'ensemble des écarts entre le prévu et le réalisé (chaque écart "
                                  "au-delà du seuil s'explique aussi sur sa ligne).",
    )


class QualitativeAccount(Input):
    """The qualitative account of the action carried out."""

    summary: LongText = Field(description="Ce qui a été réalisé, et comment.",
                              examples=["Aide aux devoirs quatre soirs par semaine, d'octobre à juin."])
    beneficiaries: LongText | None = Field(default=None, description="Le public touché (nombre, âges, quartiers).")
    dates_and_places: LongText | None = Field(default=None, description="Quand et où l'action s'est tenue.")
    evaluation: LongText | None = Field(
        default=None, description="Les indicateurs d'évaluation : ce qui était visé, ce qui est atteint."
    )


class Signatory(Input):
    """Who certifies the report exact (its attestation)."""

    name: Title = Field(examples=["Awa Diallo"])
    capacity: Literal["legal_representative", "delegate"] = Field(
        description="Représentant légal de l'association, ou personne ayant délégation de signature."
    )
    signed_on: IsoDate = Field(description="La date de la signature : pas dans le futur.", examples=["2028-03-15"])


class FinancialReportUpdate(Input):
    """What was actually spent and received, one entry per line of the budget as planned, in its order; the
    lines the budget did not plan; the annex, the qualitative account and the signatory (CERFA 15059)."""

    lines: list[ReportLineIn] = Field(max_length=200)
    unplanned_lines: list[UnplannedLineIn] = Field(
        default_factory=list, max_length=50,
        description="Les dépenses et recettes réalisées sur une ligne que le budget ne prévoyait pas.",
    )
    comment: LongText | None = Field(default=None, description="Bilan léger : ce qui s'est passé (obligatoire).")
    people_reached: Annotated[int, Field(strict=True, ge=0, le=10_000_000), WholeNumber] | None = Field(
        default=None, description="Bilan léger : le nombre de personnes touchées (obligatoire)."
    )
    annex: Annex | None = None
    qualitative: QualitativeAccount | None = Field(
        default=None, description="Bilan qualitatif (obligatoire au dépôt d'un compte rendu financier)."
    )
    signatory: Signatory | None = Field(
        default=None, description="Le signataire (obligatoire au dépôt d'un compte rendu financier)."
    )


class ReviewComment(Input):
    comment: Comment = Field(examples=["Merci de détailler l'écart sur les achats."])


class ReportLinePublic(BaseModel):
    side: Literal["charge", "income"]
    account_group: str
    label: str
    planned_cents: int
    actual_cents: int | None
    gap_cents: int | None = Field(description="Réalisé − prévu.")
    gap_basis_points: int | None = Field(description="L'écart en points de base du prévu (1 500 = 15 %).")
    needs_explanation: bool = Field(description="L'écart dépasse le seuil du programme ; toujours pour une ligne "
                                                "non prévue.")
    explanation: str | None
    planned: bool = Field(default=True, description="Une ligne du budget prévu ; false : réalisée sans être prévue.")


class ReportTotals(BaseModel):
    planned_charges_cents: int
    actual_charges_cents: int
    planned_income_cents: int
    actual_income_cents: int


class FinancialReportPublic(BaseModel):
    id: uuid.UUID
    grant_id: uuid.UUID
    dossier_id: uuid.UUID
    reference: str = Field(description=OWN_REFERENCE)
    thread_reference: str = Field(description=THREAD_REFERENCE)
    funder_id: uuid.UUID
    organisation_id: uuid.UUID
    kind: ReportKind = Field(description="financial (CERFA 15059) ; light : le bilan léger d'un petit projet.")
    year: int
    due_on: date
    overdue: bool = Field(description="Encore dû après sa date.")
    state: ReportState
    lines: list[ReportLinePublic]
    totals: ReportTotals
    comment: str | None
    people_reached: int | None
    explained_gap_bp: int = Field(description="Le seuil d'écart à expliquer, en points de base (règle du programme).")
    annex: dict[str, Any] | None = Field(description="L'annexe : charges indirectes, contributions en nature, écarts.")
    qualitative: dict[str, Any] | None = Field(description="Le bilan qualitatif de l'action.")
    signatory: dict[str, Any] | None = Field(description="Le signataire : nom, qualité, date.")
    submitted_at: datetime | None
    reviewed_at: datetime | None
    review_comment: str | None
    allowed_actions: list[str]
    version: int
    created_at: datetime
    updated_at: datetime
