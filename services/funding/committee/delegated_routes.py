"""Small projects: the lead funder's manager decides alone, without a committee."""

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response

from common.auth import Authorize
from common.clock import ClockDep
from common.db import SessionDep
from common.etag import check_if_match, etag_of
from common.idempotency import IdempotencyDep
from common.problems import NotFound
from common.tokens import Principal
from services.funding.committee import delegated, planning
from services.funding.committee.schemas import DecisionIn
from services.funding.dossiers import repository as dossiers_repository
from services.funding.dossiers.presets import MOVE
from services.funding.dossiers.service import DOSSIER_NOT_FOUND
from services.funding.notifications import service as notifications
from services.funding.peers import PeersDep
from services.vocabulary import Role, Scope

router = APIRouter(prefix="/dossiers", tags=["dossiers"])

Manager = Annotated[Principal, Depends(Authorize(roles={Role.funder_manager}, scope=Scope.dossiers_write))]


@router.post(
    "/{dossier_id}/decide",
    summary=(
        "Décider seul un petit projet (gestionnaire du financeur chef de file) : montant accordé et conditions, "
        "ou pas d'aide avec motif ; engagé sur son enveloppe, versement dû aussitôt"
    ),
    **MOVE,
)
async def decide_small_project(
    dossier_id: uuid.UUID, body: DecisionIn, request: Request, session: SessionDep, caller: Manager,
    call: IdempotencyDep, clock: ClockDep, peers: PeersDep, background: BackgroundTasks,
) -> Response:
    """Only once admissible; a dossier of a committee's programme is a 409 `not_delegated`."""
    # The association's and the funder's names and addresses, from identity, before the writer's transaction
    # starts (on SQLite its first statement takes the write lock, which no call to another service may hold).
    async with request.app.state.db.reader() as reading:
        found = await dossiers_repository.dossier_by_id(reading, dossier_id)
    if found is None:
        raise NotFound(DOSSIER_NOT_FOUND)
    cards = await planning.organisation_cards(peers, [found.organisation_id, caller.organisation_id])
    dossier = await delegated.decidable(session, principal=caller, dossier_id=dossier_id)
    check_if_match(request, dossier.version, required=False)
    funder = cards.get(caller.organisation_id) or {}
    decided, notification = await delegated.decide(
        session, principal=caller, dossier=dossier, request=body, clock=clock,
        holder=cards.get(dossier.organisation_id), funder_name=funder.get("name") or str(caller.organisation_id),
    )
    settings = request.app.state.settings
    background.add_task(
        notifications.deliver, request.app.state.db, request.app.state.mailer, settings.mail_from, [notification]
    )
    answer = await call.respond(session, status_code=200, content=decided, headers={"ETag": etag_of(decided.version)})
    answer.background = background
    return answer
