"""Identity's typed dependencies: what the app built at start-up (app.state), the caller's address, and the
organisation a route is about (loaded, or locked with If-Match checked; 404 for one the caller may not see)."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from common.db import Database, SessionDep
from common.etag import check_if_match
from common.mail import Mailer
from common.resources import locked_resource, resource, validated_body
from services.identity import accounts, invitations, members, profiles
from services.identity.guards import AnyMember, DirectoryRead, OrganisationAdmin, PlatformAdmin, ProfileWrite
from services.identity.keys import KeyStore
from services.identity.models import Invitation, Membership, Organisation, OrganisationProfile, Person
from services.identity.passwords import Passwords
from services.identity.profile_schemas import ProfileIn
from services.identity.schemas import MemberUpdate, OrganisationUpdate, SuspensionRequest
from services.identity.settings import IdentitySettings
from services.identity.sign_in import TokenIssuer
from services.identity.throttle import AddressGate, GatedPasswords, client_address


def _from_state(name: str) -> Callable[[Request], Awaitable[Any]]:
    # async: a plain def would cost each request a hop to the thread pool for an attribute read.
    async def dependency(request: Request) -> Any:
        return getattr(request.app.state, name)

    dependency.__name__ = f"app_state_{name}"
    return dependency


PasswordsDep = Annotated[Passwords, Depends(_from_state("passwords"))]
IssuerDep = Annotated[TokenIssuer, Depends(_from_state("issuer"))]
KeysDep = Annotated[KeyStore, Depends(_from_state("keys"))]
DatabaseDep = Annotated[Database, Depends(_from_state("db"))]
MailerDep = Annotated[Mailer, Depends(_from_state("mailer"))]
SettingsDep = Annotated[IdentitySettings, Depends(_from_state("settings"))]
GateDep = Annotated[AddressGate, Depends(_from_state("login_gate"))]


async def _address(request: Request) -> str | None:
    return client_address(request)


# The caller's address (the gateway's X-Forwarded-For when it comes through the gateway).
AddressDep = Annotated[str | None, Depends(_address)]


async def _gated_passwords(request: Request, address: AddressDep) -> GatedPasswords:
    return GatedPasswords(request.app.state.passwords, request.app.state.login_gate, address)


# Hashing for a caller without an account (sign-up, invitation, reset), capped per address.
GatedPasswordsDep = Annotated[GatedPasswords, Depends(_gated_passwords)]


CurrentOrganisation = Annotated[
    Organisation, resource(accounts.readable_organisation, path="organisation_id", caller=DirectoryRead)
]
AdministeredOrganisation = Annotated[
    Organisation, resource(accounts.own_administered_organisation, path="organisation_id", caller=OrganisationAdmin)
]
# Its admin's edit of the card: If-Match required.
EditedOrganisation = Annotated[
    Organisation,
    locked_resource(
        accounts.locked_administered_organisation, path="organisation_id", caller=OrganisationAdmin,
        if_match_required=True, idempotent=False, before=[validated_body(OrganisationUpdate)],
    ),
]
# The platform's suspension (its reason read before the lock) or reactivation: If-Match optional.
SuspendedOrganisation = Annotated[
    Organisation,
    locked_resource(
        accounts.locked_organisation, path="organisation_id", caller=PlatformAdmin, if_match_required=False,
        idempotent=False, before=[validated_body(SuspensionRequest)],
    ),
]
MovedOrganisation = Annotated[
    Organisation,
    locked_resource(
        accounts.locked_organisation, path="organisation_id", caller=PlatformAdmin, if_match_required=False,
        idempotent=False,
    ),
]
# The organisation locked for a change of its members or invitations (every change of one organisation's members
# waits its turn), If-Match, if any, being the member's.
LockedAdministeredOrganisation = Annotated[
    Organisation,
    resource(accounts.locked_administered_organisation, path="organisation_id", caller=OrganisationAdmin),
]


async def _person_id(person_id: uuid.UUID) -> uuid.UUID:
    return person_id


# A person's id, read as a dependency solved after the organisation's: OpenAPI then lists the path's parameters in
# the path's order (a route's own parameters come before its dependencies').
PersonId = Annotated[uuid.UUID, Depends(_person_id)]


async def _current_member(
    organisation: AdministeredOrganisation, person_id: PersonId, session: SessionDep
) -> tuple[Membership, Person]:
    return await members.member_of(session, organisation, person_id)


async def _edited_member(
    body: MemberUpdate, organisation: LockedAdministeredOrganisation, person_id: PersonId, request: Request,
    session: SessionDep,
) -> tuple[Organisation, Membership, Person]:
    """A member's roles about to change: If-Match required, checked against the membership locked; the route's
    `body` read first, so that an invalid one is a 422 whatever the If-Match."""
    membership, person = await members.member_of(session, organisation, person_id, for_update=True)
    check_if_match(request, membership.version)
    return organisation, membership, person


async def _leaving_member(
    organisation_id: uuid.UUID, person_id: PersonId, caller: AnyMember, request: Request, session: SessionDep
) -> tuple[Organisation, Membership]:
    """A membership about to go (`members.leaving_or_removed`): If-Match optional, checked against it locked."""
    organisation, membership = await members.leaving_or_removed(
        session, principal=caller, organisation_id=organisation_id, person_id=person_id
    )
    check_if_match(request, membership.version, required=False)
    return organisation, membership


# Members are an organisation's and two path parameters name them, which `common.resources` does not take: the
# same load (or load-lock-check) as its, by hand.
CurrentMember = Annotated[tuple[Membership, Person], Depends(_current_member)]
EditedMember = Annotated[tuple[Organisation, Membership, Person], Depends(_edited_member)]
LeavingMember = Annotated[tuple[Organisation, Membership], Depends(_leaving_member)]

CurrentProfile = Annotated[
    profiles.StoredProfile, resource(profiles.current_profile, path="organisation_id", caller=DirectoryRead)
]


async def _written_profile(
    organisation_id: uuid.UUID, admin: ProfileWrite, body: ProfileIn, request: Request, session: SessionDep
) -> tuple[Organisation, OrganisationProfile | None]:
    """The association locked and its profile, if any: a blank profile's ETag is "0", which the first PUT may send,
    or nothing (If-Match required once it exists), which `common.resources` does not say. The route's `body` is
    read first, so that an invalid one is a 422 whatever the If-Match."""
    organisation, current = await profiles.writable_association(
        session, principal=admin, organisation_id=organisation_id
    )
    check_if_match(request, profiles.version_of(current), required=current is not None)
    return organisation, current


WrittenProfile = Annotated[tuple[Organisation, OrganisationProfile | None], Depends(_written_profile)]


async def _invitation_id(invitation_id: uuid.UUID) -> uuid.UUID:
    return invitation_id


# Read after the organisation's, as `PersonId` is.
InvitationId = Annotated[uuid.UUID, Depends(_invitation_id)]


async def _current_invitation(
    organisation: AdministeredOrganisation, invitation_id: InvitationId, session: SessionDep
) -> tuple[Organisation, Invitation]:
    return organisation, await invitations.invitation_of(session, organisation, invitation_id)


async def _locked_invitation(
    organisation: AdministeredOrganisation, invitation_id: InvitationId, session: SessionDep
) -> tuple[Organisation, Invitation]:
    return organisation, await invitations.invitation_of(session, organisation, invitation_id, for_update=True)


# An organisation's invitation, for its admins (people only: the invitation names who invited), as read or locked
# for a move (revoke, resend).
CurrentInvitation = Annotated[tuple[Organisation, Invitation], Depends(_current_invitation)]
LockedInvitation = Annotated[tuple[Organisation, Invitation], Depends(_locked_invitation)]
