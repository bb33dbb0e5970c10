"""Small projects: the lead funder's manager decides alone, without a committee."""

from fastapi import APIRouter, BackgroundTasks, Request, Response

from common.clock import ClockDep
from common.db import Database, SessionDep
from common.idempotency import IdempotencyDep
from common.resources import answer, move_route
from services.funding.committee import delegated
from services.funding.committee.auth import SmallProjectDecider
from services.funding.committee.dependencies import DecidedDossier, SmallProjectCards
from services.funding.committee.schemas import DecisionIn
from services.funding.dossiers.schemas import DossierPublic
from services.funding.notifications import service as notifications

router = APIRouter(prefix="/dossiers", tags=["dossiers"])

MOVE = move_route(DossierPublic, upstream=True)


@router.post(
    "/{dossier_id}/decide",
    summary=(
        "Décider seul un petit projet (gestionnaire du financeur chef de file) : montant accordé et conditions, "
        "ou pas d'aide avec motif ; engagé sur son enveloppe, versement dû aussitôt"
    ),
    **MOVE,
)
async def decide_small_project(
    dossier: DecidedDossier, cards: SmallProjectCards, body: DecisionIn, request: Request, session: SessionDep,
    caller: SmallProjectDecider, call: IdempotencyDep, clock: ClockDep, background: BackgroundTasks,
) -> Response:
    """The lead funder's manager decides a small project routed to its funder, once admissible: the grant, its
    single payment and the association's notification follow. A dossier of a committee's programme is a 409
    `not_delegated`; one not routed to the caller's funder a 404; more than asked a 422 `above_amount_asked`."""
    funder = cards.get(caller.organisation_id) if caller.organisation_id else None
    decided, notification = await delegated.decide(
        session, principal=caller, dossier=dossier, request=body, clock=clock,
        holder=cards.get(dossier.organisation_id),
        funder_name=(funder or {}).get("name") or str(caller.organisation_id), cards=cards,
    )
    database: Database = request.app.state.db
    background.add_task(
        notifications.deliver, database, request.app.state.mailer, request.app.state.settings.mail_from,
        [notification],
    )
    decided_answer = await answer(session, call, decided)
    decided_answer.background = background
    return decided_answer
