"""The comité des financeurs: sessions planned by the desk (created, read, changed, invitations, agenda, called
off). What happens in session — conflicts of interest, opening, decisions, scores, closing, minutes — is
in_session_routes.py, mounted under the same prefix."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from common.clock import ClockDep
from common.db import SessionDep
from common.etag import if_match_parameter
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam
from common.problems import problem_responses
from common.resources import answer, change_route, with_etag
from services.funding.committee import agenda, in_session_routes, planning
from services.funding.committee import sessions as committee
from services.funding.committee.auth import SessionPlanner, SessionReader
from services.funding.committee.dependencies import (
    AgendaSession,
    CurrentSession,
    DeletedSession,
    InvitedCards,
    InvitingSession,
    UpdatedSession,
)
from services.funding.committee.schemas import (
    Agenda,
    Invitations,
    SessionCreate,
    SessionPublic,
    SessionSummary,
    SessionUpdate,
)
from services.funding.models.committee import SessionState

router = APIRouter(prefix="/sessions", tags=["sessions"])

CHANGE = change_route(SessionPublic, upstream=True)


@router.post(
    "",
    summary="Créer une séance du comité des financeurs (date, lieu, programmes) — guichet",
    status_code=201,
    response_model=SessionPublic,
    responses=problem_responses(400, 401, 403, 409, 413, 422),
)
async def create_session(
    body: SessionCreate, session: SessionDep, caller: SessionPlanner, call: IdempotencyDep, clock: ClockDep
) -> Response:
    """The desk plans a session of one or more programmes; it starts `planned`, with no funder invited and an
    empty agenda. Refused (422) for a date in the past, or a programme unknown (`unknown_programme`)."""
    created = await planning.create_session(session, principal=caller, request=body, today=clock.today())
    return await answer(session, call, created, status_code=201, location=f"/api/v1/sessions/{created.id}")


@router.get(
    "",
    summary="Séances visibles : toutes pour le guichet, celles où mon financeur est invité",
    response_model=Page[SessionSummary],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_sessions(
    session: SessionDep,
    caller: SessionReader,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    state: Annotated[SessionState | None, Query(description="planned, open ou closed.")] = None,
    updated_since: UpdatedSinceParam = None,
) -> Page[SessionSummary]:
    """The desk reads every session; a funder's people, those their funder is invited to. Paged by cursor, in
    the order of creation."""
    return await committee.listed_sessions(
        session, principal=caller, state=state, updated_since=updated_since, limit=limit, cursor=cursor
    )


@router.get(
    "/{session_id}",
    summary="Une séance : financeurs invités, ordre du jour, décisions et déports",
    response_model=SessionPublic,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_session(found: CurrentSession, session: SessionDep, caller: SessionReader,
                      response: Response) -> SessionPublic:
    """A funder's people see the items whose dossier asks their funder for a share; the desk sees them all. A
    session the caller's funder is not invited to is a 404."""
    return with_etag(response, await committee.to_public(session, found, viewer=caller))


@router.delete(
    "/{session_id}",
    summary="Annuler une séance prévue : ses dossiers attendent une autre séance — guichet",
    status_code=204,
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
    openapi_extra=if_match_parameter(required=True),
)
async def delete_session(found: DeletedSession, session: SessionDep, caller: SessionPlanner) -> Response:
    """The desk calls off a planned session (If-Match required); its dossiers leave the agenda in their state.
    Refused (409 `session_not_planned`) once the session is open."""
    await planning.delete_session(session, principal=caller, committee=found)
    return Response(status_code=204)


@router.patch("/{session_id}", summary="Changer le titre, la date ou le lieu d'une séance prévue — guichet", **CHANGE)
async def update_session(
    found: UpdatedSession, body: SessionUpdate, response: Response, session: SessionDep, clock: ClockDep
) -> SessionPublic:
    """The desk edits a planned session (If-Match required); the same values again keep its version. Refused
    (409 `session_not_planned`) once open, (422) for a date in the past."""
    public = await planning.update_session(session, committee=found, request=body, today=clock.today())
    return with_etag(response, public)


@router.put(
    "/{session_id}/funders",
    summary="Inviter les financeurs (liste complète remplacée) — guichet, séance prévue",
    **CHANGE,
)
async def invite_funders(
    found: InvitingSession, body: Invitations, cards: InvitedCards, response: Response, session: SessionDep,
    caller: SessionPlanner,
) -> SessionPublic:
    """The desk replaces the list of funders invited (If-Match required); identity names each one, before the
    session is locked. Refused (422 `funder_not_in_programme`) for a funder of none of the session's programmes,
    (409 `session_not_planned`) once open."""
    public = await planning.invite(session, committee=found, request=body, cards=cards, principal=caller)
    return with_etag(response, public)


@router.put(
    "/{session_id}/agenda",
    summary="Fixer l'ordre du jour (dossiers prêts, dans l'ordre, une note par point) — guichet, séance prévue",
    **CHANGE,
)
async def set_agenda(
    found: AgendaSession, body: Agenda, response: Response, session: SessionDep, caller: SessionPlanner
) -> SessionPublic:
    """The desk replaces the agenda, in its order (If-Match required); a dossier taken off waits for another
    session. Refused (409 `dossier_not_placeable`) for a dossier not ready, of another programme or on another
    agenda, (422 `unknown_dossier`) for an unknown one, (409 `session_not_planned`) once open."""
    public = await agenda.set_agenda(session, principal=caller, committee=found, request=body)
    return with_etag(response, public)


router.include_router(in_session_routes.router)
