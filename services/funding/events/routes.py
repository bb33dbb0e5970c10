"""The events feed: a partner system catches up on what changed since its cursor, in commit order."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from common.auth import Authorize
from common.db import SessionDep
from common.pagination import CursorParam, LimitParam, decode_sequence, encode_sequence
from common.problems import problem_responses
from common.tokens import Principal
from services.funding.events import service
from services.funding.events.schemas import EventPage, EventPublic, EventType
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES, Scope

router = APIRouter(prefix="/events", tags=["events"])

Reader = Annotated[
    Principal, Depends(Authorize(roles=DESK_ROLES | FUNDER_ROLES | HOLDER_ROLES, scope=Scope.events_read))
]
# A BIGINT: at most 18 digits.
SEQUENCE_DIGITS = 18


@router.get(
    "",
    summary="Le flux des événements que je peux voir, dans l'ordre, à reprendre depuis un curseur",
    description="Chaque changement d'état d'un dossier, d'une séance, d'une décision, d'une convention, d'un "
    "versement ou d'un compte rendu, dans l'ordre où il a été enregistré. Le guichet voit tout ; une association, "
    "ce qui concerne ses dossiers ; un financeur, ce qui lui est adressé (dossiers qui lui sont orientés, ses "
    "décisions, ses séances, ses conventions et versements). `last_cursor` reprend après le dernier événement lu, "
    "même quand la page n'est pas pleine.",
    response_model=EventPage,
    responses=problem_responses(400, 401, 403, 422),
)
async def list_events(
    session: SessionDep,
    caller: Reader,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    type: Annotated[list[EventType] | None, Query(max_length=20, description="Ne garder que ces types.")] = None,  # noqa: A002
    dossier_id: Annotated[uuid.UUID | None, Query()] = None,
) -> EventPage:
    after = decode_sequence(cursor, max_digits=SEQUENCE_DIGITS) if cursor else 0
    rows = await service.visible_events(
        session, principal=caller, after=after, limit=limit, types=type or [], dossier_id=dossier_id
    )
    page = rows[:limit]
    last = encode_sequence(page[-1].sequence) if page else cursor
    return EventPage(
        items=[EventPublic.model_validate(row, from_attributes=True) for row in page],
        next_cursor=last if len(rows) > limit else None,
        last_cursor=last,
    )
