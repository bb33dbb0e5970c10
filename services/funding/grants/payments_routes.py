"""Payments: each grant's instalments, asked for by the association and paid (or cancelled) by the funder."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from common.clock import ClockDep
from common.db import SessionDep
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses
from common.resources import answer, move_route, with_etag
from services.funding.dossiers.filters import DossierFiltersDep
from services.funding.grants import payments, payments_repository
from services.funding.grants.auth import PaymentManager, PaymentRequester, PaymentsReader
from services.funding.grants.dependencies import CurrentPayment, HeldPayment, ManagedPayment, PayablePayment
from services.funding.grants.schemas import Cancellation, PaymentPublic
from services.funding.models.agreement import PaymentState

router = APIRouter(prefix="/payments", tags=["payments"])

MOVE = move_route(PaymentPublic, upstream=True)


@router.get(
    "",
    summary="Versements visibles : ceux de mon association, de mon financeur ; tous pour le guichet",
    response_model=Page[PaymentPublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_payments(
    session: SessionDep,
    caller: PaymentsReader,
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
    """The desk reads every payment, a funder's people their funder's, an association's members their own; `state`
    is the effective one (`due`: scheduled and fallen due today)."""
    today = clock.today()
    rows = await payments_repository.list_payments(
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
    """One payment the caller may read (404 otherwise), with its ETag."""
    payment, agreement = found
    return with_etag(response, payments.to_public(payment, agreement, clock.today()))


@router.post("/{payment_id}/request", summary="Demander un versement dû (association)", **MOVE)
async def request_payment(
    caller: PaymentRequester, locked: HeldPayment, session: SessionDep, call: IdempotencyDep, clock: ClockDep
) -> Response:
    """The association's members ask for a due payment. Refused (409 `payment_not_yet_due`, `review_pending`,
    `agreement_not_active`…) while it is not due, and (409 `bank_details_missing`) while the vault holds no valid
    bank details."""
    payment, agreement = locked
    payments.request(caller, payment, agreement, clock.today(), clock.now())
    return await answer(session, call, payments.to_public(payment, agreement, clock.today()))


@router.post(
    "/{payment_id}/pay",
    summary="Verser (gestionnaire du financeur) : l'enveloppe enregistre le versement",
    **MOVE,
)
async def pay_payment(
    caller: PaymentManager, locked: PayablePayment, session: SessionDep, call: IdempotencyDep, clock: ClockDep
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
    body: Cancellation, caller: PaymentManager, locked: ManagedPayment, session: SessionDep, call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    """The funder's manager cancels a payment not yet made (scheduled or requested), with a reason; its money goes
    back to the envelope. Refused (409 `illegal_transition`) on a paid or cancelled payment."""
    payment, agreement = locked
    await payments.cancel(session, caller, payment, agreement, clock.today(), clock.now(), body.reason)
    return await answer(session, call, payments.to_public(payment, agreement, clock.today()))
