"""The shared indicators' catalogue (collective impact)."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from common.auth import Authorize
from common.db import SessionDep
from common.etag import check_if_match, etag_of, if_match_parameter
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses
from common.tokens import Principal
from services.projects import indicator_catalogue, repository
from services.projects.schemas import IndicatorCreate, IndicatorPublic, IndicatorUpdate
from services.vocabulary import DESK_ROLES, EVERY_ROLE, Scope

router = APIRouter(prefix="/indicators", tags=["indicators"])
# Only a UUID is an indicator's id: other words under /indicators (aggregates) are routes of their own, which a
# PATCH /indicators/aggregates must not reach as an id (a 422 where RFC 9110 says 405).
BY_ID = "/{indicator_id:uuid}"

Reader = Annotated[Principal, Depends(Authorize(roles=EVERY_ROLE, scope=Scope.projects_read, services=True))]
Desk = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.projects_write))]


@router.post(
    "",
    summary="Ajouter un indicateur partagé (guichet)",
    status_code=201,
    response_model=IndicatorPublic,
    responses={
        **problem_responses(400, 401, 403, 409, 413, 422),
        201: {
            "links": {
                "GetIndicator": {"operationId": "get_indicator", "parameters": {"indicator_id": "$response.body#/id"}}
            }
        },
    },
)
async def create_indicator(body: IndicatorCreate, session: SessionDep, _desk: Desk, call: IdempotencyDep) -> Response:
    indicator = await indicator_catalogue.create_indicator(session, request=body)
    return await call.respond(
        session,
        status_code=201,
        content=indicator,
        headers={"Location": f"/api/v1/indicators/{indicator.id}", "ETag": etag_of(indicator.version)},
    )


@router.get(
    "",
    summary="Catalogue des indicateurs partagés",
    response_model=Page[IndicatorPublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_indicators(
    session: SessionDep,
    _caller: Reader,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    priority: Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$")] = None,
    unit: Annotated[Literal["people", "organisations", "hours", "events", "euros", "percent"] | None, Query()] = None,
    active: Annotated[bool | None, Query(description="true : en usage ; false : retirés.")] = None,
    updated_since: UpdatedSinceParam = None,
) -> dict:
    rows = await repository.list_indicators(
        session, priority=priority, unit=unit, active=active, updated_since=updated_since, limit=limit, cursor=cursor
    )
    page, next_cursor = split_page(rows, limit=limit)
    return {"items": await indicator_catalogue.to_public_many(session, page), "next_cursor": next_cursor}


@router.get(
    BY_ID,
    summary="Lire un indicateur",
    response_model=IndicatorPublic,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_indicator(
    indicator_id: uuid.UUID, session: SessionDep, _caller: Reader, response: Response
) -> IndicatorPublic:
    indicator = await indicator_catalogue.get_indicator(session, indicator_id)
    response.headers["ETag"] = etag_of(indicator.version)
    return (await indicator_catalogue.to_public_many(session, [indicator]))[0]


@router.patch(
    BY_ID,
    summary="Modifier le libellé, les priorités ou retirer un indicateur (If-Match requis)",
    response_model=IndicatorPublic,
    responses=problem_responses(400, 401, 403, 404, 412, 413, 422, 428),
    openapi_extra=if_match_parameter(),
)
async def update_indicator(
    indicator_id: uuid.UUID,
    body: IndicatorUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    _desk: Desk,
) -> IndicatorPublic:
    indicator = await indicator_catalogue.get_indicator(session, indicator_id, for_update=True)
    check_if_match(request, indicator.version)
    updated = await indicator_catalogue.update_indicator(session, indicator=indicator, request=body)
    response.headers["ETag"] = etag_of(updated.version)
    return updated
