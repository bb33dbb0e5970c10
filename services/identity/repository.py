"""Identity's queries."""

import uuid
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from common.pagination import keyset
from services.identity.models import (
    LoginFailure,
    MachineClient,
    Membership,
    Organisation,
    Person,
    RefreshToken,
)


async def organisation_by_id(
    session: AsyncSession, organisation_id: uuid.UUID, *, for_update: bool = False
) -> Organisation | None:
    """`for_update` locks the row (PostgreSQL) until the transaction ends; SQLite writers hold the lock anyway."""
    return await session.get(Organisation, organisation_id, with_for_update=for_update or None)


async def organisation_by_identifier(
    session: AsyncSession, *, siret: str | None, rna: str | None
) -> Organisation | None:
    clauses = [column == value for column, value in ((Organisation.siret, siret), (Organisation.rna, rna)) if value]
    if not clauses:
        return None
    return (await session.execute(select(Organisation).where(or_(*clauses)))).scalars().first()


async def list_organisations(
    session: AsyncSession, *, kind: str | None, limit: int, cursor: str | None
) -> list[Organisation]:
    statement = select(Organisation)
    if kind:
        statement = statement.where(Organisation.kind == kind)
    return list((await session.execute(keyset(statement, Organisation, limit=limit, cursor=cursor))).scalars())


async def person_by_email(session: AsyncSession, email: str) -> Person | None:
    return (await session.execute(select(Person).where(Person.email == email.lower()))).scalars().first()


async def memberships_of(session: AsyncSession, person_id: uuid.UUID) -> list[tuple[Membership, Organisation]]:
    statement = (
        select(Membership, Organisation)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Membership.person_id == person_id)
        .order_by(Membership.created_at)
    )
    return [(m, o) for m, o in (await session.execute(statement)).all()]


async def membership(session: AsyncSession, person_id: uuid.UUID, organisation_id: uuid.UUID) -> Membership | None:
    statement = select(Membership).where(
        Membership.person_id == person_id, Membership.organisation_id == organisation_id
    )
    return (await session.execute(statement)).scalars().first()


async def members_of(
    session: AsyncSession, organisation_id: uuid.UUID, *, limit: int, cursor: str | None
) -> list[tuple[Membership, Person]]:
    statement = (
        select(Membership, Person)
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.organisation_id == organisation_id)
    )
    return [(m, p) for m, p in (await session.execute(keyset(statement, Membership, limit=limit, cursor=cursor))).all()]


async def count_recent_failures(session: AsyncSession, email: str, since: datetime) -> tuple[int, datetime | None]:
    statement = select(func.count(), func.min(LoginFailure.failed_at)).where(
        LoginFailure.email == email, LoginFailure.failed_at >= since
    )
    count, oldest = (await session.execute(statement)).one()
    return int(count), oldest


async def clear_failures(session: AsyncSession, email: str) -> None:
    await session.execute(delete(LoginFailure).where(LoginFailure.email == email))


async def refresh_token_by_hash(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    statement = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    return (await session.execute(statement)).scalars().first()


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )


async def mark_used_if_unused(session: AsyncSession, token_id: uuid.UUID, at: datetime) -> bool:
    """Conditional update, so that two concurrent uses of one refresh token cannot both win."""
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None), RefreshToken.revoked_at.is_(None))
        .values(used_at=at)
    )
    return result.rowcount == 1


async def client_by_client_id(session: AsyncSession, client_id: str) -> MachineClient | None:
    return (await session.execute(select(MachineClient).where(MachineClient.client_id == client_id))).scalars().first()


async def clients_of(
    session: AsyncSession, organisation_id: uuid.UUID, *, limit: int, cursor: str | None
) -> list[MachineClient]:
    statement = select(MachineClient).where(MachineClient.organisation_id == organisation_id)
    return list((await session.execute(keyset(statement, MachineClient, limit=limit, cursor=cursor))).scalars())


async def client_of(session: AsyncSession, organisation_id: uuid.UUID, client_uuid: uuid.UUID) -> MachineClient | None:
    statement = select(MachineClient).where(
        MachineClient.id == client_uuid, MachineClient.organisation_id == organisation_id
    )
    return (await session.execute(statement)).scalars().first()
