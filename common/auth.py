"""Route guards: who may call a route, by role (people), role and scope (machine clients),
or scope (other services of the desk)."""

from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from common.problems import Forbidden, Text, Unauthorized
from common.tokens import Principal, TokenVerifier

bearer_scheme = HTTPBearer(auto_error=False, description="Jeton d'accès RS256 délivré par identity.")


async def optional_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized(Text("En-tête Authorization mal formé.", "Malformed Authorization header."))
    verifier: TokenVerifier = request.app.state.verifier
    return await verifier.verify(credentials.credentials)


class Authorize:
    """Dependency that returns the caller or answers 401/403 before any object is loaded."""

    def __init__(self, *, roles: Iterable[str] = (), scope: str | None = None, services: bool = False):
        self.roles = frozenset(roles)
        self.scope = scope
        self.services = services

    async def __call__(
        self, principal: Annotated[Principal | None, Depends(optional_principal)]
    ) -> Principal:
        if principal is None:
            raise Unauthorized(Text("Un jeton d'accès est requis.", "An access token is required."))
        if principal.kind == "service":
            allowed = self.services and self.scope is not None and self.scope in principal.scopes
        elif principal.kind == "client":
            allowed = principal.has_any_role(self.roles) and (self.scope is None or self.scope in principal.scopes)
        else:
            allowed = principal.has_any_role(self.roles)
        if not allowed:
            raise Forbidden(
                Text("Votre rôle ne permet pas cette action.", "Your role does not allow this action.")
            )
        return principal


AnyCaller = Annotated[Principal, Depends(optional_principal)]
