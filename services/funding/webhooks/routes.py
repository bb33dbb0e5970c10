"""Webhook endpoints of my organisation (its admin): register, read, change, rotate the secret; the delivery log and
manual replay."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from common.auth import Authorize
from common.clock import ClockDep
from common.db import SessionDep
from common.etag import check_if_match, etag_of, if_match_parameter
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, split_page
from common.problems import problem_responses
from common.tokens import Principal
from services.funding.webhooks import service as webhooks
from services.funding.webhooks.schemas import (
    DeliveryDetail,
    DeliveryPublic,
    WebhookCreate,
    WebhookPublic,
    WebhookUpdate,
    WebhookWithSecret,
)
from services.funding.webhooks.targets import IpNetwork, networks
from services.vocabulary import Role, Scope

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

Admin = Annotated[
    Principal,
    Depends(Authorize(roles={Role.holder_admin, Role.funder_manager, Role.desk_coordinator},
                      scope=Scope.webhooks_manage)),
]
ENDPOINT = "/{endpoint_id}"
DELIVERY = "/{endpoint_id}/deliveries/{delivery_id}"


def _allowed(request: Request) -> list[IpNetwork]:
    return networks(request.app.state.settings.webhook_allowed_networks)


@router.post(
    "",
    summary="Enregistrer un point de réception des événements de mon organisation (son secret est montré une fois)",
    description="Livraisons au format Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`), "
    "au moins une fois, réessayées plus d'un jour ; une URL https vers une adresse publique (422 "
    "`webhook_target_refused` sinon). Seuls les événements postérieurs à l'enregistrement sont livrés.",
    status_code=201,
    response_model=WebhookWithSecret,
    responses=problem_responses(400, 401, 403, 409, 413, 422),
)
async def register_webhook(
    body: WebhookCreate, request: Request, session: SessionDep, caller: Admin, call: IdempotencyDep, clock: ClockDep
) -> Response:
    created = await webhooks.register(session, principal=caller, request=body, allowed=_allowed(request),
                                      now=clock.now())
    return await call.respond(session, status_code=201, content=created, headers={
        "ETag": etag_of(created.version), "Location": f"/api/v1/webhooks/{created.id}"})


@router.get("", summary="Les points de réception de mon organisation", response_model=Page[WebhookPublic],
            responses=problem_responses(400, 401, 403, 422))
async def list_webhooks(
    session: SessionDep, caller: Admin, limit: LimitParam = 50, cursor: CursorParam = None
) -> Page[WebhookPublic]:
    rows = await webhooks.own_endpoints(session, principal=caller, limit=limit, cursor=cursor)
    page, next_cursor = split_page(rows, limit=limit)
    return Page(items=[webhooks.to_public(row) for row in page], next_cursor=next_cursor)


@router.get(ENDPOINT, summary="Un point de réception (sans son secret)", response_model=WebhookPublic,
            responses=problem_responses(401, 403, 404, 422))
async def get_webhook(endpoint_id: uuid.UUID, session: SessionDep, caller: Admin, response: Response) -> WebhookPublic:
    endpoint = await webhooks.own_endpoint(session, principal=caller, endpoint_id=endpoint_id)
    response.headers["ETag"] = etag_of(endpoint.version)
    return webhooks.to_public(endpoint)


@router.patch(
    ENDPOINT,
    summary="Changer l'URL, les types, la description, ou remettre en service / désactiver (If-Match requis)",
    response_model=WebhookPublic,
    responses=problem_responses(400, 401, 403, 404, 412, 413, 422, 428),
    openapi_extra=if_match_parameter(),
)
async def update_webhook(
    endpoint_id: uuid.UUID, body: WebhookUpdate, request: Request, response: Response, session: SessionDep,
    caller: Admin, clock: ClockDep,
) -> WebhookPublic:
    endpoint = await webhooks.own_endpoint(session, principal=caller, endpoint_id=endpoint_id, for_update=True)
    check_if_match(request, endpoint.version)
    updated = await webhooks.update(endpoint, body, _allowed(request), clock.now())
    response.headers["ETag"] = etag_of(updated.version)
    return updated


@router.post(
    f"{ENDPOINT}/rotate-secret",
    summary="Nouveau secret (montré une fois) ; l'ancien signe aussi pendant un jour (deux signatures)",
    response_model=WebhookWithSecret,
    responses=problem_responses(400, 401, 403, 404, 409, 412, 413, 422),
    openapi_extra=if_match_parameter(required=False),
)
async def rotate_webhook_secret(
    endpoint_id: uuid.UUID, request: Request, session: SessionDep, caller: Admin, call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    endpoint = await webhooks.own_endpoint(session, principal=caller, endpoint_id=endpoint_id, for_update=True)
    check_if_match(request, endpoint.version, required=False)
    rotated = webhooks.rotate(endpoint, clock.now())
    return await call.respond(session, status_code=200, content=rotated, headers={"ETag": etag_of(rotated.version)})


@router.get(
    f"{ENDPOINT}/deliveries",
    summary="Le journal des livraisons : état, tentatives, dernier code, latence",
    response_model=Page[DeliveryPublic],
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def list_webhook_deliveries(
    endpoint_id: uuid.UUID, session: SessionDep, caller: Admin, limit: LimitParam = 50, cursor: CursorParam = None,
    state: Annotated[Literal["pending", "delivered", "failed", "stopped"] | None, Query()] = None,
) -> Page[DeliveryPublic]:
    endpoint = await webhooks.own_endpoint(session, principal=caller, endpoint_id=endpoint_id)
    rows = await webhooks.deliveries(session, endpoint, state=state, limit=limit, cursor=cursor)
    page, next_cursor = split_page(rows, limit=limit)
    return Page(items=[webhooks.delivery_public(row) for row in page], next_cursor=next_cursor)


@router.get(DELIVERY, summary="Une livraison et chacune de ses tentatives", response_model=DeliveryDetail,
            responses=problem_responses(401, 403, 404, 422))
async def get_webhook_delivery(
    endpoint_id: uuid.UUID, delivery_id: uuid.UUID, session: SessionDep, caller: Admin
) -> DeliveryDetail:
    endpoint = await webhooks.own_endpoint(session, principal=caller, endpoint_id=endpoint_id)
    return await webhooks.detail(session, await webhooks.delivery_of(session, endpoint, delivery_id))


@router.post(
    f"{DELIVERY}/replay",
    summary="Livrer de nouveau, tout de suite (même webhook-id)",
    response_model=DeliveryDetail,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
async def replay_webhook_delivery(
    endpoint_id: uuid.UUID, delivery_id: uuid.UUID, session: SessionDep, caller: Admin, call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    endpoint = await webhooks.own_endpoint(session, principal=caller, endpoint_id=endpoint_id)
    delivery = await webhooks.delivery_of(session, endpoint, delivery_id, for_update=True)
    webhooks.replay(delivery, clock.now())
    await session.flush()
    return await call.respond(session, status_code=200, content=await webhooks.detail(session, delivery))
