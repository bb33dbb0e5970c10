"""Identity's typed dependencies."""

from typing import Annotated

from fastapi import Depends, Request

from common.db import Database
from common.mail import Mailer
from services.identity.keys import KeyStore
from services.identity.passwords import Passwords
from services.identity.settings import IdentitySettings
from services.identity.sign_in import TokenIssuer
from services.identity.throttle import AddressGate, client_address


def _passwords(request: Request) -> Passwords:
    return request.app.state.passwords


def _issuer(request: Request) -> TokenIssuer:
    return request.app.state.issuer


def _keys(request: Request) -> KeyStore:
    return request.app.state.keys


def _database(request: Request) -> Database:
    return request.app.state.db


def _mailer(request: Request) -> Mailer:
    return request.app.state.mailer


def _settings(request: Request) -> IdentitySettings:
    return request.app.state.settings


def _gate(request: Request) -> AddressGate:
    return request.app.state.login_gate


def _address(request: Request) -> str | None:
    return client_address(request)


PasswordsDep = Annotated[Passwords, Depends(_passwords)]
IssuerDep = Annotated[TokenIssuer, Depends(_issuer)]
KeysDep = Annotated[KeyStore, Depends(_keys)]
DatabaseDep = Annotated[Database, Depends(_database)]
MailerDep = Annotated[Mailer, Depends(_mailer)]
SettingsDep = Annotated[IdentitySettings, Depends(_settings)]
GateDep = Annotated[AddressGate, Depends(_gate)]
# The caller's address (the gateway's X-Forwarded-For when it comes through the gateway).
AddressDep = Annotated[str | None, Depends(_address)]
