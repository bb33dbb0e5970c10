"""The agreements' queries: who reads which agreement (one statement, for the list and for the one-item loader),
their parties, and the sums the granting and the moves read."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from common.pagination import keyset, keyset_on
from common.problems import NotFound, Text
from common.tokens import Principal
from services.funding.dossiers.filters import DossierFilters
from services.funding.models.agreement import Agreement, AgreementParty, Grant, Payment, PaymentState
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES

AGREEMENT_NOT_FOUND = Text("Convention introuvable.", "Agreement not found.")


def party_to(funder_id: uuid.UUID | None) -> ColumnElement[bool]:
    """SQL: the agreement is this funder's, alone or as one of its parties — one set of ids from two indexes (an
    OR of the two made PostgreSQL walk every agreement: 1.3 s a page at a million dossiers)."""
    own = aliased(Agreement)
    return col(Agreement.id).in_(union_all(
        select(col(own.id)).where(col(own.funder_id) == funder_id),
        select(col(AgreementParty.agreement_id)).where(col(AgreementParty.funder_id) == funder_id),
    ))


def readable_agreements(principal: Principal) -> Select[Agreement]:
    """The agreements the caller may read: every one for the desk, those its funder is a party to for a funder's
    people (each party's, for a multi-party one), the association's own for its members."""
    statement = select(Agreement)
    if principal.has_any_role(DESK_ROLES):
        return statement
    if principal.has_any_role(FUNDER_ROLES):
        return statement.where(party_to(principal.organisation_id))
    if principal.has_any_role(HOLDER_ROLES):
        return statement.where(col(Agreement.organisation_id) == principal.organisation_id)
    return statement.where(false())


async def agreement_for(
    session: AsyncSession, principal: Principal, agreement_id: uuid.UUID, *, for_update: bool = False
) -> Agreement:
    """One agreement the caller may read (locked `for_update`); 404 otherwise."""
    statement = readable_agreements(principal).where(col(Agreement.id) == agreement_id)
    if for_update:
        statement = statement.with_for_update(of=Agreement).execution_options(populate_existing=True)
    agreement = (await session.execute(statement)).scalar_one_or_none()
    if agreement is None:
        raise NotFound(AGREEMENT_NOT_FOUND)
    return agreement


async def readable_agreement(session: AsyncSession, principal: Principal, agreement_id: uuid.UUID) -> Agreement:
    return await agreement_for(session, principal, agreement_id)


async def locked_agreement(session: AsyncSession, principal: Principal, agreement_id: uuid.UUID) -> Agreement:
    return await agreement_for(session, principal, agreement_id, for_update=True)


async def list_agreements(
    session: AsyncSession, *, principal: Principal, state: str | None, dossier_id: uuid.UUID | None,
    funder_id: uuid.UUID | None, updated_since: datetime | None, limit: int, cursor: str | None,
    filters: DossierFilters | None = None,
) -> list[Agreement]:
    """A page of the agreements the caller may read; `funder_id`: a funder party to them."""

    def narrowed(statement: Select[Any]) -> Select[Any]:
        if state:
            statement = statement.where(col(Agreement.state) == state)
        if dossier_id:
            statement = statement.where(col(Agreement.dossier_id) == dossier_id)
        if updated_since:
            statement = statement.where(col(Agreement.updated_at) >= updated_since)
        if filters is not None:
            statement = filters.narrow_rows(statement, col(Agreement.dossier_id))
        return statement

    party = (funder_id if principal.has_any_role(DESK_ROLES)
             else principal.organisation_id if principal.has_any_role(FUNDER_ROLES) else None)
    if party is None:
        # The desk's whole list, an association's own (their indexes over (created_at, id) serve the order).
        statement = narrowed(readable_agreements(principal))
        if funder_id:
            statement = statement.where(party_to(funder_id))
        return list((await session.execute(keyset(statement, Agreement, limit=limit, cursor=cursor))).scalars())
    # A funder's agreements (its own, or the desk's `funder_id`): a page of those it alone signs, by the index
    # over (funder_id, created_at, id), and a page of those it is a party to, by the parties' copy of the
    # agreement's (created_at, id); the page is the first `limit` of the two, read whatever the funder's number of
    # agreements (a set of all their ids, then sorted: a page's cost grew with that number).
    own = narrowed(select(col(Agreement.id)).where(col(Agreement.funder_id) == party))
    shared = narrowed(
        select(col(Agreement.id)).join(AgreementParty, col(AgreementParty.agreement_id) == col(Agreement.id))
        .where(col(AgreementParty.funder_id) == party))
    if funder_id and funder_id != party:  # a funder narrowing to the agreements it shares with another
        own, shared = own.where(party_to(funder_id)), shared.where(party_to(funder_id))
    ids = union_all(
        select(keyset(own, Agreement, limit=limit, cursor=cursor).subquery().c.id),
        select(keyset_on(shared, col(AgreementParty.agreement_created_at), col(AgreementParty.agreement_id),
                         limit=limit, cursor=cursor).subquery().c.id),
    )
    statement = select(Agreement).where(col(Agreement.id).in_(ids))
    return list((await session.execute(keyset(statement, Agreement, limit=limit, cursor=cursor))).scalars())


async def parties_of(session: AsyncSession, agreement_id: uuid.UUID) -> list[AgreementParty]:
    """A multi-party agreement's funders, in the plan's order; none for a one-funder agreement."""
    return (await parties_of_many(session, [agreement_id]))[agreement_id]


async def parties_of_many(
    session: AsyncSession, agreement_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[AgreementParty]]:
    """`parties_of` for a page of agreements, in one query."""
    parties: dict[uuid.UUID, list[AgreementParty]] = {agreement_id: [] for agreement_id in agreement_ids}
    if not agreement_ids:
        return parties
    rows = await session.execute(
        select(AgreementParty).join(Grant, col(Grant.id) == col(AgreementParty.grant_id))
        .where(col(AgreementParty.agreement_id).in_(agreement_ids)).order_by(col(Grant.created_at), col(Grant.id))
    )
    for party in rows.scalars():
        parties[party.agreement_id].append(party)
    return parties


async def programme_years(session: AsyncSession, grant_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Each grant's programme year, for a page of agreements."""
    if not grant_ids:
        return {}
    rows = await session.execute(select(col(Grant.id), col(Grant.year)).where(col(Grant.id).in_(grant_ids)))
    return {grant_id: year for grant_id, year in rows.tuples()}


async def granted_that_year(session: AsyncSession, grant: Grant, year: int) -> int:
    """What this funder's other grants give this association in that year (their instalments not cancelled)."""
    total = await session.execute(
        select(func.coalesce(func.sum(col(Payment.amount_cents)), 0)).where(
            col(Payment.funder_id) == grant.funder_id, col(Payment.organisation_id) == grant.organisation_id,
            col(Payment.year) == year, col(Payment.grant_id) != grant.id,
            col(Payment.state) != PaymentState.cancelled,
        )
    )
    return int(total.scalar_one())


async def outstanding_sequences(session: AsyncSession, agreement_id: uuid.UUID) -> list[int]:
    """The agreement's payments still to be paid or cancelled, by their sequence."""
    rows = await session.execute(
        select(col(Payment.sequence)).where(
            col(Payment.agreement_id) == agreement_id,
            col(Payment.state).in_([PaymentState.scheduled, PaymentState.requested]),
        ).order_by(col(Payment.sequence))
    )
    return list(rows.scalars().all())
