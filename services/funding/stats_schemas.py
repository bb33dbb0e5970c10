"""API models of a funder's year in figures."""

import uuid

from pydantic import BaseModel, Field


class EnvelopeLine(BaseModel):
    programme_id: uuid.UUID
    title: str
    track: str
    total_cents: int
    committed_cents: int
    paid_cents: int
    available_cents: int


class DecisionDelay(BaseModel):
    track: str
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
