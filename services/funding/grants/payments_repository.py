"""The payments' queries: who reads which payment (one statement, for the list and for the one-item loader), and
what a payment's move reads beside it."""

import uuid
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.pagination import keyset
from common.problems import NotFound, Text
from common.tokens import Principal
from services.funding.dossiers.filters import DossierFilters
from services.funding.models.agreement import Agreement, AgreementState, Payment, PaymentCondition, PaymentState
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES

PAYMENT_NOT_FOUND = Text("Versement introuvable.", "Payment not found.")
PaymentRow = tuple[Payment, Agreement]


def due_clause(today: date) -> ColumnElement[bool]:
    """SQL for a payment whose effective state is `due` (the agreement joined): scheduled, its agreement in force
    and not suspended, its condition met and its date come."""
    return and_(
        col(Payment.state) == PaymentState.scheduled,
        col(Agreement.state) == AgreementState.active,
        col(Agreement.suspended_at).is_(None),
        col(Payment.budget_pending).is_(False),
        or_(col(Payment.condition) == PaymentCondition.on_activation, col(Payment.released_at).is_not(None)),
        or_(col(Payment.due_on).is_(None), col(Payment.due_on) <= today),
    )


def readable_payments(principal: Principal) -> Select[Payment, Agreement]:
    """The payments the caller may read, each with its agreement: every one for the desk, the funder's own for
    its people, the association's own for its members."""
    statement = select(Payment, Agreement).join(Agreement, col(Agreement.id) == col(Payment.agreement_id))
    if principal.has_any_role(DESK_ROLES):
        return statement
    if principal.has_any_role(FUNDER_ROLES):
        return statement.where(col(Payment.funder_id) == principal.organisation_id)
    if principal.has_any_role(HOLDER_ROLES):
        return statement.where(col(Payment.organisation_id) == principal.organisation_id)
    return statement.where(false())


async def payment_for(
    session: AsyncSession, principal: Principal, payment_id: uuid.UUID, *, for_update: bool = False
) -> PaymentRow:
    """One payment the caller may read, with its agreement (the payment locked `for_update`); 404 otherwise."""
    statement = readable_payments(principal).where(col(Payment.id) == payment_id)
    if for_update:
        statement = statement.with_for_update(of=Payment).execution_options(populate_existing=True)
    row = (await session.execute(statement)).tuples().one_or_none()
    if row is None:
        raise NotFound(PAYMENT_NOT_FOUND)
    payment, agreement = row
    return payment, agreement


async def readable_payment(session: AsyncSession, principal: Principal, payment_id: uuid.UUID) -> PaymentRow:
    return await payment_for(session, principal, payment_id)


async def locked_payment(session: AsyncSession, principal: Principal, payment_id: uuid.UUID) -> PaymentRow:
    return await payment_for(session, principal, payment_id, for_update=True)


async def list_payments(
    session: AsyncSession, *, principal: Principal, today: date, state: str | None, agreement_id: uuid.UUID | None,
    dossier_id: uuid.UUID | None, funder_id: uuid.UUID | None, updated_since: datetime | None, limit: int,
    cursor: str | None, year: int | None = None, filters: DossierFilters | None = None,
) -> list[PaymentRow]:
    """A page of the payments the caller may read. `state` is the effective one (`due`, or `scheduled` and not
    yet due); `year`: the payment's own (a CPO's instalments each have theirs); `filters` narrow by the dossier."""
    # The optional equality filters (`where_given` takes a one-entity select; this one has two).
    given = ((Payment.agreement_id, agreement_id), (Payment.dossier_id, dossier_id), (Payment.funder_id, funder_id),
             (Payment.year, year))
    statement = readable_payments(principal).where(
        *(col(column) == value for column, value in given if value is not None)
    )
    if state == PaymentState.due:
        statement = statement.where(due_clause(today))
    elif state == PaymentState.scheduled:
        statement = statement.where(col(Payment.state) == PaymentState.scheduled, ~due_clause(today))
    elif state:
        statement = statement.where(col(Payment.state) == state)
    if updated_since:
        statement = statement.where(col(Payment.updated_at) >= updated_since)
    if filters is not None:
        statement = filters.narrow_rows(statement, col(Payment.dossier_id))
    rows = await session.execute(keyset(statement, Payment, limit=limit, cursor=cursor))
    return [(payment, agreement) for payment, agreement in rows.tuples().all()]
