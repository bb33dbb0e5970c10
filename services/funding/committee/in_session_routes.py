"""The committee in session: conflicts of interest declared before it opens, the opening on quorum, each funder's
decisions and the seed fund's scores on each item, the desk's deferrals and raises, the closing and its minutes.
Mounted under /sessions by sessions_routes.py."""

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response

from common.clock import ClockDep
from common.db import Database, SessionDep
from common.idempotency import IdempotencyDep
from common.problems import problem_responses, request_language
from common.resources import answer, move_route, upsert_route, with_etag
from services.funding.committee import closing, conflicts, decisions, scoring
from services.funding.committee import sessions as committee
from services.funding.committee.auth import CommitteeMember, SessionPlanner, SessionReader
from services.funding.committee.dependencies import (
    AgendaItemId,
    ClosedSession,
    CurrentSession,
    DecisionSeat,
    DeclaredSession,
    DeferringSession,
    HoldersCards,
    OpenedSession,
    RaisingSession,
    ScoresReadSession,
    ScoringSession,
)
from services.funding.committee.minutes import minutes_response
from services.funding.committee.schemas import (
    ConflictDeclaration,
    DecisionIn,
    DecisionPublic,
    Deferral,
    Minutes,
    Opening,
    PlanRaise,
    RecusalPublic,
    ScoreIn,
    ScorePublic,
    SessionPublic,
)
from services.funding.html_documents import DOCUMENT_HEADERS
from services.funding.notifications import service as notifications

# Its routes take the tags and prefix of the sessions router that includes it.
router = APIRouter()

MOVE = move_route(SessionPublic, upstream=True)


@router.post(
    "/{session_id}/conflicts",
    summary="Déclarer un conflit d'intérêts sur un point (membre du comité, avant l'ouverture)",
    status_code=201,
    response_model=RecusalPublic,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
async def declare_conflict(
    found: DeclaredSession, body: ConflictDeclaration, session: SessionDep, caller: CommitteeMember,
    call: IdempotencyDep,
) -> Response:
    """A member of a funder invited declares a conflict of interest on an item it sees, before the session opens;
    the member is then recused from that item: it records no decision on it, and the minutes say so. Refused
    (409 `conflict_already_declared`) the second time, (409 `session_not_planned`) once open, (422
    `unknown_item`) for an item it does not see."""
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
async def list_conflicts(found: CurrentSession, session: SessionDep, caller: SessionReader) -> list[RecusalPublic]:
    """The conflicts declared on the items the caller sees (all for the desk). As many as the members declare,
    on at most 200 items: no pagination."""
    return [committee.recusal_public(row) for row in await conflicts.declared_conflicts(session, caller, found)]


@router.post(
    "/{session_id}/open",
    summary="Ouvrir la séance : présents, quorum de chaque programme, ordre du jour prêt — guichet",
    **MOVE,
)
async def open_session(
    found: OpenedSession, body: Opening, session: SessionDep, caller: SessionPlanner, call: IdempotencyDep
) -> Response:
    """The desk opens a planned session with the funders present. Refused (409 `quorum_not_met`) while a
    programme's quorum is missing, (409 `agenda_empty`), (409 `dossier_not_placeable`) for a dossier no longer
    ready, (422 `funder_not_invited`) for a funder present but not invited."""
    public = await committee.open_session(session, principal=caller, committee=found, request=body)
    return await answer(session, call, public)


@router.put(
    "/{session_id}/items/{item_id}/decisions/mine",
    summary=(
        "Décision de mon financeur sur un point (montant accordé et conditions, ou pas d'aide avec motif) ; "
        "engage le montant sur son enveloppe (If-Match requis dès qu'elle existe)"
    ),
    **upsert_route(
        DecisionPublic, replaced="Décision remplacée (inchangée : même ETag)",
        created="Première décision du financeur sur ce point",
    ),
)
async def record_decision(
    place: DecisionSeat, body: DecisionIn, response: Response, session: SessionDep, caller: CommitteeMember
) -> DecisionPublic:
    """Only a funder present, asked for a share by the dossier's plan, by a member not recused from the item
    (409 `recused`); at most what the plan asks of it (422 `above_amount_asked`). An envelope that cannot cover
    the amount is a 409 `envelope_exceeded`."""
    decision, created = await decisions.record_decision(session, principal=caller, place=place, request=body)
    public = with_etag(response, committee.decision_public(decision))
    if created:
        response.status_code = 201
        response.headers["Location"] = f"/api/v1/sessions/{place.committee.id}/items/{place.item.id}/decisions/mine"
    return public


@router.put(
    "/{session_id}/items/{item_id}/scores/mine",
    summary=(
        "Noter un point du fonds d'amorçage sur la grille (innovation, dimension collective, implication des "
        "habitants, faisabilité : 0 à 5) — membre présent, non déporté ; If-Match requis dès que la note existe"
    ),
    **upsert_route(
        ScorePublic, replaced="Notes remplacées (inchangées : même ETag)",
        created="Premières notes du membre sur ce point",
    ),
)
async def record_score(
    found: ScoringSession, item_id: AgendaItemId, body: ScoreIn, response: Response, session: SessionDep,
    caller: CommitteeMember,
) -> ScorePublic:
    """The agenda shows each item's averages and their spread; a recused member's scores are refused (409
    `recused`), an item outside the seed fund's (409 `no_scoring_grid`)."""
    score, created = await scoring.record(session, principal=caller, committee=found, item_id=item_id, request=body)
    public = with_etag(response, scoring.to_public(score))
    if created:
        response.status_code = 201
        response.headers["Location"] = f"/api/v1/sessions/{found.id}/items/{item_id}/scores/mine"
    return public


@router.get(
    "/{session_id}/items/{item_id}/scores",
    summary="Les notes de chaque membre sur un point du fonds d'amorçage — guichet",
    response_model=list[ScorePublic],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_scores(
    found: ScoresReadSession, item_id: AgendaItemId, session: SessionDep
) -> list[ScorePublic]:
    """A member's own marks stay between it and the desk; the agenda shows everyone their summary."""
    return await scoring.scores_on_item(session, found, item_id)


@router.post(
    "/{session_id}/items/{item_id}/defer",
    summary="Reporter un point entier à une séance ultérieure (motif) — guichet",
    **MOVE,
)
async def defer_item(
    found: DeferringSession, item_id: AgendaItemId, body: Deferral, session: SessionDep, caller: SessionPlanner,
    call: IdempotencyDep,
) -> Response:
    """The desk defers a pending item of an open session: what the funders already decided on it is voided and
    goes back to their envelopes, the dossier is `deferred`. Refused (409 `item_not_pending`)."""
    public = await decisions.defer(session, principal=caller, committee=found, item_id=item_id, request=body)
    return await answer(session, call, public)


@router.post(
    "/{session_id}/items/{item_id}/raise-plan",
    summary="Relever ce que le plan demande à un financeur, pour qu'il puisse accorder plus — guichet",
    **MOVE,
)
async def raise_plan(
    found: RaisingSession, item_id: AgendaItemId, body: PlanRaise, session: SessionDep, caller: SessionPlanner,
    call: IdempotencyDep,
) -> Response:
    """The desk raises the share the dossier's plan asks of one funder, in an open session. Refused (422
    `funder_not_in_plan`, `not_a_raise`, `above_ceiling`), (409 `item_not_pending`)."""
    public = await decisions.raise_plan(session, principal=caller, committee=found, item_id=item_id, request=body)
    return await answer(session, call, public)


@router.post(
    "/{session_id}/close",
    summary="Clore la séance : issues des dossiers, procès-verbal figé, une notification par dossier — guichet",
    **MOVE,
)
async def close_session(
    found: ClosedSession, holders: HoldersCards, request: Request, session: SessionDep, caller: SessionPlanner,
    call: IdempotencyDep, background: BackgroundTasks, clock: ClockDep,
) -> Response:
    """The desk closes an open session: each dossier decided, the minutes frozen, one notification per dossier
    to its association, sent once committed. Refused (409 `items_undecided`) while a funder asked on a pending
    item has not decided: decide or defer; (409 `session_not_open`)."""
    public, written = await closing.close(session, principal=caller, committee=found, holders=holders, now=clock.now())
    database: Database = request.app.state.db
    # Sent once the transaction is committed (the response goes after the commit): a mail is never sent for a
    # closing that did not happen.
    background.add_task(
        notifications.deliver, database, request.app.state.mailer, request.app.state.settings.mail_from, written
    )
    closed = await answer(session, call, public)
    closed.background = background
    return closed


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
    found: CurrentSession, request: Request, session: SessionDep, caller: SessionReader,
    format: Annotated[str | None, Query(pattern="^(json|html)$", description="json (défaut) ou html.")] = None,
) -> Response:
    """The minutes frozen at the closing: every item for the desk, its own for a funder's people. Refused (409
    `minutes_not_ready`) before the session closes."""
    minutes = await committee.minutes_for(session, caller, found)
    wants_html = format == "html" or (format is None and "text/html" in request.headers.get("accept", ""))
    return minutes_response(minutes, version=found.version, html=wants_html, language=request_language(request))
