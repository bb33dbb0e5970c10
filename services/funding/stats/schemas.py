"""API models of the dashboards' figures: a funder's year, a territory's year, an association's home."""

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from common.schemas import listed
from services.funding.fields import OWN_REFERENCE, THREAD_REFERENCE
from services.funding.models.programme import Track
from services.shared_figures import SUPPRESSED_DESCRIPTION


class EnvelopeLine(BaseModel):
    programme_id: uuid.UUID
    title: str
    track: str = Field(json_schema_extra=listed(Track))
    total_cents: int
    committed_cents: int
    paid_cents: int
    available_cents: int
    awaiting_cents: int = Field(description="Les années de CPO décidées pour cette année et pas encore engagées sur "
                                            "l'enveloppe (sous réserve du vote du budget de l'année).")


class DecisionDelay(BaseModel):
    track: str = Field(json_schema_extra=listed(Track))
    decided: int = Field(description="Dossiers décidés.")
    median_days: float = Field(description="Jours du dossier complet (déposé) à la décision : médiane.")
    p90_days: float = Field(description="… et 90e centile.")


class GrantedLine(BaseModel):
    value: str = Field(description="Le QPV, la priorité, le parcours ou la taille de l'association.")
    grants: int
    granted_cents: int


class GrantedBy(BaseModel):
    qpv: list[GrantedLine]
    priority: list[GrantedLine]
    track: list[GrantedLine]
    association_size: list[GrantedLine] = Field(
        description="Selon le budget annuel de l'association au dépôt : under_50k, 50k_200k, 200k_1m, over_1m."
    )


class Leverage(BaseModel):
    granted_cents: int
    others_granted_cents: int = Field(description="Ce que les autres financeurs ont accordé aux mêmes dossiers.")
    per_euro: float | None = Field(description="… pour chaque euro de ce financeur.")


class FunderYear(BaseModel):
    funder_id: uuid.UUID
    year: int
    envelopes: list[EnvelopeLine]
    dossiers_by_state: dict[str, int] = Field(description="Les dossiers de l'année qui lui sont orientés, par état.")
    decision_delays: list[DecisionDelay]
    granted_by: GrantedBy
    leverage: Leverage


class FunderProjects(BaseModel):
    funder_id: uuid.UUID
    year: int
    project_ids: list[uuid.UUID] = Field(description="Les projets auxquels il a accordé une subvention cette année.")


class TerritoryLine(BaseModel):
    value: str = Field(description="Le financeur (son identifiant), le parcours ou la priorité.")
    grants: int | None
    granted_cents: int | None
    projects: int | None = Field(description="Projets distincts de la ligne (null si `suppressed`).")
    suppressed: bool = Field(default=False, description=SUPPRESSED_DESCRIPTION)


class TerritoryGrantedBy(BaseModel):
    funder: list[TerritoryLine] = Field(description="Par financeur (value : son identifiant).")
    track: list[TerritoryLine]
    priority: list[TerritoryLine] = Field(
        description="Une subvention compte sous chacune des priorités de son dossier : les lignes ne "
        "s'additionnent pas."
    )


class TerritoryYear(BaseModel):
    year: int
    qpv_codes: list[str] = Field(description="Les QPV du territoire ; vide : tout ce que couvre le guichet.")
    grants: int | None
    granted_cents: int | None
    projects: int | None = Field(description="Projets ayant reçu au moins une subvention de l'année.")
    associations: int | None = Field(description="Associations ayant reçu au moins une subvention de l'année.")
    funders: int | None = Field(description="Financeurs ayant accordé au moins une subvention de l'année.")
    suppressed: bool = Field(default=False, description="true : les totaux du territoire viennent de moins de "
                             "projets que le seuil de secret ; ils sont null pour les associations et les conseils "
                             "citoyens.")
    dossiers_by_state: dict[str, int | None] = Field(
        description="Les dossiers déposés aux programmes de l'année, par état (null : moins que le seuil de secret, "
        "pour les associations et les conseils citoyens)."
    )
    granted_by: TerritoryGrantedBy


DueKind = Literal["supplements", "financial_report", "signature"]


class DueItem(BaseModel):
    kind: DueKind = Field(description="supplements : pièces demandées ; financial_report : compte rendu financier "
                          "dû ; signature : convention à signer.")
    item_id: uuid.UUID = Field(description="Le dossier, le compte rendu ou la convention concerné.")
    dossier_id: uuid.UUID
    reference: str = Field(description=OWN_REFERENCE)
    thread_reference: str = Field(description=THREAD_REFERENCE)
    funder_id: uuid.UUID | None
    due_on: date | None
    overdue: bool


class ExpectedPayment(BaseModel):
    id: uuid.UUID
    dossier_id: uuid.UUID
    reference: str = Field(description=OWN_REFERENCE)
    thread_reference: str = Field(description=THREAD_REFERENCE)
    funder_id: uuid.UUID
    amount_cents: int
    due_on: date | None
    pay_by: date | None
    state: str = Field(description="scheduled, due ou requested.")


class PaymentsExpected(BaseModel):
    count: int
    amount_cents: int = Field(description="Tout ce qui reste à verser à l'association (prévu, dû ou demandé).")
    next: list[ExpectedPayment] = Field(description="Les prochains : les dus et demandés d'abord, puis par date.")


class AssociationHome(BaseModel):
    organisation_id: uuid.UUID
    today: date
    dossiers_by_state: dict[str, int]
    due_next: list[DueItem] = Field(description="Ce que l'association doit faire, le plus pressé d'abord (20 au plus).")
    payments_expected: PaymentsExpected
