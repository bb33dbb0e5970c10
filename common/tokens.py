"""Access-token verification: RS256 only, key chosen by `kid` from a cached JWKS.

python-jose is wrapped once here: it would otherwise accept an HS256 token signed with the
public key when `algorithms` is missing, and it checks `iss`/`aud`/`exp` only when told.
"""

import asyncio
import contextlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

from jose import JWTError, jwk, jwt
from jose.backends.base import Key

from common.problems import ServiceUnavailable, Text, Unauthorized
from common.tasks import cancel_and_wait

ACCESS_TOKEN_TYP = "at+jwt"
ALLOWED_ALGORITHMS = ("RS256",)
# Headers that would make us fetch a key from wherever the token says: never followed.
FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c", "crit"})
PrincipalKind = Literal["user", "client", "service"]
log = logging.getLogger("tokens")


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the access token says."""

    subject: str
    kind: PrincipalKind
    organisation_id: UUID | None
    organisation_kind: str | None
    roles: frozenset[str]
    scopes: frozenset[str]
    token_id: str
    expires_at: int
    token: str = field(repr=False, default="")

    def has_any_role(self, roles: frozenset[str]) -> bool:
        return not self.roles.isdisjoint(roles)


def invalid_token(reason_fr: str, reason_en: str) -> Unauthorized:
    return Unauthorized(Text(reason_fr, reason_en), code="invalid_token")


class IdentityUnavailable(ServiceUnavailable):
    code = "identity_unavailable"


class JwksKeySource:
    """Public keys by kid from identity's JWKS: fetched at start-up, refreshed in the background every
    `refresh_seconds`, and at once when a token names an unknown kid (at most every `min_refresh_seconds` once a
    document is held, so that forged kids cannot make us hammer identity).

    A kid is refused (None: a 401) only by a JWKS that identity did send on the last attempt. When no key set
    could be had, or the last attempt failed and the kid is unknown, nobody can tell a good token from a forged
    one: `get` raises IdentityUnavailable (503), so that a client is not told to log in again."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[dict[str, Any]]],
        *,
        min_refresh_seconds: float = 10.0,
        refresh_seconds: float = 300.0,
        now: Callable[[], float] = time.monotonic,
    ):
        self._fetch = fetch
        self._keys: dict[str, Key] = {}
        self._min_refresh = min_refresh_seconds
        self._refresh = refresh_seconds
        # After a failed attempt the background tries again this soon (never spinning), and clients are told so.
        self.retry_seconds = max(min_refresh_seconds, 0.1)
        self._now = now
        self._held = False  # a document was fetched at least once
        self._fresh = False  # the last attempt fetched one
        self._attempted_at = 0.0
        self._attempts = 0
        self._lock = asyncio.Lock()
        self._first_attempt = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def fresh(self) -> bool:
        return self._fresh

    def load(self, document: dict[str, Any]) -> None:
        keys: dict[str, Key] = {}
        for entry in document.get("keys", []):
            if entry.get("kty") == "RSA" and entry.get("kid") and entry.get("alg", "RS256") == "RS256":
                keys[entry["kid"]] = jwk.construct(entry, "RS256")
        self._keys = keys
        self._held = self._fresh = True
        self._attempted_at = self._now()

    async def refresh(self) -> bool:
        """One attempt to fetch the document; False when identity did not give it (the keys held stay)."""
        async with self._lock:
            return await self._attempt()

    async def _attempt(self) -> bool:
        self._attempted_at = self._now()
        try:
            self.load(await self._fetch())
            return True
        except Exception as exc:  # identity unreachable, slow or answering nonsense: all the same here
            self._fresh = False
            log.warning("identity's keys could not be fetched: %r", exc)
            return False
        finally:
            self._attempts += 1  # counted once over, for those who waited on it (see `get`)
            self._first_attempt.set()

    async def get(self, kid: str) -> Key | None:
        key = self._keys.get(kid)
        if key is not None:
            return key
        seen = self._attempts
        async with self._lock:
            key = self._keys.get(kid)
            # An attempt that ended while we waited for the lock answers for us too: requests piling up while
            # identity hangs make one attempt, not one each.
            if key is None and self._attempts == seen and self._may_fetch():
                await self._attempt()
                key = self._keys.get(kid)
            if key is None and not self._fresh:
                raise IdentityUnavailable(
                    Text("Les clés d'identity sont momentanément indisponibles ; réessayez.",
                         "Identity's keys are unavailable for now; try again."),
                    retry_after=math.ceil(self.retry_seconds),
                )
            return key

    def _may_fetch(self) -> bool:
        return not self._held or self._now() - self._attempted_at >= self._min_refresh

    async def start(self, *, wait_seconds: float) -> None:
        """Fetch the keys in the background from now on, waiting at most `wait_seconds` for the first attempt:
        a service started while identity is away still starts (and answers 503 to tokens until it is back)."""
        if self._task is None:
            self._task = asyncio.create_task(self._keep_fresh(), name="jwks-refresh")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_attempt.wait(), wait_seconds)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _keep_fresh(self) -> None:
        while True:
            fetched = await self.refresh()
            await asyncio.sleep(self._refresh if fetched else self.retry_seconds)


class TokenVerifier:
    """Checks an access token once, then remembers it until it expires."""

    def __init__(self, keys: JwksKeySource, *, issuer: str, audience: str, cache_size: int = 10_000):
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self._cache: OrderedDict[str, Principal] = OrderedDict()
        self._cache_size = cache_size

    async def verify(self, token: str) -> Principal:
        cached = self._cache.get(token)
        now = time.time()
        if cached is not None:
            if cached.expires_at > now:
                return cached
            self._cache.pop(token, None)
        principal = await self._verify_uncached(token)
        self._cache[token] = principal
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return principal

    def forget(self, token: str) -> None:
        self._cache.pop(token, None)

    async def _verify_uncached(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except JWTError as exc:
            raise invalid_token("Jeton illisible.", "Unreadable token.") from exc
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise invalid_token("Algorithme de signature refusé.", "Signature algorithm refused.")
        if header.get("typ") != ACCESS_TOKEN_TYP:
            raise invalid_token("Ce jeton n'est pas un jeton d'accès.", "Not an access token.")
        if FORBIDDEN_HEADERS.intersection(header):
            raise invalid_token("En-têtes de jeton refusés.", "Token headers refused.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise invalid_token("Clé de signature inconnue.", "Unknown signing key.")
        key = await self.keys.get(kid)
        if key is None:
            raise invalid_token("Clé de signature inconnue.", "Unknown signing key.")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(ALLOWED_ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                options={
                    "require_exp": True,
                    "require_iat": True,
                    "require_nbf": True,
                    "require_aud": True,
                    "require_iss": True,
                    "require_sub": True,
                    "require_jti": True,
                    "leeway": 5,
                },
            )
        except JWTError as exc:
            raise invalid_token("Jeton invalide ou expiré.", "Invalid or expired token.") from exc
        return principal_from_claims(claims, token)


def principal_from_claims(claims: dict[str, Any], token: str) -> Principal:
    try:
        kind = claims["kind"]
        if kind not in ("user", "client", "service"):
            raise ValueError(kind)
        org = claims.get("org")
        roles = claims.get("roles", [])
        scope = claims.get("scope", "")
        if not isinstance(roles, list) or not isinstance(scope, str):
            raise ValueError("roles/scope")
        return Principal(
            subject=str(claims["sub"]),
            kind=kind,
            organisation_id=UUID(org) if org else None,
            organisation_kind=claims.get("org_kind"),
            roles=frozenset(str(r) for r in roles),
            scopes=frozenset(scope.split()),
            token_id=str(claims["jti"]),
            expires_at=int(claims["exp"]),
            token=token,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise invalid_token("Revendications du jeton invalides.", "Invalid token claims.") from exc


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
