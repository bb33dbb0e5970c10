"""Routing an admissible dossier to the funders of its plan; a funder declining what was routed to it."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from common.auth import Authorize
from common.db import SessionDep
from common.etag import check_if_match, etag_of
from common.idempotency import IdempotencyDep
from common.problems import problem_responses
from common.tokens import Principal
from services.funding.dossiers import repository as dossiers_repository
from services.funding.dossiers import service as dossiers
from services.funding.dossiers import visibility as dossiers_visibility
from services.funding.dossiers.presets import MOVE
from services.funding.instruction import routing
from services.funding.instruction.admissibility_routes import Desk, Reader
from services.funding.instruction.schemas import RoutingDecline, RoutingPublic
from services.vocabulary import Role, Scope

router = APIRouter(prefix="/dossiers", tags=["dossiers"])

# Who answers for a funder on a dossier: its instructors and managers (committee members sit in sessions).
Instructor = Annotated[
    Principal,
    Depends(Authorize(roles={Role.funder_instructor, Role.funder_manager}, scope=Scope.dossiers_write)),
]


@router.post("/{dossier_id}/route", summary="Transmettre le dossier à chaque financeur du plan — guichet", **MOVE)
async def route_dossier(
    dossier_id: uuid.UUID, request: Request, session: SessionDep, caller: Desk, call: IdempotencyDep
) -> Response:
    dossier = await dossiers.any_dossier(session, dossier_id)
    check_if_match(request, dossier.version, required=False)
    routed = await routing.route(session, principal=caller, dossier=dossier)
    return await call.respond(session, status_code=200, content=routed, headers={"ETag": etag_of(routed.version)})


@router.post(
    "/{dossier_id}/decline-routing",
    summary="Décliner un dossier transmis à mon financeur (motif) : sa part revient au guichet",
    **MOVE,
)
async def decline_routing(
    dossier_id: uuid.UUID, body: RoutingDecline, session: SessionDep, caller: Instructor, call: IdempotencyDep
) -> Response:
    declined = await routing.decline(session, principal=caller, dossier_id=dossier_id, request=body)
    return await call.respond(
        session, status_code=200, content=declined, headers={"ETag": etag_of(declined.version)}
    )


@router.get(
    "/{dossier_id}/routings",
    summary="À quels financeurs le dossier est transmis, et lesquels l'ont décliné",
    response_model=list[RoutingPublic],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_routings(dossier_id: uuid.UUID, session: SessionDep, caller: Reader) -> list[RoutingPublic]:
    dossier = await dossiers_visibility.visible_dossier(session, principal=caller, dossier_id=dossier_id)
    return [RoutingPublic(**row.model_dump()) for row in await dossiers_repository.routings_of(session, dossier.id)]
