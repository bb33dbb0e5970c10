"""The open-data export of a funder's grants: the SCDL "subventions" 2.1.1 CSV (décret 2017-779), one row per grant
and funder, notified grants only (an agreement still being drafted is not public). Streamed by batches of grants
in the keyset order, so that a funder's whole year never sits in memory."""

import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.csv_cells import FORMULA_STARTS, csv_line
from common.db import Database
from common.pagination import encode_cursor
from common.problems import NotFound, Text
from services.funding.exports import repository
from services.funding.models.agreement import Agreement, AgreementState, Grant, Payment
from services.funding.peers import Peers
from services.vocabulary import OrganisationKind

COLUMNS = (
    "nomAttribuant", "idAttribuant", "dateConvention", "referenceDecision", "nomBeneficiaire", "idBeneficiaire",
    "rnaBeneficiaire", "objet", "montant", "nature", "conditionsVersement", "datesPeriodeVersement", "idRAE",
    "notificationUE", "pourcentageSubvention", "dispositifAide",
)
BATCH = 500
OBJECT_LIMIT = 256


def amount(cents: int) -> str:
    """Euros with a decimal point and two decimals: 1_500_000 → "15000.00"."""
    return f"{cents // 100}.{cents % 100:02d}"


def _object(text: str) -> str:
    # The schema's 256 characters hold the neutralising quote too.
    return text[:OBJECT_LIMIT - 1] if text.startswith(FORMULA_STARTS) else text[:OBJECT_LIMIT]


def convention_date(agreement: Agreement, grant: Grant) -> date:
    """When the agreement was concluded: signed by the funder, in force, or notified; else the decision."""
    for moment in (agreement.funder_signed_at, agreement.activated_at, agreement.sent_at):
        if moment is not None:
            return moment.date()
    return grant.decided_at.date()


def payment_period(payments: list[Payment], decided_on: date) -> tuple[str, str]:
    """(conditionsVersement, datesPeriodeVersement) from the schedule: one payment is `unique` on its date, more
    are `échelonné` from the first date to the last. A payment's date: when paid, else when due."""
    days = sorted(p.paid_at.date() if p.paid_at else p.due_on or p.pay_by or decided_on for p in payments)
    if not days:
        return "unique", decided_on.isoformat()
    if len(payments) == 1:
        return "unique", days[0].isoformat()
    first, last = days[0], days[-1]
    return "échelonné", first.isoformat() if first == last else f"{first.isoformat()}/{last.isoformat()}"


async def rows(
    session: AsyncSession, peers: Peers, *, funder_id: uuid.UUID, year: int
) -> AsyncIterator[str]:
    """The header, then one line per notified grant of the funder for that year."""
    yield csv_line(list(COLUMNS))
    cards: dict[uuid.UUID, dict[str, Any] | None] = {}
    funder = (await peers.organisations([funder_id]))[funder_id] or {}
    cursor: str | None = None
    while True:
        fetched = await repository.grants_batch(session, funder_id=funder_id, year=year, limit=BATCH, cursor=cursor)
        batch = fetched[:BATCH]
        if not batch:
            return
        schedule = await repository.schedules_of(session, [grant.id for grant, _ in batch])
        agreement_ids = {payments[0].agreement_id for payments in schedule.values() if payments}
        agreements = await repository.agreements_by_id(session, agreement_ids)
        missing = {grant.organisation_id for grant, _ in batch} - cards.keys()
        cards |= await peers.organisations(missing)
        for grant, programme_title in batch:
            payments = schedule[grant.id]
            agreement = agreements.get(payments[0].agreement_id) if payments else None
            if agreement is None or agreement.state == AgreementState.drafted:
                continue
            beneficiary = cards.get(grant.organisation_id) or {}
            conditions, period = payment_period(payments, grant.decided_at.date())
            # Names, the object and the programme's title are text that people type: csv_line neutralises the
            # ones a spreadsheet would run as formulas. The amount and the percentage go as numbers, untouched.
            yield csv_line([
                funder.get("name") or "", funder.get("siret") or "",
                convention_date(agreement, grant), agreement.number,
                beneficiary.get("name") or "", beneficiary.get("siret") or "", beneficiary.get("rna") or "",
                _object(agreement.object), Decimal(amount(sum(p.amount_cents for p in payments))),
                "aide en numéraire", conditions, period, "", "non", Decimal("1.00"), programme_title,
            ])
        if len(fetched) <= BATCH:
            return
        cursor = encode_cursor(batch[-1][0].created_at, batch[-1][0].id)


async def streamed_csv(
    database: Database, peers: Peers, *, funder_id: uuid.UUID, year: int
) -> AsyncIterator[bytes]:
    """The funder's SCDL CSV for `year`, encoded, read on a session of its own (a streamed answer outlives the
    request's session); 404 when identity knows no such funder."""
    card = await peers.organisation(funder_id)
    if card is None or card.get("kind") != OrganisationKind.funder:
        raise NotFound(Text("Financeur inconnu.", "Unknown funder."))
    async with database.transaction(write=False) as session:
        async for line in rows(session, peers, funder_id=funder_id, year=year):
            yield line.encode()
