"""Tables of the envelopes: what each funder puts into a programme for a year, and the ledger of its movements."""

import uuid
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, UniqueConstraint
from sqlmodel import Field

from services.funding.models.base import CreatedAt, FundingTable, IdColumn, SyncedTimestamps, Versioned


class MovementKind(StrEnum):
    opened = "opened"
    total_changed = "total_changed"
    committed = "committed"
    released = "released"
    paid = "paid"


class Envelope(FundingTable, IdColumn, Versioned, SyncedTimestamps, table=True):
    """One per funder, programme and year: total, committed by the committees' decisions, paid under agreements."""

    __tablename__ = "envelopes"
    # The database itself holds 0 <= paid <= committed <= total, so that no race and no bug can over-commit an
    # envelope; commitments move it with one conditional UPDATE (see envelopes.commit).
    __table_args__ = (
        UniqueConstraint("funder_id", "programme_id", "year", name="uq_envelopes_funder_programme_year"),
        CheckConstraint("total_cents >= 0", name="ck_envelopes_total_not_negative"),
        CheckConstraint("paid_cents >= 0", name="ck_envelopes_paid_not_negative"),
        CheckConstraint("paid_cents <= committed_cents", name="ck_envelopes_paid_within_committed"),
        CheckConstraint("committed_cents <= total_cents", name="ck_envelopes_committed_within_total"),
        Index("ix_envelopes_funder_created", "funder_id", "created_at", "id"),
        Index("ix_envelopes_created", "created_at", "id"),
    )

    funder_id: uuid.UUID = Field(nullable=False)
    programme_id: uuid.UUID = Field(foreign_key="programmes.id", index=True)
    year: int
    total_cents: int = Field(sa_type=BigInteger, nullable=False)
    committed_cents: int = Field(default=0, sa_type=BigInteger, nullable=False)
    paid_cents: int = Field(default=0, sa_type=BigInteger, nullable=False)
    created_by: str = Field(max_length=200)


class EnvelopeMovement(FundingTable, IdColumn, CreatedAt, table=True):
    """One line of an envelope's ledger: what moved, by how much, and the envelope's balances right after."""

    __tablename__ = "envelope_movements"
    __table_args__ = (
        UniqueConstraint("envelope_id", "sequence", name="uq_envelope_movements_sequence"),
        CheckConstraint(
            "total_cents >= 0 AND paid_cents >= 0 AND paid_cents <= committed_cents AND committed_cents <= total_cents",
            name="ck_envelope_movements_balances",
        ),
    )

    envelope_id: uuid.UUID = Field(sa_column=Column(ForeignKey("envelopes.id"), nullable=False))
    # The envelope's version after the movement: unique per envelope, it orders the ledger.
    sequence: int
    kind: str = Field(max_length=16)
    # The signed change of the balance the kind moves: the total (opened, total_changed), the committed amount
    # (committed +, released -) or the paid one (paid). Commitments and releases add up to `committed_cents`.
    amount_cents: int = Field(sa_type=BigInteger, nullable=False)
    total_cents: int = Field(sa_type=BigInteger, nullable=False)
    committed_cents: int = Field(sa_type=BigInteger, nullable=False)
    paid_cents: int = Field(sa_type=BigInteger, nullable=False)
    dossier_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("dossiers.id"), index=True, nullable=True)
    )
    actor: str = Field(max_length=200)
