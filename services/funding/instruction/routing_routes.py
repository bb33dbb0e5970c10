"""Routing an admissible dossier to the funders of its plan; a funder declining what was routed to it."""

import uuid

from fastapi import APIRouter, Response

from common.db import SessionDep
from common.idempotency import IdempotencyDep
from common.problems import problem_responses
from common.resources import answer
from services.funding.dossiers.dependencies import CurrentDossier
from services.funding.dossiers.presets import MOVE
from services.funding.instruction import routing
from services.funding.instruction.auth import DeskInstructor, RoutingDecliner
from services.funding.instruction.dependencies import InstructedDossier
from services.funding.instruction.schemas import RoutingDecline, RoutingPublic

router = APIRouter(prefix="/dossiers", tags=["dossiers"])


@router.post("/{dossier_id}/route", summary="Transmettre le dossier à chaque financeur du plan — guichet", **MOVE)
async def route_dossier(
    session: SessionDep, caller: DeskInstructor, dossier: InstructedDossier, call: IdempotencyDep
) -> Response:
    """The desk sends an admissible dossier to every funder of its plan not yet routed; it is then in
    instruction. Refused: 409 `illegal_transition`, `unallocated_share` (the desk's share first) or
    `nothing_to_route`."""
    routed = await routing.route(session, principal=caller, dossier=dossier)
    return await answer(session, call, routed)


@router.post(
    "/{dossier_id}/decline-routing",
    summary="Décliner un dossier transmis à mon financeur (motif) : sa part revient au guichet",
    **MOVE,
)
async def decline_routing(
    dossier_id: uuid.UUID, body: RoutingDecline, session: SessionDep, caller: RoutingDecliner, call: IdempotencyDep
) -> Response:
    """A routed funder's instructor or manager gives the dossier back, with a reason: its line joins the desk's
    share. Refused: 404 for a funder it was never routed to, 409 `routing_already_declined`, 409
    `illegal_transition` (also while the dossier is on a session's agenda)."""
    declined = await routing.decline(session, principal=caller, dossier_id=dossier_id, request=body)
    return await answer(session, call, declined)


@router.get(
    "/{dossier_id}/routings",
    summary="À quels financeurs le dossier est transmis, et lesquels l'ont décliné",
    response_model=list[RoutingPublic],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_routings(dossier: CurrentDossier, session: SessionDep) -> list[RoutingPublic]:
    """For whoever reads the dossier (holder, routed funder, desk; 404 for anyone else)."""
    return await routing.routings(session, dossier=dossier)
