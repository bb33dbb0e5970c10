"""Identity's tables. Its own metadata: no other service's table is known here."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from common.db import UtcDateTime, utcnow
from common.idempotency import idempotency_table


class IdentityTable(SQLModel, registry=registry()):
    pass


metadata = IdentityTable.metadata
idempotency_keys = idempotency_table(metadata)


def _timestamp(**kwargs: object) -> object:
    return Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False, **kwargs)


class Organisation(IdentityTable, table=True):
    __tablename__ = "organisations"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(max_length=32, index=True)
    name: str = Field(max_length=200)
    siret: str | None = Field(default=None, max_length=14, unique=True)
    rna: str | None = Field(default=None, max_length=10, unique=True)
    # For funders: state, city, epci, departement, region, caf, landlord, foundation, other.
    funder_category: str | None = Field(default=None, max_length=32)
    # For citizen councils: the QPVs they speak for.
    qpv_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    address: str | None = Field(default=None, max_length=300)
    email: str | None = Field(default=None, max_length=254)
    version: int = Field(default=1, nullable=False)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp(index=True)


class Person(IdentityTable, table=True):
    __tablename__ = "people"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    full_name: str = Field(max_length=200)
    password_hash: str = Field(max_length=255)
    is_active: bool = Field(default=True, nullable=False)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class Membership(IdentityTable, table=True):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("person_id", "organisation_id", name="uq_membership_person_org"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID = Field(foreign_key="people.id", index=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    roles: list[str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _timestamp()


class RefreshToken(IdentityTable, table=True):
    """Opaque refresh tokens, stored hashed; one family per login, rotated at every use."""

    __tablename__ = "refresh_tokens"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    family_id: uuid.UUID = Field(index=True)
    person_id: uuid.UUID = Field(foreign_key="people.id", index=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisations.id")
    issued_at: datetime = _timestamp()
    expires_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class MachineClient(IdentityTable, table=True):
    """A partner system acting for one organisation with limited scopes (OAuth2 client credentials)."""

    __tablename__ = "machine_clients"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: str = Field(max_length=64, unique=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    name: str = Field(max_length=200)
    secret_hash: str = Field(max_length=64)
    scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    expires_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    created_by: uuid.UUID = Field(foreign_key="people.id")
    created_at: datetime = _timestamp()
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class LoginFailure(IdentityTable, table=True):
    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_email_at", "email", "failed_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=254)
    failed_at: datetime = _timestamp()
