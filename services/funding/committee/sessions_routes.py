"""The comité des financeurs: sessions planned by the desk, conflicts of interest, decisions in session, minutes."""

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response

from common.auth import Authorize
from common.clock import ClockDep
from common.db import SessionDep
from common.etag import check_if_match, etag_of, if_match_parameter
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses, request_language
from common.tokens import Principal
from services.funding.committee import agenda, closing, conflicts, decisions, planning, scores, scoring
from services.funding.committee import sessions as committee
from services.funding.committee.minutes import minutes_html
from services.funding.committee.schemas import (
    Agenda,
    ConflictDeclaration,
    DecisionIn,
    DecisionPublic,
    Deferral,
    Invitations,
    Minutes,
    Opening,
    PlanRaise,
    RecusalPublic,
    ScoreIn,
    ScorePublic,
    SessionCreate,
    SessionPublic,
    SessionSummary,
    SessionUpdate,
)
from services.funding.html_documents import DOCUMENT_HEADERS, document_response
from services.funding.models.committee import SessionState
from services.funding.notifications import service as notifications
from services.funding.peers import PeersDep
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, Scope

router = APIRouter(prefix="/sessions", tags=["sessions"])

Desk = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.sessions_write))]
Reader = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES | FUNDER_ROLES, scope=Scope.sessions_read))]
DeskReader = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.sessions_read))]
Member = Annotated[Principal, Depends(Authorize(roles=committee.MEMBER_ROLES, scope=Scope.sessions_write))]

CHANGE = {
    "response_model": SessionPublic,
    "responses": problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 428, 502),
    "openapi_extra": if_match_parameter(required=True),
}
MOVE = {
    "response_model": SessionPublic,
    "responses": problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 502),
    "openapi_extra": if_match_parameter(required=False),
}


def _headers(public: SessionPublic) -> dict[str, str]:
    return {"ETag": etag_of(public.version)}


@router.post(
    "",
    summary="Créer une séance du comité des financeurs (date, lieu, programmes) — guichet",
    status_code=201,
    response_model=SessionPublic,
    responses=problem_responses(400, 401, 403, 409, 413, 422),
)
async def create_session(
    body: SessionCreate, session: SessionDep, caller: Desk, call: IdempotencyDep, clock: ClockDep
) -> Response:
    created = await planning.create_session(session, principal=caller, request=body, today=clock.today())
    return await call.respond(
        session, status_code=201, content=created,
        headers={**_headers(created), "Location": f"/api/v1/sessions/{created.id}"},
    )


@router.get(
    "",
    summary="Séances visibles : toutes pour le guichet, celles où mon financeur est invité",
    response_model=Page[SessionSummary],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_sessions(
    session: SessionDep,
    caller: Reader,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    state: Annotated[SessionState | None, Query(description="planned, open ou closed.")] = None,
    updated_since: UpdatedSinceParam = None,
) -> Page[SessionSummary]:
    rows = await committee.visible_sessions(
        session, principal=caller, state=state, updated_since=updated_since, limit=limit, cursor=cursor
    )
    page, next_cursor = split_page(rows, limit=limit)
    return Page(items=await committee.summaries(session, page), next_cursor=next_cursor)


@router.get(
    "/{session_id}",
    summary="Une séance : financeurs invités, ordre du jour, décisions et déports",
    response_model=SessionPublic,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_session(session_id: uuid.UUID, session: SessionDep, caller: Reader, response: Response) -> SessionPublic:
    """A funder's people see the items whose dossier asks their funder for a share; the desk sees them all."""
    found = await committee.visible_session(session, principal=caller, session_id=session_id)
    public = await committee.to_public(session, found, viewer=caller)
    response.headers["ETag"] = etag_of(public.version)
    return public


@router.delete(
    "/{session_id}",
    summary="Annuler une séance prévue : ses dossiers attendent une autre séance — guichet",
    status_code=204,
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
    openapi_extra=if_match_parameter(required=True),
)
async def delete_session(session_id: uuid.UUID, request: Request, session: SessionDep, caller: Desk) -> Response:
    found = await _for_change(session, caller, session_id, request, required=True)
    await planning.delete_session(session, principal=caller, committee=found)
    return Response(status_code=204)


async def _for_change(session: SessionDep, caller: Principal, session_id: uuid.UUID, request: Request, *,
                      required: bool) -> committee.CommitteeSession:
    found = await committee.visible_session(session, principal=caller, session_id=session_id, lock="update")
    check_if_match(request, found.version, required=required)
    return found


@router.patch("/{session_id}", summary="Changer le titre, la date ou le lieu d'une séance prévue — guichet", **CHANGE)
async def update_session(
    session_id: uuid.UUID, body: SessionUpdate, request: Request, response: Response, session: SessionDep, caller: Desk,
    clock: ClockDep,
) -> SessionPublic:
    found = await _for_change(session, caller, session_id, request, required=True)
    public = await planning.update_session(session, committee=found, request=body, today=clock.today())
    response.headers.update(_headers(public))
    return public


@router.put(
    "/{session_id}/funders",
    summary="Inviter les financeurs (liste complète remplacée) — guichet, séance prévue",
    **CHANGE,
)
async def invite_funders(
    session_id: uuid.UUID, body: Invitations, request: Request, response: Response, session: SessionDep,
    caller: Desk, peers: PeersDep,
) -> SessionPublic:
    # Identity is asked before the session is locked: no call to another service while a row is held.
    cards = await planning.organisation_cards(peers, body.funder_ids)
    found = await _for_change(session, caller, session_id, request, required=True)
    public = await planning.invite(session, committee=found, request=body, cards=cards, principal=caller)
    response.headers.update(_headers(public))
    return public


@router.put(
    "/{session_id}/agenda",
    summary="Fixer l'ordre du jour (dossiers prêts, dans l'ordre, une note par point) — guichet, séance prévue",
    **CHANGE,
)
async def set_agenda(
    session_id: uuid.UUID, body: Agenda, request: Request, response: Response, session: SessionDep, caller: Desk
) -> SessionPublic:
    found = await _for_change(session, caller, session_id, request, required=True)
    public = await agenda.set_agenda(session, principal=caller, committee=found, request=body)
    response.headers.update(_headers(public))
    return public


@router.post(
    "/{session_id}/conflicts",
    summary="Déclarer un conflit d'intérêts sur un point (membre du comité, avant l'ouverture)",
    status_code=201,
    response_model=RecusalPublic,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
async def declare_conflict(
    session_id: uuid.UUID, body: ConflictDeclaration, session: SessionDep, caller: Member, call: IdempotencyDep
) -> Response:
    """The member is then recused from that item: it records no decision on it, and the minutes say so."""
    found = await committee.visible_session(session, principal=caller, session_id=session_id, lock="share")
    recusal = await conflicts.declare_conflict(session, principal=caller, committee=found, request=body)
    return await call.respond(
        session, status_code=201, content=committee.recusal_public(recusal),
        headers={"Location": f"/api/v1/sessions/{found.id}/conflicts"},
    )


@router.get(
    "/{session_id}/conflicts",
    summary="Les conflits d'intérêts déclarés sur la séance",
    response_model=list[RecusalPublic],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_conflicts(session_id: uuid.UUID, session: SessionDep, caller: Reader) -> list[RecusalPublic]:
    """As many as the members declare, on at most 200 items: no pagination."""
    found = await committee.visible_session(session, principal=caller, session_id=session_id)
    return [committee.recusal_public(row) for row in await conflicts.visible_recusals(session, caller, found)]


@router.post(
    "/{session_id}/open",
    summary="Ouvrir la séance : présents, quorum de chaque programme, ordre du jour prêt — guichet",
    **MOVE,
)
async def open_session(
    session_id: uuid.UUID, body: Opening, request: Request, session: SessionDep, caller: Desk, call: IdempotencyDep
) -> Response:
    found = await _for_change(session, caller, session_id, request, required=False)
    public = await committee.open_session(session, principal=caller, committee=found, request=body)
    return await call.respond(session, status_code=200, content=public, headers=_headers(public))


@router.put(
    "/{session_id}/items/{item_id}/decisions/mine",
    summary=(
        "Décision de mon financeur sur un point (montant accordé et conditions, ou pas d'aide avec motif) ; "
        "engage le montant sur son enveloppe (If-Match requis dès qu'elle existe)"
    ),
    response_model=DecisionPublic,
    responses={
        **problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 428),
        200: {"description": "Décision remplacée (inchangée : même ETag)"},
        201: {"description": "Première décision du financeur sur ce point", "model": DecisionPublic},
    },
    openapi_extra=if_match_parameter(required=False),
)
async def record_decision(
    session_id: uuid.UUID, item_id: uuid.UUID, body: DecisionIn, request: Request, response: Response,
    session: SessionDep, caller: Member,
) -> DecisionPublic:
    """Only a funder present, asked for a share by the dossier's plan, by a member not recused from the item; at
    most what the plan asks of it. An envelope that cannot cover the amount is a 409 `envelope_exceeded`."""
    found = await committee.visible_session(session, principal=caller, session_id=session_id, lock="share")
    place = await decisions.seat(session, principal=caller, committee=found, item_id=item_id)
    check_if_match(request, place.current.version if place.current else 0, required=place.current is not None)
    decision, created = await decisions.record_decision(session, principal=caller, place=place, request=body)
    response.headers["ETag"] = etag_of(decision.version)
    if created:
        response.status_code = 201
        response.headers["Location"] = f"/api/v1/sessions/{found.id}/items/{item_id}/decisions/mine"
    return committee.decision_public(decision)


@router.put(
    "/{session_id}/items/{item_id}/scores/mine",
    summary=(
        "Noter un point du fonds d'amorçage sur la grille (innovation, dimension collective, implication des "
        "habitants, faisabilité : 0 à 5) — membre présent, non déporté ; If-Match requis dès que la note existe"
    ),
    response_model=ScorePublic,
    responses={
        **problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 428),
        200: {"description": "Notes remplacées (inchangées : même ETag)"},
        201: {"description": "Premières notes du membre sur ce point", "model": ScorePublic},
    },
    openapi_extra=if_match_parameter(required=False),
)
async def record_score(
    session_id: uuid.UUID, item_id: uuid.UUID, body: ScoreIn, request: Request, response: Response,
    session: SessionDep, caller: Member,
) -> ScorePublic:
    """The agenda shows each item's averages and their spread; a recused member's scores are refused (409)."""
    found = await committee.visible_session(session, principal=caller, session_id=session_id, lock="share")
    current = await scoring.current_score(session, item_id, caller.subject)
    check_if_match(request, current.version if current else 0, required=current is not None)
    score, created = await scoring.record(session, principal=caller, committee=found, item_id=item_id, request=body)
    response.headers["ETag"] = etag_of(score.version)
    if created:
        response.status_code = 201
        response.headers["Location"] = f"/api/v1/sessions/{found.id}/items/{item_id}/scores/mine"
    return scoring.to_public(score)


@router.get(
    "/{session_id}/items/{item_id}/scores",
    summary="Les notes de chaque membre sur un point du fonds d'amorçage — guichet",
    response_model=list[ScorePublic],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_scores(
    session_id: uuid.UUID, item_id: uuid.UUID, session: SessionDep, caller: DeskReader
) -> list[ScorePublic]:
    """A member's own marks stay between it and the desk; the agenda shows everyone their summary."""
    found = await committee.visible_session(session, principal=caller, session_id=session_id)
    item = await committee.item_of(session, found, item_id)
    return [scoring.to_public(score) for score in (await scores.scores_of(session, [item.id]))[item.id]]


@router.post(
    "/{session_id}/items/{item_id}/defer",
    summary="Reporter un point entier à une séance ultérieure (motif) — guichet",
    **MOVE,
)
async def defer_item(
    session_id: uuid.UUID, item_id: uuid.UUID, body: Deferral, session: SessionDep, caller: Desk, call: IdempotencyDep
) -> Response:
    """What the funders already decided on it is voided and goes back to their envelopes."""
    found = await committee.visible_session(session, principal=caller, session_id=session_id, lock="update")
    public = await decisions.defer(session, principal=caller, committee=found, item_id=item_id, request=body)
    return await call.respond(session, status_code=200, content=public, headers=_headers(public))


@router.post(
    "/{session_id}/items/{item_id}/raise-plan",
    summary="Relever ce que le plan demande à un financeur, pour qu'il puisse accorder plus — guichet",
    **MOVE,
)
async def raise_plan(
    session_id: uuid.UUID, item_id: uuid.UUID, body: PlanRaise, session: SessionDep, caller: Desk,
    call: IdempotencyDep,
) -> Response:
    found = await committee.visible_session(session, principal=caller, session_id=session_id, lock="update")
    public = await decisions.raise_plan(session, principal=caller, committee=found, item_id=item_id, request=body)
    return await call.respond(session, status_code=200, content=public, headers=_headers(public))


@router.post(
    "/{session_id}/close",
    summary="Clore la séance : issues des dossiers, procès-verbal figé, une notification par dossier — guichet",
    **MOVE,
)
async def close_session(
    session_id: uuid.UUID, request: Request, session: SessionDep, caller: Desk, call: IdempotencyDep,
    peers: PeersDep, background: BackgroundTasks, clock: ClockDep,
) -> Response:
    """Refused (409 `items_undecided`) while a funder asked on a pending item has not decided: decide or defer."""
    # The associations' names and addresses, from identity, read before the writer's transaction starts: on
    # SQLite its first statement takes the database's write lock, which no call to another service may hold.
    async with request.app.state.db.reader() as reading:
        found = await committee.visible_session(reading, principal=caller, session_id=session_id)
        committee.require_state(found, SessionState.open, "close")
        to_ask = await closing.holders_to_ask(reading, found)
    holders = await planning.organisation_cards(peers, to_ask)
    found = await _for_change(session, caller, session_id, request, required=False)
    public, written = await closing.close(
        session, principal=caller, committee=found, holders=holders, now=clock.now()
    )
    settings = request.app.state.settings
    # Sent once the transaction is committed (the response goes after the commit): a mail is never sent for a
    # closing that did not happen.
    background.add_task(
        notifications.deliver, request.app.state.db, request.app.state.mailer, settings.mail_from, written
    )
    answer = await call.respond(session, status_code=200, content=public, headers=_headers(public))
    answer.background = background
    return answer


@router.get(
    "/{session_id}/minutes",
    summary="Procès-verbal d'une séance close : JSON, ou document HTML lisible (Accept: text/html ou format=html)",
    response_model=Minutes,
    responses={
        **problem_responses(401, 403, 404, 409, 422),
        200: {"content": {"application/json": {}, "text/html": {"schema": {"type": "string"}}},
              "headers": DOCUMENT_HEADERS},
    },
)
async def get_minutes(
    session_id: uuid.UUID, request: Request, session: SessionDep, caller: Reader,
    format: Annotated[str | None, Query(pattern="^(json|html)$", description="json (défaut) ou html.")] = None,
) -> Response:
    found = await committee.visible_session(session, principal=caller, session_id=session_id)
    minutes = await committee.minutes_for(session, caller, found)
    headers = {"ETag": etag_of(found.version)}
    wants_html = format == "html" or (format is None and "text/html" in request.headers.get("accept", ""))
    if wants_html:
        return document_response(minutes_html(minutes, request_language(request)), headers)
    return Response(minutes.model_dump_json(), media_type="application/json", headers=headers)
