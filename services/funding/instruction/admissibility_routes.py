"""The desk's first look at a submitted dossier: admissibility, supplements, allocation; the holder's
withdrawal; the audit trail of every move."""

from fastapi import APIRouter, Request, Response
from starlette.background import BackgroundTask

from common.clock import ClockDep
from common.db import SessionDep
from common.idempotency import IdempotencyDep
from common.problems import problem_responses, request_language
from common.resources import answer
from services.funding.dossiers import pin_saga
from services.funding.dossiers.dependencies import CurrentDossier
from services.funding.dossiers.presets import MOVE
from services.funding.dossiers.schemas import HistoryEntry
from services.funding.instruction import admissibility
from services.funding.instruction.auth import DeskInstructor, DossierWithdrawer
from services.funding.instruction.dependencies import (
    AdmissibilityCompliance,
    AdmissibilityDossier,
    AllocatedDossier,
    DecidedDossier,
    SupplementedDossier,
    WithdrawnDossier,
)
from services.funding.instruction.schemas import (
    AdmissibilityCheck,
    AdmissibilityDecision,
    Allocation,
    SupplementsRequest,
    Withdrawal,
)
from services.funding.models.dossier import Dossier
from services.funding.peers import Peers, PeersDep

router = APIRouter(prefix="/dossiers", tags=["dossiers"])


@router.get(
    "/{dossier_id}/admissibility",
    summary="Règles de recevabilité du dossier, chacune avec ce qui manque",
    response_model=AdmissibilityCheck,
    responses=problem_responses(401, 403, 404, 422, 502),
)
async def check_admissibility(
    dossier: AdmissibilityDossier, request: Request, session: SessionDep, peers: PeersDep, clock: ClockDep
) -> AdmissibilityCheck:
    """Each admissibility rule (documents in the vault, territory, plan, financial reports) with what fails; for
    the desk and the dossier's holder (funders get 403, another association 404); 503 while projects is away (504
    when too slow)."""
    return await admissibility.check(
        session, dossier=dossier, peers=peers, language=request_language(request), today=clock.today()
    )


@router.post(
    "/{dossier_id}/admissibility",
    summary="Déclarer le dossier recevable (toutes les règles remplies) ou irrecevable (motif) — guichet",
    **MOVE,
)
async def decide_admissibility(
    body: AdmissibilityDecision,
    request: Request,
    session: SessionDep,
    caller: DeskInstructor,
    dossier: DecidedDossier,
    compliance: AdmissibilityCompliance,
    peers: PeersDep,
    call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    """The desk declares a submitted dossier admissible (every rule met) or inadmissible (with a reason).
    An admissible small project goes to its lead funder. Refused: 409 `illegal_transition` outside the submitted
    state, 409 `admissibility_rules_failed` naming each failed rule; 503 while projects is away (504 when too slow)."""
    decided = await admissibility.decide(
        session, principal=caller, dossier=dossier, request=body, peers=peers, language=request_language(request),
        today=clock.today(), compliance=compliance,
    )
    return settling_pins(await answer(session, call, decided), request, peers, dossier)


@router.post(
    "/{dossier_id}/request-supplements",
    summary="Demander des compléments au porteur (message, date limite) — guichet",
    **MOVE,
)
async def request_supplements(
    body: SupplementsRequest,
    session: SessionDep,
    caller: DeskInstructor,
    dossier: SupplementedDossier,
    call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    """The desk hands a submitted dossier back to its holder with a message and a deadline; the holder then edits
    and submits it again; the small projects' service clock pauses meanwhile. Refused: 409 `illegal_transition`
    outside the submitted state, 422 for a deadline that is not after today."""
    moved = await admissibility.request_supplements(
        session, principal=caller, dossier=dossier, request=body, now=clock.now()
    )
    return await answer(session, call, moved)


@router.post(
    "/{dossier_id}/allocate",
    summary="Répartir entre financeurs du programme le montant laissé au guichet — guichet",
    **MOVE,
)
async def allocate_share(
    body: Allocation, session: SessionDep, caller: DeskInstructor, dossier: AllocatedDossier, call: IdempotencyDep
) -> Response:
    """The desk shares out, to the cent, the amount the plan left to it among the programme's funders. Refused:
    409 `illegal_transition` or `nothing_to_allocate`, 422 `allocation_total_mismatch`, `funder_not_in_programme`
    or `funder_declined`."""
    moved = await admissibility.allocate(session, principal=caller, dossier=dossier, request=body)
    return await answer(session, call, moved)


@router.post(
    "/{dossier_id}/withdraw",
    summary="Retirer mon dossier (avant toute décision)",
    **MOVE,
)
async def withdraw_dossier(
    body: Withdrawal, request: Request, session: SessionDep, caller: DossierWithdrawer, dossier: WithdrawnDossier,
    call: IdempotencyDep, peers: PeersDep,
) -> Response:
    """The holder withdraws its dossier for good, with a reason, at any time before a decision (409
    `illegal_transition` after); another association's dossier is 404. Its documents' pins are released."""
    moved = await admissibility.withdraw(session, principal=caller, dossier=dossier, request=body)
    return settling_pins(await answer(session, call, moved), request, peers, dossier)


def settling_pins(response: Response, request: Request, peers: Peers, dossier: Dossier) -> Response:
    """The pins' step the move owes projects (a release), done once the response is sent, hence after the
    commit and with no lock held; the worker does it if this process dies first."""
    response.background = BackgroundTask(pin_saga.settle_after_commit, request.app.state.db, peers, dossier)
    return response


@router.get(
    "/{dossier_id}/history",
    summary="Historique du dossier : qui l'a fait passer de quel état à quel autre, quand, pourquoi",
    response_model=list[HistoryEntry],
    responses=problem_responses(401, 403, 404, 422),
)
async def dossier_history(dossier: CurrentDossier, session: SessionDep) -> list[HistoryEntry]:
    """The dossier's audit trail, the oldest move first; for whoever reads the dossier (holder, routed funder,
    desk; 404 for anyone else)."""
    return await admissibility.history(session, dossier=dossier)
