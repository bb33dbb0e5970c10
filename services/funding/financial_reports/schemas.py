"""API models of the financial reports (compte rendu financier, CERFA 15059)."""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from common.money import IntegerCents
from common.schemas import VISIBLE_CHARACTER, WholeNumber
from services.funding.fields import Comment, Input
from services.funding.models.financial_report import ReportKind, ReportState

ActualCents = Annotated[int, Field(strict=True, ge=0, le=10_000_000_000), IntegerCents]
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=4000)
]


class ReportLineIn(Input):
    actual_cents: ActualCents = Field(description="Réalisé, en centimes.", examples=[1_320_000])
    explanation: Comment | None = Field(
        default=None, description="Obligatoire au dépôt quand l'écart au prévu dépasse 15 %."
    )


class FinancialReportUpdate(Input):
    """What was actually spent and received, one entry per line of the budget as planned, in its order."""

    lines: list[ReportLineIn] = Field(max_length=200)
    comment: LongText | None = Field(default=None, description="Bilan léger : ce qui s'est passé (obligatoire).")
    people_reached: Annotated[int, Field(strict=True, ge=0, le=10_000_000), WholeNumber] | None = Field(
        default=None, description="Bilan léger : le nombre de personnes touchées (obligatoire)."
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
    needs_explanation: bool = Field(description="L'écart dépasse 15 % du prévu.")
    explanation: str | None


class ReportTotals(BaseModel):
    planned_charges_cents: int
    actual_charges_cents: int
    planned_income_cents: int
    actual_income_cents: int


class FinancialReportPublic(BaseModel):
    id: uuid.UUID
    grant_id: uuid.UUID
    dossier_id: uuid.UUID
    reference: str
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
    submitted_at: datetime | None
    reviewed_at: datetime | None
    review_comment: str | None
    allowed_actions: list[str]
    version: int
    created_at: datetime
    updated_at: datetime
