"""What the database says now, checked on identity's own administrative routes: an access token lives out its ten
minutes, but the roles it carries must not let someone removed or demoted meanwhile invite a second mailbox of
theirs, mint a machine client or give themselves their role back (each of which outlives the token). Identity owns
this data, so the check is one indexed read; the other services trust the token for its short life."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Authorize
from common.db import Database, utcnow
from common.problems import Forbidden, Text
from common.tokens import Principal
from services.identity import repository
from services.identity.sign_in import ACTIVE


def access_changed() -> Forbidden:
    return Forbidden(
        Text("Vos droits ont changé depuis la délivrance de ce jeton : reconnectez-vous.",
             "Your access changed since this token was issued: sign in again."),
        code="access_changed",
    )


async def require_current(
    session: AsyncSession, principal: Principal, roles: frozenset[str]
) -> None:
    """403 access_changed unless the caller still holds one of `roles` in its organisation, which is still active:
    a person by their membership, a machine client by its registration (not revoked, not expired)."""
    if principal.organisation_id is None:
        raise access_changed()
    organisation = await repository.organisation_by_id(session, principal.organisation_id)
    if organisation is None or organisation.status != ACTIVE:
        raise access_changed()
    if principal.kind == "user":
        membership = await repository.membership(session, uuid.UUID(principal.subject), principal.organisation_id)
        if membership is None or roles.isdisjoint(membership.roles):
            raise access_changed()
    elif principal.kind == "client":
        client = await repository.client_by_client_id(session, principal.subject)
        # Real time, as the client-credentials grant reads the client's expiry.
        if (client is None or client.organisation_id != principal.organisation_id or client.revoked_at is not None
                or client.expires_at <= utcnow()):
            raise access_changed()
    else:
        raise access_changed()


def current(roles: frozenset[str] | set[str]) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the token's role check (401/403 as everywhere), then the database's word on it."""
    wanted = frozenset(roles)
    authorize = Authorize(roles=wanted)

    async def dependency(principal: Annotated[Principal, Depends(authorize)], request: Request) -> Principal:
        # On a reader: the request's writer (which on SQLite takes the database's write lock from its first
        # statement) must not start before the route's own reservations, such as the Idempotency-Key's.
        database: Database = request.app.state.db
        async with database.transaction(write=False) as reader:
            await require_current(reader, principal, wanted)
        return principal

    return dependency
