"""Publishing a grant as open data: when its agreement is notified (a decision letter sent, a convention signed by
both sides), its SCDL row for each year of its amounts is written in that transaction, with what identity said
of the parties then. The export reads these rows; a later rename, a cancelled payment or the amendment of another
year leaves them as they were."""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.funding.exports import repository
from services.funding.exports.scdl import NO_BENEFICIARY_ID, beneficiary_ids, notified_on, payment_period
from services.funding.models.agreement import Agreement, Grant
from services.funding.models.open_data import OpenDataRow
from services.funding.models.programme import GrantNature

Cards = dict[uuid.UUID, dict[str, Any] | None]

# The programme's nature of aid in the schema's words.
NATURES = {GrantNature.cash: "aide en numéraire", GrantNature.in_kind: "aide en nature",
           GrantNature.both: "aide en numéraire;aide en nature"}


def yearly_amounts(agreement: Agreement, grant: Grant) -> dict[int, int]:
    """What the grant gives each year, as its agreement states it (a multi-party one: the funder's entry)."""
    terms = agreement.terms or {}
    entry = next((party for party in terms.get("parties", []) if party.get("funder_id") == str(grant.funder_id)),
                 terms)
    years = {int(y["year"]): int(y["amount_cents"]) for y in entry.get("years", [])}
    return years or {grant.year: grant.amount_cents}


async def publish(session: AsyncSession, agreement: Agreement, cards: Cards) -> None:
    """The agreement's grants as open-data rows, once it is notified (nothing before; nothing twice). `cards` are
    identity's cards of its funders and its association, read before the agreement was locked."""
    notified = notified_on(agreement)
    if notified is None:
        return
    await session.flush()  # the payments just cut are read below
    for grant in await repository.grants_of_agreement(session, agreement):
        await _publish_grant(session, agreement, grant, notified, cards)


async def _publish_grant(session: AsyncSession, agreement: Agreement, grant: Grant, notified: date,
                         cards: Cards) -> None:
    already = await repository.published_years(session, grant.id)
    programme = await repository.programme_of(session, grant)
    schedule = (await repository.schedules_of(session, [grant.id]))[grant.id]
    funder = cards.get(grant.funder_id) or {}
    beneficiary = cards.get(grant.organisation_id) or {}
    for year, amount_cents in sorted(yearly_amounts(agreement, grant).items()):
        if amount_cents <= 0 or year in already:
            continue
        conditions, period = payment_period([p for p in schedule if p.year == year], notified)
        session.add(OpenDataRow(
            grant_id=grant.id, agreement_id=agreement.id, funder_id=grant.funder_id,
            organisation_id=grant.organisation_id, year=year, notified_on=notified,
            reference_decision=grant.decision_reference or agreement.number, funder_name=funder.get("name"),
            funder_siret=funder.get("siret"),
            beneficiary_name=beneficiary.get("name"), beneficiary_siret=beneficiary.get("siret"),
            beneficiary_rna=beneficiary.get("rna"),
            excluded_reason=None if beneficiary_ids(beneficiary) is not None else NO_BENEFICIARY_ID,
            object=agreement.object, amount_cents=amount_cents, nature=NATURES[GrantNature(programme.aid_nature)],
            notification_ue=programme.eu_notified, id_rae=programme.rae_id,
            scheme=programme.scheme_code or str(programme.id), scheduled_conditions=conditions,
            scheduled_period=period,
        ))


@dataclass(frozen=True)
class Amendment:
    """The act that changed a year: its date and reference, which the year's row then publishes."""

    on: date
    reference: str


async def amended(session: AsyncSession, grant: Grant, year: int, change: int, act: Amendment) -> None:
    """A CPO amendment changed the grant's amount for `year` by `change` cents: that year's row shows it, as the
    amendment's (the amendment shows in the year it changes; the other years' rows stay)."""
    row = await repository.row_of(session, grant.id, year)
    if row is None:
        return
    if row.amount_cents + change > 0:
        row.amount_cents += change
        row.amended_on, row.amendment_reference = act.on, act.reference
    else:  # the year cut to nothing: no grant left to publish for it
        await session.delete(row)
