"""Agreements: one per grant, a convention from 23,000 € (signed by both sides) or a decision letter below; or one
multi-party convention for all the dossier's funders when the programme asks for it."""

import uuid
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from common.clock import ClockDep
from common.db import SessionDep
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses, request_language
from common.resources import answer, move_route, with_etag
from services.funding.dossiers.filters import DossierFiltersDep
from services.funding.grants import agreement_life, agreements_repository, payments, payments_repository
from services.funding.grants.agreement_document import agreement_html
from services.funding.grants.auth import AgreementManager, AgreementSigner, AgreementsReader
from services.funding.grants.dependencies import (
    CurrentAgreement,
    ManagedAgreement,
    SendableAgreement,
    SendingCards,
    SignableAgreement,
    SigningCards,
)
from services.funding.grants.schemas import AgreementPublic
from services.funding.html_documents import DOCUMENT_HEADERS, document_response
from services.funding.models.agreement import AgreementState
from services.funding.peers import PeersDep

router = APIRouter(prefix="/agreements", tags=["agreements"])

MOVE = move_route(AgreementPublic)
# A move that may notify the agreement asks identity for the parties' names first (its open-data rows).
NOTIFYING_MOVE = move_route(AgreementPublic, upstream=True)
# An agreement's document lists its payments on one page: none has more than this many instalments.
DOCUMENT_PAYMENTS = 100


@router.get(
    "",
    summary="Conventions visibles : celles de mon association, de mon financeur ; toutes pour le guichet",
    response_model=Page[AgreementPublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_agreements(
    session: SessionDep,
    caller: AgreementsReader,
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
    """The desk reads every agreement, a funder's people those their funder is a party to, an association's
    members their own; each with the moves open to the caller."""
    rows = await agreements_repository.list_agreements(
        session, principal=caller, state=state, dossier_id=dossier_id, funder_id=funder_id,
        updated_since=updated_since, limit=limit, cursor=cursor, filters=replace(filters, year=year),
    )
    page, next_cursor = split_page(rows, limit=limit)
    return Page(items=await agreement_life.to_public_many(session, caller, page), next_cursor=next_cursor)


@router.get(
    "/{agreement_id}",
    summary="Une convention (ou décision d'attribution), avec ce que je peux en faire",
    response_model=AgreementPublic,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_agreement(
    agreement: CurrentAgreement, session: SessionDep, caller: AgreementsReader, response: Response
) -> AgreementPublic:
    """One agreement the caller may read (404 otherwise), with its ETag and the moves open to the caller."""
    return with_etag(response, await agreement_life.to_public(session, caller, agreement))


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
    agreement: CurrentAgreement, request: Request, session: SessionDep, caller: AgreementsReader, clock: ClockDep,
    peers: PeersDep,
) -> HTMLResponse:
    """The agreement as a printable HTML document (French, or English for `Accept-Language: en`): its parties as
    identity names them today, its terms and its payments; for whoever may read the agreement."""
    public = await agreement_life.to_public(session, caller, agreement)
    schedule = await payments_repository.list_payments(
        session, principal=caller, today=clock.today(), state=None, agreement_id=agreement.id, dossier_id=None,
        funder_id=None, updated_since=None, limit=DOCUMENT_PAYMENTS, cursor=None,
    )
    names = await agreement_life.party_names(session, peers, agreement)
    html = agreement_html(
        public, funder_name=names.funder, holder_name=names.holder, project_title=names.project,
        payments=sorted((payments.to_public(p, a, clock.today()) for p, a in schedule), key=lambda p: p.sequence),
        language=request_language(request),
    )
    document = document_response(html, {})
    with_etag(document, agreement)
    return document


@router.post(
    "/{agreement_id}/send",
    summary="Envoyer la convention à l'association (une décision d'attribution prend effet en étant notifiée)",
    **NOTIFYING_MOVE,
)
async def send_agreement(
    cards: SendingCards, agreement: SendableAgreement, session: SessionDep, caller: AgreementManager,
    call: IdempotencyDep, clock: ClockDep,
) -> Response:
    """The lead funder's manager sends a drafted agreement; a decision letter is then in force at once, notified,
    and its open-data row written (SCDL, with identity's names of that day: 503 while identity is away). Refused
    (409 `illegal_transition`) in any other state or to another caller."""
    await agreement_life.send(session, caller, agreement, clock.now(), cards)
    return await answer(session, call, await agreement_life.to_public(session, caller, agreement))


@router.post(
    "/{agreement_id}/sign",
    summary="Signer pour ma partie (gestionnaire du financeur, ou administrateur de l'association)",
    **NOTIFYING_MOVE,
)
async def sign_agreement(
    cards: SigningCards, agreement: SignableAgreement, session: SessionDep, caller: AgreementSigner,
    call: IdempotencyDep, clock: ClockDep,
) -> Response:
    """Each side signs a sent convention once: a funder party's manager, the association's admin. With every
    signature, the convention is `signed`: concluded, and its open-data rows written (SCDL, one per funder and
    year). Refused (409 `illegal_transition`) when already signed by this side or not sent."""
    await agreement_life.sign(session, caller, agreement, clock.now(), cards)
    return await answer(session, call, await agreement_life.to_public(session, caller, agreement))


@router.post("/{agreement_id}/activate", summary="Faire prendre effet à la convention signée (financeur)", **MOVE)
async def activate_agreement(
    agreement: ManagedAgreement, session: SessionDep, caller: AgreementManager, call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    """The lead funder's manager puts a signed convention in force; its payments then fall due. Refused (409
    `illegal_transition`) before both signatures."""
    agreement_life.activate(caller, agreement, clock.now())
    return await answer(session, call, await agreement_life.to_public(session, caller, agreement))


@router.post(
    "/{agreement_id}/end",
    summary="Clore la convention, une fois chaque versement fait ou annulé (financeur)",
    **MOVE,
)
async def end_agreement(
    agreement: ManagedAgreement, session: SessionDep, caller: AgreementManager, call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    """The lead funder's manager ends an agreement in force. Refused (409 `payments_outstanding`, with their
    sequences) while a payment is still to be paid or cancelled."""
    await agreement_life.end(session, caller, agreement, clock.now())
    return await answer(session, call, await agreement_life.to_public(session, caller, agreement))
