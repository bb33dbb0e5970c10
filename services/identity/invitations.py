"""Invitations: an admin offers roles in its organisation to an email; nothing is attached until the invitee
accepts with the single-use token mailed to that address. Nothing the inviter reads says whether the address has
an account, nor anything of a person outside the organisation."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import Database
from common.problems import Conflict, Forbidden, NotFound, Problem, Text, Unauthorized, UnprocessableContent
from common.tokens import Principal
from services.identity import audit, repository
from services.identity.accounts import roles_allowed
from services.identity.models import Invitation, Membership, Organisation, Person
from services.identity.one_time import hash_secret, new_token
from services.identity.schemas import (
    InvitationAccept,
    InvitationCreate,
    InvitationPublic,
    InvitationState,
    MailState,
)
from services.identity.throttle import GatedPasswords

INVITATION_NOT_FOUND = Text("Invitation introuvable.", "Invitation not found.")


def state_of(invitation: Invitation, now: datetime) -> InvitationState:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    return "expired" if invitation.expires_at <= now else "pending"


def to_public(invitation: Invitation, now: datetime) -> InvitationPublic:
    return InvitationPublic(
        id=invitation.id, organisation_id=invitation.organisation_id, email=invitation.email, roles=invitation.roles,
        state=state_of(invitation, now), invited_by=invitation.invited_by,
        mail_state=cast(MailState, invitation.mail_state),  # the column holds only these (set_mail_state)
        expires_at=invitation.expires_at, accepted_at=invitation.accepted_at, revoked_at=invitation.revoked_at,
        created_at=invitation.created_at,
    )


def _suspended() -> Conflict:
    return Conflict(Text("Cette organisation est suspendue.", "This organisation is suspended."),
                    code="organisation_suspended")


def _already_member() -> Conflict:
    return Conflict(Text("Cette personne est déjà membre.", "This person is already a member."), code="already_member")


async def _is_member(session: AsyncSession, organisation_id: uuid.UUID, email: str) -> bool:
    person = await repository.person_by_email(session, email)
    return person is not None and await repository.membership(session, person.id, organisation_id) is not None


async def invite(
    session: AsyncSession, *, organisation: Organisation, request: InvitationCreate, principal: Principal,
    now: datetime, ttl_seconds: int,
) -> tuple[Invitation, str]:
    """The invitation and the token for its mail (never in the answer: only the invitee's mailbox holds it)."""
    if organisation.status != "active":
        raise _suspended()
    roles = roles_allowed(organisation, request.roles)
    email = request.email.lower()
    # Only this organisation's own members are looked at: the inviter already lists them.
    if await _is_member(session, organisation.id, email):
        raise _already_member()
    waiting = await repository.open_invitation(session, organisation.id, email, now)
    if waiting is not None:
        raise Conflict(
            Text("Une invitation à cette adresse attend déjà sa réponse : renvoyez-la ou révoquez-la.",
                 "An invitation to this address is already waiting: resend or revoke it."),
            code="invitation_pending", extra={"invitation_id": str(waiting.id)},
        )
    token, token_hash = new_token("inv_")
    invitation = Invitation(
        organisation_id=organisation.id, email=email, roles=roles, token_hash=token_hash,
        invited_by=uuid.UUID(principal.subject), expires_at=now + timedelta(seconds=ttl_seconds),
        created_at=now, updated_at=now,
    )
    session.add(invitation)
    audit.record(session, action="invitation.created", actor=principal, at=now, organisation_id=organisation.id,
                 email=email, details={"invitation_id": str(invitation.id), "roles": roles})
    await session.flush()
    return invitation, token


async def list_invitations(
    session: AsyncSession, organisation: Organisation, *, state: str | None, now: datetime, limit: int,
    cursor: str | None,
) -> list[Invitation]:
    """A page (plus one row) of the organisation's invitations, by state as of `now`."""
    return await repository.invitations_of(session, organisation.id, state=state, now=now, limit=limit, cursor=cursor)


async def roles_granted(session: AsyncSession, person: Person, organisation: Organisation) -> list[str]:
    """The roles an accepted invitation left the person with in the organisation."""
    membership = await repository.membership(session, person.id, organisation.id)
    assert membership is not None  # the acceptance has just made it
    return list(membership.roles)


def mail_state_recorder(database: Database, invitation: Invitation) -> Callable[[bool], Awaitable[None]]:
    """What records, after the commit and in a transaction of its own, whether the invitation's mail left (for the
    admin's list; a resend meanwhile has its own token, and its own record)."""
    invitation_id, token_hash = invitation.id, invitation.token_hash

    async def record(sent: bool) -> None:
        async with database.transaction() as session:
            await repository.set_mail_state(session, invitation_id, token_hash, "sent" if sent else "failed")

    return record


async def inviter(session: AsyncSession, person_id: uuid.UUID) -> Person | None:
    """Who an invitation's mail names as inviting (None: the organisation itself)."""
    return await repository.person_by_id(session, person_id)


async def invitation_of(
    session: AsyncSession, organisation: Organisation, invitation_id: uuid.UUID, *, for_update: bool = False
) -> Invitation:
    invitation = await repository.invitation_of(session, organisation.id, invitation_id, for_update=for_update)
    if invitation is None:
        raise NotFound(INVITATION_NOT_FOUND)
    return invitation


def _not_open(invitation: Invitation, now: datetime, action: str) -> Conflict:
    state = state_of(invitation, now)
    return Conflict(
        Text(f"Invitation {state} : elle ne peut plus changer.", f"Invitation {state}: it cannot change anymore."),
        code="invitation_closed", extra={"state": state, "action": action},
    )


async def revoke(session: AsyncSession, *, invitation: Invitation, principal: Principal, now: datetime) -> Invitation:
    if state_of(invitation, now) not in ("pending", "expired"):
        raise _not_open(invitation, now, "revoke")
    invitation.revoked_at, invitation.revoked_by = now, uuid.UUID(principal.subject)
    _touched(invitation, now)
    audit.record(session, action="invitation.revoked", actor=principal, at=now,
                 organisation_id=invitation.organisation_id, email=invitation.email,
                 details={"invitation_id": str(invitation.id)})
    await session.flush()
    return invitation


async def resend(
    session: AsyncSession, *, invitation: Invitation, principal: Principal, now: datetime, ttl_seconds: int
) -> tuple[Invitation, str]:
    """A new token (the old one stops working) and a new expiry, for a new mail."""
    if state_of(invitation, now) not in ("pending", "expired"):
        raise _not_open(invitation, now, "resend")
    token, invitation.token_hash = new_token("inv_")
    invitation.expires_at, invitation.mail_state = now + timedelta(seconds=ttl_seconds), "pending"
    _touched(invitation, now)
    audit.record(session, action="invitation.resent", actor=principal, at=now,
                 organisation_id=invitation.organisation_id, email=invitation.email,
                 details={"invitation_id": str(invitation.id)})
    await session.flush()
    return invitation, token


def _touched(invitation: Invitation, now: datetime) -> None:
    invitation.version += 1
    invitation.updated_at = now


def _gone(code: str, detail: Text) -> Problem:
    return Problem(detail, status=410, code=code, title=Text("Lien expiré", "Link expired"))


def _open(invitation: Invitation | None, now: datetime) -> Invitation:
    """The invitation a token names, if it can still be accepted; the problem that says why not otherwise."""
    if invitation is None:
        raise NotFound(Text("Ce lien n'est pas (ou plus) valable.", "This link is not (or no longer) valid."),
                       code="token_unknown")
    state = state_of(invitation, now)
    if state == "accepted":
        raise Conflict(Text("Cette invitation a déjà été acceptée.", "This invitation was already accepted."),
                       code="invitation_used")
    if state == "revoked":
        raise _gone("invitation_revoked", Text("Cette invitation a été révoquée.", "This invitation was revoked."))
    if state == "expired":
        raise _gone("token_expired", Text("Cette invitation a expiré : demandez-en une nouvelle.",
                                          "This invitation expired: ask for a new one."))
    return invitation


async def accept(
    session: AsyncSession, *, database: Database, request: InvitationAccept, principal: Principal | None,
    passwords: GatedPasswords, now: datetime,
) -> tuple[Invitation, Organisation, Person]:
    """The invitee says yes. An address with an account must be signed in as that account; a new person chooses a
    name and a password (the token proved the address)."""
    token_hash = hash_secret(request.token)
    # The token is checked on a reader first, so that a made-up one costs no hash; the password is hashed before
    # the writer's first statement (no lock held meanwhile), and the writer checks everything again under lock.
    async with database.transaction(write=False) as reader:
        _open(await repository.invitation_by_hash(reader, token_hash), now)
    password_hash = await passwords.hash(request.password) if request.password is not None else None
    invitation = _open(await repository.invitation_by_hash(session, token_hash, for_update=True), now)
    organisation = await session.get(Organisation, invitation.organisation_id)
    assert organisation is not None  # a foreign key
    if organisation.status != "active":
        raise _suspended()
    person = await repository.person_by_email(session, invitation.email)
    if person is not None:
        _check_signed_in_as(principal, person)
        if await repository.membership(session, person.id, organisation.id) is not None:
            raise _already_member()
    else:
        person = await _new_person(session, request, invitation.email, password_hash)
    roles = roles_allowed(organisation, invitation.roles)
    if not await repository.accept_if_open(session, invitation.id, person_id=person.id, now=now):
        raise Conflict(Text("Cette invitation a déjà été acceptée.", "This invitation was already accepted."),
                       code="invitation_used")
    session.add(Membership(person_id=person.id, organisation_id=organisation.id, roles=roles))
    audit.record(session, action="invitation.accepted", actor=str(person.id), at=now, organisation_id=organisation.id,
                 person_id=person.id, email=person.email, details={"invitation_id": str(invitation.id), "roles": roles})
    try:
        await session.flush()
    except IntegrityError as exc:  # the same person accepted another invitation to it at the same moment
        raise _already_member() from exc
    return invitation, organisation, person


def _check_signed_in_as(principal: Principal | None, person: Person) -> None:
    if principal is None or principal.kind != "user":
        raise Unauthorized(
            Text("Cette adresse a déjà un compte : connectez-vous avec lui, puis acceptez.",
                 "This address already has an account: sign in with it, then accept."),
            code="sign_in_required",
        )
    if principal.subject != str(person.id):
        raise Forbidden(
            Text("Cette invitation s'adresse à une autre personne : connectez-vous avec l'adresse invitée.",
                 "This invitation is for someone else: sign in with the invited address."),
            code="invitation_for_someone_else",
        )


async def _new_person(
    session: AsyncSession, request: InvitationAccept, email: str, password_hash: str | None
) -> Person:
    missing = [(f"body.{name}", Text("Champ obligatoire pour un nouveau compte.", "Required for a new account."))
               for name in ("full_name", "password") if getattr(request, name) is None]
    if missing:
        raise UnprocessableContent(
            Text("Choisissez votre nom et votre mot de passe.", "Choose your name and your password."), errors=missing
        )
    assert request.full_name is not None and password_hash is not None
    person = Person(email=email, full_name=request.full_name, password_hash=password_hash)
    session.add(person)
    try:
        await session.flush()
    except IntegrityError as exc:  # an account for this address was created a moment ago: sign in with it
        raise Conflict(
            Text("Cette adresse vient d'obtenir un compte : connectez-vous, puis acceptez.",
                 "This address just got an account: sign in, then accept."), code="sign_in_required",
        ) from exc
    return person
