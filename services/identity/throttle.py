"""Password guessing, held back before any hash is computed: failures per account and per address within a
window (rows, so every process counts them), and checks running at once per address (this process)."""

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from common.client_address import client_of
from common.problems import Text, TooManyRequests
from services.identity import repository
from services.identity.passwords import Passwords
from services.identity.settings import IdentitySettings


def client_address(request: Request) -> str | None:
    """The caller's address: the peer, or the client a trusted proxy (the gateway) names (common.client_address)."""
    peer = request.client.host if request.client else None
    return client_of(peer, request.headers.getlist("x-forwarded-for"), request.app.state.trusted_proxies)


def _too_many(retry_after: int, detail: Text) -> TooManyRequests:
    return TooManyRequests(detail, headers={"Retry-After": str(max(1, retry_after))})


async def check_failures(
    session: AsyncSession, settings: IdentitySettings, *, email: str, ip: str | None, now: datetime
) -> None:
    """429 while the account, or the address, has failed too often within the window."""
    window = timedelta(seconds=settings.login_failure_window_seconds)
    since = now - window
    count, oldest = await repository.count_recent_failures(session, since, email=email)
    if count >= settings.login_max_failures and oldest is not None:
        raise _too_many(
            math.ceil((oldest + window - now).total_seconds()),
            Text("Trop d'échecs de connexion pour ce compte ; réessayez plus tard.",
                 "Too many failed logins for this account; try again later."),
        )
    if ip is None:
        return
    count, oldest = await repository.count_recent_failures(session, since, ip=ip)
    if count >= settings.login_max_failures_per_ip and oldest is not None:
        raise _too_many(
            math.ceil((oldest + window - now).total_seconds()),
            Text("Trop d'échecs de connexion depuis cette adresse ; réessayez plus tard.",
                 "Too many failed logins from this address; try again later."),
        )


class AddressGate:
    """At most `limit` password checks at once per address: the rest are refused at once (429) instead of queueing
    in front of everyone else's login for the hashing threads."""

    def __init__(self, limit: int):
        self.limit = limit
        self.running: dict[str, int] = {}

    @asynccontextmanager
    async def enter(self, address: str | None) -> AsyncIterator[None]:
        key = address or "unknown"
        if self.running.get(key, 0) >= self.limit:
            raise _too_many(1, Text("Trop de connexions simultanées depuis cette adresse.",
                                    "Too many simultaneous logins from this address."))
        self.running[key] = self.running.get(key, 0) + 1
        try:
            yield
        finally:
            left = self.running[key] - 1
            if left:
                self.running[key] = left
            else:
                del self.running[key]


class GatedPasswords:
    """argon2 on behalf of one caller who needs no account (a sign-up, an invitation accepted, a reset confirmed):
    at most a few at once from one address, like the login checks, so that those routes cannot be used to fill the
    hashing threads in front of everyone else's login."""

    def __init__(self, passwords: Passwords, gate: AddressGate, address: str | None):
        self.passwords, self.gate, self.address = passwords, gate, address

    async def hash(self, password: str) -> str:
        async with self.gate.enter(self.address):
            return await self.passwords.hash(password)
