"""The webhooks' dependencies: the caller's organisation's endpoint, read or locked for a change, one of its
deliveries, and the networks a target may be in besides the public ones (settings)."""

import uuid
from typing import Annotated

from fastapi import Depends, Path, Request

from common.db import SessionDep
from common.idempotency import IdempotencyDep
from common.resources import locked_resource, resource
from services.funding.models.webhook import WebhookDelivery, WebhookEndpoint
from services.funding.webhooks import service
from services.funding.webhooks.auth import WebhookAdmin
from services.funding.webhooks.targets import IpNetwork, networks

CurrentEndpoint = Annotated[
    WebhookEndpoint, resource(service.readable_endpoint, path="endpoint_id", caller=WebhookAdmin)
]
# A change of its fields: If-Match required (428 without it); the route takes no Idempotency-Key.
EditedEndpoint = Annotated[
    WebhookEndpoint,
    locked_resource(service.locked_endpoint, path="endpoint_id", caller=WebhookAdmin, if_match_required=True,
                    idempotent=False),
]
# Its deletion: If-Match required (a partner deletes the endpoint it last read, not one changed since).
DeletedEndpoint = Annotated[
    WebhookEndpoint,
    locked_resource(service.locked_endpoint, path="endpoint_id", caller=WebhookAdmin, if_match_required=True,
                    idempotent=False),
]
# A new secret: If-Match optional, the Idempotency-Key's reservation taken before the lock.
RotatedEndpoint = Annotated[
    WebhookEndpoint,
    locked_resource(service.locked_endpoint, path="endpoint_id", caller=WebhookAdmin, if_match_required=False),
]


def _delivery_id(delivery_id: Annotated[uuid.UUID, Path()]) -> uuid.UUID:
    return delivery_id


# A dependency of its own, so that the path's delivery_id is declared after the endpoint's endpoint_id.
DeliveryIdPath = Annotated[uuid.UUID, Depends(_delivery_id)]


async def _delivery(endpoint: CurrentEndpoint, delivery_id: DeliveryIdPath, session: SessionDep) -> WebhookDelivery:
    return await service.delivery_of(session, endpoint, delivery_id)


async def _replayed_delivery(
    caller: WebhookAdmin, call: IdempotencyDep, endpoint: CurrentEndpoint, delivery_id: DeliveryIdPath,
    session: SessionDep,
) -> WebhookDelivery:
    """Locked; the Idempotency-Key's reservation is taken before any read (its own transaction, which on SQLite
    would wait for the request's write lock)."""
    return await service.delivery_of(session, endpoint, delivery_id, for_update=True)


# One of the endpoint's deliveries (404 for another endpoint's), after the endpoint: its path comes second.
CurrentDelivery = Annotated[WebhookDelivery, Depends(_delivery)]
ReplayedDelivery = Annotated[WebhookDelivery, Depends(_replayed_delivery)]


def _allowed_networks(request: Request) -> list[IpNetwork]:
    return networks(request.app.state.settings.webhook_allowed_networks)


AllowedNetworksDep = Annotated[list[IpNetwork], Depends(_allowed_networks)]
