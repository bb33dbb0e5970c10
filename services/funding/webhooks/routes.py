"""Webhook endpoints of my organisation (its admin): register, read, change, rotate the secret; the delivery log and
manual replay."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from common.clock import ClockDep
from common.db import SessionDep
from common.etag import if_match_parameter
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, split_page
from common.problems import problem_responses
from common.resources import answer, move_route, with_etag
from services.funding.dossiers.visibility import council_qpvs
from services.funding.peers import PeersDep
from services.funding.webhooks import service as webhooks
from services.funding.webhooks.auth import WebhookAdmin
from services.funding.webhooks.dependencies import (
    AllowedNetworksDep,
    CurrentDelivery,
    CurrentEndpoint,
    DeletedEndpoint,
    EditedEndpoint,
    ReplayedDelivery,
    RotatedEndpoint,
)
from services.funding.webhooks.schemas import (
    DeliveryDetail,
    DeliveryPublic,
    WebhookCreate,
    WebhookPublic,
    WebhookUpdate,
    WebhookWithSecret,
)
from services.vocabulary import COUNCIL_ROLES

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

ENDPOINT = "/{endpoint_id}"
DELIVERY = "/{endpoint_id}/deliveries/{delivery_id}"


@router.post(
    "",
    summary="Enregistrer un point de réception des événements de mon organisation (son secret est montré une fois)",
    description="Livraisons au format Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`), "
    "au moins une fois, réessayées plus d'un jour ; une URL https vers une adresse publique (422 "
    "`webhook_target_refused` sinon). Seuls les événements postérieurs à l'enregistrement sont livrés. Le point "
    "d'un conseil citoyen reçoit le parcours des dossiers des QPV qu'il avait à son enregistrement.",
    status_code=201,
    response_model=WebhookWithSecret,
    responses=problem_responses(400, 401, 403, 409, 413, 422, 502),
)
async def register_webhook(
    body: WebhookCreate, session: SessionDep, caller: WebhookAdmin, call: IdempotencyDep, clock: ClockDep,
    allowed: AllowedNetworksDep, peers: PeersDep,
) -> Response:
    """An organisation's admin registers an endpoint for its organisation (the desk's sees every event, a citizen
    council's what the dossiers of its QPVs go through); its secret is in this answer only. 422
    `webhook_target_refused` for a URL that is not https to a public address. (The operation's description is the
    French text above.)"""
    qpvs = await council_qpvs(peers, caller) if caller.has_any_role(COUNCIL_ROLES) else None
    created = await webhooks.register(
        session, principal=caller, request=body, allowed=allowed, now=clock.now(), council_qpv_codes=qpvs
    )
    return await answer(session, call, created, status_code=201, location=f"/api/v1/webhooks/{created.id}")


@router.get("", summary="Les points de réception de mon organisation", response_model=Page[WebhookPublic],
            responses=problem_responses(400, 401, 403, 422))
async def list_webhooks(
    session: SessionDep, caller: WebhookAdmin, limit: LimitParam = 50, cursor: CursorParam = None
) -> Page[WebhookPublic]:
    """An organisation's admin lists its organisation's endpoints, in the order they were registered, without
    their secrets."""
    rows = await webhooks.own_endpoints(session, principal=caller, limit=limit, cursor=cursor)
    page, next_cursor = split_page(rows, limit=limit)
    return Page(items=[webhooks.to_public(row) for row in page], next_cursor=next_cursor)


@router.get(ENDPOINT, summary="Un point de réception (sans son secret)", response_model=WebhookPublic,
            responses=problem_responses(401, 403, 404, 422))
async def get_webhook(endpoint: CurrentEndpoint, response: Response) -> WebhookPublic:
    """An organisation's admin reads one of its endpoints, without its secret, with its ETag; 404 `not_found` for
    another organisation's."""
    return with_etag(response, webhooks.to_public(endpoint))


@router.patch(
    ENDPOINT,
    summary="Changer l'URL, les types, la description, ou remettre en service / désactiver (If-Match requis)",
    response_model=WebhookPublic,
    responses=problem_responses(400, 401, 403, 404, 412, 413, 422, 428),
    openapi_extra=if_match_parameter(),
)
async def update_webhook(
    body: WebhookUpdate, endpoint: EditedEndpoint, response: Response, clock: ClockDep, allowed: AllowedNetworksDep,
) -> WebhookPublic:
    """An organisation's admin changes one of its endpoints; back in service it starts afresh (no failing streak,
    its waiting deliveries sent again). 404 `not_found` for another organisation's, 412/428 for a stale or
    missing If-Match, 422 `webhook_target_refused` for a refused URL."""
    return with_etag(response, await webhooks.update(endpoint, body, allowed, clock.now()))


@router.delete(
    ENDPOINT,
    summary="Supprimer un point de réception, son secret et son journal de livraisons (If-Match requis)",
    description="Plus rien ne lui est livré, y compris ce qui était en attente ; les événements restent lisibles "
    "dans `/api/v1/events`. Pour seulement suspendre les livraisons : `PATCH` avec `state: disabled`.",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Supprimé"}, **problem_responses(401, 403, 404, 412, 422, 428)},
    openapi_extra=if_match_parameter(),
)
async def delete_webhook(endpoint: DeletedEndpoint, session: SessionDep) -> Response:
    """An organisation's admin deletes one of its endpoints with its delivery log; 404 `not_found` for another
    organisation's (and for it, once deleted), 412/428 for a stale or missing If-Match."""
    await webhooks.delete(session, endpoint)
    return Response(status_code=204)


@router.post(
    f"{ENDPOINT}/rotate-secret",
    summary="Nouveau secret (montré une fois) ; l'ancien signe aussi pendant un jour (deux signatures)",
    **move_route(WebhookWithSecret),
)
async def rotate_webhook_secret(
    endpoint: RotatedEndpoint, session: SessionDep, call: IdempotencyDep, clock: ClockDep
) -> Response:
    """An organisation's admin gives one of its endpoints a new secret, shown in this answer only; the previous
    one signs too for a day. 404 `not_found` for another organisation's, 412 for a stale If-Match."""
    return await answer(session, call, webhooks.rotate(endpoint, clock.now()))


@router.get(
    f"{ENDPOINT}/deliveries",
    summary="Le journal des livraisons : état, tentatives, dernier code, latence",
    response_model=Page[DeliveryPublic],
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def list_webhook_deliveries(
    endpoint: CurrentEndpoint, session: SessionDep, limit: LimitParam = 50, cursor: CursorParam = None,
    state: Annotated[Literal["pending", "delivered", "failed", "stopped"] | None, Query()] = None,
) -> Page[DeliveryPublic]:
    """An organisation's admin reads one of its endpoints' delivery log, in the order the deliveries were made;
    404 `not_found` for another organisation's endpoint."""
    rows = await webhooks.deliveries(session, endpoint, state=state, limit=limit, cursor=cursor)
    page, next_cursor = split_page(rows, limit=limit)
    return Page(items=[webhooks.delivery_public(row) for row in page], next_cursor=next_cursor)


@router.get(DELIVERY, summary="Une livraison et chacune de ses tentatives", response_model=DeliveryDetail,
            responses=problem_responses(401, 403, 404, 422))
async def get_webhook_delivery(delivery: CurrentDelivery, session: SessionDep) -> DeliveryDetail:
    """An organisation's admin reads one delivery of its endpoint with each attempt; 404 `not_found` for another
    organisation's endpoint or another endpoint's delivery."""
    return await webhooks.detail(session, delivery)


@router.post(
    f"{DELIVERY}/replay",
    summary="Livrer de nouveau, tout de suite (même webhook-id)",
    response_model=DeliveryDetail,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
async def replay_webhook_delivery(
    delivery: ReplayedDelivery, session: SessionDep, call: IdempotencyDep, clock: ClockDep
) -> Response:
    """An organisation's admin has one delivery sent again at once, with the same webhook-id, whatever became of
    it; 404 `not_found` for another organisation's endpoint or another endpoint's delivery."""
    detail = await webhooks.replay_delivery(session, delivery, clock.now())
    return await call.respond(session, status_code=200, content=detail)
