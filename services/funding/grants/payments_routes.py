"""Payments: each grant's instalments, asked for by the association and paid (or cancelled) by the funder."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from common.auth import Authorize
from common.clock import ClockDep
from common.db import Database, SessionDep
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses
from common.resources import answer, locked_resource, move_route, resource, with_etag
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
PaymentRow = tuple[Payment, Agreement]
CurrentPayment = Annotated[PaymentRow, resource(payments.readable_payment, path="payment_id", caller=Reader)]


MOVE = move_route(PaymentPublic, upstream=True)


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
async def get_payment(found: CurrentPayment, clock: ClockDep, response: Response) -> PaymentPublic:
    payment, agreement = found
    return with_etag(response, payments.to_public(payment, agreement, clock.today()))


def _bank_details_checked(guard: Any) -> Any:
    """The association's bank details, asked of the vault before the payment is locked (on SQLite the writer's
    first statement takes the write lock, which no call to another service may hold): a dependency declared
    before the locked payment."""

    async def check(payment_id: uuid.UUID, request: Request, caller: guard, peers: PeersDep, clock: ClockDep) -> None:
        database: Database = request.app.state.db
        async with database.transaction(write=False) as reading:
            payment, _ = await payments.readable_payment(reading, caller, payment_id)
        compliance = await peers.document_compliance(
            organisation_id=payment.organisation_id, kinds=[payments.BANK_DETAILS], on=clock.today()
        )
        payments.require_bank_details(compliance)

    return Depends(check)


def _locked(guard: Any, *, bank_details: bool) -> Any:
    return locked_resource(
        payments.locked_payment, path="payment_id", caller=guard, if_match_required=False,
        version_of=lambda row: row[0].version, before=[_bank_details_checked(guard)] if bank_details else [],
    )


HeldPayment = Annotated[PaymentRow, _locked(Holder, bank_details=True)]
PayablePayment = Annotated[PaymentRow, _locked(FunderManager, bank_details=True)]
ManagedPayment = Annotated[PaymentRow, _locked(FunderManager, bank_details=False)]


@router.post("/{payment_id}/request", summary="Demander un versement dû (association)", **MOVE)
async def request_payment(
    caller: Holder, locked: HeldPayment, session: SessionDep, call: IdempotencyDep, clock: ClockDep
) -> Response:
    """Refused (409 `bank_details_missing`) while the vault holds no valid bank details."""
    payment, agreement = locked
    payments.request(caller, payment, agreement, clock.today(), clock.now())
    return await answer(session, call, payments.to_public(payment, agreement, clock.today()))


@router.post(
    "/{payment_id}/pay",
    summary="Verser (gestionnaire du financeur) : l'enveloppe enregistre le versement",
    **MOVE,
)
async def pay_payment(
    caller: FunderManager, locked: PayablePayment, session: SessionDep, call: IdempotencyDep, clock: ClockDep
) -> Response:
    """A due or requested payment; refused (409) while the agreement is not in force, the condition not met, or
    the association's bank details missing."""
    payment, agreement = locked
    await payments.pay(session, caller, payment, agreement, clock.today(), clock.now())
    return await answer(session, call, payments.to_public(payment, agreement, clock.today()))


@router.post(
    "/{payment_id}/cancel",
    summary="Annuler un versement non fait (motif) : son montant revient à l'enveloppe",
    **MOVE,
)
async def cancel_payment(
    body: Cancellation, caller: FunderManager, locked: ManagedPayment, session: SessionDep, call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    payment, agreement = locked
    await payments.cancel(session, caller, payment, agreement, clock.today(), clock.now(), body.reason)
    return await answer(session, call, payments.to_public(payment, agreement, clock.today()))
