"""The webhook endpoints' queries: an organisation's endpoints (one statement for the list and the one-item
read), their delivery log and its attempts."""

import uuid

from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from common.db import get_row, where_given
from common.pagination import keyset
from common.tokens import Principal
from services.funding.models.event import DomainEvent
from services.funding.models.webhook import WebhookAttempt, WebhookDelivery, WebhookEndpoint


async def latest_event_sequence(session: AsyncSession) -> int:
    """The number of the latest event (0 before the first)."""
    statement = select(func.coalesce(func.max(col(DomainEvent.sequence)), 0))
    return int((await session.execute(statement)).scalar_one())


def readable_endpoints(principal: Principal) -> SelectOfScalar[WebhookEndpoint]:
    """The endpoints `principal` may read and change: its own organisation's, whoever it is (the desk too)."""
    return select(WebhookEndpoint).where(col(WebhookEndpoint.organisation_id) == principal.organisation_id)


async def readable_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> WebhookEndpoint | None:
    """One of `readable_endpoints`; `for_update` locks it until the commit."""
    statement = readable_endpoints(principal).where(col(WebhookEndpoint.id) == endpoint_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalars().one_or_none()


async def list_endpoints(
    session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None
) -> list[WebhookEndpoint]:
    statement = keyset(readable_endpoints(principal), WebhookEndpoint, limit=limit, cursor=cursor)
    return list((await session.execute(statement)).scalars())


async def list_deliveries(
    session: AsyncSession, endpoint_id: uuid.UUID, *, state: str | None, limit: int, cursor: str | None
) -> list[WebhookDelivery]:
    statement = where_given(
        select(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint_id),
        (WebhookDelivery.state, state or None),
    )
    return list((await session.execute(keyset(statement, WebhookDelivery, limit=limit, cursor=cursor))).scalars())


async def delivery_by_id(
    session: AsyncSession, delivery_id: uuid.UUID, *, for_update: bool = False
) -> WebhookDelivery | None:
    delivery: WebhookDelivery | None = await get_row(session, WebhookDelivery, delivery_id, for_update=for_update)
    return delivery


async def attempts_of(session: AsyncSession, delivery_id: uuid.UUID) -> list[WebhookAttempt]:
    """A delivery's attempts, in the order they were made."""
    statement = (
        select(WebhookAttempt).where(col(WebhookAttempt.delivery_id) == delivery_id)
        .order_by(col(WebhookAttempt.attempted_at))
    )
    return list((await session.execute(statement)).scalars())


async def delete_endpoint(session: AsyncSession, endpoint_id: uuid.UUID) -> None:
    """The endpoint (locked by the caller) with its deliveries and their attempts, children first: SQLite applies
    the attempts' ON DELETE CASCADE too, but saying it does not depend on the pragma."""
    deliveries = select(col(WebhookDelivery.id)).where(col(WebhookDelivery.endpoint_id) == endpoint_id)
    await session.execute(delete(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(deliveries)))
    await session.execute(delete(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint_id))
    await session.execute(delete(WebhookEndpoint).where(col(WebhookEndpoint.id) == endpoint_id))
