"""Webhook endpoints: an organisation's admin registers a URL and the event types it wants; the secret is shown
once; a rotation keeps the previous secret signing for a day. Each endpoint receives the events its organisation
may see from its registration on (the desk's, every event)."""

import base64
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from common.problems import NotFound, Text, UnprocessableContent
from common.tokens import Principal
from services.funding.models.webhook import DeliveryState, EndpointState, WebhookDelivery, WebhookEndpoint
from services.funding.webhooks import repository
from services.funding.webhooks.schemas import (
    AttemptPublic,
    DeliveryDetail,
    DeliveryPublic,
    WebhookCreate,
    WebhookPublic,
    WebhookUpdate,
    WebhookWithSecret,
)
from services.funding.webhooks.targets import IpNetwork, TargetRefused, check_target
from services.vocabulary import DESK_ROLES

ENDPOINT_NOT_FOUND = Text("Point de réception introuvable.", "Webhook endpoint not found.")
DELIVERY_NOT_FOUND = Text("Livraison introuvable.", "Delivery not found.")
# During a rotation the previous secret signs too, for this long.
ROTATION_OVERLAP = timedelta(days=1)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def _checked_url(url: str, allowed: list[IpNetwork]) -> str:
    try:
        await check_target(url, allowed)
    except TargetRefused as refusal:
        raise UnprocessableContent(
            Text("Adresse de réception refusée : une URL https vers une adresse publique.",
                 "Target refused: an https URL to a public address."),
            errors=[("body.url", Text(f"Refusée ({refusal}).", f"Refused ({refusal})."))],
            code="webhook_target_refused",
        ) from refusal
    return url


async def register(
    session: AsyncSession, *, principal: Principal, request: WebhookCreate, allowed: list[IpNetwork], now: datetime,
    council_qpv_codes: frozenset[str] | None = None,
) -> WebhookWithSecret:
    """From the latest event on: an endpoint is not sent what happened before it. A citizen council's follows the
    dossiers of the QPVs given (identity's word at registration: the QPV list changes by décret, every few years)."""
    url = await _checked_url(request.url, allowed)
    latest = await repository.latest_event_sequence(session)
    assert principal.organisation_id is not None  # an organisation's admin
    endpoint = WebhookEndpoint(
        organisation_id=principal.organisation_id, sees_everything=principal.has_any_role(DESK_ROLES), url=url,
        description=request.description, event_types=list(request.event_types), secret=new_secret(),
        last_sequence=latest, created_by=principal.subject, created_at=now, updated_at=now,
        council_qpv_codes=sorted(council_qpv_codes) if council_qpv_codes is not None else None,
    )
    session.add(endpoint)
    await session.flush()
    return WebhookWithSecret(**to_public(endpoint).model_dump(), secret=endpoint.secret)


async def readable_endpoint(session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    """One of the caller's organisation's endpoints; 404 for any other."""
    return _found(await repository.readable_endpoint(session, principal, endpoint_id))


async def locked_endpoint(session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    """`readable_endpoint`, locked until the commit (for a change)."""
    return _found(await repository.readable_endpoint(session, principal, endpoint_id, for_update=True))


def _found(endpoint: WebhookEndpoint | None) -> WebhookEndpoint:
    if endpoint is None:
        raise NotFound(ENDPOINT_NOT_FOUND)
    return endpoint


async def own_endpoints(
    session: AsyncSession, *, principal: Principal, limit: int, cursor: str | None
) -> list[WebhookEndpoint]:
    """The caller's organisation's endpoints, in the order they were registered."""
    return await repository.list_endpoints(session, principal, limit=limit, cursor=cursor)


def _moved(endpoint: WebhookEndpoint, now: datetime) -> None:
    endpoint.version += 1
    endpoint.updated_at = now


async def update(
    endpoint: WebhookEndpoint, request: WebhookUpdate, allowed: list[IpNetwork], now: datetime
) -> WebhookPublic:
    """Back in service, an endpoint starts afresh: no failing streak, its waiting deliveries sent again."""
    changes = request.model_dump(exclude_unset=True)
    if "url" in changes and changes["url"] != endpoint.url:
        endpoint.url = await _checked_url(changes["url"], allowed)
    if "event_types" in changes:
        endpoint.event_types = list(changes["event_types"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if changes.get("state") == EndpointState.active and endpoint.state != EndpointState.active:
        endpoint.state, endpoint.failing_since = EndpointState.active, None
        endpoint.disabled_at = endpoint.disabled_reason = None
    elif changes.get("state") == EndpointState.disabled and endpoint.state != EndpointState.disabled:
        disable(endpoint, "by_admin", now)
    _moved(endpoint, now)
    return to_public(endpoint)


async def delete(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    """The endpoint, its secrets and its delivery log go (attempts with their deliveries); nothing more is sent to
    it. The events themselves stay in the outbox: other endpoints and readers of /events still have them."""
    await repository.delete_endpoint(session, endpoint.id)


def disable(endpoint: WebhookEndpoint, reason: str, now: datetime) -> None:
    endpoint.state, endpoint.disabled_at, endpoint.disabled_reason = EndpointState.disabled, now, reason


def rotate(endpoint: WebhookEndpoint, now: datetime) -> WebhookWithSecret:
    endpoint.previous_secret, endpoint.secret = endpoint.secret, new_secret()
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    _moved(endpoint, now)
    return WebhookWithSecret(**to_public(endpoint).model_dump(), secret=endpoint.secret)


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one during a rotation."""
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]


# The delivery log.


async def deliveries(
    session: AsyncSession, endpoint: WebhookEndpoint, *, state: str | None, limit: int, cursor: str | None
) -> list[WebhookDelivery]:
    """The endpoint's delivery log, in the order the deliveries were made, of one state if given."""
    return await repository.list_deliveries(session, endpoint.id, state=state, limit=limit, cursor=cursor)


async def delivery_of(
    session: AsyncSession, endpoint: WebhookEndpoint, delivery_id: uuid.UUID, for_update: bool = False
) -> WebhookDelivery:
    """One of the endpoint's deliveries; 404 for any other."""
    delivery = await repository.delivery_by_id(session, delivery_id, for_update=for_update)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NotFound(DELIVERY_NOT_FOUND)
    return delivery


async def detail(session: AsyncSession, delivery: WebhookDelivery) -> DeliveryDetail:
    """The delivery with each of its attempts."""
    attempts = await repository.attempts_of(session, delivery.id)
    return DeliveryDetail(**delivery_public(delivery).model_dump(),
                          log=[AttemptPublic.model_validate(a, from_attributes=True) for a in attempts])


async def replay_delivery(session: AsyncSession, delivery: WebhookDelivery, now: datetime) -> DeliveryDetail:
    """The delivery (locked) sent again at once (`replay`), with its attempts."""
    replay(delivery, now)
    await session.flush()
    return await detail(session, delivery)


def replay(delivery: WebhookDelivery, now: datetime) -> None:
    """Sent again at once, whatever became of it (the partner lost it, or its endpoint is back)."""
    delivery.state, delivery.next_attempt_at, delivery.leased_until = DeliveryState.pending, now, None
    delivery.updated_at = now


def to_public(endpoint: WebhookEndpoint) -> WebhookPublic:
    return WebhookPublic.model_validate(endpoint, from_attributes=True)


def delivery_public(delivery: WebhookDelivery) -> DeliveryPublic:
    return DeliveryPublic.model_validate(delivery, from_attributes=True)
