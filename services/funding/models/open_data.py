"""The open-data rows: what the SCDL export publishes of a grant, written once the grant is notified and kept as a
fact of its year (a CPO has one per year of its amounts)."""

import uuid
from datetime import date

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, UniqueConstraint
from sqlmodel import Field

from services.funding.models.base import CreatedAt, FundingTable, IdColumn


class OpenDataRow(FundingTable, IdColumn, CreatedAt, table=True):
    """One grant's published row for one year, frozen when the grant was notified (in the notification's
    transaction): the parties' names and identifiers as identity gave them then, the amount of that year, the
    object, the references. Only a CPO amendment of that very year changes its amount. The payment period is read
    live from the payments of that year; the period scheduled at the notification stands in once none is left."""

    __tablename__ = "open_data_rows"
    __table_args__ = (
        UniqueConstraint("grant_id", "year", name="uq_open_data_rows_grant_year"),
        CheckConstraint("amount_cents > 0", name="ck_open_data_rows_amount_positive"),
        Index("ix_open_data_rows_funder_year_created", "funder_id", "year", "created_at", "id"),
    )

    grant_id: uuid.UUID = Field(sa_column=Column(ForeignKey("grants.id"), nullable=False))
    agreement_id: uuid.UUID = Field(sa_column=Column(ForeignKey("agreements.id"), nullable=False, index=True))
    funder_id: uuid.UUID = Field(nullable=False)
    organisation_id: uuid.UUID = Field(nullable=False)
    year: int
    notified_on: date
    reference_decision: str = Field(max_length=100)
    # Identity's facts at the notification; None on a row written before they were kept (read live then).
    funder_name: str | None = Field(default=None, max_length=300)
    funder_siret: str | None = Field(default=None, max_length=20)
    beneficiary_name: str | None = Field(default=None, max_length=300)
    beneficiary_siret: str | None = Field(default=None, max_length=20)
    beneficiary_rna: str | None = Field(default=None, max_length=20)
    # Why the row cannot be published (the beneficiary has neither a SIRET nor an RNA the schema takes); None: it is.
    excluded_reason: str | None = Field(default=None, max_length=40)
    object: str = Field(max_length=500)
    amount_cents: int = Field(sa_type=BigInteger, nullable=False)
    nature: str = Field(max_length=40)
    notification_ue: bool
    id_rae: str | None = Field(default=None, max_length=5)
    scheme: str | None = Field(default=None, max_length=200)
    scheduled_conditions: str = Field(max_length=16)
    scheduled_period: str = Field(max_length=21)
    # A CPO amendment of this very year: its date and reference, which the row then publishes as its act.
    amended_on: date | None = None
    amendment_reference: str | None = Field(default=None, max_length=100)
