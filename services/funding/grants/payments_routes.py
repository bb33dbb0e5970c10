"""Payments: each grant's instalments, asked for by the association and paid (or cancelled) by the funder."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from common.auth import Authorize
from common.clock import ClockDep
from common.db import SessionDep
from common.etag import check_if_match, etag_of, if_match_parameter
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses
from common.tokens import Principal
from services.funding.dossiers.filters import DossierFiltersDep
from services.funding.grants import payments
from services.funding.grants.schemas import Cancellation, PaymentPublic
from services.funding.models.agreement import Agreement, Payment, PaymentState
from services.funding.peers import PeersDep
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES, Role, Scope

router = APIRouter(prefix="/payments", tags=["payments"])

Reader = Annotated[
    Principal, Depends(Authorize(roles=DESK_ROLES | FUNDER_ROLES | HOLDER_ROLES, scope=Scope.payments_read))
]
Holder = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.payments_write))]
FunderManager = Annotated[Principal, Depends(Authorize(roles={Role.funder_manager}, scope=Scope.payments_write))]
MOVE = {
    "response_model": PaymentPublic,
    "responses": problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 502),
    "openapi_extra": if_match_parameter(required=False),
}


@router.get(
    "",
    summary="Versements visibles : ceux de mon association, de mon financeur ; tous pour le guichet",
    response_model=Page[PaymentPublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_payments(
    session: SessionDep,
    caller: Reader,
    clock: ClockDep,
    filters: DossierFiltersDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    state: Annotated[PaymentState | None, Query(description="due : ceux qui sont dus aujourd'hui.")] = None,
    agreement_id: Annotated[uuid.UUID | None, Query()] = None,
    dossier_id: Annotated[uuid.UUID | None, Query()] = None,
    funder_id: Annotated[uuid.UUID | None, Query(description="Le financeur qui verse.")] = None,
    year: Annotated[int | None, Query(
        ge=2000, le=2100,
        description="L'exercice du versement : l'année du programme, ou pour une CPO chacune de ses années.",
    )] = None,
    updated_since: UpdatedSinceParam = None,
) -> Page[PaymentPublic]:
    today = clock.today()
    rows = await payments.visible_payments(
        session, principal=caller, today=today, state=state, agreement_id=agreement_id, dossier_id=dossier_id,
        funder_id=funder_id, updated_since=updated_since, limit=limit, cursor=cursor, year=year, filters=filters,
    )
    page, next_cursor = split_page(rows, limit=limit, anchor=lambda row: row[0])
    return Page(items=[payments.to_public(p, a, today) for p, a in page], next_cursor=next_cursor)


@router.get(
    "/{payment_id}",
    summary="Un versement",
    response_model=PaymentPublic,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_payment(
    payment_id: uuid.UUID, session: SessionDep, caller: Reader, clock: ClockDep, response: Response
) -> PaymentPublic:
    payment, agreement = await payments.visible_payment(session, principal=caller, payment_id=payment_id)
    response.headers["ETag"] = etag_of(payment.version)
    return payments.to_public(payment, agreement, clock.today())


async def _checked_bank_details(request: Request, caller: Principal, payment_id: uuid.UUID, peers: PeersDep,
                                clock: ClockDep) -> None:
    """The association's bank details, asked of the vault before anything is locked (on SQLite the writer's first
    statement takes the write lock, which no call to another service may hold)."""
    async with request.app.state.db.reader() as reading:
        payment, _ = await payments.visible_payment(reading, principal=caller, payment_id=payment_id)
    compliance = await peers.document_compliance(
        organisation_id=payment.organisation_id, kinds=[payments.BANK_DETAILS], on=clock.today()
    )
    payments.require_bank_details(compliance)


async def _locked(
    request: Request, session: SessionDep, caller: Principal, payment_id: uuid.UUID
) -> tuple[Payment, Agreement]:
    payment, agreement = await payments.visible_payment(
        session, principal=caller, payment_id=payment_id, for_update=True
    )
    check_if_match(request, payment.version, required=False)
    return payment, agreement


async def _answer(
    session: SessionDep, call: IdempotencyDep, payment: Payment, agreement: Agreement, clock: ClockDep
) -> Response:
    await session.flush()
    public = payments.to_public(payment, agreement, clock.today())
    return await call.respond(session, status_code=200, content=public, headers={"ETag": etag_of(public.version)})


@router.post("/{payment_id}/request", summary="Demander un versement dû (association)", **MOVE)
async def request_payment(
    payment_id: uuid.UUID, request: Request, session: SessionDep, caller: Holder, call: IdempotencyDep,
    clock: ClockDep, peers: PeersDep,
) -> Response:
    """Refused (409 `bank_details_missing`) while the vault holds no valid bank details."""
    await _checked_bank_details(request, caller, payment_id, peers, clock)
    payment, agreement = await _locked(request, session, caller, payment_id)
    payments.request(caller, payment, agreement, clock.today(), clock.now())
    return await _answer(session, call, payment, agreement, clock)


@router.post(
    "/{payment_id}/pay",
    summary="Verser (gestionnaire du financeur) : l'enveloppe enregistre le versement",
    **MOVE,
)
async def pay_payment(
    payment_id: uuid.UUID, request: Request, session: SessionDep, caller: FunderManager, call: IdempotencyDep,
    clock: ClockDep, peers: PeersDep,
) -> Response:
    """A due or requested payment; refused (409) while the agreement is not in force, the condition not met, or
    the association's bank details missing."""
    await _checked_bank_details(request, caller, payment_id, peers, clock)
    payment, agreement = await _locked(request, session, caller, payment_id)
    await payments.pay(session, caller, payment, agreement, clock.today(), clock.now())
    return await _answer(session, call, payment, agreement, clock)


@router.post(
    "/{payment_id}/cancel",
    summary="Annuler un versement non fait (motif) : son montant revient à l'enveloppe",
    **MOVE,
)
async def cancel_payment(
    payment_id: uuid.UUID, body: Cancellation, request: Request, session: SessionDep, caller: FunderManager,
    call: IdempotencyDep, clock: ClockDep,
) -> Response:
    payment, agreement = await _locked(request, session, caller, payment_id)
    await payments.cancel(session, caller, payment, agreement, clock.today(), clock.now(), body.reason)
    return await _answer(session, call, payment, agreement, clock)
