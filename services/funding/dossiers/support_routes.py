"""Administrative support: asked by the holder on any dossier, taken by one of the desk's people, ended by the
holder."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from common.auth import Authorize
from common.db import SessionDep
from common.etag import check_if_match, etag_of
from common.idempotency import IdempotencyDep
from common.tokens import Principal
from services.funding.dossiers import service as dossiers
from services.funding.dossiers import support, visibility
from services.funding.dossiers.presets import MOVE
from services.funding.dossiers.schemas import DossierPublic, SupportRequest
from services.vocabulary import DESK_ROLES, HOLDER_ROLES, Scope

router = APIRouter(prefix="/dossiers", tags=["dossiers"])

Holder = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.dossiers_write))]
Desk = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.dossiers_write))]


def _answered(dossier: DossierPublic) -> dict[str, str]:
    return {"ETag": etag_of(dossier.version)}


@router.post("/{dossier_id}/support", summary="Demander un accompagnement administratif (porteur)", **MOVE)
async def ask_support(
    dossier_id: uuid.UUID, body: SupportRequest, request: Request, session: SessionDep, caller: Holder,
    call: IdempotencyDep,
) -> Response:
    dossier = await visibility.owned_dossier(session, principal=caller, dossier_id=dossier_id)
    check_if_match(request, dossier.version, required=False)
    asked = await support.ask(session, principal=caller, dossier=dossier, message=body.message)
    return await call.respond(session, status_code=200, content=asked, headers=_answered(asked))


@router.post(
    "/{dossier_id}/support/take",
    summary="Prendre l'accompagnement demandé : je deviens l'accompagnant qui peut modifier le brouillon (guichet)",
    **MOVE,
)
async def take_support(
    dossier_id: uuid.UUID, request: Request, session: SessionDep, caller: Desk, call: IdempotencyDep
) -> Response:
    dossier = await dossiers.any_dossier(session, dossier_id)
    check_if_match(request, dossier.version, required=False)
    taken = await support.take(session, principal=caller, dossier=dossier)
    return await call.respond(session, status_code=200, content=taken, headers=_answered(taken))


@router.post("/{dossier_id}/support/end", summary="Mettre fin à l'accompagnement (porteur)", **MOVE)
async def end_support(
    dossier_id: uuid.UUID, request: Request, session: SessionDep, caller: Holder, call: IdempotencyDep
) -> Response:
    dossier = await visibility.owned_dossier(session, principal=caller, dossier_id=dossier_id)
    check_if_match(request, dossier.version, required=False)
    ended = await support.end(session, principal=caller, dossier=dossier)
    return await call.respond(session, status_code=200, content=ended, headers=_answered(ended))
