"""An association's home: its dossiers by state, what it must do next (supplements asked, financial reports owed,
agreements waiting for its signature), and the money it can expect. The figures and the short lists are the
database's (association_home_repository.py); this puts what is due next in one list, the most pressing first."""

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.tokens import Principal
from services.funding.funder_scope import association_of
from services.funding.stats import association_home_repository as repository

# What one screen shows of each list; the full lists are the API's own (filters on state, overdue, …).
DUE_NEXT_LIMIT = 20
PAYMENTS_LIMIT = 10


def one_association(principal: Principal, asked: uuid.UUID | None) -> uuid.UUID:
    """The association whose home is read: the caller's own (403 `not_your_association` for another's); the desk
    must name one (422)."""
    return association_of(principal, asked)


async def association_home(session: AsyncSession, organisation_id: uuid.UUID, today: date) -> dict[str, Any]:
    """Every figure of the association's home on `today`."""
    due_next = (
        await repository.supplements_asked(session, organisation_id, today, limit=DUE_NEXT_LIMIT)
        + await repository.reports_owed(session, organisation_id, today, limit=DUE_NEXT_LIMIT)
        + await repository.signatures_awaited(session, organisation_id, limit=DUE_NEXT_LIMIT)
    )
    # Dated first, the most pressing at the top; what has no date (a signature) after.
    due_next.sort(key=lambda item: (item["due_on"] is None, item["due_on"] or date.max))
    return {
        "organisation_id": organisation_id,
        "today": today,
        "dossiers_by_state": await repository.dossiers_by_state(session, organisation_id),
        "due_next": due_next[:DUE_NEXT_LIMIT],
        "payments_expected": await repository.payments_expected(session, organisation_id, today, limit=PAYMENTS_LIMIT),
    }
