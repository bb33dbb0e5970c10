"""What the integrity check answers: the counts it went through and every difference it found."""

import uuid
from typing import Literal

from pydantic import BaseModel, Field

CheckName = Literal[
    "ledger_balances", "envelope_commitments", "envelope_payments", "decisions_grants", "payment_schedule",
    "paid_within_grant", "open_data_rows", "grant_years",
]


class Difference(BaseModel):
    check: CheckName
    subject_kind: Literal["envelope", "grant", "decision"]
    subject_id: uuid.UUID
    expected: int | str = Field(description="Ce que les faits donnent (centimes, ou une ligne attendue).")
    found: int | str = Field(description="Ce qui est enregistré.")
    detail: str


class IntegrityReport(BaseModel):
    funder_id: uuid.UUID
    year: int
    envelopes: int = Field(description="Enveloppes du financeur pour l'année, vérifiées.")
    grants: int = Field(description="Subventions du financeur sur les programmes de l'année, vérifiées.")
    open_data_rows: int = Field(description="Lignes SCDL du financeur pour l'année.")
    ok: bool = Field(description="Aucune différence.")
    differences: list[Difference]
