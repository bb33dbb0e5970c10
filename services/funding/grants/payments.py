"""Payments: the instalments of each grant. A scheduled one is due once its agreement is in force, its date has
come and its condition holds; the association may ask for it; the funder pays it (the envelope's `paid` moves
with it) or cancels it (its money goes back to the envelope). A payment is refused, naming what is missing,
while the association has no valid bank details in its vault."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import get_row, utcnow
from common.pagination import keyset
from common.problems import Conflict, NotFound, Text
from common.tokens import Principal
from services.funding.dossiers import filters as dossiers_filters
from services.funding.envelopes import money as envelopes_money
from services.funding.grants.schemas import PaymentPublic
from services.funding.models.agreement import Agreement, AgreementState, Payment, PaymentCondition, PaymentState
from services.funding.models.programme import Programme
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES

PAYMENT_NOT_FOUND = Text("Versement introuvable.", "Payment not found.")
BANK_DETAILS = "bank_details"


def effective_state(payment: Payment, agreement: Agreement, today: date) -> PaymentState:
    """The stored state, or `due` for a scheduled payment whose time has come."""
    if payment.state == PaymentState.scheduled and not _waiting_for(payment, agreement, today):
        return PaymentState.due
    return PaymentState(payment.state)


def _waiting_for(payment: Payment, agreement: Agreement, today: date) -> dict[str, Any] | None:
    """What a scheduled payment still waits for, or None when it is due."""
    if agreement.state != AgreementState.active:
        return {"code": "agreement_not_active", "agreement_state": agreement.state,
                "text": Text("La convention n'est pas en vigueur.", "The agreement is not in force.")}
    if agreement.suspended_at is not None:
        return {"code": "cpo_suspended", "suspended_at": agreement.suspended_at.isoformat(),
                "text": Text("La CPO est suspendue par sa revue annuelle : ses versements sont arrêtés.",
                             "The CPO is suspended by its yearly review: its payments are stopped.")}
    if payment.condition == PaymentCondition.after_review and payment.released_at is None:
        return {"code": "review_pending",
                "text": Text("Ce versement attend la validation du bilan.", "This payment waits for the review.")}
    if payment.due_on is not None and payment.due_on > today:
        day = payment.due_on.isoformat()
        return {"code": "payment_not_yet_due", "due_on": day,
                "text": Text(f"Ce versement est prévu le {day}.", f"This payment is due on {day}.")}
    return None


def due_clause(today: date) -> Any:
    """SQL for `effective_state == due`, the list's filter (the agreement joined)."""
    return and_(
        Payment.state == PaymentState.scheduled,
        Agreement.state == AgreementState.active,
        Agreement.suspended_at.is_(None),
        or_(Payment.condition == PaymentCondition.on_activation, Payment.released_at.is_not(None)),
        or_(Payment.due_on.is_(None), Payment.due_on <= today),
    )


def _sees(principal: Principal, payment: Payment) -> bool:
    if principal.has_any_role(DESK_ROLES):
        return True
    if principal.has_any_role(FUNDER_ROLES) and payment.funder_id == principal.organisation_id:
        return True
    return principal.has_any_role(HOLDER_ROLES) and payment.organisation_id == principal.organisation_id


async def visible_payment(
    session: AsyncSession, *, principal: Principal, payment_id: uuid.UUID, for_update: bool = False
) -> tuple[Payment, Agreement]:
    payment = await get_row(session, Payment, payment_id, for_update=for_update)
    if payment is None or not _sees(principal, payment):
        raise NotFound(PAYMENT_NOT_FOUND)
    agreement = await session.get(Agreement, payment.agreement_id)
    assert agreement is not None  # a foreign key
    return payment, agreement


async def readable_payment(
    session: AsyncSession, principal: Principal, payment_id: uuid.UUID
) -> tuple[Payment, Agreement]:
    return await visible_payment(session, principal=principal, payment_id=payment_id)


async def locked_payment(
    session: AsyncSession, principal: Principal, payment_id: uuid.UUID
) -> tuple[Payment, Agreement]:
    return await visible_payment(session, principal=principal, payment_id=payment_id, for_update=True)


async def visible_payments(
    session: AsyncSession, *, principal: Principal, today: date, state: str | None, agreement_id: uuid.UUID | None,
    dossier_id: uuid.UUID | None, funder_id: uuid.UUID | None, updated_since: datetime | None, limit: int,
    cursor: str | None, year: int | None = None, filters: dossiers_filters.DossierFilters | None = None,
) -> list[tuple[Payment, Agreement]]:
    """`year`: the payment's own (a CPO's instalments each have theirs); `filters` narrow by the dossier."""
    statement = select(Payment, Agreement).join(Agreement, Agreement.id == Payment.agreement_id)
    if not principal.has_any_role(DESK_ROLES):
        column = Payment.funder_id if principal.has_any_role(FUNDER_ROLES) else Payment.organisation_id
        statement = statement.where(column == principal.organisation_id)
    if state == PaymentState.due:
        statement = statement.where(due_clause(today))
    elif state == PaymentState.scheduled:
        statement = statement.where(Payment.state == PaymentState.scheduled, ~due_clause(today))
    elif state:
        statement = statement.where(Payment.state == state)
    for column, value in ((Payment.agreement_id, agreement_id), (Payment.dossier_id, dossier_id),
                          (Payment.funder_id, funder_id), (Payment.year, year)):
        if value is not None:
            statement = statement.where(column == value)
    if updated_since:
        statement = statement.where(Payment.updated_at >= updated_since)
    if filters is not None:
        statement = filters.narrow_rows(statement, Payment.dossier_id)
    rows = await session.execute(keyset(statement, Payment, limit=limit, cursor=cursor))
    return [(payment, agreement) for payment, agreement in rows.all()]


def _not_due(payment: Payment, agreement: Agreement, today: date, action: str) -> Conflict:
    state = effective_state(payment, agreement, today)
    stalled = state == PaymentState.scheduled or (state == PaymentState.requested and not _in_force(agreement))
    waiting = _waiting_for(payment, agreement, today) if stalled else None
    if waiting is not None:
        text = waiting.pop("text")
        return Conflict(text, code=waiting.pop("code"), extra={"state": state, **waiting})
    return Conflict(
        Text(f"Action « {action} » impossible sur un versement « {state} ».",
             f"Action '{action}' is not allowed on a '{state}' payment."),
        code="illegal_transition",
        extra={"state": state},
    )


def _in_force(agreement: Agreement) -> bool:
    return agreement.state == AgreementState.active and agreement.suspended_at is None


async def _envelope_year(session: AsyncSession, payment: Payment) -> int:
    """The money was committed on the envelope of the programme's year (a CPO's later years included)."""
    programme = await session.get(Programme, payment.programme_id)
    assert programme is not None  # a foreign key
    return programme.year


def require_bank_details(compliance: dict[str, Any]) -> None:
    """409 naming the missing item: the association's valid bank details (RIB) in its vault."""
    item = next((item for item in compliance["items"] if item["kind"] == BANK_DETAILS), None)
    if item is None or not item["satisfied"]:
        raise Conflict(
            Text("Coordonnées bancaires (RIB) valides manquantes dans le coffre-fort de l'association.",
                 "The association's vault holds no valid bank details."),
            code="bank_details_missing",
            extra={"missing": [BANK_DETAILS], "reason": (item or {}).get("reason")},
        )


def _moved(payment: Payment) -> None:
    payment.version += 1
    payment.updated_at = utcnow()


def request(principal: Principal, payment: Payment, agreement: Agreement, today: date, now: datetime) -> None:
    """The association asks for a due payment."""
    if effective_state(payment, agreement, today) != PaymentState.due:
        raise _not_due(payment, agreement, today, "request")
    payment.state = PaymentState.requested
    payment.requested_at, payment.requested_by = now, principal.subject
    _moved(payment)


async def pay(
    session: AsyncSession, principal: Principal, payment: Payment, agreement: Agreement, today: date, now: datetime
) -> None:
    """The funder pays a due or requested payment; its envelope's paid amount moves in the same transaction."""
    state = effective_state(payment, agreement, today)
    if state not in (PaymentState.due, PaymentState.requested) or not _in_force(agreement):
        raise _not_due(payment, agreement, today, "pay")
    await envelopes_money.pay(
        session, funder_id=payment.funder_id, programme_id=payment.programme_id,
        year=await _envelope_year(session, payment),
        amount_cents=payment.amount_cents, dossier_id=payment.dossier_id, actor=principal.subject,
    )
    payment.state = PaymentState.paid
    payment.paid_at, payment.paid_by = now, principal.subject
    _moved(payment)


async def cancel(
    session: AsyncSession, principal: Principal, payment: Payment, agreement: Agreement, today: date, now: datetime,
    reason: str,
) -> None:
    """The funder cancels a payment not yet made: what it committed goes back to the envelope."""
    if payment.state not in (PaymentState.scheduled, PaymentState.requested):
        raise _not_due(payment, agreement, today, "cancel")
    await envelopes_money.release(
        session, funder_id=payment.funder_id, programme_id=payment.programme_id,
        year=await _envelope_year(session, payment),
        amount_cents=payment.amount_cents, dossier_id=payment.dossier_id, actor=principal.subject,
    )
    payment.state = PaymentState.cancelled
    payment.cancelled_at, payment.cancelled_by, payment.cancel_reason = now, principal.subject, reason
    _moved(payment)


def to_public(payment: Payment, agreement: Agreement, today: date) -> PaymentPublic:
    return PaymentPublic(
        **payment.model_dump(exclude={"state", "requested_by", "paid_by", "cancelled_by"}),
        state=effective_state(payment, agreement, today),
    )

