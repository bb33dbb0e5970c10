"""Instruction opinions on a dossier: each routed funder's, and the advisory one of the QPV's citizen council."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from common.auth import Authorize
from common.db import SessionDep
from common.etag import check_if_match, etag_of, if_match_parameter
from common.problems import problem_responses
from common.tokens import Principal
from services.funding.instruction import opinions
from services.funding.instruction.schemas import OpinionIn, OpinionPublic
from services.funding.peers import PeersDep
from services.vocabulary import COUNCIL_ROLES, DESK_ROLES, FUNDER_ROLES, Scope

router = APIRouter(prefix="/dossiers", tags=["dossiers"])

# Holders are refused here whatever the dossier: they know theirs exists, and never read the opinions on it.
Author = Annotated[
    Principal, Depends(Authorize(roles=opinions.FUNDER_AUTHORS | COUNCIL_ROLES, scope=Scope.dossiers_write))
]
Reader = Annotated[
    Principal, Depends(Authorize(roles=FUNDER_ROLES | DESK_ROLES | COUNCIL_ROLES, scope=Scope.dossiers_read))
]


@router.put(
    "/{dossier_id}/opinions/mine",
    summary=(
        "Donner ou remplacer l'avis d'instruction de mon organisation (financeur destinataire, ou conseil citoyen "
        "du quartier ; If-Match requis dès qu'il existe)"
    ),
    response_model=OpinionPublic,
    responses={
        **problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 428, 502),
        200: {"description": "Avis remplacé (inchangé : même ETag)"},
        201: {"description": "Premier avis de l'organisation", "model": OpinionPublic},
    },
    openapi_extra=if_match_parameter(required=False),
)
async def record_opinion(
    dossier_id: uuid.UUID,
    body: OpinionIn,
    request: Request,
    response: Response,
    session: SessionDep,
    caller: Author,
    peers: PeersDep,
) -> OpinionPublic:
    """A funder's instructor or manager answers for a dossier routed to it, with a proposed amount; when every
    routed funder has answered, the dossier is ready for the committee. The citizen council of the project's QPVs
    gives one advisory opinion, without an amount, while the dossier is examined."""
    dossier, author_kind = await opinions.writable_dossier(
        session, principal=caller, dossier_id=dossier_id, peers=peers
    )
    current = await opinions.opinion_of(session, dossier.id, caller.organisation_id)
    # No opinion yet: its ETag is "0", which the first PUT may send, or nothing.
    check_if_match(request, current.version if current else 0, required=current is not None)
    opinion, created = await opinions.record(
        session, principal=caller, dossier=dossier, author_kind=author_kind, current=current, request=body
    )
    response.headers["ETag"] = etag_of(opinion.version)
    if created:
        response.status_code = 201
        response.headers["Location"] = f"/api/v1/dossiers/{dossier.id}/opinions/mine"
    return opinions.to_public(opinion)


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
    dossier_id: uuid.UUID, session: SessionDep, caller: Reader, peers: PeersDep
) -> list[OpinionPublic]:
    """A dozen at most (one per funder of the plan, and the council's): no pagination."""
    rows = await opinions.visible_opinions(session, principal=caller, dossier_id=dossier_id, peers=peers)
    return [opinions.to_public(row) for row in rows]
