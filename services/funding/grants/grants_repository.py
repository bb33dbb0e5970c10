"""The grants' queries: who reads which grant, and what an association was granted in a year."""

import uuid
from datetime import datetime

from sqlalchemy import Select, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import where_given
from common.pagination import keyset
from common.tokens import Principal
from services.funding.dossiers.filters import DossierFilters
from services.funding.models.agreement import Grant, Payment, PaymentState
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES


def readable_grants(principal: Principal) -> Select[Grant]:
    """The grants the caller may read: every one for the desk, the funder's own for its people, the
    association's own for its members."""
    statement = select(Grant)
    if principal.has_any_role(DESK_ROLES):
        return statement
    if principal.has_any_role(FUNDER_ROLES):
        return statement.where(col(Grant.funder_id) == principal.organisation_id)
    if principal.has_any_role(HOLDER_ROLES):
        return statement.where(col(Grant.organisation_id) == principal.organisation_id)
    return statement.where(false())


async def list_grants(
    session: AsyncSession, *, principal: Principal, organisation_id: uuid.UUID | None, funder_id: uuid.UUID | None,
    dossier_id: uuid.UUID | None, year: int | None, updated_since: datetime | None, limit: int, cursor: str | None,
    filters: DossierFilters | None = None,
) -> list[Grant]:
    """A page of the grants the caller may read. `year`: the grant's own, its programme's year; `filters` narrow
    by the dossier."""
    statement = where_given(
        readable_grants(principal),
        (Grant.organisation_id, organisation_id), (Grant.funder_id, funder_id), (Grant.dossier_id, dossier_id),
        (Grant.year, year),
    )
    if updated_since:
        statement = statement.where(col(Grant.updated_at) >= updated_since)
    if filters is not None:
        statement = filters.narrow_rows(statement, col(Grant.dossier_id))
    return list((await session.execute(keyset(statement, Grant, limit=limit, cursor=cursor))).scalars())


async def granted_in_year(session: AsyncSession, *, organisation_id: uuid.UUID, year: int) -> int:
    """What the association was granted that year: its instalments of that year, summed in SQL, those a funder
    cancelled left out (they were never given)."""
    total = await session.execute(
        select(func.coalesce(func.sum(col(Payment.amount_cents)), 0)).where(
            col(Payment.organisation_id) == organisation_id, col(Payment.year) == year,
            col(Payment.state) != PaymentState.cancelled,
        )
    )
    return int(total.scalar_one())
