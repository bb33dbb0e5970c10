"""The documents vault: an organisation's documents, their versions (metadata of content-addressed blobs), and the
versions that submitted dossiers reference (pins)."""

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, UniqueConstraint
from sqlmodel import Field

from common.db import UtcDateTime, utcnow
from services.projects.models.base import ProjectsTable, Timestamped, UuidKey, Versioned

DOCUMENT_KINDS = (
    "statutes",
    "board_members",
    "bank_details",
    "approved_accounts",
    "activity_report",
    "insurance_certificate",
    "other",
)
# Kinds kept once per financial year: they carry the year they speak of.
PER_YEAR_KINDS = frozenset({"approved_accounts", "activity_report"})


def _sql_list(values: tuple[str, ...] | frozenset[str]) -> str:
    return ", ".join(f"'{value}'" for value in sorted(values))


class Document(ProjectsTable, Timestamped, Versioned, UuidKey, table=True):
    """One document of an organisation (its statutes, its 2025 approved accounts…), replaced by new versions."""

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_sql_list(DOCUMENT_KINDS)})", name="ck_documents_kind"),
        CheckConstraint(
            f"(kind IN ({_sql_list(PER_YEAR_KINDS)})) = (year IS NOT NULL)", name="ck_documents_year_per_kind"
        ),
        Index("ix_documents_org_created", "organisation_id", "created_at", "id"),
        Index("ix_documents_org_kind", "organisation_id", "kind", "year"),
    )

    organisation_id: uuid.UUID = Field(nullable=False)
    kind: str = Field(max_length=32)
    year: int | None = Field(default=None)
    label: str = Field(default="", max_length=200)
    created_by: str = Field(max_length=200)


class DocumentVersion(ProjectsTable, UuidKey, table=True):
    """One upload: the metadata of a blob the storage keeps under its sha256 (never the bytes themselves)."""

    __tablename__ = "document_versions"
    __table_args__ = (
        UniqueConstraint("document_id", "number", name="uq_document_versions_number"),
        CheckConstraint("size_bytes > 0", name="ck_document_versions_size_positive"),
        CheckConstraint("length(sha256) = 64", name="ck_document_versions_sha256_length"),
    )

    document_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("documents.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    number: int = Field(nullable=False)
    sha256: str = Field(max_length=64, index=True)
    size_bytes: int = Field(sa_type=BigInteger, nullable=False)
    content_type: str = Field(max_length=100)  # sniffed from the bytes: what the download is served as
    declared_content_type: str = Field(max_length=100)  # what the client's multipart part said
    filename: str = Field(max_length=255)  # display only, sanitised; never a path
    valid_until: date | None = Field(default=None)
    uploaded_by: str = Field(max_length=200)
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)


PIN_STATES = ("reserved", "confirmed")


class DocumentPin(ProjectsTable, table=True):
    """A version referenced by a dossier's submission (funding's). `reserved` while funding has not committed the
    submission: it lapses at `reserved_until` (the sweep deletes it, and it never blocks a deletion afterwards);
    `confirmed` once funding has: the version can no longer be deleted. The foreign key refuses the deletion of
    a pinned version even if a rule were bypassed (hence an expired reservation is deleted before its version)."""

    __tablename__ = "document_pins"
    __table_args__ = (
        CheckConstraint(f"state IN ({_sql_list(PIN_STATES)})", name="ck_document_pins_state"),
        CheckConstraint("(state = 'reserved') = (reserved_until IS NOT NULL)", name="ck_document_pins_reserved_until"),
        Index("ix_document_pins_reserved_until", "reserved_until"),
        Index("ix_document_pins_dossier_attempt", "dossier_id", "attempt_id"),
    )

    version_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("document_versions.id", ondelete="RESTRICT"), primary_key=True)
    )
    dossier_id: uuid.UUID = Field(primary_key=True, index=True)
    organisation_id: uuid.UUID = Field(nullable=False)
    pinned_by: str = Field(max_length=200)
    pinned_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)
    # The submission attempt (funding's id) that reserved it; null for pins older than reservations.
    attempt_id: uuid.UUID | None = Field(default=None)
    state: str = Field(default="confirmed", max_length=16)
    confirmed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    reserved_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
