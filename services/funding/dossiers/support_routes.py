"""Administrative support: asked by the holder on any dossier, taken by one of the desk's people, ended by the
holder."""

from fastapi import APIRouter, Response

from common.db import SessionDep
from common.idempotency import IdempotencyDep
from common.resources import answer
from services.funding.dossiers import support
from services.funding.dossiers.auth import DossierHolder, SupportHelper
from services.funding.dossiers.dependencies import LockedDossier, OwnedDossier, SupportAskedDossier
from services.funding.dossiers.presets import MOVE
from services.funding.dossiers.schemas import SupportRequest

router = APIRouter(prefix="/dossiers", tags=["dossiers"])


@router.post("/{dossier_id}/support", summary="Demander un accompagnement administratif (porteur)", **MOVE)
async def ask_support(
    body: SupportRequest, session: SessionDep, caller: DossierHolder, dossier: SupportAskedDossier,
    call: IdempotencyDep,
) -> Response:
    """The holder asks the desk for help on its dossier, in any track; refused (409 `support_state`) while a
    support is already asked for or active, or once the dossier is closed."""
    asked = await support.ask(session, principal=caller, dossier=dossier, message=body.message)
    return await answer(session, call, asked)


@router.post(
    "/{dossier_id}/support/take",
    summary="Prendre l'accompagnement demandé : je deviens l'accompagnant qui peut modifier le brouillon (guichet)",
    **MOVE,
)
async def take_support(
    session: SessionDep, caller: SupportHelper, dossier: LockedDossier, call: IdempotencyDep
) -> Response:
    """One of the desk's people becomes the helper who may edit the draft for the holder; refused (409
    `support_state`) unless a support is asked for."""
    taken = await support.take(session, principal=caller, dossier=dossier)
    return await answer(session, call, taken)


@router.post("/{dossier_id}/support/end", summary="Mettre fin à l'accompagnement (porteur)", **MOVE)
async def end_support(
    session: SessionDep, caller: DossierHolder, dossier: OwnedDossier, call: IdempotencyDep
) -> Response:
    """The holder ends the support (asked for or active); refused (409 `support_state`) when there is none."""
    ended = await support.end(session, principal=caller, dossier=dossier)
    return await answer(session, call, ended)
