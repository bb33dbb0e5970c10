"""Tokens: password and client-credentials grants, refresh rotation with reuse detection, logout."""

import secrets
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import Database, utcnow
from common.problems import Problem, Text
from services.identity import repository, throttle
from services.identity.keys import KeyStore
from services.identity.models import MachineClient, Organisation, Person, RefreshToken
from services.identity.one_time import hash_secret, new_token
from services.identity.passwords import Passwords
from services.identity.schemas import ClientCredentialsGrant, PasswordGrant, TokenResponse
from services.identity.settings import IdentitySettings
from services.identity.throttle import AddressGate
from services.vocabulary import CLIENT_ROLE_BY_KIND, SERVICE_SCOPES, OrganisationKind, Role

SERVICE_CLIENT_PREFIX = "svc-"


class InvalidGrant(Problem):
    status, code, title = 400, "invalid_grant", Text("Identifiants refusés", "Credentials refused")


class InvalidClient(Problem):
    status, code, title = 401, "invalid_client", Text("Client refusé", "Client refused")


class TokenIssuer:
    def __init__(self, settings: IdentitySettings, keys: KeyStore):
        self.settings = settings
        self.keys = keys

    def access_token(
        self, *, subject: str, kind: str, organisation: Organisation | None, roles: list[str], scope: str = ""
    ) -> str:
        now = int(utcnow().timestamp())
        claims = {
            "iss": self.settings.token_issuer,
            "aud": self.settings.token_audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + self.settings.access_token_ttl_seconds,
            "jti": uuid.uuid4().hex,
            "kind": kind,
            "org": str(organisation.id) if organisation else None,
            "org_kind": organisation.kind if organisation else None,
            "roles": sorted(roles),
            "scope": scope,
        }
        return self.keys.sign(claims)


ACTIVE = "active"


async def password_grant(
    session: AsyncSession, *, database: Database, grant: PasswordGrant, passwords: Passwords, issuer: TokenIssuer,
    gate: AddressGate, ip: str | None,
) -> TokenResponse | None:
    """Returns the tokens, or None when the attempt failed and must be recorded.

    Everything is read on a reader session before the password is checked (in a worker thread): the request's
    writer, which on SQLite holds the database's write lock from its first statement, only starts afterwards."""
    email = grant.username.lower()
    async with database.transaction(write=False) as reader:
        await throttle.check_failures(reader, issuer.settings, email=email, ip=ip, now=utcnow())
        person = await repository.person_by_email(reader, email)
        memberships = await repository.memberships_of(reader, person.id) if person else []
    async with gate.enter(ip):
        verified = await passwords.verify(person.password_hash if person else None, grant.password)
    if not verified or not person or not person.is_active:
        return None
    # A suspended organisation's people obtain no token for it.
    memberships = [(m, o) for m, o in memberships if o.status == ACTIVE]
    if grant.organisation_id is not None:
        memberships = [(m, o) for m, o in memberships if o.id == grant.organisation_id]
    if not memberships:
        raise InvalidGrant(
            Text("Aucune organisation active pour ce compte.", "No active organisation for this account.")
        )
    membership, organisation = memberships[0]
    # The password was checked against what the reader saw. A reset or a change committed since then revoked every
    # family of the person: a family born now from the old password would outlive it. Locking the person's row
    # orders this login with them (on SQLite the writer's lock does).
    current = await session.get(Person, person.id, with_for_update=True, populate_existing=True)
    if current is None or current.password_hash != person.password_hash or not current.is_active:
        return None
    await repository.clear_failures(session, email)
    access = issuer.access_token(subject=str(person.id), kind="user", organisation=organisation, roles=membership.roles)
    refresh = await _new_refresh_token(session, issuer.settings, person, organisation, family_id=uuid.uuid4())
    return TokenResponse(
        access_token=access, expires_in=issuer.settings.access_token_ttl_seconds, refresh_token=refresh
    )


async def _new_refresh_token(
    session: AsyncSession,
    settings: IdentitySettings,
    person: Person,
    organisation: Organisation,
    *,
    family_id: uuid.UUID,
) -> str:
    value, token_hash = new_token("rt_")
    session.add(
        RefreshToken(
            token_hash=token_hash,
            family_id=family_id,
            person_id=person.id,
            organisation_id=organisation.id,
            expires_at=utcnow() + timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
    )
    await session.flush()
    return value


def _refused_refresh() -> InvalidGrant:
    return InvalidGrant(Text("Jeton de rafraîchissement invalide.", "Invalid refresh token."))


async def refresh(session: AsyncSession, *, token: str, issuer: TokenIssuer) -> TokenResponse | None:
    """Rotate: the used token dies, a new one of the same family is born. A reused token kills the family.

    Returns None when a reuse was detected: the family's revocation must be committed
    even though the caller gets an error.
    """
    stored = await repository.refresh_token_by_hash(session, hash_secret(token))
    now = utcnow()
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        raise _refused_refresh()
    if stored.used_at is not None or not await repository.mark_used_if_unused(session, stored.id, now):
        await repository.revoke_family(session, stored.family_id, now)
        return None
    person = await session.get(Person, stored.person_id)
    organisation = await session.get(Organisation, stored.organisation_id)
    membership = await repository.membership(session, stored.person_id, stored.organisation_id)
    if (
        person is None or organisation is None or membership is None or not person.is_active
        or organisation.status != ACTIVE
    ):
        raise _refused_refresh()
    access = issuer.access_token(subject=str(person.id), kind="user", organisation=organisation, roles=membership.roles)
    new_refresh = await _new_refresh_token(session, issuer.settings, person, organisation, family_id=stored.family_id)
    return TokenResponse(
        access_token=access, expires_in=issuer.settings.access_token_ttl_seconds, refresh_token=new_refresh
    )


async def logout(session: AsyncSession, *, token: str) -> None:
    """Revoke the whole family of the given refresh token; unknown tokens are ignored (nothing to reveal)."""
    stored = await repository.refresh_token_by_hash(session, hash_secret(token))
    if stored is not None:
        await repository.revoke_family(session, stored.family_id, utcnow())


def _requested_scopes(requested: str | None, granted: frozenset[str]) -> list[str]:
    if not requested:
        return sorted(granted)
    wanted = set(requested.split())
    if not wanted <= granted:
        raise InvalidGrant(
            Text("Portée demandée non accordée à ce client.", "Requested scope not granted to this client."),
            code="invalid_scope",
        )
    return sorted(wanted)


def _invalid_client() -> InvalidClient:
    return InvalidClient(Text("Identifiant ou secret du client refusé.", "Client id or secret refused."))


async def client_credentials_grant(
    session: AsyncSession, *, grant: ClientCredentialsGrant, issuer: TokenIssuer
) -> TokenResponse:
    settings = issuer.settings
    if grant.client_id.startswith(SERVICE_CLIENT_PREFIX):
        name = grant.client_id.removeprefix(SERVICE_CLIENT_PREFIX)
        expected = settings.service_clients.get(name)
        if expected is None or not secrets.compare_digest(expected, grant.client_secret):
            raise _invalid_client()
        scopes = _requested_scopes(grant.scope, frozenset(SERVICE_SCOPES))
        access = issuer.access_token(
            subject=grant.client_id, kind="service", organisation=None, roles=[], scope=" ".join(scopes)
        )
        return TokenResponse(access_token=access, expires_in=settings.access_token_ttl_seconds, scope=" ".join(scopes))
    client: MachineClient | None = await repository.client_by_client_id(session, grant.client_id)
    if (
        client is None
        or not secrets.compare_digest(client.secret_hash, hash_secret(grant.client_secret))
        or client.revoked_at is not None
        or client.expires_at <= utcnow()
    ):
        raise _invalid_client()
    organisation = await session.get(Organisation, client.organisation_id)
    if organisation is None or organisation.status != ACTIVE:
        raise _invalid_client()
    role: Role = CLIENT_ROLE_BY_KIND[OrganisationKind(organisation.kind)]
    scopes = _requested_scopes(grant.scope, frozenset(client.scopes))
    access = issuer.access_token(
        subject=client.client_id, kind="client", organisation=organisation, roles=[role], scope=" ".join(scopes)
    )
    return TokenResponse(access_token=access, expires_in=settings.access_token_ttl_seconds, scope=" ".join(scopes))
