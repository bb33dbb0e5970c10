"""Programmes (calls, rolling funds, CPO campaigns)."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from common.clock import ClockDep
from common.db import SessionDep
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page
from common.problems import problem_responses
from common.resources import answer, change_route, with_etag
from services.funding.models.programme import Track
from services.funding.peers import PeersDep
from services.funding.programmes import service as programmes
from services.funding.programmes.auth import ProgrammeCreator, ProgrammeReader
from services.funding.programmes.dependencies import CurrentProgramme, UpdatedProgramme
from services.funding.programmes.schemas import ProgrammeCreate, ProgrammeOpenDataUpdate, ProgrammePublic

router = APIRouter(prefix="/programmes", tags=["programmes"])

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
    body: ProgrammeCreate, session: SessionDep, caller: ProgrammeCreator, peers: PeersDep, call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    """Opens a call of a track for a year, with its participating funders, dates and territory; the desk only.
    Refused (422 `unknown_funder`) when a funder is not a funder known to identity (503 while identity is away)."""
    programme = await programmes.create_programme(
        session, principal=caller, request=body, peers=peers, today=clock.today()
    )
    return await answer(session, call, programme, status_code=201, location=f"/api/v1/programmes/{programme.id}")


@router.get(
    "",
    summary="Programmes",
    response_model=Page[ProgrammePublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_programmes(
    session: SessionDep,
    _caller: ProgrammeReader,
    clock: ClockDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    track: Annotated[Track | None, Query()] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Page[ProgrammePublic]:
    """Every programme, optionally one track's or one year's; any role may read them."""
    items, next_cursor = await programmes.list_programmes(
        session, track=track, year=year, limit=limit, cursor=cursor, today=clock.today()
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get(
    "/{programme_id}",
    summary="Lire un programme",
    response_model=ProgrammePublic,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_programme(
    programme: CurrentProgramme, session: SessionDep, response: Response, clock: ClockDep
) -> ProgrammePublic:
    """One programme with its rules in force; any role may read it (404 `not_found` for an unknown id)."""
    return with_etag(response, (await programmes.to_public_many(session, [programme], clock.today()))[0])


@router.patch(
    "/{programme_id}",
    summary="Changer ce que les subventions du programme publient en données ouvertes (guichet)",
    description="Le guichet renseigne les champs SCDL du programme : `scheme_code` (`dispositifAide`, un code "
    "stable), `aid_nature` (`nature` : cash, in_kind ou both), `eu_notified` (`notificationUE`), `rae_id` (`idRAE`, "
    "5 caractères au plus). Chaque champ omis est gardé, null est refusé, If-Match est exigé. Les lignes des "
    "subventions déjà notifiées gardent ce qu'elles ont publié ; les suivantes prennent les nouvelles valeurs.",
    **change_route(ProgrammePublic),
)
async def update_programme(
    programme: UpdatedProgramme, body: ProgrammeOpenDataUpdate, session: SessionDep, response: Response,
    clock: ClockDep,
) -> ProgrammePublic:
    """The desk sets the programme's open-data fields (If-Match required; 428 without, 412 when stale); the same
    values again keep its version. (The operation's description is the French text above.)"""
    public = await programmes.update_open_data(session, programme=programme, request=body, today=clock.today())
    return with_etag(response, public)
