"""The holders' notifications: the committee's consolidated answer on each dossier, as mailed to the association."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from common.db import SessionDep
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses, request_language
from services.funding.models.notification import DeliveryState
from services.funding.notifications import service as notifications
from services.funding.notifications.auth import NotificationReader, NotificationSender
from services.funding.notifications.dependencies import CurrentNotification, MailingDep
from services.funding.notifications.schemas import NotificationPublic

router = APIRouter(prefix="/notifications", tags=["notifications"])

NOTIFICATION_EXAMPLE = {
    "id": "7d0c2a4e-3b1f-4c6a-9e8d-5f4a3b2c1d0e",
    "dossier_id": "3f1c9b2e-6a7d-4e8f-9a0b-1c2d3e4f5a6b",
    "session_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    "organisation_id": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
    "reference": "GU-2027-000123",
    "kind": "decision",
    "subject": "Dossier GU-2027-000123 : réponse du comité des financeurs du 12 mars 2027",
    "body": "Bonjour,\n\nLe comité des financeurs « Comité des financeurs — printemps 2027 » s'est réuni le 12 mars "
    "2027. Voici sa réponse, au nom de tous les financeurs, sur votre dossier GU-2027-000123 « Aide aux devoirs "
    "au Blosne ».\n\nVotre demande est acceptée en partie.\n\nLa réponse de chaque financeur :\n- Ville de "
    "Rennes : 15 000,00 € accordés (15 000,00 € demandés).\n  Conditions : Bilan intermédiaire en juin.\n- "
    "Préfecture d'Ille-et-Vilaine : pas d'aide (10 000,00 € demandés).\n  Motif : Crédits épuisés sur cet "
    "axe.\n\nTotal accordé : 15 000,00 € sur 25 000,00 € demandés.\n\nEt maintenant : chaque financeur qui vous "
    "accorde une aide (Ville de Rennes) vous adressera sa convention et son échéancier de versement.\n\nLe "
    "guichet unique du contrat de ville\n",
    "content": {
        "session": {
            "id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "title": "Comité des financeurs — printemps 2027",
            "held_on": "2027-03-12", "place": "Hôtel de Rennes Métropole, salle du conseil",
        },
        "project_title": "Aide aux devoirs au Blosne",
        "organisation_name": "Association Blosne Avenir",
        "outcome": "partially_accepted",
        "asked_cents": 2_500_000,
        "granted_cents": 1_500_000,
        "funders": [
            {"funder_id": "5c1b7c8e-8f0a-5b7e-9d55-2f7c1a0e9b31", "name": "Ville de Rennes",
             "asked_cents": 1_500_000, "granted_cents": 1_500_000, "conditions": "Bilan intermédiaire en juin.",
             "refusal_reason": None},
            {"funder_id": "6d2c8d9f-9a1b-5c8f-8e66-3a8d2b1f0c42", "name": "Préfecture d'Ille-et-Vilaine",
             "asked_cents": 1_000_000, "granted_cents": 0, "conditions": None,
             "refusal_reason": "Crédits épuisés sur cet axe."},
        ],
        "deferral_reason": None,
        "next_steps": "agreements",
    },
    "recipients": ["presidence@blosne-avenir.example"],
    "delivery_state": "sent",
    "attempts": 1,
    "last_error": None,
    "sent_at": "2027-03-12T18:02:11Z",
    "created_at": "2027-03-12T18:02:10Z",
    "updated_at": "2027-03-12T18:02:11Z",
}


def _ok(
    links: dict[str, dict[str, Any]], example: dict[str, Any] = NOTIFICATION_EXAMPLE
) -> dict[int | str, dict[str, Any]]:
    return {200: {"links": links, "content": {"application/json": {"example": example}}}}


def _next_steps(notification_id: str, *, dossier: bool = True) -> dict[str, dict[str, Any]]:
    """OpenAPI links: what a client can do next with the notification it got back (the holder reads its dossier;
    the desk, after a resend, reads the notification again)."""
    links: dict[str, dict[str, Any]] = {
        "GetNotification": {"operationId": "get_notification", "parameters": {"notification_id": notification_id}},
    }
    if dossier:
        links["GetNotificationDossier"] = {
            "operationId": "get_dossier", "parameters": {"dossier_id": "$response.body#/dossier_id"}
        }
    return links


@router.get(
    "",
    summary="Notifications des réponses du comité (celles de mon association ; toutes pour le guichet)",
    response_model=Page[NotificationPublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_notifications(
    request: Request,
    session: SessionDep,
    caller: NotificationReader,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    dossier_id: Annotated[uuid.UUID | None, Query()] = None,
    session_id: Annotated[uuid.UUID | None, Query(description="Séance du comité.")] = None,
    delivery_state: Annotated[
        DeliveryState | None, Query(description="failed : celles à renvoyer (guichet).")
    ] = None,
    updated_since: UpdatedSinceParam = None,
) -> Page[NotificationPublic]:
    """The notifications the caller may read, in the order they were written: an association's people their
    own, the desk every one (`delivery_state=failed`: those to send again). Subject and body in the caller's
    language (Accept-Language); the mail server's error is shown to the desk only."""
    rows = await notifications.list_notifications(
        session, principal=caller, dossier_id=dossier_id, session_id=session_id, delivery_state=delivery_state,
        updated_since=updated_since, limit=limit, cursor=cursor,
    )
    page, next_cursor = split_page(rows, limit=limit)
    language = request_language(request)
    return Page(
        items=[notifications.to_public(n, principal=caller, language=language) for n in page],
        next_cursor=next_cursor,
    )


@router.get(
    "/{notification_id}",
    summary="Lire une notification : la réponse consolidée du comité sur un dossier, et son envoi",
    response_model=NotificationPublic,
    responses={**problem_responses(401, 403, 404, 422), **_ok(_next_steps("$request.path.notification_id"))},
)
async def get_notification(
    notification: CurrentNotification, request: Request, caller: NotificationReader
) -> NotificationPublic:
    """One notification, worded in the caller's language: an association's people read their own, the desk any;
    404 `not_found` for one the caller may not read."""
    return notifications.to_public(notification, principal=caller, language=request_language(request))


@router.post(
    "/{notification_id}/deliver",
    summary="Envoyer de nouveau une notification en échec ou en attente (guichet)",
    response_model=NotificationPublic,
    responses={
        **problem_responses(400, 401, 403, 404, 409, 422),
        **_ok(_next_steps("$request.path.notification_id", dossier=False)),
    },
)
async def deliver_notification(
    notification_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    caller: NotificationSender,
    mailing: MailingDep,
    call: IdempotencyDep,
) -> Response:
    """The desk sends a pending or failed notification again, now, and answers how it went (`sent`, or `failed`
    with `last_error`); 404 `not_found` when there is none, 409 `notification_already_sent` when it is sent."""
    await notifications.resend(
        mailing.database, mailing.mailer, mailing.mail_from, notification_id=notification_id
    )
    notification = await notifications.readable_notification(session, caller, notification_id)
    public = notifications.to_public(notification, principal=caller, language=request_language(request))
    return await call.respond(session, status_code=200, content=public)
