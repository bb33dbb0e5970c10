"""The queries of an association's home: counts and sums by the database; the lists short, ordered and cut by the
database too."""

import uuid
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.funding.grants.payments import due_clause
from services.funding.models.agreement import Agreement, AgreementState, Payment, PaymentState
from services.funding.models.dossier import Dossier, DossierState
from services.funding.models.financial_report import FinancialReport, owed_clause


async def dossiers_by_state(session: AsyncSession, organisation_id: uuid.UUID) -> dict[str, int]:
    rows = await session.execute(
        select(col(Dossier.state), func.count()).where(col(Dossier.organisation_id) == organisation_id)
        .group_by(col(Dossier.state))
    )
    return {state: count for state, count in rows}


async def supplements_asked(
    session: AsyncSession, organisation_id: uuid.UUID, today: date, *, limit: int
) -> list[dict[str, Any]]:
    """The dossiers whose supplements are asked for, the soonest due first (undated last)."""
    due_on = col(Dossier.supplements_due_on)
    rows = await session.execute(
        select(col(Dossier.id), col(Dossier.reference), col(Dossier.thread_reference), due_on)
        .where(col(Dossier.organisation_id) == organisation_id,
               col(Dossier.state) == DossierState.supplements_requested)
        .order_by(due_on.is_(None), due_on, col(Dossier.id)).limit(limit)
    )
    return [{"kind": "supplements", "item_id": r.id, "dossier_id": r.id, "reference": r.reference,
             "thread_reference": r.thread_reference, "funder_id": None,
             "due_on": r.supplements_due_on,
             "overdue": r.supplements_due_on is not None and r.supplements_due_on < today} for r in rows]


async def reports_owed(
    session: AsyncSession, organisation_id: uuid.UUID, today: date, *, limit: int
) -> list[dict[str, Any]]:
    """The financial reports the association owes, the soonest due first."""
    rows = await session.execute(
        select(col(FinancialReport.id), col(FinancialReport.dossier_id), col(Dossier.reference),
               col(Dossier.thread_reference), col(FinancialReport.funder_id), col(FinancialReport.due_on))
        .join(Dossier, col(Dossier.id) == col(FinancialReport.dossier_id))
        .where(col(FinancialReport.organisation_id) == organisation_id, owed_clause())
        .order_by(col(FinancialReport.due_on), col(FinancialReport.id)).limit(limit)
    )
    return [{"kind": "financial_report", "item_id": r.id, "dossier_id": r.dossier_id, "reference": r.reference,
             "thread_reference": r.thread_reference,
             "funder_id": r.funder_id, "due_on": r.due_on, "overdue": r.due_on < today} for r in rows]


async def signatures_awaited(session: AsyncSession, organisation_id: uuid.UUID, *, limit: int) -> list[dict[str, Any]]:
    """The agreements sent and waiting for the association's signature, the oldest sent first."""
    rows = await session.execute(
        select(col(Agreement.id), col(Agreement.dossier_id), col(Dossier.reference), col(Dossier.thread_reference),
               col(Agreement.funder_id))
        .join(Dossier, col(Dossier.id) == col(Agreement.dossier_id))
        .where(col(Agreement.organisation_id) == organisation_id, col(Agreement.state) == AgreementState.sent,
               col(Agreement.holder_signed_at).is_(None))
        .order_by(col(Agreement.sent_at), col(Agreement.id)).limit(limit)
    )
    return [{"kind": "signature", "item_id": r.id, "dossier_id": r.dossier_id, "reference": r.reference,
             "thread_reference": r.thread_reference,
             "funder_id": r.funder_id, "due_on": None, "overdue": False} for r in rows]


async def payments_expected(
    session: AsyncSession, organisation_id: uuid.UUID, today: date, *, limit: int
) -> dict[str, Any]:
    """How many payments the association can expect and how much in all, and the next ones: what is due (or
    asked for) first, then by date, undated instalments (after a review) last."""
    expected: ColumnElement[bool] = and_(
        col(Payment.organisation_id) == organisation_id,
        col(Payment.state).in_((PaymentState.scheduled, PaymentState.requested)),
    )
    count, total = (await session.execute(
        select(func.count(), func.coalesce(func.sum(col(Payment.amount_cents)), 0)).where(expected)
    )).one()
    state = case((due_clause(today), literal(PaymentState.due.value)), else_=col(Payment.state))
    rows = await session.execute(
        select(col(Payment.id), col(Payment.dossier_id), col(Dossier.reference), col(Dossier.thread_reference),
               col(Payment.funder_id), col(Payment.amount_cents), col(Payment.due_on), col(Payment.pay_by),
               state.label("state"))
        .join(Agreement, col(Agreement.id) == col(Payment.agreement_id))
        .join(Dossier, col(Dossier.id) == col(Payment.dossier_id))
        .where(expected)
        .order_by(case((state.in_((PaymentState.due.value, PaymentState.requested.value)), 0), else_=1),
                  col(Payment.due_on).is_(None), col(Payment.due_on), col(Payment.id))
        .limit(limit)
    )
    return {"count": count, "amount_cents": int(total), "next": [dict(r._mapping) for r in rows]}
