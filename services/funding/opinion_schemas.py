"""API models of the instruction opinions."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from common.money import IntegerCents
from common.schemas import VISIBLE_CHARACTER, InputModel
from services.funding.models.dossier import OpinionKind

AuthorKind = Literal["funder", "citizen_council"]

# Strict as every amount: `false` or "1500" is not one (1500.0 is: JSON has one number type); zero is a proposal.
ProposedCents = Annotated[int, Field(strict=True, ge=0, le=1_000_000_000), IntegerCents]


Conditions = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=2000)
]
OpinionComment = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=4000)
]


class OpinionIn(InputModel):
    """The caller's organisation's opinion, whole: a field left out is cleared."""

    opinion: OpinionKind = Field(examples=["favourable"])
    proposed_amount_cents: ProposedCents | None = Field(
        default=None,
        description="Montant proposé par le financeur (obligatoire pour lui) ; jamais pour un conseil citoyen.",
        examples=[1_200_000],
    )
    conditions: Conditions | None = Field(
        default=None, examples=["Bilan intermédiaire à mi-parcours."]
    )
    comment: OpinionComment | None = Field(
        default=None, examples=["Projet solide, public bien identifié."]
    )


class OpinionPublic(BaseModel):
    organisation_id: uuid.UUID
    author_kind: AuthorKind
    opinion: OpinionKind
    proposed_amount_cents: int | None
    conditions: str | None
    comment: str | None
    author: str = Field(description="Qui l'a saisi en dernier.")
    updated_at: datetime
    version: int = Field(description="L'ETag de l'avis est cette version entre guillemets.")
