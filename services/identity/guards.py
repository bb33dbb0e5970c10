"""Who may call identity's routes: its guards, defined once and named for what they allow. Those of
`standing.current` ask the database too (a suspended organisation's or a removed member's token is refused)."""

from typing import Annotated

from fastapi import Depends

from common.auth import Authorize
from common.tokens import Principal
from services.identity import standing
from services.vocabulary import ADMIN_ROLES, EVERY_ROLE, Role, Scope

# The directory and the associations' profiles: every role and service passes; who reads an organisation's
# private parts is decided per organisation, and anyone else gets a 404.
DirectoryRead = Annotated[
    Principal, Depends(Authorize(roles=EVERY_ROLE, scope=Scope.organisations_read, services=True))
]
# Any signed-in member of an organisation (leaving it, their own account).
AnyMember = Annotated[Principal, Depends(Authorize(roles=EVERY_ROLE))]
# An organisation's admins (or the platform's): its card, members, invitations, machine clients, audit log.
OrganisationAdmin = Annotated[Principal, Depends(standing.current(ADMIN_ROLES))]
# The platform's admins: organisations registered, suspended, reactivated; the whole audit log.
PlatformAdmin = Annotated[Principal, Depends(standing.current({Role.platform_admin}))]
# An association's profile is written by its admin or the platform's. Machine clients act as holder_member (read
# only), and no scope lets a client write an organisation.
ProfileWrite = Annotated[Principal, Depends(standing.current({Role.holder_admin, Role.platform_admin}))]
