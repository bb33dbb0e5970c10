"""Grants: each funder's share granted on a dossier, and what they add up to for one association in a year —
above 153,000 € of public grants a year, the association must publish certified accounts (the desk flags it)."""

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from common.pagination import keyset
from common.tokens import Principal
from services.funding.dossiers.filters import DossierFilters
from services.funding.funder_scope import association_of
from services.funding.grants.schemas import GrantPublic, GrantTotals
from services.funding.models.agreement import Grant, Payment, PaymentState
from services.vocabulary import DESK_ROLES, FUNDER_ROLES

# Décret 2006-335 / article L612-4 du code de commerce: certified accounts above 153,000 € of public grants a year.
CERTIFIED_ACCOUNTS_THRESHOLD_CENTS = 15_300_000


def _narrowed(statement, principal: Principal):  # type: ignore[no-untyped-def]
    if principal.has_any_role(DESK_ROLES):
        return statement
    column = Grant.funder_id if principal.has_any_role(FUNDER_ROLES) else Grant.organisation_id
    return statement.where(column == principal.organisation_id)


async def visible_grants(
    session: AsyncSession, *, principal: Principal, organisation_id: uuid.UUID | None, funder_id: uuid.UUID | None,
    dossier_id: uuid.UUID | None, year: int | None, updated_since: datetime | None, limit: int, cursor: str | None,
    filters: DossierFilters | None = None,
) -> list[Grant]:
    """`year`: the grant's own, its programme's year; `filters` narrow by the dossier."""
    statement = _narrowed(select(Grant), principal)
    for column, value in ((Grant.organisation_id, organisation_id), (Grant.funder_id, funder_id),
                          (Grant.dossier_id, dossier_id), (Grant.year, year)):
        if value is not None:
            statement = statement.where(column == value)
    if updated_since:
        statement = statement.where(Grant.created_at >= updated_since)
    if filters is not None:
        statement = filters.narrow_rows(statement, Grant.dossier_id)
    return list((await session.execute(keyset(statement, Grant, limit=limit, cursor=cursor))).scalars())


async def totals(
    session: AsyncSession, *, principal: Principal, organisation_id: uuid.UUID | None, year: int
) -> GrantTotals:
    """What the desk's funders granted the association that year, summed in SQL, and the 153,000 € flag. The
    association reads its own; the desk names one."""
    organisation_id = association_of(principal, organisation_id)
    # A year's grants are its instalments (a CPO gives each of its years its own); what a funder cancelled was
    # never given, and does not count towards the threshold.
    granted = int((await session.execute(
        select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
            Payment.organisation_id == organisation_id, Payment.year == year,
            Payment.state != PaymentState.cancelled,
        )
    )).scalar_one())
    return GrantTotals(
        organisation_id=organisation_id, year=year, granted_cents=granted,
        threshold_cents=CERTIFIED_ACCOUNTS_THRESHOLD_CENTS,
        certified_accounts_required=granted > CERTIFIED_ACCOUNTS_THRESHOLD_CENTS,
    )


def to_public(grant: Grant) -> GrantPublic:
    return GrantPublic(**grant.model_dump())
