"""The desk's first look at a submitted dossier: admissibility, supplements, allocation; the holder's
withdrawal; the audit trail of every move."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from common.auth import Authorize
from common.clock import ClockDep
from common.db import SessionDep
from common.etag import check_if_match, etag_of
from common.idempotency import IdempotencyDep
from common.problems import problem_responses, request_language
from common.tokens import Principal
from services.funding.dossiers import repository as dossiers_repository
from services.funding.dossiers import service as dossiers
from services.funding.dossiers import visibility as dossiers_visibility
from services.funding.dossiers.presets import MOVE
from services.funding.dossiers.schemas import DossierPublic, HistoryEntry
from services.funding.instruction import admissibility
from services.funding.instruction.schemas import (
    AdmissibilityCheck,
    AdmissibilityDecision,
    Allocation,
    SupplementsRequest,
    Withdrawal,
)
from services.funding.models.dossier import Dossier
from services.funding.peers import PeersDep
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES, Scope

router = APIRouter(prefix="/dossiers", tags=["dossiers"])

Desk = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.dossiers_write))]
Holder = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.dossiers_write))]
DeskOrHolder = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES | HOLDER_ROLES, scope=Scope.dossiers_read))]
Reader = Annotated[
    Principal, Depends(Authorize(roles=HOLDER_ROLES | FUNDER_ROLES | DESK_ROLES, scope=Scope.dossiers_read))
]


async def _locked(session: SessionDep, dossier_id: uuid.UUID, request: Request) -> Dossier:
    """Any dossier, for the desk, locked for the move it is about to make; a stale If-Match is 412."""
    dossier = await dossiers.any_dossier(session, dossier_id)
    check_if_match(request, dossier.version, required=False)
    return dossier


def _headers(dossier: DossierPublic) -> dict[str, str]:
    return {"ETag": etag_of(dossier.version)}


@router.get(
    "/{dossier_id}/admissibility",
    summary="Règles de recevabilité du dossier, chacune avec ce qui manque",
    response_model=AdmissibilityCheck,
    responses=problem_responses(401, 403, 404, 422, 502),
)
async def check_admissibility(
    dossier_id: uuid.UUID, request: Request, session: SessionDep, caller: DeskOrHolder, peers: PeersDep,
    clock: ClockDep,
) -> AdmissibilityCheck:
    dossier = await dossiers_visibility.visible_dossier(session, principal=caller, dossier_id=dossier_id)
    return await admissibility.check(
        session, dossier=dossier, peers=peers, language=request_language(request), today=clock.today()
    )


@router.post(
    "/{dossier_id}/admissibility",
    summary="Déclarer le dossier recevable (toutes les règles remplies) ou irrecevable (motif) — guichet",
    **MOVE,
)
async def decide_admissibility(
    dossier_id: uuid.UUID,
    body: AdmissibilityDecision,
    request: Request,
    session: SessionDep,
    caller: Desk,
    peers: PeersDep,
    call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    dossier = await _locked(session, dossier_id, request)
    decided = await admissibility.decide(
        session, principal=caller, dossier=dossier, request=body, peers=peers, language=request_language(request),
        today=clock.today(),
    )
    return await call.respond(session, status_code=200, content=decided, headers=_headers(decided))


@router.post(
    "/{dossier_id}/request-supplements",
    summary="Demander des compléments au porteur (message, date limite) — guichet",
    **MOVE,
)
async def request_supplements(
    dossier_id: uuid.UUID,
    body: SupplementsRequest,
    request: Request,
    session: SessionDep,
    caller: Desk,
    call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    dossier = await _locked(session, dossier_id, request)
    moved = await admissibility.request_supplements(
        session, principal=caller, dossier=dossier, request=body, now=clock.now()
    )
    return await call.respond(session, status_code=200, content=moved, headers=_headers(moved))


@router.post(
    "/{dossier_id}/allocate",
    summary="Répartir entre financeurs du programme le montant laissé au guichet — guichet",
    **MOVE,
)
async def allocate_share(
    dossier_id: uuid.UUID,
    body: Allocation,
    request: Request,
    session: SessionDep,
    caller: Desk,
    call: IdempotencyDep,
) -> Response:
    dossier = await _locked(session, dossier_id, request)
    moved = await admissibility.allocate(session, principal=caller, dossier=dossier, request=body)
    return await call.respond(session, status_code=200, content=moved, headers=_headers(moved))


@router.post(
    "/{dossier_id}/withdraw",
    summary="Retirer mon dossier (avant toute décision)",
    **MOVE,
)
async def withdraw_dossier(
    dossier_id: uuid.UUID,
    body: Withdrawal,
    request: Request,
    session: SessionDep,
    caller: Holder,
    call: IdempotencyDep,
) -> Response:
    dossier = await dossiers_visibility.owned_dossier(session, principal=caller, dossier_id=dossier_id)
    check_if_match(request, dossier.version, required=False)
    moved = await admissibility.withdraw(session, principal=caller, dossier=dossier, request=body)
    return await call.respond(session, status_code=200, content=moved, headers=_headers(moved))


@router.get(
    "/{dossier_id}/history",
    summary="Historique du dossier : qui l'a fait passer de quel état à quel autre, quand, pourquoi",
    response_model=list[HistoryEntry],
    responses=problem_responses(401, 403, 404, 422),
)
async def dossier_history(dossier_id: uuid.UUID, session: SessionDep, caller: Reader) -> list[HistoryEntry]:
    dossier = await dossiers_visibility.visible_dossier(session, principal=caller, dossier_id=dossier_id)
    return [HistoryEntry(**row.model_dump()) for row in await dossiers_repository.history_of(session, dossier.id)]
