"""Identity's API models: one family per entity (create, update, public)."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from common.problems import bilingual
from common.schemas import VISIBLE_CHARACTER, InputModel, WholeNumber, listed, without_null
from services.identifiers import Rna, Siret
from services.vocabulary import QPV_CODE_PATTERN, OrganisationKind, Role, Scope

# Stripped, then at least one character; the pattern says in the OpenAPI that a blank string is refused.
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=VISIBLE_CHARACTER, max_length=200)
]
Password = Annotated[str, StringConstraints(min_length=12, max_length=128)]
QpvCode = Annotated[str, StringConstraints(pattern=QPV_CODE_PATTERN), Field(examples=["QN03505M"])]
# The département of the seat, as INSEE writes it: 01 to 95 (Corsica 2A and 2B, no 20), overseas 971 to 976.
DEPARTMENT_PATTERN = r"^(?:0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-6])$"
Department = Annotated[
    str,
    StringConstraints(pattern=DEPARTMENT_PATTERN),
    Field(description="Département du siège (code INSEE : 35, 2A, 971). 57, 67 et 68 : droit local "
                      "d'Alsace-Moselle.", examples=["35"]),
]
# Volume and folio of a local register: numbers as the tribunal writes them ("72", "LXX", "123 bis").
RegisterReference = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=16,
                      pattern=r"^[0-9A-Za-z]+(?:[ /-][0-9A-Za-z]+)*$"),
]
FunderCategory = Literal["state", "city", "epci", "departement", "region", "caf", "landlord", "foundation", "other"]


class Input(InputModel):
    # Unknown (and privileged) fields are refused, never silently applied.
    model_config = ConfigDict(extra="forbid")


def _one_spacing(value: str) -> str:
    # One spelling per tribunal, whatever spaces were typed: the register's number is unique on it.
    return " ".join(value.split())


class LocalRegister(Input):
    """An Alsace-Moselle association's entry in the register of associations kept by the tribunal judiciaire of its
    seat (Moselle, Bas-Rhin, Haut-Rhin: local law, no prefecture declaration, often no RNA)."""

    court: Annotated[Name, AfterValidator(_one_spacing)] = Field(
        description="Tribunal qui tient le registre", examples=["Tribunal judiciaire de Strasbourg"]
    )
    volume: RegisterReference = Field(examples=["72"])
    folio: RegisterReference = Field(examples=["123"])


class OrganisationFields(Input):
    name: Name = Field(examples=["Association Blosne Avenir"])
    siret: Siret | None = Field(default=None, examples=["73282932000074"])
    rna: Rna | None = Field(default=None, examples=["W353012345"])
    department: Department | None = None
    local_register: LocalRegister | None = Field(
        default=None, description="Associations of départements 57, 67 and 68 only: their entry in the register."
    )
    prefecture_receipt: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=VISIBLE_CHARACTER)
    ] | None = Field(
        default=None,
        description="Older associations without an RNA: the number of the prefecture's receipt of their "
                    "declaration (not in Alsace-Moselle, where associations are registered by the tribunal).",
        examples=["Récépissé n° 1987-0412"],
    )
    address: Annotated[str, StringConstraints(max_length=300)] | None = None
    email: EmailStr | None = None


class AdminCreate(Input):
    email: EmailStr = Field(examples=["presidente@blosne-avenir.example"])
    full_name: Name = Field(examples=["Awa Diallo"])
    password: Password = Field(examples=["un-mot-de-passe-solide"])


IDENTIFYING_FIELDS = ("siret", "rna", "local_register", "prefecture_receipt")


class AssociationFields(OrganisationFields):
    """An association identifies itself by its SIRET, its RNA, its entry in a tribunal's register of associations
    (Alsace-Moselle: `department` 57, 67 or 68) or, for an older one, its prefecture receipt (checked by the
    sign-up with the département; said here for the OpenAPI)."""

    # "Not all missing (or null)": said with `not` rather than an `anyOf`, which client generators
    # (openapi-python-client) read as a union of partial objects and so lose the model and its required name.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "not": {"properties": {field: {"type": "null"} for field in IDENTIFYING_FIELDS}},
            "examples": [
                {"name": "Association Blosne Avenir", "siret": "73282932000074", "department": "35"},
                {"name": "Association des Jardins du Neudorf", "department": "67",
                 "local_register": {"court": "Tribunal judiciaire de Strasbourg", "volume": "72", "folio": "123"}},
            ],
        },
    )


class SignupRequest(Input):
    """An association signs itself up with its first admin."""

    organisation: AssociationFields
    admin: AdminCreate


class OrganisationCreate(OrganisationFields):
    kind: OrganisationKind
    funder_category: FunderCategory | None = None
    qpv_codes: list[QpvCode] = Field(default_factory=list, max_length=50)


class OrganisationUpdate(Input):
    # Left out keeps the name; null is refused below, so the OpenAPI shows none.
    name: Name | None = Field(default=None, json_schema_extra=without_null)
    address: Annotated[str, StringConstraints(max_length=300)] | None = None
    email: EmailStr | None = None

    @field_validator("name")
    @classmethod
    def _name_cannot_be_cleared(cls, value: str | None) -> str:
        # Leaving the name out keeps it; an explicit null would clear a required column.
        if value is None:
            raise ValueError(bilingual("Le nom ne peut pas être effacé.", "The name cannot be cleared."))
        return value


class LocalRegisterPublic(BaseModel):
    court: str
    volume: str
    folio: str


class OrganisationPublic(BaseModel):
    id: uuid.UUID
    kind: OrganisationKind
    name: str
    siret: str | None
    rna: str | None
    department: str | None
    local_register: LocalRegisterPublic | None = Field(description="Alsace-Moselle: the tribunal's register entry")
    prefecture_receipt: str | None
    funder_category: str | None = Field(json_schema_extra=listed(get_args(FunderCategory)))
    qpv_codes: list[str]
    address: str | None
    email: str | None
    status: Literal["active", "suspended"] = Field(
        description="suspended: none of its people or machine clients obtains a token until reactivated"
    )
    created_at: datetime
    updated_at: datetime


class PersonPublic(BaseModel):
    id: uuid.UUID
    email: str
    full_name: str


class SignupResult(BaseModel):
    organisation: OrganisationPublic
    admin: PersonPublic


class SignupPending(BaseModel):
    """The sign-up waits for its admin to open the link mailed to them; nothing exists until then."""

    status: Literal["verification_sent"] = "verification_sent"
    email: str
    expires_at: datetime


Token = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class SignupVerify(Input):
    token: Token = Field(description="The token of the link mailed at sign-up.")


class InvitationCreate(Input):
    email: EmailStr = Field(examples=["tresorier@blosne-avenir.example"])
    roles: list[Role] = Field(min_length=1, max_length=8, examples=[["holder_member"]])


InvitationState = Literal["pending", "accepted", "revoked", "expired"]
MailState = Literal["pending", "sent", "failed"]


class InvitationPublic(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    email: str
    roles: list[str] = Field(json_schema_extra=listed(Role))
    state: InvitationState
    mail_state: MailState = Field(description="Whether the mail with its link left")
    invited_by: uuid.UUID
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class InvitationAccept(Input):
    """A new person chooses a name and a password; an existing one signs in first and sends the token alone."""

    token: Token
    full_name: Name | None = None
    password: Password | None = None


class InvitationAccepted(BaseModel):
    organisation_id: uuid.UUID
    organisation_name: str
    person_id: uuid.UUID
    roles: list[str] = Field(json_schema_extra=listed(Role))


class MemberPublic(BaseModel):
    person_id: uuid.UUID
    email: str
    full_name: str
    roles: list[str] = Field(json_schema_extra=listed(Role))
    created_at: datetime
    updated_at: datetime


class MemberUpdate(Input):
    roles: list[Role] = Field(min_length=1, max_length=8, examples=[["holder_admin", "holder_member"]])


class SuspensionRequest(Input):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500,
                                             pattern=VISIBLE_CHARACTER)]


class PasswordChange(Input):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    new_password: Password


class PasswordResetRequest(Input):
    email: EmailStr


class PasswordResetRequested(BaseModel):
    """The same answer whether the address has an account or not."""

    status: Literal["accepted"] = "accepted"
    detail: str


class PasswordResetConfirm(Input):
    token: Token
    new_password: Password


class AuditEventPublic(BaseModel):
    id: uuid.UUID
    created_at: datetime
    action: str = Field(examples=["invitation.created"])
    actor: str = Field(description="A person's id, a machine client's id, or anonymous")
    actor_organisation_id: uuid.UUID | None
    organisation_id: uuid.UUID | None
    person_id: uuid.UUID | None
    email: str | None
    details: dict[str, Any]
    request_id: str | None


class MembershipView(BaseModel):
    organisation_id: uuid.UUID
    organisation_name: str
    organisation_kind: str = Field(json_schema_extra=listed(OrganisationKind))
    roles: list[str] = Field(json_schema_extra=listed(Role))


class Me(BaseModel):
    person: PersonPublic
    organisation_id: uuid.UUID | None
    roles: list[str] = Field(json_schema_extra=listed(Role))
    memberships: list[MembershipView]


class PasswordGrant(Input):
    grant_type: Literal["password"]
    username: EmailStr = Field(examples=["presidente@blosne-avenir.example"])
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    organisation_id: uuid.UUID | None = Field(
        default=None, description="Organisation to act for, when the person belongs to several."
    )


class ClientCredentialsGrant(Input):
    grant_type: Literal["client_credentials"]
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    client_secret: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    scope: Annotated[str, StringConstraints(max_length=500)] | None = None


TokenRequest = Annotated[PasswordGrant | ClientCredentialsGrant, Field(discriminator="grant_type")]


class RefreshRequest(Input):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str | None = None
    scope: str | None = None


class ClientCreate(Input):
    name: Name = Field(examples=["Logiciel de gestion de la fédération"])
    scopes: list[Scope] = Field(min_length=1, max_length=10)
    expires_in_days: Annotated[int, Field(strict=True, ge=1, le=730), WholeNumber] = 365  # `true` is no number


class ClientPublic(BaseModel):
    id: uuid.UUID
    client_id: str
    name: str
    scopes: list[str] = Field(json_schema_extra=listed(Scope))
    expires_at: datetime
    created_at: datetime
    revoked_at: datetime | None


class ClientCreated(ClientPublic):
    client_secret: str = Field(description="Shown once; stored hashed.")


class Jwks(BaseModel):
    keys: list[dict[str, str]]
