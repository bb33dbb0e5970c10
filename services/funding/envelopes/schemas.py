"""The envelopes' API models."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from common.money import IntegerCents
from common.schemas import InputModel, PatchModel, WholeNumber
from services.funding.models.envelope import MovementKind

# Strict: `false` or "1500" is not an amount (1500.0 is: JSON has one number type). Up to a billion euros.
EnvelopeCents = Annotated[int, Field(strict=True, ge=0, le=100_000_000_000), IntegerCents]
Year = Annotated[int, Field(strict=True, ge=2024, le=2100), WholeNumber]


class EnvelopeCreate(InputModel):
    """The caller's organisation is the funder: a manager opens its own envelopes only."""

    programme_id: uuid.UUID
    year: Year = Field(examples=[2027])
    total_cents: EnvelopeCents = Field(description="Montant de l'enveloppe, en centimes.", examples=[20_000_000])


class EnvelopeUpdate(PatchModel):
    """The total may move, never below what is already committed (409)."""

    total_cents: EnvelopeCents | None = Field(
        default=None, description="Nouveau montant de l'enveloppe, en centimes.", examples=[25_000_000]
    )


class EnvelopePublic(BaseModel):
    id: uuid.UUID
    funder_id: uuid.UUID
    programme_id: uuid.UUID
    year: int = Field(examples=[2027])
    total_cents: int = Field(examples=[20_000_000])
    committed_cents: int = Field(description="Engagé par les décisions des comités.", examples=[4_500_000])
    paid_cents: int = Field(description="Versé au titre des conventions.", examples=[0])
    available_cents: int = Field(description="total_cents - committed_cents", examples=[15_500_000])
    version: int
    created_at: datetime
    updated_at: datetime


class MovementPublic(BaseModel):
    """One line of the ledger, with the envelope's balances right after it."""

    id: uuid.UUID
    envelope_id: uuid.UUID
    sequence: int = Field(description="Version de l'enveloppe après ce mouvement ; ordonne le registre.")
    kind: MovementKind
    amount_cents: int = Field(
        description="Variation signée du solde concerné : le total (opened, total_changed), l'engagé "
        "(committed +, released -) ou le versé (paid).",
        examples=[1_000_000],
    )
    total_cents: int
    committed_cents: int
    paid_cents: int
    available_cents: int
    dossier_id: uuid.UUID | None = None
    actor: str
    created_at: datetime
