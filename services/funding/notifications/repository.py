"""The notifications' queries: who may read which (one statement for the list and the one-item read), the ones
waiting to be mailed, and the record of each try."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from common.db import where_given
from common.pagination import keyset
from common.tokens import Principal
from services.funding.models.dossier import Dossier
from services.funding.models.notification import DeliveryState, Notification
from services.vocabulary import DESK_ROLES


def sees_every_notification(principal: Principal) -> bool:
    """The desk reads every association's notifications (and their mail errors)."""
    return principal.has_any_role(DESK_ROLES)


def readable_notifications(principal: Principal) -> SelectOfScalar[Notification]:
    """The notifications `principal` may read: every one for the desk, its own association's for anyone else."""
    statement = select(Notification)
    if not sees_every_notification(principal):
        statement = statement.where(col(Notification.organisation_id) == principal.organisation_id)
    return statement


async def readable_notification(
    session: AsyncSession, principal: Principal, notification_id: uuid.UUID
) -> Notification | None:
    statement = readable_notifications(principal).where(col(Notification.id) == notification_id)
    return (await session.execute(statement)).scalars().one_or_none()


async def list_notifications(
    session: AsyncSession,
    *,
    principal: Principal,
    dossier_id: uuid.UUID | None,
    session_id: uuid.UUID | None,
    delivery_state: DeliveryState | None,
    updated_since: datetime | None,
    limit: int,
    cursor: str | None,
) -> list[Notification]:
    statement = where_given(
        readable_notifications(principal),
        (Notification.dossier_id, dossier_id),
        (Notification.session_id, session_id),
        (Notification.delivery_state, delivery_state),
    )
    if updated_since is not None:
        statement = statement.where(col(Notification.updated_at) >= updated_since)
    return list((await session.execute(keyset(statement, Notification, limit=limit, cursor=cursor))).scalars())


async def thread_references(session: AsyncSession, dossier_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each dossier's thread reference, the one its letter quotes."""
    rows = await session.execute(
        select(col(Dossier.id), col(Dossier.thread_reference)).where(col(Dossier.id).in_(dossier_ids)))
    return {dossier_id: thread for dossier_id, thread in rows}


async def notification_by_id(session: AsyncSession, notification_id: uuid.UUID) -> Notification | None:
    return await session.get(Notification, notification_id)


async def unsent_notifications(session: AsyncSession, notification_ids: list[uuid.UUID]) -> list[Notification]:
    """Those of `notification_ids` not sent yet, in the order they were written."""
    statement = (
        select(Notification)
        .where(col(Notification.id).in_(notification_ids), col(Notification.delivery_state) != DeliveryState.sent)
        .order_by(col(Notification.created_at), col(Notification.id))
    )
    return list((await session.execute(statement)).scalars())


async def record_try(
    session: AsyncSession, notification_id: uuid.UUID, outcome: dict[str, Any], *, now: datetime
) -> None:
    """One more try counted, with its outcome; a notification another delivery sent meanwhile stays as that one
    recorded it."""
    await session.execute(
        update(Notification)
        .where(col(Notification.id) == notification_id, col(Notification.delivery_state) != DeliveryState.sent)
        .values(**outcome, attempts=col(Notification.attempts) + 1, updated_at=now)
    )
