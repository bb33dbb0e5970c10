"""Webhooks: the endpoints an organisation registers, each event's delivery to each of them, and every attempt."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, Index, UniqueConstraint
from sqlmodel import Field

from common.db import UtcDateTime
from services.funding.models.base import FundingTable, IdColumn, Timestamps, Versioned, created_column
from services.funding.models.event import SequenceType


class EndpointState(StrEnum):
    active = "active"
    disabled = "disabled"


class DeliveryState(StrEnum):
    pending = "pending"  # to be tried (again) at next_attempt_at
    delivered = "delivered"
    failed = "failed"  # every retry spent
    stopped = "stopped"  # the endpoint answered 410 Gone, or was disabled


class WebhookEndpoint(FundingTable, IdColumn, Versioned, Timestamps, table=True):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint("state IN ('active', 'disabled')", name="ck_webhook_endpoints_state"),
        Index("ix_webhook_endpoints_organisation_created", "organisation_id", "created_at", "id"),
    )

    organisation_id: uuid.UUID = Field(nullable=False)
    # The desk's endpoints receive every event; the others, their organisation's.
    sees_everything: bool = Field(default=False, nullable=False)
    url: str = Field(max_length=2000)
    description: str | None = Field(default=None, max_length=500)
    # Empty: every type.
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # A citizen council's endpoint: the QPVs whose dossiers it follows (events/repository.council_events), as
    # identity said at its registration or last change (the worker cannot ask identity); None for anyone else.
    council_qpv_codes: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # "whsec_" and base64 (Standard Webhooks); the previous one still signs until it expires (a rotation).
    secret: str = Field(max_length=100)
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    state: str = Field(default=EndpointState.active, max_length=16)
    # The events up to this number were turned into deliveries (the worker's fan-out cursor).
    last_sequence: int = Field(default=0, sa_column=Column(SequenceType, nullable=False, server_default="0"))
    # Since when every attempt fails: a day of it disables the endpoint.
    failing_since: datetime | None = Field(default=None, sa_type=UtcDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    disabled_reason: str | None = Field(default=None, max_length=200)
    # A worker's lease on the fan-out (several workers never fan the same endpoint out at once).
    leased_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_by: str = Field(max_length=200)


class WebhookDelivery(FundingTable, IdColumn, Timestamps, table=True):
    """One event to one endpoint; its webhook-id (the event's id) stays the same across retries."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_sequence", name="uq_webhook_deliveries_event"),
        CheckConstraint(
            "state IN ('pending', 'delivered', 'failed', 'stopped')", name="ck_webhook_deliveries_state"
        ),
        # The worker's queue: what is due, in order.
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at", "id"),
    )

    endpoint_id: uuid.UUID = Field(sa_column=Column(ForeignKey("webhook_endpoints.id"), nullable=False))
    event_sequence: int = Field(sa_column=Column(SequenceType, ForeignKey("domain_events.sequence"), nullable=False))
    event_type: str = Field(max_length=64)
    state: str = Field(default=DeliveryState.pending, max_length=16)
    attempts: int = Field(default=0, nullable=False)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # A worker's lease on this delivery while it is being sent (never twice at once).
    leased_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_status: int | None = None
    last_latency_ms: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class WebhookAttempt(FundingTable, IdColumn, table=True):
    """The delivery log: each attempt, its answer and how long it took."""

    __tablename__ = "webhook_attempts"

    delivery_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    attempted_at: datetime = created_column()
    status: int | None = None
    latency_ms: int
    error: str | None = Field(default=None, max_length=500)
