"""The delivery worker's queries. Several workers may run at once: each takes its rows on a lease, and on
PostgreSQL with `FOR UPDATE SKIP LOCKED` (`skip_locked`), so that two never take the same; SQLite has one writer
at a time, whose transaction is the lock."""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Row, exists, func, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from services.funding.events.repository import audience_of, council_events
from services.funding.grants.payments import due_clause
from services.funding.models.agreement import Agreement, Payment
from services.funding.models.dossier import Dossier
from services.funding.models.event import DomainEvent, EventAudience
from services.funding.models.financial_report import FinancialReport, late_clause
from services.funding.models.webhook import DeliveryState, EndpointState, WebhookDelivery, WebhookEndpoint

Selected = TypeVar("Selected")


def _skipping_locked(statement: SelectOfScalar[Selected], skip_locked: bool, *of: Any) -> SelectOfScalar[Selected]:
    """`statement` skipping the rows another worker holds (PostgreSQL); as it is on SQLite."""
    return statement.with_for_update(skip_locked=True, of=of or None) if skip_locked else statement


async def work_waiting(
    session: AsyncSession, *, now: datetime, today: date, announce: bool, pins: bool = True
) -> bool:
    """Whether a pass would find anything to do, in one read that takes no write lock: an idle worker polls
    several times a second, and each pass of writes would take SQLite's whole database lock three times."""
    newest_event = select(func.max(DomainEvent.sequence)).scalar_subquery()
    waiting = [
        exists().where(
            col(WebhookEndpoint.state) == EndpointState.active,
            or_(col(WebhookEndpoint.leased_until).is_(None), col(WebhookEndpoint.leased_until) < now),
            col(WebhookEndpoint.last_sequence) < newest_event,
        ),
        exists().where(
            col(WebhookDelivery.endpoint_id) == col(WebhookEndpoint.id),
            col(WebhookDelivery.state) == DeliveryState.pending, col(WebhookDelivery.next_attempt_at) <= now,
            or_(col(WebhookDelivery.leased_until).is_(None), col(WebhookDelivery.leased_until) < now),
            col(WebhookEndpoint.state) == EndpointState.active,
        ),
    ]
    if pins:  # a pin step a move's commit still owes projects (dossiers/pin_saga.py)
        waiting.append(exists().where(col(Dossier.pin_step).is_not(None)))
    if announce:
        waiting += [
            exists().where(col(Agreement.id) == col(Payment.agreement_id), due_clause(today),
                           col(Payment.due_announced_at).is_(None)),
            exists().where(late_clause(today), col(FinancialReport.overdue_announced_at).is_(None)),
        ]
    return bool((await session.execute(select(or_(*waiting)))).scalar())


async def newest_event_sequence(session: AsyncSession) -> int:
    return (await session.execute(select(func.max(DomainEvent.sequence)))).scalar() or 0


async def unannounced_due_payments(
    session: AsyncSession, *, today: date, limit: int, skip_locked: bool
) -> list[Payment]:
    """Payments due by `today` whose coming due was not said yet, locked for this transaction."""
    statement = (
        select(Payment).join(Agreement, col(Agreement.id) == col(Payment.agreement_id))
        .where(due_clause(today), col(Payment.due_announced_at).is_(None)).limit(limit)
    )
    return list((await session.execute(_skipping_locked(statement, skip_locked, Payment))).scalars())


async def unannounced_late_reports(
    session: AsyncSession, *, today: date, limit: int, skip_locked: bool
) -> list[FinancialReport]:
    """Financial reports late on `today` whose lateness was not said yet, locked for this transaction."""
    statement = (
        select(FinancialReport)
        .where(late_clause(today), col(FinancialReport.overdue_announced_at).is_(None)).limit(limit)
    )
    return list((await session.execute(_skipping_locked(statement, skip_locked, FinancialReport))).scalars())


async def lease_endpoints(
    session: AsyncSession, *, now: datetime, until: datetime, limit: int, skip_locked: bool
) -> list[uuid.UUID]:
    """Up to `limit` active endpoints no worker holds, leased to this one until `until`."""
    statement = select(WebhookEndpoint.id).where(
        col(WebhookEndpoint.state) == EndpointState.active,
        or_(col(WebhookEndpoint.leased_until).is_(None), col(WebhookEndpoint.leased_until) < now),
    ).limit(limit)
    ids = list((await session.execute(_skipping_locked(statement, skip_locked))).scalars())
    if ids:
        await session.execute(
            update(WebhookEndpoint).where(col(WebhookEndpoint.id).in_(ids)).values(leased_until=until)
        )
    return ids


async def endpoint_by_id(
    session: AsyncSession, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> WebhookEndpoint | None:
    return await session.get(WebhookEndpoint, endpoint_id, with_for_update=for_update or None)


async def events_to_fan_out(
    session: AsyncSession, endpoint: WebhookEndpoint, *, up_to: int, limit: int
) -> Sequence[Row[int, str]]:
    """(sequence, type) of the next `limit` events after the endpoint's cursor, up to `up_to`, that its organisation
    may see (every one for an endpoint that sees everything), in order."""
    statement = select(DomainEvent.sequence, DomainEvent.type).where(
        col(DomainEvent.sequence) > endpoint.last_sequence, col(DomainEvent.sequence) <= up_to
    )
    if endpoint.council_qpv_codes is not None:
        statement = statement.where(or_(
            audience_of(endpoint.organisation_id), council_events(frozenset(endpoint.council_qpv_codes))))
    elif not endpoint.sees_everything:
        statement = statement.join(
            EventAudience, col(EventAudience.event_sequence) == col(DomainEvent.sequence)
        ).where(col(EventAudience.organisation_id) == endpoint.organisation_id)
    return (await session.execute(statement.order_by(col(DomainEvent.sequence)).limit(limit))).all()


async def lease_deliveries(
    session: AsyncSession, *, now: datetime, until: datetime, limit: int, skip_locked: bool
) -> list[uuid.UUID]:
    """Up to `limit` pending deliveries due by `now` to active endpoints, no worker holding them, the longest
    waiting first, leased to this one until `until`."""
    statement = (
        select(WebhookDelivery.id)
        .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id))
        .where(col(WebhookDelivery.state) == DeliveryState.pending, col(WebhookDelivery.next_attempt_at) <= now,
               or_(col(WebhookDelivery.leased_until).is_(None), col(WebhookDelivery.leased_until) < now),
               col(WebhookEndpoint.state) == EndpointState.active)
        .order_by(col(WebhookDelivery.next_attempt_at)).limit(limit)
    )
    ids = list((await session.execute(_skipping_locked(statement, skip_locked, WebhookDelivery))).scalars())
    if ids:
        await session.execute(
            update(WebhookDelivery).where(col(WebhookDelivery.id).in_(ids)).values(leased_until=until)
        )
    return ids


async def delivery_by_id(
    session: AsyncSession, delivery_id: uuid.UUID, *, for_update: bool = False
) -> WebhookDelivery | None:
    return await session.get(WebhookDelivery, delivery_id, with_for_update=for_update or None)


async def event_by_sequence(session: AsyncSession, sequence: int) -> DomainEvent | None:
    return await session.get(DomainEvent, sequence)
