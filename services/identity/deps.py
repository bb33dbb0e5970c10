"""Identity's typed dependencies: what the app built at start-up (app.state), the caller's address, and the
organisation a route is about (loaded, or locked with If-Match checked; 404 for one the caller may not see)."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from common.db import Database
from common.mail import Mailer
from common.resources import locked_resource, resource
from services.identity import accounts
from services.identity.guards import DirectoryRead, OrganisationAdmin, PlatformAdmin
from services.identity.keys import KeyStore
from services.identity.models import Organisation
from services.identity.passwords import Passwords
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
        if_match_required=True, idempotent=False,
    ),
]
# The platform's suspension or reactivation: If-Match optional.
MovedOrganisation = Annotated[
    Organisation,
    locked_resource(
        accounts.locked_organisation, path="organisation_id", caller=PlatformAdmin, if_match_required=False,
        idempotent=False,
    ),
]
