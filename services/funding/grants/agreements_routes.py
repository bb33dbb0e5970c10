"""Agreements: one per grant, a convention from 23,000 € (signed by both sides) or a decision letter below; or one
multi-party convention for all the dossier's funders when the programme asks for it."""

import inspect
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from common.auth import Authorize
from common.clock import ClockDep
from common.db import SessionDep
from common.etag import check_if_match, etag_of, if_match_parameter
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses, request_language
from common.tokens import Principal
from services.funding.dossiers.filters import DossierFiltersDep
from services.funding.grants import agreements, payments
from services.funding.grants.agreement_document import agreement_html
from services.funding.grants.schemas import AgreementPublic
from services.funding.html_documents import DOCUMENT_HEADERS, document_response
from services.funding.models.agreement import AgreementState
from services.funding.peers import PeersDep
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES, Role, Scope

router = APIRouter(prefix="/agreements", tags=["agreements"])

Reader = Annotated[
    Principal, Depends(Authorize(roles=DESK_ROLES | FUNDER_ROLES | HOLDER_ROLES, scope=Scope.agreements_read))
]
FunderManager = Annotated[Principal, Depends(Authorize(roles={Role.funder_manager}, scope=Scope.agreements_write))]
Signer = Annotated[
    Principal, Depends(Authorize(roles={Role.funder_manager, Role.holder_admin}, scope=Scope.agreements_write))
]
MOVE = {
    "response_model": AgreementPublic,
    "responses": problem_responses(400, 401, 403, 404, 409, 412, 413, 422),
    "openapi_extra": if_match_parameter(required=False),
}


@router.get(
    "",
    summary="Conventions visibles : celles de mon association, de mon financeur ; toutes pour le guichet",
    response_model=Page[AgreementPublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_agreements(
    session: SessionDep,
    caller: Reader,
    filters: DossierFiltersDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    state: Annotated[AgreementState | None, Query()] = None,
    dossier_id: Annotated[uuid.UUID | None, Query()] = None,
    funder_id: Annotated[uuid.UUID | None, Query(description="Un financeur partie à la convention.")] = None,
    year: Annotated[int | None, Query(
        ge=2000, le=2100, description="L'année du programme du dossier (une convention n'a pas d'année à elle).",
    )] = None,
    updated_since: UpdatedSinceParam = None,
) -> Page[AgreementPublic]:
    rows = await agreements.visible_agreements(
        session, principal=caller, state=state, dossier_id=dossier_id, funder_id=funder_id,
        updated_since=updated_since, limit=limit, cursor=cursor, filters=replace(filters, year=year),
    )
    page, next_cursor = split_page(rows, limit=limit)
    return Page(items=[await agreements.to_public(session, caller, row) for row in page], next_cursor=next_cursor)


@router.get(
    "/{agreement_id}",
    summary="Une convention (ou décision d'attribution), avec ce que je peux en faire",
    response_model=AgreementPublic,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_agreement(
    agreement_id: uuid.UUID, session: SessionDep, caller: Reader, response: Response
) -> AgreementPublic:
    agreement = await agreements.visible_agreement(session, principal=caller, agreement_id=agreement_id)
    response.headers["ETag"] = etag_of(agreement.version)
    return await agreements.to_public(session, caller, agreement)


@router.get(
    "/{agreement_id}/document",
    summary="Le document lisible de la convention ou de la décision (HTML, à imprimer)",
    response_class=HTMLResponse,
    responses={
        **problem_responses(401, 403, 404, 422),
        200: {"content": {"text/html": {"schema": {"type": "string"}}}, "headers": DOCUMENT_HEADERS},
    },
)
async def agreement_document(
    agreement_id: uuid.UUID, request: Request, session: SessionDep, caller: Reader, clock: ClockDep,
    peers: PeersDep,
) -> HTMLResponse:
    agreement = await agreements.visible_agreement(session, principal=caller, agreement_id=agreement_id)
    public = await agreements.to_public(session, caller, agreement)
    schedule = await payments.visible_payments(
        session, principal=caller, today=clock.today(), state=None, agreement_id=agreement.id, dossier_id=None,
        funder_id=None, updated_since=None, limit=100, cursor=None,
    )
    names = await agreements.party_names(session, peers, agreement)
    html = agreement_html(
        public, funder_name=names.funder, holder_name=names.holder, project_title=names.project,
        payments=sorted((payments.to_public(p, a, clock.today()) for p, a in schedule), key=lambda p: p.sequence),
        language=request_language(request),
    )
    return document_response(html, {"ETag": etag_of(agreement.version)})


async def _move(
    agreement_id: uuid.UUID, request: Request, session: SessionDep, caller: Principal, call: IdempotencyDep,
    change: Callable[[Principal, agreements.Agreement, datetime], Awaitable[None] | None], now: datetime,
) -> Response:
    agreement = await agreements.visible_agreement(
        session, principal=caller, agreement_id=agreement_id, for_update=True
    )
    check_if_match(request, agreement.version, required=False)
    outcome = change(caller, agreement, now)
    if inspect.isawaitable(outcome):
        await outcome
    await session.flush()
    public = await agreements.to_public(session, caller, agreement)
    return await call.respond(session, status_code=200, content=public, headers={"ETag": etag_of(public.version)})


@router.post(
    "/{agreement_id}/send",
    summary="Envoyer la convention à l'association (une décision d'attribution prend effet en étant notifiée)",
    **MOVE,
)
async def send_agreement(
    agreement_id: uuid.UUID, request: Request, session: SessionDep, caller: FunderManager, call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    return await _move(agreement_id, request, session, caller, call, agreements.send, clock.now())


@router.post(
    "/{agreement_id}/sign",
    summary="Signer pour ma partie (gestionnaire du financeur, ou administrateur de l'association)",
    **MOVE,
)
async def sign_agreement(
    agreement_id: uuid.UUID, request: Request, session: SessionDep, caller: Signer, call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    """With both signatures, the convention is `signed`."""
    return await _move(agreement_id, request, session, caller, call, partial(agreements.sign, session), clock.now())


@router.post("/{agreement_id}/activate", summary="Faire prendre effet à la convention signée (financeur)", **MOVE)
async def activate_agreement(
    agreement_id: uuid.UUID, request: Request, session: SessionDep, caller: FunderManager, call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    """Its payments then fall due."""
    return await _move(agreement_id, request, session, caller, call, agreements.activate, clock.now())


@router.post(
    "/{agreement_id}/end",
    summary="Clore la convention, une fois chaque versement fait ou annulé (financeur)",
    **MOVE,
)
async def end_agreement(
    agreement_id: uuid.UUID, request: Request, session: SessionDep, caller: FunderManager, call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    return await _move(agreement_id, request, session, caller, call, partial(agreements.end, session), clock.now())
