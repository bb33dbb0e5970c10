"""API models of the holders' notifications."""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field

from services.funding.fields import OWN_REFERENCE, THREAD_REFERENCE
from services.funding.models.notification import DeliveryState, NotificationKind


class NotificationPublic(BaseModel):
    """The committee's consolidated answer to a holder on one dossier, as sent (or to be sent) by mail."""

    id: uuid.UUID
    dossier_id: uuid.UUID
    session_id: uuid.UUID | None = Field(
        description="La séance du comité des financeurs qui a répondu ; aucune pour une décision déléguée."
    )
    organisation_id: uuid.UUID = Field(description="L'association porteuse du dossier.")
    reference: str = Field(examples=["GU-2030-000456"], description=OWN_REFERENCE)
    thread_reference: str = Field(examples=["GU-2027-000123"], description=THREAD_REFERENCE + " L'objet du "
                                  "courriel la cite ; pour un renouvellement, le texte donne les deux.")
    kind: NotificationKind = Field(description="decision : le comité a décidé ; deferral : il a reporté le dossier.")
    subject: str = Field(
        description="Objet, dans la langue de l'appelant (Accept-Language).",
        examples=["Dossier GU-2027-000123 : réponse du comité des financeurs du 12 mars 2027"],
    )
    body: str = Field(description="Texte du courriel, dans la langue de l'appelant (Accept-Language).")
    content: dict[str, Any] = Field(
        description="Ce que dit la notification, en données : décision, réponse de chaque financeur, totaux, "
        "motif du report, séance, suite (`agreements`, `none` ou `next_session`)."
    )
    recipients: list[str] = Field(
        description="Les adresses de l'association auxquelles le courriel part.", examples=[["contact@asso.example"]]
    )
    delivery_state: DeliveryState = Field(description="pending, sent ou failed (le guichet peut réessayer).")
    attempts: int = Field(description="Tentatives d'envoi faites.", examples=[1])
    last_error: str | None = Field(
        description="Pourquoi le dernier envoi a échoué (montré au guichet seulement).", examples=[None]
    )
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime


# What an answer is written from: the committee's minutes (committee/schemas.py), read through these shapes so
# that this room does not import the committee, which calls it.
class FunderAnswer(Protocol):
    @property
    def funder_id(self) -> uuid.UUID: ...
    @property
    def funder_name(self) -> str: ...
    @property
    def asked_cents(self) -> int: ...
    @property
    def granted_cents(self) -> int: ...
    @property
    def conditions(self) -> str | None: ...
    @property
    def refusal_reason(self) -> str | None: ...


class AnsweredItem(Protocol):
    """One dossier as the minutes state it: decided (with each funder's answer), deferred or withdrawn."""

    @property
    def dossier_id(self) -> uuid.UUID: ...
    @property
    def organisation_id(self) -> uuid.UUID: ...
    @property
    def organisation_name(self) -> str: ...
    @property
    def reference(self) -> str: ...
    @property
    def project_title(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def outcome(self) -> str | None: ...
    @property
    def deferral_reason(self) -> str | None: ...
    @property
    def asked_cents(self) -> int: ...
    @property
    def granted_cents(self) -> int: ...
    @property
    def decisions(self) -> Sequence[FunderAnswer]: ...


class AnsweredSession(Protocol):
    """A closed session as its minutes state it."""

    @property
    def title(self) -> str: ...
    @property
    def held_on(self) -> date: ...
    @property
    def place(self) -> str: ...
    @property
    def items(self) -> Sequence[AnsweredItem]: ...
