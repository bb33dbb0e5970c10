"""The events feed: a partner system catches up on what changed since its cursor, in commit order."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from common.db import SessionDep
from common.pagination import CursorParam, LimitParam
from common.problems import problem_responses
from services.funding.events import service
from services.funding.events.auth import EventReader
from services.funding.events.schemas import EventPage, EventType
from services.funding.peers import PeersDep

router = APIRouter(prefix="/events", tags=["events"])


@router.get(
    "",
    summary="Le flux des événements que je peux voir, dans l'ordre, à reprendre depuis un curseur",
    description="Chaque changement d'état d'un dossier, d'une séance, d'une décision, d'une convention, d'un "
    "versement ou d'un compte rendu, dans l'ordre où il a été enregistré. Le guichet voit tout ; une association, "
    "ce qui concerne ses dossiers ; un financeur, ce qui lui est adressé (dossiers qui lui sont orientés, ses "
    "décisions, ses séances, ses conventions et versements) ; un conseil citoyen, le parcours des dossiers de ses "
    "QPV (`dossier.routed`, `dossier.ready_for_committee`, `dossier.decided`, `dossier.deferred`). `last_cursor` "
    "reprend après le dernier événement lu, même quand la page n'est pas pleine.",
    response_model=EventPage,
    responses=problem_responses(400, 401, 403, 422, 502),
)
async def list_events(
    session: SessionDep,
    caller: EventReader,
    peers: PeersDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    type: Annotated[list[EventType] | None, Query(max_length=20, description="Ne garder que ces types.")] = None,  # noqa: A002
    dossier_id: Annotated[uuid.UUID | None, Query()] = None,
) -> EventPage:
    """The events the caller may see after its cursor, in commit order: the desk every one, an association or a
    funder those its organisation is in the audience of; 400 `invalid_cursor` for a cursor not given by the feed.
    (The operation's description is the French text above.)"""
    return await service.feed_page(
        session, principal=caller, cursor=cursor, limit=limit, types=type or [], dossier_id=dossier_id, peers=peers
    )
