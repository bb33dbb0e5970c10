"""An association's home: its dossiers by state, what it must do next (supplements asked, financial reports owed,
agreements waiting for its signature), and the money it can expect. Counts and sums by the database; the lists
are short, ordered and cut by the database too."""

import uuid
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.funding.grants.payments import due_clause
from services.funding.models.agreement import Agreement, AgreementState, Payment, PaymentState
from services.funding.models.dossier import Dossier, DossierState
from services.funding.models.financial_report import FinancialReport, owed_clause

# What one screen shows of each list; the full lists are the API's own (filters on state, overdue, …).
DUE_NEXT_LIMIT = 20
PAYMENTS_LIMIT = 10


async def _supplements(session: AsyncSession, organisation_id: uuid.UUID, today: date) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Dossier.id, Dossier.reference, Dossier.supplements_due_on)
        .where(Dossier.organisation_id == organisation_id, Dossier.state == DossierState.supplements_requested)
        .order_by(Dossier.supplements_due_on.is_(None), Dossier.supplements_due_on, Dossier.id).limit(DUE_NEXT_LIMIT)
    )
    return [{"kind": "supplements", "item_id": r.id, "dossier_id": r.id, "reference": r.reference, "funder_id": None,
             "due_on": r.supplements_due_on,
             "overdue": r.supplements_due_on is not None and r.supplements_due_on < today} for r in rows]


async def _reports(session: AsyncSession, organisation_id: uuid.UUID, today: date) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(FinancialReport.id, FinancialReport.dossier_id, Dossier.reference, FinancialReport.funder_id,
               FinancialReport.due_on)
        .join(Dossier, Dossier.id == FinancialReport.dossier_id)
        .where(FinancialReport.organisation_id == organisation_id, owed_clause())
        .order_by(FinancialReport.due_on, FinancialReport.id).limit(DUE_NEXT_LIMIT)
    )
    return [{"kind": "financial_report", "item_id": r.id, "dossier_id": r.dossier_id, "reference": r.reference,
             "funder_id": r.funder_id, "due_on": r.due_on, "overdue": r.due_on < today} for r in rows]


async def _signatures(session: AsyncSession, organisation_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Agreement.id, Agreement.dossier_id, Dossier.reference, Agreement.funder_id)
        .join(Dossier, Dossier.id == Agreement.dossier_id)
        .where(Agreement.organisation_id == organisation_id, Agreement.state == AgreementState.sent,
               Agreement.holder_signed_at.is_(None))
        .order_by(Agreement.sent_at, Agreement.id).limit(DUE_NEXT_LIMIT)
    )
    return [{"kind": "signature", "item_id": r.id, "dossier_id": r.dossier_id, "reference": r.reference,
             "funder_id": r.funder_id, "due_on": None, "overdue": False} for r in rows]


async def _payments_expected(session: AsyncSession, organisation_id: uuid.UUID, today: date) -> dict[str, Any]:
    expected = and_(Payment.organisation_id == organisation_id,
                    Payment.state.in_((PaymentState.scheduled, PaymentState.requested)))
    count, total = (await session.execute(
        select(func.count(), func.coalesce(func.sum(Payment.amount_cents), 0)).where(expected)
    )).one()
    state = case((due_clause(today), literal(PaymentState.due.value)), else_=Payment.state)
    rows = await session.execute(
        select(Payment.id, Payment.dossier_id, Dossier.reference, Payment.funder_id, Payment.amount_cents,
               Payment.due_on, Payment.pay_by, state.label("state"))
        .join(Agreement, Agreement.id == Payment.agreement_id).join(Dossier, Dossier.id == Payment.dossier_id)
        .where(expected)
        # What is due (or asked for) first, then by date; undated instalments (after a review) last.
        .order_by(case((state.in_((PaymentState.due.value, PaymentState.requested.value)), 0), else_=1),
                  Payment.due_on.is_(None), Payment.due_on, Payment.id)
        .limit(PAYMENTS_LIMIT)
    )
    return {"count": count, "amount_cents": int(total), "next": [dict(r._mapping) for r in rows]}


async def association_home(session: AsyncSession, organisation_id: uuid.UUID, today: date) -> dict[str, Any]:
    by_state = await session.execute(
        select(Dossier.state, func.count()).where(Dossier.organisation_id == organisation_id).group_by(Dossier.state)
    )
    due_next = (await _supplements(session, organisation_id, today) + await _reports(session, organisation_id, today)
                + await _signatures(session, organisation_id))
    # Dated first, the most pressing at the top; what has no date (a signature) after.
    due_next.sort(key=lambda item: (item["due_on"] is None, item["due_on"] or date.max))
    return {
        "organisation_id": organisation_id,
        "today": today,
        "dossiers_by_state": {state: count for state, count in by_state},
        "due_next": due_next[:DUE_NEXT_LIMIT],
        "payments_expected": await _payments_expected(session, organisation_id, today),
    }
