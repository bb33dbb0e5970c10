"""Identity's tables. Its own metadata: no other service's table is known here."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from common.db import UtcDateTime, utcnow
from common.idempotency import idempotency_table
from common.ids import time_ordered_uuid


class IdentityTable(SQLModel, registry=registry()):
    pass


metadata = IdentityTable.metadata
idempotency_keys = idempotency_table(metadata)


def _timestamp(*, index: bool = False) -> Any:
    """Any, as Field() itself is: the column's attribute is typed by its annotation (datetime)."""
    return Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False, index=index)


class Organisation(IdentityTable, table=True):
    __tablename__ = "organisations"
    __table_args__ = (
        # An entry of a tribunal's register of associations names one association (NULLs never collide).
        UniqueConstraint("register_court", "register_volume", "register_folio", name="uq_organisations_register"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(max_length=32, index=True)
    name: str = Field(max_length=200)
    siret: str | None = Field(default=None, max_length=14, unique=True)
    rna: str | None = Field(default=None, max_length=10, unique=True)
    # The seat's département (INSEE code): 57, 67 and 68 are under the local law of Alsace-Moselle.
    department: str | None = Field(default=None, max_length=3)
    # Alsace-Moselle associations: their entry in the register of associations kept by the tribunal judiciaire.
    register_court: str | None = Field(default=None, max_length=200)
    register_volume: str | None = Field(default=None, max_length=16)
    register_folio: str | None = Field(default=None, max_length=16)
    # Older associations without an RNA elsewhere: the prefecture's receipt of their declaration.
    prefecture_receipt: str | None = Field(default=None, max_length=50)
    # For funders: state, city, epci, departement, region, caf, landlord, foundation, other.
    funder_category: str | None = Field(default=None, max_length=32)
    # For citizen councils: the QPVs they speak for.
    qpv_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    address: str | None = Field(default=None, max_length=300)
    email: str | None = Field(default=None, max_length=254)
    # active, or suspended by the platform's admin: then none of its people or clients obtains a token.
    status: str = Field(default="active", max_length=16, nullable=False)
    suspended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    suspended_reason: str | None = Field(default=None, max_length=500)
    version: int = Field(default=1, nullable=False)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp(index=True)

    @property
    def local_register(self) -> dict[str, str] | None:
        """The register entry as the API shows it: one object, all three parts or none."""
        if self.register_court is None or self.register_volume is None or self.register_folio is None:
            return None
        return {"court": self.register_court, "volume": self.register_volume, "folio": self.register_folio}


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
    version: int = Field(default=1, nullable=False)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


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
    """A refused password: counted per account and per address, so that one flood neither locks a stranger out
    nor gets through by changing accounts."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_email_at", "email", "failed_at"),
        Index("ix_login_failures_ip_at", "ip", "failed_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=254)
    ip: str | None = Field(default=None, max_length=45)
    failed_at: datetime = _timestamp()


class PendingSignup(IdentityTable, table=True):
    """An association's sign-up waiting for its admin to prove the email: nothing else exists until then, so an
    unproven sign-up holds no address, SIRET or RNA; it expires."""

    __tablename__ = "pending_signups"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    email: str = Field(max_length=254, index=True)
    full_name: str = Field(max_length=200)
    password_hash: str = Field(max_length=255)
    # The organisation's columns as asked (name, siret, rna, department, register_*, prefecture_receipt, address,
    # email); rows written before the register columns existed lack them (their defaults apply).
    organisation: dict = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UtcDateTime, nullable=False, index=True)


class Invitation(IdentityTable, table=True):
    """An admin's offer of roles in its organisation to an email; nothing is attached until the invitee accepts
    with the single-use token mailed to that address (stored hashed)."""

    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_organisation_email", "organisation_id", "email"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    email: str = Field(max_length=254)
    roles: list[str] = Field(sa_column=Column(JSON, nullable=False))
    token_hash: str = Field(max_length=64, unique=True)
    invited_by: uuid.UUID = Field(foreign_key="people.id")
    # pending (not yet handed over), sent or failed: the admin sees a mail that did not leave and resends.
    mail_state: str = Field(default="pending", max_length=16, nullable=False)
    expires_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    accepted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    accepted_by: uuid.UUID | None = Field(default=None, foreign_key="people.id")
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    revoked_by: uuid.UUID | None = Field(default=None, foreign_key="people.id")
    version: int = Field(default=1, nullable=False)
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UtcDateTime, nullable=False)


class PasswordReset(IdentityTable, table=True):
    """A forgotten password's single-use token, mailed to the person (stored hashed), short-lived."""

    __tablename__ = "password_resets"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID = Field(foreign_key="people.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class AuditEvent(IdentityTable, table=True):
    """Who did what to whose membership, invitation, password or organisation: written in the change's own
    transaction, never updated."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_organisation_at", "organisation_id", "created_at"),)

    # Time-ordered: entries of the same instant (one transaction) are read back in the order they were written.
    id: uuid.UUID = Field(default_factory=time_ordered_uuid, primary_key=True)
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False, index=True)
    action: str = Field(max_length=64)
    # The caller: a person's id, a client id, or "anonymous" (a sign-up, a reset by mail).
    actor: str = Field(max_length=200)
    actor_organisation_id: uuid.UUID | None = Field(default=None)
    organisation_id: uuid.UUID | None = Field(default=None)
    person_id: uuid.UUID | None = Field(default=None, index=True)
    email: str | None = Field(default=None, max_length=254)
    details: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    request_id: str | None = Field(default=None, max_length=128)


class OrganisationProfile(IdentityTable, table=True):
    """An association's answers to the identification pages of the CERFA 12156: entered once, read by every
    dossier (the funding service snapshots it at submission)."""

    __tablename__ = "organisation_profiles"
    __table_args__ = (
        CheckConstraint(
            "volunteers >= 0 AND employees >= 0 AND fte_hundredths >= 0 AND members >= 0",
            name="ck_organisation_profiles_counts",
        ),
        CheckConstraint(
            "paying_members IS NULL OR (paying_members >= 0 AND paying_members <= members)",
            name="ck_organisation_profiles_paying_members",
        ),
        # The contact person is all there or all absent.
        CheckConstraint(
            "(contact_name IS NULL) = (contact_function IS NULL) AND (contact_name IS NULL) = (contact_email IS NULL)",
            name="ck_organisation_profiles_contact_whole",
        ),
        CheckConstraint(
            "legal_person_members >= 0 AND civic_service_volunteers >= 0 AND seconded_public_staff >= 0",
            name="ck_organisation_profiles_more_counts",
        ),
        # The contrat d'engagement républicain is signed by someone on a day, or not at all.
        CheckConstraint(
            "(republican_contract_signed_on IS NULL) = (republican_contract_signatory IS NULL)",
            name="ck_organisation_profiles_republican_contract_whole",
        ),
    )

    organisation_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    )
    representative_name: str = Field(max_length=200)
    representative_function: str = Field(max_length=100)
    representative_email: str = Field(max_length=254)
    representative_phone: str | None = Field(default=None, max_length=20)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_function: str | None = Field(default=None, max_length=100)
    contact_email: str | None = Field(default=None, max_length=254)
    contact_phone: str | None = Field(default=None, max_length=20)
    street_lines: list[str] = Field(sa_column=Column(JSON, nullable=False))
    postcode: str = Field(max_length=5)
    city: str = Field(max_length=100)
    insee_code: str | None = Field(default=None, max_length=5)
    volunteers: int = Field(nullable=False)
    employees: int = Field(nullable=False)
    # Full-time equivalents in hundredths (3.50 FTE = 350): exact, never a float.
    fte_hundredths: int = Field(nullable=False)
    members: int = Field(nullable=False)
    paying_members: int | None = Field(default=None)
    # --- More of the CERFA 12156's identification pages (server defaults: rows of before, and the seeds' loaders).
    acronym: str | None = Field(default=None, max_length=50)
    purpose: str | None = Field(default=None, max_length=2000)  # the statutes' object
    activities: str | None = Field(default=None, max_length=2000)
    # Where mail goes, when it is not the registered address: {street_lines, postcode, city, insee_code}.
    correspondence_address: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    public_utility_recognised_on: date | None = Field(default=None)  # reconnue d'utilité publique: the decree's date
    statutory_auditor: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    legal_person_members: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    civic_service_volunteers: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    seconded_public_staff: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # The first day of the fiscal year, "MM-DD" (it ends the day before, a year later).
    fiscal_year_start: str = Field(
        default="01-01", sa_column=Column(String(5), nullable=False, server_default="01-01")
    )
    # The contrat d'engagement républicain (loi 2021-1109, décret 2021-1947): who signed it, and when.
    republican_contract_signed_on: date | None = Field(default=None)
    republican_contract_signatory: str | None = Field(default=None, max_length=200)
    # --- end
    version: int = Field(default=1, nullable=False)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp(index=True)
    updated_by: str = Field(max_length=64)


def _profile_child() -> Any:
    return Field(
        sa_column=Column(
            ForeignKey("organisation_profiles.organisation_id", ondelete="CASCADE"), index=True, nullable=False
        )
    )


class ProfileApproval(IdentityTable, table=True):
    """An approval (agrément) the association holds."""

    __tablename__ = "organisation_approvals"
    __table_args__ = (UniqueConstraint("organisation_id", "position", name="uq_organisation_approvals_position"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = _profile_child()
    position: int
    kind: str = Field(max_length=200)
    number: str | None = Field(default=None, max_length=50)
    authority: str = Field(max_length=200)
    granted_on: date


class ProfileNetwork(IdentityTable, table=True):
    """A federation or network the association belongs to."""

    __tablename__ = "organisation_networks"
    __table_args__ = (UniqueConstraint("organisation_id", "position", name="uq_organisation_networks_position"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = _profile_child()
    position: int
    name: str = Field(max_length=200)
    siret: str | None = Field(default=None, max_length=14)
    rna: str | None = Field(default=None, max_length=10)


class ProfilePublicAid(IdentityTable, table=True):
    """One line of the public aid received over the last three years, as the association declares it."""

    __tablename__ = "organisation_public_aid"
    __table_args__ = (
        UniqueConstraint("organisation_id", "position", name="uq_organisation_public_aid_position"),
        CheckConstraint("amount_cents > 0", name="ck_organisation_public_aid_amount_positive"),
        CheckConstraint("nature IN ('cash', 'in_kind')", name="ck_organisation_public_aid_nature"),
        CheckConstraint("source IN ('declared')", name="ck_organisation_public_aid_source"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = _profile_child()
    position: int
    year: int
    funder_name: str = Field(max_length=200)
    funder_organisation_id: uuid.UUID | None = Field(default=None, foreign_key="organisations.id")
    amount_cents: int = Field(sa_type=BigInteger, nullable=False)
    purpose: str = Field(max_length=300)
    nature: str = Field(max_length=16)
    source: str = Field(default="declared", max_length=16)
