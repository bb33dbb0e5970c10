"""The words every service reads in a token (organisation kinds, roles and scopes) and the codes they share.

This is the contract between identity, which writes them, and the services that check them.
"""

from enum import StrEnum


class OrganisationKind(StrEnum):
    association = "association"
    funder = "funder"
    desk = "desk"
    citizen_council = "citizen_council"
    platform = "platform"


class Role(StrEnum):
    holder_admin = "holder_admin"
    holder_member = "holder_member"
    funder_instructor = "funder_instructor"
    funder_manager = "funder_manager"
    committee_member = "committee_member"
    desk_coordinator = "desk_coordinator"
    citizen_reviewer = "citizen_reviewer"
    platform_admin = "platform_admin"


ROLES_BY_KIND: dict[OrganisationKind, frozenset[Role]] = {
    OrganisationKind.association: frozenset({Role.holder_admin, Role.holder_member}),
    OrganisationKind.funder: frozenset({Role.funder_instructor, Role.funder_manager, Role.committee_member}),
    OrganisationKind.desk: frozenset({Role.desk_coordinator, Role.committee_member}),
    OrganisationKind.citizen_council: frozenset({Role.citizen_reviewer}),
    OrganisationKind.platform: frozenset({Role.platform_admin}),
}

# Who administers an organisation's members and machine clients.
ADMIN_ROLES: frozenset[Role] = frozenset(
    {Role.holder_admin, Role.funder_manager, Role.desk_coordinator, Role.platform_admin}
)

# The role a machine client of an organisation acts with.
CLIENT_ROLE_BY_KIND: dict[OrganisationKind, Role] = {
    OrganisationKind.association: Role.holder_member,
    OrganisationKind.funder: Role.funder_instructor,
    OrganisationKind.desk: Role.desk_coordinator,
    OrganisationKind.citizen_council: Role.citizen_reviewer,
}

HOLDER_ROLES = frozenset({Role.holder_admin, Role.holder_member})
FUNDER_ROLES = frozenset({Role.funder_instructor, Role.funder_manager, Role.committee_member})
DESK_ROLES = frozenset({Role.desk_coordinator})
COUNCIL_ROLES = frozenset({Role.citizen_reviewer})
EVERY_ROLE = frozenset(Role)


class Scope(StrEnum):
    organisations_read = "organisations:read"
    projects_read = "projects:read"
    projects_write = "projects:write"
    programmes_read = "programmes:read"
    programmes_write = "programmes:write"
    dossiers_read = "dossiers:read"
    dossiers_write = "dossiers:write"
    envelopes_read = "envelopes:read"
    envelopes_write = "envelopes:write"
    sessions_read = "sessions:read"
    sessions_write = "sessions:write"
    agreements_read = "agreements:read"
    agreements_write = "agreements:write"
    payments_read = "payments:read"
    payments_write = "payments:write"
    financial_reports_read = "financial-reports:read"
    financial_reports_write = "financial-reports:write"
    events_read = "events:read"
    webhooks_manage = "webhooks:manage"
    exports_read = "exports:read"
    # Only a service token: funding pins the document versions a submitted dossier references.
    documents_pin = "documents:pin"


# Scopes another service of the desk may hold in its service token.
SERVICE_SCOPES = frozenset(
    {Scope.organisations_read, Scope.projects_read, Scope.dossiers_read, Scope.documents_pin}
)


# QPV codes (2024 list), written by the projects' import and read by identity (citizen councils) and projects:
# `QN`, the département on three characters (`035`, `974`; Corsica `02A` and `02B`), a two-digit order number and a
# letter, e.g. QN03504M, QN02A02M. `[0-9]`, not `\d`: Python's `\d` also matches other scripts' digits.
QPV_DEPARTMENT = "(?:[0-9]{3}|02[AB])"
QPV_DEPARTMENT_PATTERN = f"^{QPV_DEPARTMENT}$"
QPV_CODE_PATTERN = f"^QN{QPV_DEPARTMENT}[0-9]{{2}}[A-Z]$"
# A commune's INSEE code: the département (01-98, Corsica 2A/2B), then three digits.
INSEE_COMMUNE_PATTERN = r"^(?:0[1-9]|[1-8][0-9]|9[0-8]|2[AB])[0-9]{3}$"
