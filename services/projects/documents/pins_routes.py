"""The vault's side of a submission across two services (docs/architecture.md): the funding service reserves the
versions a dossier's submission references, then confirms them once its submission is committed, or releases
them; a reservation nobody confirmed lapses."""

from datetime import timedelta

from fastapi import APIRouter, Request, Response

from common.clock import ClockDep
from common.db import SessionDep
from common.idempotency import IdempotencyDep
from common.problems import problem_responses
from services.projects.documents import pins
from services.projects.documents.auth import DocumentPin
from services.projects.documents.schemas import PinConfirmation, PinRelease, PinRequest, PinResponse, PinSettled

router = APIRouter(prefix="/documents", tags=["documents"])


@router.post(
    "/pins",
    summary="Épingler (réserver) les versions qu'un dépôt de dossier référence (service funding)",
    description=(
        "Tout ou rien : une version inconnue ou d'une autre organisation donne 422 `unknown_document_version` et "
        "rien n'est épinglé. Épingler de nouveau est sans effet. Avec `attempt_id`, les épingles sont réservées "
        "pour cette tentative de dépôt jusqu'à sa confirmation ; non confirmées, elles expirent "
        "(`PROJECTS_PIN_RESERVATION_SECONDS`) et ne bloquent plus aucune suppression. Une version épinglée "
        "(réservation en cours ou épingle confirmée) ne peut pas être supprimée."
    ),
    response_model=PinResponse,
    responses=problem_responses(400, 401, 403, 409, 413, 422),
)
async def pin_document_versions(
    body: PinRequest, request: Request, session: SessionDep, caller: DocumentPin, call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    """Pins the versions a dossier's submission references (the funding service, with the documents:pin scope)."""
    reservation = timedelta(seconds=request.app.state.settings.pin_reservation_seconds)
    pinned = await pins.pin_versions(session, principal=caller, request=body, now=clock.now(),
                                     reservation=reservation)
    return await call.respond(session, status_code=200, content=pinned)


@router.post(
    "/pins/confirm",
    summary="Confirmer les épingles réservées par une tentative de dépôt engagée (service funding)",
    description=(
        "Funding a engagé le dépôt : les réservations de la tentative deviennent des épingles confirmées, que "
        "plus rien ne libère hormis le retrait ou l'irrecevabilité du dossier. Rejouable sans effet. 409 "
        "`pins_lost` avec `lost_version_ids` quand une version nommée n'est plus épinglée pour le dossier (la "
        "réservation a expiré et a été balayée) : épingler de nouveau avec la même tentative, puis confirmer."
    ),
    response_model=PinSettled,
    responses=problem_responses(400, 401, 403, 409, 413, 422),
)
async def confirm_document_pins(
    body: PinConfirmation, session: SessionDep, caller: DocumentPin, clock: ClockDep
) -> PinSettled:
    """Confirms an attempt's reservations once funding committed its submission (the documents:pin scope)."""
    return await pins.confirm(session, request=body, now=clock.now())


@router.post(
    "/pins/release",
    summary="Libérer les épingles d'une tentative de dépôt échouée, ou de tout le dossier (service funding)",
    description=(
        "Avec `attempt_id` : les réservations de cette tentative (un dépôt refusé ou non engagé), jamais une "
        "épingle confirmée d'un dépôt précédent du même dossier. Sans : toutes les épingles du dossier (retiré ou "
        "irrecevable). Rejouable sans effet ; les versions libérées peuvent de nouveau être supprimées."
    ),
    response_model=PinSettled,
    responses=problem_responses(400, 401, 403, 413, 422),
)
async def release_document_pins(body: PinRelease, session: SessionDep, caller: DocumentPin) -> PinSettled:
    """Releases an attempt's reservations, or every pin of a dossier (the documents:pin scope)."""
    return await pins.release(session, request=body)
