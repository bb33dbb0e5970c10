"""Instruction opinions on a dossier: each routed funder's, and the advisory one of the QPV's citizen council."""

import uuid

from fastapi import APIRouter, Response

from common.db import SessionDep
from common.problems import problem_responses
from common.resources import upsert_route, with_etag
from services.funding.instruction import opinions
from services.funding.instruction.auth import OpinionAuthor, OpinionReader
from services.funding.instruction.dependencies import OpinionTargetDep
from services.funding.instruction.schemas import OpinionIn, OpinionPublic
from services.funding.peers import PeersDep

router = APIRouter(prefix="/dossiers", tags=["dossiers"])

@router.put(
    "/{dossier_id}/opinions/mine",
    summary=(
        "Donner ou remplacer l'avis d'instruction de mon organisation (financeur destinataire, ou conseil citoyen "
        "du quartier ; If-Match requis dès qu'il existe)"
    ),
    **upsert_route(
        OpinionPublic, replaced="Avis remplacé (inchangé : même ETag)",
        created="Premier avis de l'organisation", upstream=True,
    ),
)
async def record_opinion(
    body: OpinionIn, response: Response, session: SessionDep, caller: OpinionAuthor, target: OpinionTargetDep
) -> OpinionPublic:
    """A funder's instructor or manager answers for a dossier routed to it, with a proposed amount; when every
    routed funder has answered, the dossier is ready for the committee. The citizen council of the project's QPVs
    gives one advisory opinion, without an amount, while the dossier is examined. Refused: 404 to anyone else,
    409 `illegal_transition` in a state without opinions, 422 for a funder without an amount or a council with
    one, 412 on a stale If-Match, 428 without one once the opinion exists; 503 while identity is away."""
    opinion, created = await opinions.record(
        session, principal=caller, dossier=target.dossier, author_kind=target.author_kind, current=target.current,
        request=body,
    )
    if created:
        response.status_code = 201
        response.headers["Location"] = f"/api/v1/dossiers/{target.dossier.id}/opinions/mine"
    return with_etag(response, opinions.to_public(opinion))


@router.get(
    "/{dossier_id}/opinions",
    summary=(
        "Avis d'instruction du dossier : tous pour le guichet et les financeurs destinataires (examen conjoint), "
        "le sien pour un conseil citoyen"
    ),
    response_model=list[OpinionPublic],
    responses=problem_responses(401, 403, 404, 422, 502),
)
async def list_opinions(
    dossier_id: uuid.UUID, session: SessionDep, caller: OpinionReader, peers: PeersDep
) -> list[OpinionPublic]:
    """The desk and the funders the dossier is routed to read every opinion (joint examination; a funder that
    declined is left out); a citizen council of its QPVs, its own; 404 for anyone else, 403 for a holder. A dozen
    at most (one per funder of the plan, and the council's): no pagination."""
    rows = await opinions.visible_opinions(session, principal=caller, dossier_id=dossier_id, peers=peers)
    return [opinions.to_public(row) for row in rows]
