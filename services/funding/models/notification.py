"""The notifications sent to holders: one consolidated answer per dossier and session, stored, then mailed."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, Index, UniqueConstraint
from sqlmodel import Field

from common.db import UtcDateTime
from services.funding.models.base import FundingTable, IdColumn, SyncedTimestamps


class NotificationKind(StrEnum):
    decision = "decision"
    deferral = "deferral"


class DeliveryState(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


class Notification(FundingTable, IdColumn, SyncedTimestamps, table=True):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("dossier_id", "session_id", name="uq_notifications_dossier_session"),
        CheckConstraint("kind IN ('decision', 'deferral')", name="ck_notifications_kind"),
        CheckConstraint("delivery_state IN ('pending', 'sent', 'failed')", name="ck_notifications_delivery_state"),
        Index("ix_notifications_organisation_created", "organisation_id", "created_at", "id"),
        Index("ix_notifications_created", "created_at", "id"),
    )

    dossier_id: uuid.UUID = Field(sa_column=Column(ForeignKey("dossiers.id"), index=True, nullable=False))
    # The committee session that answered; none for a decision delegated to one funder (small projects).
    session_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("committee_sessions.id"), nullable=True)
    )
    # The holder: the association the dossier belongs to.
    organisation_id: uuid.UUID = Field(nullable=False)
    reference: str = Field(max_length=20)
    # The dossier's thread, the reference the letter gives (the same from a CPO to its renewal).
    thread_reference: str = Field(max_length=20)
    kind: str = Field(max_length=16)
    # What the notification says, as data (outcome, each funder's answer, next steps); rendered in the reader's
    # language when read, and in French then English in the mail.
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    delivery_state: str = Field(default=DeliveryState.pending, max_length=16, index=True)
    attempts: int = Field(default=0, nullable=False)
    last_error: str | None = Field(default=None, max_length=2000)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
