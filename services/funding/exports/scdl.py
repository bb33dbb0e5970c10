"""The open-data export of a funder's grants: the SCDL "subventions" 2.1.1 CSV (décret 2017-779), one row per grant,
funder and year, notified grants only (an agreement still being drafted is not public), read from the rows frozen
at the notification (exports/open_data.py). Streamed by batches in the keyset order, so that a funder's whole year
never sits in memory."""

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from stdnum.fr import siret

from common.csv_cells import FORMULA_STARTS, csv_line
from common.db import Database
from common.pagination import encode_cursor
from common.problems import Conflict, NotFound, Text
from services.funding.exports import repository
from services.funding.models.agreement import Agreement, AgreementKind, Payment, PaymentCondition
from services.funding.models.open_data import OpenDataRow
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


def notified_on(agreement: Agreement) -> date | None:
    """When the grant became public: a decision letter once sent; a convention once concluded, i.e. signed by
    the association and every funder party (the later signature). None while it is neither."""
    if agreement.kind == AgreementKind.decision_letter:
        return agreement.sent_at.date() if agreement.sent_at else None
    if agreement.funder_signed_at is None or agreement.holder_signed_at is None:
        return None
    return max(agreement.funder_signed_at, agreement.holder_signed_at).date()


def _scheduled_on(payment: Payment, notified: date) -> date:
    """A payment's date: when it was paid; else when it is to be paid (its due date, its deadline); else, for an
    instalment due on the agreement's coming into force, the notification; else (a balance waiting for a review)
    the end of its year, the period it belongs to."""
    if payment.paid_at is not None:
        return payment.paid_at.date()
    if payment.due_on or payment.pay_by:
        return payment.due_on or payment.pay_by  # type: ignore[return-value]
    if payment.condition == PaymentCondition.on_activation:
        return max(notified, date(payment.year, 1, 1))
    return date(payment.year, 12, 31)


def payment_period(payments: list[Payment], notified: date) -> tuple[str, str]:
    """(conditionsVersement, datesPeriodeVersement) from the schedule, cancelled payments left out: one payment is
    `unique` on its date, more are `échelonné` over the period from the first date to the last (`date/date`,
    even when both fall on one day). Each date is the real payment's, or the scheduled one until it is paid."""
    days = sorted(_scheduled_on(payment, notified) for payment in payments)
    if not days:
        return "unique", notified.isoformat()
    if len(days) == 1:
        return "unique", days[0].isoformat()
    return "échelonné", f"{days[0].isoformat()}/{days[-1].isoformat()}"


# The SCDL column's own rule, narrower than the register's (an RNA may hold capital letters): such an RNA cannot be
# published, and the row then needs the SIRET.
SCDL_RNA = re.compile(r"W[0-9]{9}")
NO_BENEFICIARY_ID = "beneficiary_without_siret_or_rna"


def beneficiary_ids(card: dict[str, Any]) -> tuple[str, str] | None:
    """(idBeneficiaire, rnaBeneficiaire) as the schema takes them, or None when neither can be published."""
    siret_value = card.get("siret") or ""
    rna_value = card.get("rna") or ""
    siret_ok = siret_value if siret.is_valid(siret_value) else ""
    rna_ok = rna_value if SCDL_RNA.fullmatch(rna_value) else ""
    return (siret_ok, rna_ok) if siret_ok or rna_ok else None


def funder_siret(card: dict[str, Any], funder_id: uuid.UUID) -> str:
    """The funder's SIRET, or 409 `funder_without_siret`: without it no row of its file is valid."""
    value = card.get("siret") or ""
    if not siret.is_valid(value):
        raise Conflict(
            Text("Ce financeur n'a pas de SIRET valide dans son profil : ses données ouvertes ne peuvent pas être "
                 "publiées au format SCDL (idAttribuant est obligatoire). Renseignez-le dans l'annuaire.",
                 "This funder has no valid SIRET in its profile: its open data cannot be published in the SCDL "
                 "format (idAttribuant is required). Enter it in the directory."),
            code="funder_without_siret", extra={"funder_id": str(funder_id)},
        )
    return value


def _beneficiary(row: OpenDataRow, cards: dict[uuid.UUID, dict[str, Any] | None]) -> dict[str, Any]:
    """The association as the row froze it, or (a row from before identity's facts were kept) as identity says."""
    if row.beneficiary_name is not None:
        return {"name": row.beneficiary_name, "siret": row.beneficiary_siret, "rna": row.beneficiary_rna}
    return cards.get(row.organisation_id) or {}


@dataclass(frozen=True)
class ExcludedRow:
    row: OpenDataRow
    name: str | None
    reason: str


async def excluded_count(session: AsyncSession, peers: Peers, *, funder_id: uuid.UUID, year: int) -> int:
    """How many of the funder's rows of the year stay out of its file."""
    frozen, legacy = await repository.excluded_counts(session, funder_id=funder_id, year=year)
    cards = await peers.organisations(legacy)
    return frozen + sum(count for organisation, count in legacy.items()
                        if beneficiary_ids(cards[organisation] or {}) is None)


async def excluded_rows(
    session: AsyncSession, peers: Peers, *, funder_id: uuid.UUID, year: int, limit: int, cursor: str | None
) -> tuple[list[ExcludedRow], str | None]:
    """A page of the rows kept out of the funder's file, with why, and the next page's cursor."""
    fetched = await repository.open_data_batch(session, funder_id=funder_id, year=year, limit=limit, cursor=cursor,
                                               excluded_only=True)
    page = list(fetched[:limit])
    cards = await peers.organisations({row.organisation_id for row in page if row.beneficiary_name is None})
    found = []
    for row in page:
        beneficiary = _beneficiary(row, cards)
        if beneficiary_ids(beneficiary) is None:
            found.append(ExcludedRow(row, beneficiary.get("name"), row.excluded_reason or NO_BENEFICIARY_ID))
    after = encode_cursor(page[-1].created_at, page[-1].id) if len(fetched) > limit else None
    return found, after


async def rows(
    session: AsyncSession, peers: Peers, *, funder: dict[str, Any], funder_id: uuid.UUID, year: int
) -> AsyncIterator[str]:
    """The header, then one line per published row of the funder for that year: frozen at the notification, with
    the payment period of that year's payments read now."""
    live_siret = funder_siret(funder, funder_id)
    yield csv_line(list(COLUMNS))
    cards: dict[uuid.UUID, dict[str, Any] | None] = {}
    cursor: str | None = None
    while True:
        fetched = await repository.open_data_batch(session, funder_id=funder_id, year=year, limit=BATCH,
                                                   cursor=cursor)
        batch = fetched[:BATCH]
        if not batch:
            return
        schedule = await repository.schedules_of(session, list({row.grant_id for row in batch}))
        missing = {row.organisation_id for row in batch if row.beneficiary_name is None} - cards.keys()
        cards |= await peers.organisations(missing)
        for row in batch:
            beneficiary = _beneficiary(row, cards)
            ids = beneficiary_ids(beneficiary)
            if ids is None:
                continue
            payments = [payment for payment in schedule[row.grant_id] if payment.year == row.year]
            conditions, period = (payment_period(payments, row.notified_on) if payments
                                  else (row.scheduled_conditions, row.scheduled_period))
            frozen_siret = row.funder_siret if row.funder_siret and siret.is_valid(row.funder_siret) else None
            # Names, the object and the programme's identifier are text that people type: csv_line neutralises
            # the ones a spreadsheet would run as formulas. The amount and the percentage go as numbers, untouched.
            # A year an amendment changed publishes the amendment as its act: its date and its reference.
            yield csv_line([
                row.funder_name or funder.get("name") or "", frozen_siret or live_siret,
                row.amended_on or row.notified_on, row.amendment_reference or row.reference_decision,
                beneficiary.get("name") or "", *ids, _object(row.object),
                Decimal(amount(row.amount_cents)), row.nature, conditions, period, row.id_rae or "",
                "oui" if row.notification_ue else "non", Decimal("1.00"), row.scheme or "",
            ])
        if len(fetched) <= BATCH:
            return
        cursor = encode_cursor(batch[-1].created_at, batch[-1].id)


async def known_funder(peers: Peers, funder_id: uuid.UUID) -> dict[str, Any]:
    """Identity's card of the funder; 404 when identity knows no such funder."""
    card = await peers.organisation(funder_id)
    if card is None or card.get("kind") != OrganisationKind.funder:
        raise NotFound(Text("Financeur inconnu.", "Unknown funder."))
    return card


async def streamed_csv(
    database: Database, peers: Peers, *, funder: dict[str, Any], funder_id: uuid.UUID, year: int
) -> AsyncIterator[bytes]:
    """The funder's SCDL CSV for `year`, encoded, read on a session of its own (a streamed answer outlives the
    request's session)."""
    async with database.transaction(write=False) as session:
        async for line in rows(session, peers, funder=funder, funder_id=funder_id, year=year):
            yield line.encode()
