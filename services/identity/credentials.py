"""A person's password: changed knowing the current one, or reset through a single-use token mailed to the
address. Either way every refresh token of the person dies: sessions opened elsewhere end at their next refresh."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import Database, utcnow
from common.problems import BadRequest, NotFound, Problem, Text, UnprocessableContent
from common.tokens import Principal
from services.identity import audit, repository, throttle
from services.identity.models import LoginFailure, PasswordReset, Person
from services.identity.one_time import hash_secret, new_token
from services.identity.passwords import Passwords
from services.identity.settings import IdentitySettings
from services.identity.throttle import GatedPasswords

# One reset mail per address at most this often: a flood of requests sends no flood of mails.
RESET_MAIL_INTERVAL = timedelta(seconds=60)


async def change_password(
    session: AsyncSession, *, database: Database, principal: Principal, current: str, new: str, passwords: Passwords,
    settings: IdentitySettings, ip: str | None, now: datetime,
) -> Problem | None:
    """None once changed; the problem to answer when the current password is wrong (answered, not raised, so that
    the failure it records is committed)."""
    if current == new:
        raise UnprocessableContent(
            Text("Le nouveau mot de passe doit différer de l'actuel.", "The new password must differ."),
            errors=[("body.new_password", Text("Identique à l'actuel.", "Same as the current one."))],
            code="password_unchanged",
        )
    # Read apart from the request's writer, which on SQLite would hold the write lock through the hashing.
    async with database.transaction(write=False) as reader:
        person = await reader.get(Person, uuid.UUID(principal.subject)) if principal.kind == "user" else None
        if person is None or not person.is_active:
            raise NotFound(Text("Aucune personne derrière ce jeton.", "No person behind this token."))
        await throttle.check_failures(reader, settings, email=person.email, ip=ip, now=utcnow())
    if not await passwords.verify(person.password_hash, current):
        # Counted as a failed login: a stolen access token opens no way to guess the password.
        session.add(LoginFailure(email=person.email, ip=ip))
        return _wrong_password()
    new_hash = await passwords.hash(new)
    person = await session.get(Person, person.id, populate_existing=True)
    assert person is not None
    _set_password(person, new_hash, now)
    await _forget_sessions(session, person, now)
    audit.record(session, action="password.changed", actor=principal, at=now, person_id=person.id)
    await session.flush()
    return None


class WrongPassword(Problem):
    status, code, title = 400, "wrong_password", Text("Mot de passe refusé", "Password refused")


def _wrong_password() -> WrongPassword:
    return WrongPassword(
        Text("Le mot de passe actuel est incorrect.", "The current password is wrong."),
        errors=[("body.current_password", Text("Incorrect.", "Wrong."))],
    )


async def request_reset(
    session: AsyncSession, *, email: str, now: datetime, ttl_seconds: int
) -> tuple[PasswordReset, str] | None:
    """The token to mail, when the address is an active person's and none was mailed a moment ago; None otherwise
    (the caller answers the same in every case)."""
    person = await repository.person_by_email(session, email)
    if person is None or not person.is_active:
        return None
    latest = await repository.latest_password_reset(session, person.id)
    if latest is not None and latest.used_at is None and now - latest.created_at < RESET_MAIL_INTERVAL:
        return None
    # One valid token at a time: a newer mail makes the older ones useless.
    await repository.retire_password_resets(session, person.id, now)
    token, token_hash = new_token("pwr_")
    reset = PasswordReset(person_id=person.id, token_hash=token_hash, created_at=now,
                          expires_at=now + timedelta(seconds=ttl_seconds))
    session.add(reset)
    audit.record(session, action="password.reset_requested", actor=None, at=now, person_id=person.id,
                 email=person.email)
    await session.flush()
    return reset, token


def _usable(reset: PasswordReset | None, now: datetime) -> PasswordReset:
    if reset is None or reset.used_at is not None:
        raise NotFound(Text("Ce lien n'est pas (ou plus) valable.", "This link is not (or no longer) valid."),
                       code="token_unknown")
    if reset.expires_at <= now:
        raise Problem(Text("Ce lien a expiré : demandez-en un nouveau.", "This link expired: ask for a new one."),
                      status=410, code="token_expired", title=Text("Lien expiré", "Link expired"))
    return reset


async def confirm_reset(
    session: AsyncSession, *, database: Database, token: str, new_password: str, passwords: GatedPasswords,
    now: datetime,
) -> Person:
    token_hash = hash_secret(token)
    # The token is checked on a reader first: a made-up one costs no hash. The hash is computed before the
    # writer's first statement (no lock held meanwhile), and the writer checks the token again.
    async with database.transaction(write=False) as reader:
        _usable(await repository.password_reset_by_hash(reader, token_hash), now)
    new_hash = await passwords.hash(new_password)
    reset = _usable(await repository.password_reset_by_hash(session, token_hash), now)
    person = await session.get(Person, reset.person_id)
    if person is None or not person.is_active or not await repository.use_password_reset(session, reset.id, now):
        raise BadRequest(Text("Ce lien n'est pas (ou plus) valable.", "This link is not (or no longer) valid."),
                         code="token_unknown")
    _set_password(person, new_hash, now)
    await _forget_sessions(session, person, now)
    await repository.clear_failures(session, person.email)
    audit.record(session, action="password.reset", actor=str(person.id), at=now, person_id=person.id)
    await session.flush()
    return person


def _set_password(person: Person, password_hash: str, now: datetime) -> None:
    person.password_hash = password_hash
    person.updated_at = now


async def _forget_sessions(session: AsyncSession, person: Person, now: datetime) -> None:
    await repository.revoke_refresh_tokens(session, at=now, person_id=person.id)
    await repository.retire_password_resets(session, person.id, now)
