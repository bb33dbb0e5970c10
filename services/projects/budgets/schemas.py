"""API models of the CERFA 12156 budgets."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, field_validator, model_validator

from common.money import IntegerCents
from common.problems import bilingual
from common.schemas import InputModel, listed

# The lines of the form (CERFA 12156*06, and the ANCT portal's export of it), by side: every two-digit group of
# classes 6 and 7, the sub-accounts the form names under 75, 86 and 87, and the lines that are no account of the
# chart: indirect charges and own resources given to the project, and the forecast surplus or deficit that
# balances a truthful budget. 86 and 87 (and their sub-accounts) are voluntary contributions in kind.
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
    "69": "Impôts sur les bénéfices (IS), participation des salariés",
    "indirect_fixed": "Charges indirectes : charges fixes de fonctionnement",
    "indirect_financial": "Charges indirectes : frais financiers",
    "indirect_other": "Charges indirectes : autres",
    "surplus": "Excédent prévisionnel (bénéfice)",
    "86": "Emplois des contributions volontaires en nature",
    "860": "Secours en nature",
    "861": "Mise à disposition gratuite de biens et services",
    "862": "Prestations",
    "864": "Personnel bénévole",
}
INCOME_GROUPS: dict[str, str] = {
    "70": "Vente de produits finis, prestations de services",
    "71": "Production stockée",
    "72": "Production immobilisée",
    "73": "Dotations et produits de tarification",
    "74": "Subventions d'exploitation",
    "75": "Autres produits de gestion courante (cotisations, dons)",
    "756": "Cotisations",
    "758": "Dons manuels, mécénat",
    "76": "Produits financiers",
    "77": "Produits exceptionnels",
    "78": "Reprises sur amortissements et provisions",
    "79": "Transferts de charges",
    "own_resources": "Ressources propres affectées au projet",
    "deficit": "Insuffisance prévisionnelle (perte)",
    "87": "Contributions volontaires en nature",
    "870": "Bénévolat",
    "871": "Prestations en nature",
    "875": "Dons en nature",
}
IN_KIND_GROUPS = frozenset({"86", "860", "861", "862", "864", "87", "870", "871", "875"})
# The two lines that state the forecast result: what the charges leave over (surplus) or lack (deficit).
SURPLUS, DEFICIT = "surplus", "deficit"
RESULT_LINES = frozenset({SURPLUS, DEFICIT})
# Lines only a project's budget has: the association's whole budget has no indirect share nor own resources.
PROJECT_ONLY_LINES = frozenset({"indirect_fixed", "indirect_financial", "indirect_other", "own_resources"})
INDIRECT_LINES = frozenset({"indirect_fixed", "indirect_financial", "indirect_other"})
OWN_RESOURCES = "own_resources"
GRANT_GROUP = "74"
MAX_LINES = 100


def account_parent(code: str) -> str | None:
    """The two-digit group a three-digit sub-account falls under (756 → 75); None for any other line."""
    return code[:2] if len(code) == 3 and code.isdigit() else None


class FunderType(StrEnum):
    """The funders of account 74 as the form lists them, for a grant asked outside the desk."""

    etat = "etat"  # the State: ministries, their regional and departmental services
    region = "region"
    departement = "departement"
    epci = "epci"  # the intercommunality
    commune = "commune"
    organismes_sociaux = "organismes_sociaux"  # CAF and the like
    fonds_europeens = "fonds_europeens"  # FSE+, FEDER…
    asp = "asp"  # the Agence de services et de paiement (subsidised jobs)
    autres_etablissements_publics = "autres_etablissements_publics"
    aides_privees = "aides_privees"  # foundations


def _known(code: str, accounts: dict[str, str], side_fr: str, side_en: str) -> str:
    if code not in accounts:
        listed_codes = ", ".join(accounts)
        raise ValueError(bilingual(
            f"Ligne inconnue du formulaire côté {side_fr} : « {code} ». Lignes acceptées : {listed_codes}.",
            f"Not a {side_en} line of the form: '{code}'. Accepted lines: {listed_codes}.",
        ))
    return code


# Up to a billion euros a line: far above any grant, far below what a BIGINT holds once summed.
AmountCents = Annotated[int, Field(strict=True, gt=0, le=100_000_000_000, examples=[1_500_000]), IntegerCents]
Label = Annotated[str, Field(min_length=1, max_length=200, examples=["Rémunération des animateurs"])]


class ChargeLineIn(InputModel):
    account_group: str = Field(
        max_length=24, json_schema_extra=listed(CHARGE_GROUPS), examples=["64"],
        description="Compte (60 à 69, 86 et ses sous-comptes 860, 861, 862, 864), charges indirectes "
                    "(indirect_fixed, indirect_financial, indirect_other) ou excédent prévisionnel (surplus).",
    )
    label: Label
    amount_cents: AmountCents

    @field_validator("account_group")
    @classmethod
    def _a_charge_line(cls, code: str) -> str:
        return _known(code, CHARGE_GROUPS, "charges", "charge")


class IncomeLineIn(InputModel):
    account_group: str = Field(
        max_length=24, json_schema_extra=listed(INCOME_GROUPS), examples=["74"],
        description="Compte (70 à 79, 756 et 758 sous 75, 87 et ses sous-comptes 870, 871, 875), ressources "
                    "propres affectées (own_resources) ou insuffisance prévisionnelle (deficit).",
    )
    label: Label
    amount_cents: AmountCents
    funder_id: uuid.UUID | None = Field(
        default=None, description="Compte 74 : le financeur du guichet sollicité (une ligne par financeur)."
    )
    to_be_allocated: bool = Field(
        default=False, description="Compte 74 : le montant que le guichet répartira entre ses financeurs."
    )
    funder_type: FunderType | None = Field(
        default=None,
        description="Compte 74 : le type d'un financeur extérieur au guichet (par exemple le FSE+ : "
                    "fonds_europeens). Une ligne 74 nomme un financeur du guichet, reste à répartir, ou donne ce type.",
    )

    @field_validator("account_group")
    @classmethod
    def _an_income_line(cls, code: str) -> str:
        return _known(code, INCOME_GROUPS, "produits", "income")

    @model_validator(mode="after")
    def _grant_fields_only_on_74(self) -> "IncomeLineIn":
        if self.account_group != GRANT_GROUP and (
            self.funder_id is not None or self.to_be_allocated or self.funder_type is not None
        ):
            raise ValueError(
                bilingual(
                    "Seule une ligne du compte 74 (subventions) nomme un financeur, son type, ou reste à répartir.",
                    "Only an account 74 (grants) line names a funder or its type, or is left to allocate.",
                )
            )
        if self.account_group != GRANT_GROUP:
            return self
        named = (self.funder_id is not None) + self.to_be_allocated + (self.funder_type is not None)
        if named > 1:
            raise ValueError(
                bilingual(
                    "Une ligne 74 nomme un financeur du guichet, reste à répartir ou donne le type d'un financeur "
                    "extérieur : une seule de ces trois choses.",
                    "An account 74 line names a desk funder, is left to allocate or gives an outside funder's "
                    "type: only one of the three.",
                )
            )
        if named == 0:
            types = ", ".join(FunderType)
            raise ValueError(
                bilingual(
                    f"Une ligne 74 dit qui la finance : un financeur du guichet (funder_id), la part à répartir "
                    f"(to_be_allocated) ou le type d'un financeur extérieur (funder_type : {types}).",
                    f"An account 74 line says who funds it: a desk funder (funder_id), the share left to allocate "
                    f"(to_be_allocated) or an outside funder's type (funder_type: {types}).",
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
                        {"account_group": "indirect_fixed", "label": "Quote-part du loyer", "amount_cents": 1_000_000},
                        {"account_group": "864", "label": "Bénévolat (600 h)", "amount_cents": 720_000},
                    ],
                    "income": [
                        {"account_group": "70", "label": "Participation des familles", "amount_cents": 300_000},
                        {"account_group": "74", "label": "Ville de Rennes", "amount_cents": 1_500_000,
                         "funder_id": "7b0c57d4-2c8b-5c2a-9a57-000000000001"},
                        {"account_group": "74", "label": "À répartir par le guichet", "amount_cents": 3_000_000,
                         "to_be_allocated": True},
                        {"account_group": "74", "label": "FSE+", "amount_cents": 500_000,
                         "funder_type": "fonds_europeens"},
                        {"account_group": "deficit", "label": "Insuffisance prévisionnelle", "amount_cents": 500_000},
                        {"account_group": "870", "label": "Bénévolat (600 h)", "amount_cents": 720_000},
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
        if sum(line.account_group == SURPLUS for line in self.charges) > 1:
            raise ValueError(bilingual("Un seul excédent prévisionnel.", "One forecast surplus line at most."))
        if sum(line.account_group == DEFICIT for line in self.income) > 1:
            raise ValueError(bilingual("Une seule insuffisance prévisionnelle.", "One forecast deficit line at most."))
        if any(line.account_group == SURPLUS for line in self.charges) and any(
            line.account_group == DEFICIT for line in self.income
        ):
            raise ValueError(bilingual(
                "Un budget prévoit un excédent ou une insuffisance, pas les deux.",
                "A budget forecasts a surplus or a deficit, not both.",
            ))
        return self


class BudgetLinePublic(BaseModel):
    account_group: str
    account_label: str
    label: str
    amount_cents: int
    account_parent: str | None = Field(
        default=None, description="Le groupe de deux chiffres d'un sous-compte (75 pour 756) ; null sinon."
    )
    in_kind: bool
    funder_id: uuid.UUID | None = None
    to_be_allocated: bool = False
    funder_type: FunderType | None = None


class BudgetTotals(BaseModel):
    charges_cents: int = Field(description="Toutes les charges, en nature comprises, hors excédent.")
    income_cents: int = Field(description="Tous les produits, en nature compris, hors insuffisance.")
    cash_charges_cents: int = Field(description="Le total des charges du formulaire (charges indirectes comprises).")
    cash_income_cents: int = Field(description="Le total des produits du formulaire (ressources propres comprises).")
    in_kind_charges_cents: int
    in_kind_income_cents: int
    grants_cents: int = Field(description="Total du compte 74 (subventions demandées).")
    indirect_charges_cents: int = Field(default=0, description="Charges indirectes affectées au projet.")
    own_resources_cents: int = Field(default=0, description="Ressources propres affectées au projet.")
    surplus_cents: int = Field(default=0, description="Excédent prévisionnel.")
    deficit_cents: int = Field(default=0, description="Insuffisance prévisionnelle.")


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
    balanced: bool = Field(
        description="Charges + excédent = produits + insuffisance, et contributions en nature employées = reçues."
    )
    issues: list[BudgetIssue] = Field(description="Ce qui empêche encore le dépôt d'un dossier ; vide si rien.")
    updated_at: datetime | None = None
