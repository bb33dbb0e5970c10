"""Identity's typed dependencies."""

from typing import Annotated

from fastapi import Depends, Request

from services.identity.keys import KeyStore
from services.identity.passwords import Passwords
from services.identity.sign_in import TokenIssuer


def _passwords(request: Request) -> Passwords:
    return request.app.state.passwords


def _issuer(request: Request) -> TokenIssuer:
    return request.app.state.issuer


def _keys(request: Request) -> KeyStore:
    return request.app.state.keys


PasswordsDep = Annotated[Passwords, Depends(_passwords)]
IssuerDep = Annotated[TokenIssuer, Depends(_issuer)]
KeysDep = Annotated[KeyStore, Depends(_keys)]
