"""API models of the webhooks: endpoints, their secret (shown once), their deliveries and attempts."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from common.problems import bilingual
from common.schemas import PatchModel
from services.funding.events.schemas import EventType
from services.funding.fields import Input

TargetUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=8, max_length=2000, pattern=r"^https?://[^\s]+$")
]
EventTypes = Annotated[
    list[EventType],
    Field(max_length=50, description="Les types d'événements à recevoir (`dossier.submitted`…) ; vide : tous."),
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


def _distinct(types: list[str] | None) -> None:
    if types is not None and len(set(types)) != len(types):
        raise ValueError(bilingual("Type d'événement en double.", "Duplicate event type."))


class WebhookCreate(Input):
    url: TargetUrl = Field(examples=["https://partenaire.example/guichet/webhooks"])
    event_types: EventTypes = Field(default_factory=list)
    description: Description | None = None

    @model_validator(mode="after")
    def _once(self) -> "WebhookCreate":
        _distinct(self.event_types)
        return self


class WebhookUpdate(PatchModel):
    url: TargetUrl | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    state: Literal["active", "disabled"] | None = Field(
        default=None, description="`active` remet en service un point désactivé (ses livraisons reprennent)."
    )

    @model_validator(mode="after")
    def _once(self) -> "WebhookUpdate":
        _distinct(self.event_types)
        return self


class WebhookPublic(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    state: Literal["active", "disabled"]
    failing_since: datetime | None = Field(description="Depuis quand chaque tentative échoue (un jour : désactivé).")
    disabled_at: datetime | None
    disabled_reason: str | None = Field(description="`gone` (réponse 410) ou `failing` (un jour d'échecs).")
    previous_secret_expires_at: datetime | None = Field(
        description="Pendant une rotation : jusqu'à quand l'ancien secret signe aussi (deux signatures)."
    )
    version: int
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookPublic):
    secret: str = Field(description="Montré cette fois seulement : « whsec_ » puis la clé en base64.")


class AttemptPublic(BaseModel):
    attempted_at: datetime
    status: int | None = Field(description="Le code HTTP répondu ; vide quand la requête n'a pas abouti.")
    latency_ms: int
    error: str | None


class DeliveryPublic(BaseModel):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_sequence: int
    event_type: str
    state: Literal["pending", "delivered", "failed", "stopped"]
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_latency_ms: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DeliveryDetail(DeliveryPublic):
    log: list[AttemptPublic] = Field(description="Chaque tentative, dans l'ordre.")
