"""Payments: the instalments of each grant. A scheduled one is due once its agreement is in force, its date has
come and its condition holds; the association may ask for it; the funder pays it (the envelope's `paid` moves
with it) or cancels it (its money goes back to the envelope). A payment is refused, naming what is missing,
while the association has no valid bank details in its vault."""

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.problems import Conflict, Text
from common.tokens import Principal
from services.funding.envelopes import money as envelopes_money
from services.funding.grants import grant_years
from services.funding.grants.payments_repository import due_clause as due_clause  # stats and webhooks read it here
from services.funding.grants.schemas import PaymentPublic
from services.funding.models.agreement import Agreement, AgreementState, Payment, PaymentCondition, PaymentState

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
    if payment.budget_pending:
        return {"code": "year_not_committed", "year": payment.year,
                "text": Text(f"L'année {payment.year} de cette CPO attend le vote de son budget : elle doit être "
                             f"engagée sur l'enveloppe {payment.year} du financeur avant tout versement.",
                             f"Year {payment.year} of this CPO waits for its budget vote: it must be committed on "
                             f"the funder's {payment.year} envelope before any payment.")}
    if payment.condition == PaymentCondition.after_review and payment.released_at is None:
        return {"code": "review_pending",
                "text": Text("Ce versement attend la validation du bilan.", "This payment waits for the review.")}
    if payment.due_on is not None and payment.due_on > today:
        day = payment.due_on.isoformat()
        return {"code": "payment_not_yet_due", "due_on": day,
                "text": Text(f"Ce versement est prévu le {day}.", f"This payment is due on {day}.")}
    return None


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
        year=await grant_years.envelope_year_to_pay(session, payment),
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
    await grant_years.payment_cancelled(session, payment, actor=principal.subject)
    payment.state = PaymentState.cancelled
    payment.cancelled_at, payment.cancelled_by, payment.cancel_reason = now, principal.subject, reason
    _moved(payment)


def to_public(payment: Payment, agreement: Agreement, today: date) -> PaymentPublic:
    return PaymentPublic(
        **payment.model_dump(exclude={"state", "requested_by", "paid_by", "cancelled_by"}),
        state=effective_state(payment, agreement, today),
    )

