"""API models of the events feed."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from services.funding.fields import OWN_REFERENCE, THREAD_REFERENCE


class EventPublic(BaseModel):
    id: uuid.UUID = Field(description="Stable: a partner system drops an event it has already handled.")
    sequence: int = Field(description="The order in which the events were committed.")
    type: str = Field(examples=["dossier.submitted"])
    subject_kind: str = Field(examples=["dossier"],
                              description="dossier, decision, session, agreement, payment, report")
    subject_id: uuid.UUID
    dossier_id: uuid.UUID | None
    reference: str | None = Field(examples=["GU-2030-000456"], description=OWN_REFERENCE)
    thread_reference: str | None = Field(examples=["GU-2027-000123"], description=THREAD_REFERENCE)
    organisation_id: uuid.UUID | None = Field(description="L'association concernée.")
    data: dict[str, Any] = Field(description="Identifiants, état, montants : jamais un commentaire ni un motif.")
    occurred_at: datetime


class EventPage(BaseModel):
    items: list[EventPublic]
    next_cursor: str | None = Field(
        description="Où reprendre ; absent quand le flux est lu jusqu'au bout (reprendre alors du dernier "
                    "`cursor` de l'événement lu, via `after`)."
    )
    last_cursor: str | None = Field(description="Le curseur du dernier événement de la page, pour reprendre plus tard.")


EventType = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,30}\.[a-z_]{1,40}$", max_length=64)]
