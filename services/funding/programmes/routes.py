"""Programmes (calls, rolling funds, CPO campaigns)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from common.auth import Authorize
from common.clock import ClockDep
from common.db import SessionDep
from common.etag import etag_of
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, split_page
from common.problems import problem_responses
from common.tokens import Principal
from services.funding.models.programme import Track
from services.funding.peers import PeersDep
from services.funding.programmes import repository
from services.funding.programmes import service as programmes
from services.funding.programmes.schemas import ProgrammeCreate, ProgrammePublic
from services.vocabulary import DESK_ROLES, EVERY_ROLE, Scope

router = APIRouter(prefix="/programmes", tags=["programmes"])

Reader = Annotated[Principal, Depends(Authorize(roles=EVERY_ROLE, scope=Scope.programmes_read))]
Desk = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.programmes_write))]


@router.post(
    "",
    summary="Créer un programme (guichet)",
    status_code=201,
    response_model=ProgrammePublic,
    responses={
        **problem_responses(400, 401, 403, 409, 413, 422, 502),
        # OpenAPI link: where to read the programme created (schemathesis' stateful run follows it).
        201: {"links": {"GetProgramme": {
            "operationId": "get_programme", "parameters": {"programme_id": "$response.body#/id"}}}},
    },
)
async def create_programme(
    body: ProgrammeCreate, session: SessionDep, caller: Desk, peers: PeersDep, call: IdempotencyDep, clock: ClockDep
) -> Response:
    programme = await programmes.create_programme(
        session, principal=caller, request=body, peers=peers, today=clock.today()
    )
    return await call.respond(
        session, status_code=201, content=programme,
        headers={"Location": f"/api/v1/programmes/{programme.id}", "ETag": etag_of(1)},
    )


@router.get(
    "",
    summary="Programmes",
    response_model=Page[ProgrammePublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_programmes(
    session: SessionDep,
    _caller: Reader,
    clock: ClockDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    track: Annotated[Track | None, Query()] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> dict:
    rows = await repository.list_programmes(session, track=track, year=year, limit=limit, cursor=cursor)
    page, next_cursor = split_page(rows, limit=limit)
    return {"items": await programmes.to_public_many(session, page, clock.today()), "next_cursor": next_cursor}


@router.get(
    "/{programme_id}",
    summary="Lire un programme",
    response_model=ProgrammePublic,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_programme(
    programme_id: uuid.UUID, session: SessionDep, _caller: Reader, response: Response, clock: ClockDep
) -> ProgrammePublic:
    programme = await programmes.get_programme(session, programme_id)
    response.headers["ETag"] = etag_of(programme.version)
    return (await programmes.to_public_many(session, [programme], clock.today()))[0]
