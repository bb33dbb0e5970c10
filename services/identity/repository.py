"""Identity's queries."""

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Update, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.pagination import keyset
from services.identity.models import (
    Invitation,
    LoginFailure,
    MachineClient,
    Membership,
    Organisation,
    PasswordReset,
    PendingSignup,
    Person,
    RefreshToken,
)
from services.identity.schemas import MailState


async def _changed(session: AsyncSession, statement: Update) -> int:
    """How many rows an UPDATE changed: its result is a CursorResult, which execute()'s type does not say."""
    result = await session.execute(statement)
    return cast(CursorResult[Any], result).rowcount


async def organisation_by_id(
    session: AsyncSession, organisation_id: uuid.UUID, *, for_update: bool = False
) -> Organisation | None:
    """`for_update` locks the row (PostgreSQL) until the transaction ends; SQLite writers hold the lock anyway."""
    return await session.get(Organisation, organisation_id, with_for_update=for_update or None)


async def organisation_by_identifier(
    session: AsyncSession, *, siret: str | None, rna: str | None,
    register: tuple[str | None, str | None, str | None] | None = None,
) -> Organisation | None:
    """The organisation that already has one of these identifiers (a register entry is its three parts)."""
    named = ((col(Organisation.siret), siret), (col(Organisation.rna), rna))
    clauses: list[Any] = [column == value for column, value in named if value]
    if register is not None:
        court, volume, folio = register
        clauses.append(and_(col(Organisation.register_court) == court, col(Organisation.register_volume) == volume,
                            col(Organisation.register_folio) == folio))
    if not clauses:
        return None
    return (await session.execute(select(Organisation).where(or_(*clauses)))).scalars().first()


async def list_organisations(
    session: AsyncSession, *, kind: str | None, limit: int, cursor: str | None
) -> list[Organisation]:
    statement = select(Organisation)
    if kind:
        statement = statement.where(col(Organisation.kind) == kind)
    return list((await session.execute(keyset(statement, Organisation, limit=limit, cursor=cursor))).scalars())


async def person_by_email(session: AsyncSession, email: str) -> Person | None:
    return (await session.execute(select(Person).where(col(Person.email) == email.lower()))).scalars().first()


async def memberships_of(session: AsyncSession, person_id: uuid.UUID) -> list[tuple[Membership, Organisation]]:
    statement = (
        select(Membership, Organisation)
        .join(Organisation, col(Organisation.id) == col(Membership.organisation_id))
        .where(col(Membership.person_id) == person_id)
        .order_by(col(Membership.created_at))
    )
    return [(m, o) for m, o in (await session.execute(statement)).all()]


async def membership(session: AsyncSession, person_id: uuid.UUID, organisation_id: uuid.UUID) -> Membership | None:
    statement = select(Membership).where(
        col(Membership.person_id) == person_id, col(Membership.organisation_id) == organisation_id
    )
    return (await session.execute(statement)).scalars().first()


async def members_of(
    session: AsyncSession, organisation_id: uuid.UUID, *, limit: int, cursor: str | None
) -> list[tuple[Membership, Person]]:
    statement = (
        select(Membership, Person)
        .join(Person, col(Person.id) == col(Membership.person_id))
        .where(col(Membership.organisation_id) == organisation_id)
    )
    return [(m, p) for m, p in (await session.execute(keyset(statement, Membership, limit=limit, cursor=cursor))).all()]


async def count_recent_failures(
    session: AsyncSession, since: datetime, *, email: str | None = None, ip: str | None = None
) -> tuple[int, datetime | None]:
    """Failures since then, of one account or of one address (each on its index)."""
    column, value = (col(LoginFailure.email), email) if email is not None else (col(LoginFailure.ip), ip)
    statement = select(func.count(), func.min(col(LoginFailure.failed_at))).where(
        column == value, col(LoginFailure.failed_at) >= since
    )
    count, oldest = (await session.execute(statement)).one()
    return int(count), oldest


async def clear_failures(session: AsyncSession, email: str) -> None:
    await session.execute(delete(LoginFailure).where(col(LoginFailure.email) == email))


async def refresh_token_by_hash(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    statement = select(RefreshToken).where(col(RefreshToken.token_hash) == token_hash)
    return (await session.execute(statement)).scalars().first()


async def revoke_refresh_tokens(
    session: AsyncSession, *, at: datetime, person_id: uuid.UUID | None = None, organisation_id: uuid.UUID | None = None
) -> None:
    """Every live refresh token of a person, of an organisation, or of a person in an organisation."""
    statement = update(RefreshToken).where(col(RefreshToken.revoked_at).is_(None))
    if person_id is not None:
        statement = statement.where(col(RefreshToken.person_id) == person_id)
    if organisation_id is not None:
        statement = statement.where(col(RefreshToken.organisation_id) == organisation_id)
    await session.execute(statement.values(revoked_at=at))


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=at)
    )


async def mark_used_if_unused(session: AsyncSession, token_id: uuid.UUID, at: datetime) -> bool:
    """Conditional update, so that two concurrent uses of one refresh token cannot both win."""
    changed = await _changed(
        session,
        update(RefreshToken)
        .where(
            col(RefreshToken.id) == token_id,
            col(RefreshToken.used_at).is_(None),
            col(RefreshToken.revoked_at).is_(None),
        )
        .values(used_at=at)
    )
    return changed == 1


async def client_by_client_id(session: AsyncSession, client_id: str) -> MachineClient | None:
    statement = select(MachineClient).where(col(MachineClient.client_id) == client_id)
    return (await session.execute(statement)).scalars().first()


async def clients_of(
    session: AsyncSession, organisation_id: uuid.UUID, *, limit: int, cursor: str | None
) -> list[MachineClient]:
    statement = select(MachineClient).where(col(MachineClient.organisation_id) == organisation_id)
    return list((await session.execute(keyset(statement, MachineClient, limit=limit, cursor=cursor))).scalars())


async def client_of(session: AsyncSession, organisation_id: uuid.UUID, client_uuid: uuid.UUID) -> MachineClient | None:
    statement = select(MachineClient).where(
        col(MachineClient.id) == client_uuid, col(MachineClient.organisation_id) == organisation_id
    )
    return (await session.execute(statement)).scalars().first()


async def member(
    session: AsyncSession, organisation_id: uuid.UUID, person_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Membership, Person] | None:
    statement = (
        select(Membership, Person)
        .join(Person, col(Person.id) == col(Membership.person_id))
        .where(col(Membership.organisation_id) == organisation_id, col(Membership.person_id) == person_id)
    )
    if for_update:
        statement = statement.with_for_update(of=Membership).execution_options(populate_existing=True)
    row = (await session.execute(statement)).first()
    return (row[0], row[1]) if row else None


async def roles_in(session: AsyncSession, organisation_id: uuid.UUID) -> list[list[str]]:
    """The roles of each member of an organisation (to count its admins)."""
    statement = select(col(Membership.roles)).where(col(Membership.organisation_id) == organisation_id)
    rows = await session.execute(statement)
    return [list(roles) for roles in rows.scalars()]


async def pending_signup_by_hash(session: AsyncSession, token_hash: str) -> PendingSignup | None:
    statement = select(PendingSignup).where(col(PendingSignup.token_hash) == token_hash)
    return (await session.execute(statement)).scalars().first()


async def forget_expired_signups(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(PendingSignup).where(col(PendingSignup.expires_at) <= now))


async def invitation_by_hash(session: AsyncSession, token_hash: str, *, for_update: bool = False) -> Invitation | None:
    statement = select(Invitation).where(col(Invitation.token_hash) == token_hash)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalars().first()


async def person_by_id(session: AsyncSession, person_id: uuid.UUID) -> Person | None:
    return await session.get(Person, person_id)


async def invitation_of(
    session: AsyncSession, organisation_id: uuid.UUID, invitation_id: uuid.UUID, *, for_update: bool = False
) -> Invitation | None:
    statement = select(Invitation).where(
        col(Invitation.id) == invitation_id, col(Invitation.organisation_id) == organisation_id
    )
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalars().first()


def _open(now: datetime) -> list[ColumnElement[bool]]:
    return [
        col(Invitation.accepted_at).is_(None), col(Invitation.revoked_at).is_(None), col(Invitation.expires_at) > now
    ]


async def open_invitation(
    session: AsyncSession, organisation_id: uuid.UUID, email: str, now: datetime
) -> Invitation | None:
    statement = select(Invitation).where(
        col(Invitation.organisation_id) == organisation_id, col(Invitation.email) == email, *_open(now)
    )
    return (await session.execute(statement)).scalars().first()


async def invitations_of(
    session: AsyncSession, organisation_id: uuid.UUID, *, state: str | None, now: datetime, limit: int,
    cursor: str | None,
) -> list[Invitation]:
    statement = select(Invitation).where(col(Invitation.organisation_id) == organisation_id)
    if state == "pending":
        statement = statement.where(*_open(now))
    elif state == "accepted":
        statement = statement.where(col(Invitation.accepted_at).is_not(None))
    elif state == "revoked":
        statement = statement.where(col(Invitation.revoked_at).is_not(None))
    elif state == "expired":
        statement = statement.where(
            col(Invitation.accepted_at).is_(None),
            col(Invitation.revoked_at).is_(None),
            col(Invitation.expires_at) <= now,
        )
    return list((await session.execute(keyset(statement, Invitation, limit=limit, cursor=cursor))).scalars())


async def accept_if_open(
    session: AsyncSession, invitation_id: uuid.UUID, *, person_id: uuid.UUID, now: datetime
) -> bool:
    """Conditional update: of two acceptances of one invitation at once, one wins."""
    changed = await _changed(
        session,
        update(Invitation)
        .where(col(Invitation.id) == invitation_id, *_open(now))
        .values(accepted_at=now, accepted_by=person_id, updated_at=now, version=col(Invitation.version) + 1)
    )
    return changed == 1


async def set_mail_state(
    session: AsyncSession, invitation_id: uuid.UUID, token_hash: str, state: MailState
) -> None:
    """Only for the token that mail carried: a resend meanwhile has its own mail."""
    await session.execute(
        update(Invitation).where(col(Invitation.id) == invitation_id, col(Invitation.token_hash) == token_hash)
        .values(mail_state=state)
    )


async def password_reset_by_hash(session: AsyncSession, token_hash: str) -> PasswordReset | None:
    statement = select(PasswordReset).where(col(PasswordReset.token_hash) == token_hash)
    return (await session.execute(statement)).scalars().first()


async def latest_password_reset(session: AsyncSession, person_id: uuid.UUID) -> PasswordReset | None:
    statement = (
        select(PasswordReset).where(col(PasswordReset.person_id) == person_id)
        .order_by(col(PasswordReset.created_at).desc()).limit(1)
    )
    return (await session.execute(statement)).scalars().first()


async def use_password_reset(session: AsyncSession, reset_id: uuid.UUID, now: datetime) -> bool:
    changed = await _changed(
        session,
        update(PasswordReset)
        .where(
            col(PasswordReset.id) == reset_id, col(PasswordReset.used_at).is_(None), col(PasswordReset.expires_at) > now
        )
        .values(used_at=now)
    )
    return changed == 1


async def retire_password_resets(session: AsyncSession, person_id: uuid.UUID, now: datetime) -> None:
    """Every reset token of the person still unused stops working (a newer one, or the password changed)."""
    await session.execute(
        update(PasswordReset)
        .where(col(PasswordReset.person_id) == person_id, col(PasswordReset.used_at).is_(None))
        .values(used_at=now)
    )
