"""Grants: each funder's share granted on a dossier, and what they add up to for one association in a year —
above 153,000 € of public grants a year, the association must publish certified accounts (the desk flags it)."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from common.tokens import Principal
from services.funding.funder_scope import association_of
from services.funding.grants import grant_years_repository, grants_repository
from services.funding.grants.schemas import GrantPublic, GrantTotals, GrantYearPublic
from services.funding.models.agreement import Grant

# Décret 2006-335 / article L612-4 du code de commerce: certified accounts above 153,000 € of public grants a year.
CERTIFIED_ACCOUNTS_THRESHOLD_CENTS = 15_300_000


async def totals(
    session: AsyncSession, *, principal: Principal, organisation_id: uuid.UUID | None, year: int
) -> GrantTotals:
    """What the desk's funders granted the association that year, summed in SQL, and the 153,000 € flag. The
    association reads its own; the desk names one."""
    organisation_id = association_of(principal, organisation_id)
    # A year's grants are its instalments (a CPO gives each of its years its own).
    granted = await grants_repository.granted_in_year(session, organisation_id=organisation_id, year=year)
    return GrantTotals(
        organisation_id=organisation_id, year=year, granted_cents=granted,
        threshold_cents=CERTIFIED_ACCOUNTS_THRESHOLD_CENTS,
        certified_accounts_required=granted > CERTIFIED_ACCOUNTS_THRESHOLD_CENTS,
    )


async def page_public(session: AsyncSession, grants: list[Grant]) -> list[GrantPublic]:
    """The grants with their years, read in one query."""
    years = await grant_years_repository.years_of_grants(session, [grant.id for grant in grants])
    return [GrantPublic(**grant.model_dump(), years=[GrantYearPublic.model_validate(row, from_attributes=True)
                                                     for row in years[grant.id]]) for grant in grants]
