"""API models of the CERFA 12156 budgets."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from common.money import IntegerCents
from common.problems import bilingual
from common.schemas import InputModel

# The chart of accounts of the form, by side. 86 and 87 are voluntary contributions in kind.
CHARGE_GROUPS: dict[str, str] = {
    "60": "Achats",
    "61": "Services extérieurs",
    "62": "Autres services extérieurs",
    "63": "Impôts et taxes",
    "64": "Charges de personnel",
    "65": "Autres charges de gestion courante",
    "66": "Charges financières",
    "67": "Charges exceptionnelles",
    "68": "Dotation aux amortissements",
    "86": "Emplois des contributions volontaires en nature",
}
INCOME_GROUPS: dict[str, str] = {
    "70": "Vente de produits finis, prestations de services",
    "74": "Subventions d'exploitation",
    "75": "Autres produits de gestion courante (cotisations, dons)",
    "76": "Produits financiers",
    "77": "Produits exceptionnels",
    "78": "Reprises sur amortissements et provisions",
    "87": "Contributions volontaires en nature",
}
IN_KIND_GROUPS = frozenset({"86", "87"})
GRANT_GROUP = "74"
MAX_LINES = 100

ChargeGroup = Literal["60", "61", "62", "63", "64", "65", "66", "67", "68", "86"]
IncomeGroup = Literal["70", "74", "75", "76", "77", "78", "87"]
# Up to a billion euros a line: far above any grant, far below what a BIGINT holds once summed.
AmountCents = Annotated[int, Field(strict=True, gt=0, le=100_000_000_000, examples=[1_500_000]), IntegerCents]
Label = Annotated[str, Field(min_length=1, max_length=200, examples=["Rémunération des animateurs"])]


class ChargeLineIn(InputModel):
    account_group: ChargeGroup
    label: Label
    amount_cents: AmountCents


class IncomeLineIn(InputModel):
    account_group: IncomeGroup
    label: Label
    amount_cents: AmountCents
    funder_id: uuid.UUID | None = Field(
        default=None, description="Compte 74 : le financeur du guichet sollicité (une ligne par financeur)."
    )
    to_be_allocated: bool = Field(
        default=False, description="Compte 74 : le montant que le guichet répartira entre ses financeurs."
    )

    @model_validator(mode="after")
    def _grant_fields_only_on_74(self) -> "IncomeLineIn":
        if self.account_group != GRANT_GROUP and (self.funder_id is not None or self.to_be_allocated):
            raise ValueError(
                bilingual(
                    "Seule une ligne du compte 74 (subventions) nomme un financeur ou reste à répartir.",
                    "Only an account 74 (grants) line names a funder or is left to allocate.",
                )
            )
        if self.funder_id is not None and self.to_be_allocated:
            raise ValueError(
                bilingual(
                    "Une ligne nomme un financeur ou reste à répartir, pas les deux.",
                    "A line names a funder or is left to allocate, not both.",
                )
            )
        return self


class BudgetIn(InputModel):
    """The whole budget, replaced at once: charges and income lines of the form."""

    charges: list[ChargeLineIn] = Field(default_factory=list, max_length=MAX_LINES)
    income: list[IncomeLineIn] = Field(default_factory=list, max_length=MAX_LINES)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "charges": [
                        {"account_group": "60", "label": "Fournitures scolaires", "amount_cents": 300_000},
                        {"account_group": "64", "label": "Deux animateurs à mi-temps", "amount_cents": 4_500_000},
                        {"account_group": "86", "label": "Bénévolat (600 h)", "amount_cents": 720_000},
                    ],
                    "income": [
                        {"account_group": "70", "label": "Participation des familles", "amount_cents": 300_000},
                        {"account_group": "74", "label": "Ville de Rennes", "amount_cents": 1_500_000,
                         "funder_id": "7b0c57d4-2c8b-5c2a-9a57-000000000001"},
                        {"account_group": "74", "label": "À répartir par le guichet", "amount_cents": 3_000_000,
                         "to_be_allocated": True},
                        {"account_group": "87", "label": "Bénévolat (600 h)", "amount_cents": 720_000},
                    ],
                }
            ]
        }
    }

    @model_validator(mode="after")
    def _one_grant_line_per_funder(self) -> "BudgetIn":
        funders = [line.funder_id for line in self.income if line.funder_id is not None]
        if len(funders) != len(set(funders)):
            raise ValueError(
                bilingual("Une seule ligne 74 par financeur.", "One account 74 line per funder.")
            )
        if sum(line.to_be_allocated for line in self.income) > 1:
            raise ValueError(
                bilingual("Une seule ligne 74 reste à répartir.", "One account 74 line at most is left to allocate.")
            )
        return self


class BudgetLinePublic(BaseModel):
    account_group: str
    account_label: str
    label: str
    amount_cents: int
    in_kind: bool
    funder_id: uuid.UUID | None = None
    to_be_allocated: bool = False


class BudgetTotals(BaseModel):
    charges_cents: int
    income_cents: int
    cash_charges_cents: int
    cash_income_cents: int
    in_kind_charges_cents: int
    in_kind_income_cents: int
    grants_cents: int = Field(description="Total du compte 74 (subventions demandées).")


class BudgetIssue(BaseModel):
    code: str = Field(examples=["unbalanced"])
    message: str


class BudgetPublic(BaseModel):
    """A budget as the form shows it: lines by side, totals, and what still stops a submission."""

    organisation_id: uuid.UUID
    project_id: uuid.UUID | None = None
    project_version: int | None = Field(
        default=None, description="Version du projet contre laquelle les points bloquants ont été calculés."
    )
    year: int | None = None
    version: int = Field(description="0 tant que rien n'a été saisi.")
    charges: list[BudgetLinePublic]
    income: list[BudgetLinePublic]
    totals: BudgetTotals
    balanced: bool = Field(description="Charges = produits, et contributions en nature employées = reçues.")
    issues: list[BudgetIssue] = Field(description="Ce qui empêche encore le dépôt d'un dossier ; vide si rien.")
    updated_at: datetime | None = None
