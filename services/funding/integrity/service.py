"""The rules the integrity check recomputes, for one funder and one programme year (the envelopes' year):

- an envelope's ledger adds up to its balances (commitments less releases, payments, total);
- an envelope commits what its grants granted, less what their cancelled payments gave back, and has paid what
  their paid payments came to;
- a committee decision granted what its grant says, as the CPO's current version amends it (a delegated small
  project's decision is its grant);
- a grant's payment schedule, cancelled payments included, adds up to the grant; what was paid never exceeds it;
- the SCDL rows of the year are the notified grants' amounts of that year (one per grant and year; a CPO's from its
  current version), no more, no fewer.
"""

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.funding.integrity.schemas import Difference, IntegrityReport
from services.funding.models.agreement import Agreement, AgreementKind, AgreementParty, Grant, Payment, PaymentState
from services.funding.models.committee import AgendaItem, CommitteeSession, FunderDecision, SessionState
from services.funding.models.cpo import CpoVersion
from services.funding.models.envelope import Envelope, EnvelopeMovement, MovementKind
from services.funding.models.open_data import OpenDataRow


async def check(session: AsyncSession, *, funder_id: uuid.UUID, year: int) -> IntegrityReport:
    differences: list[Difference] = []
    envelopes = list((await session.execute(select(Envelope).where(
        col(Envelope.funder_id) == funder_id, col(Envelope.year) == year))).scalars())
    grants = list((await session.execute(select(Grant).where(
        col(Grant.funder_id) == funder_id, col(Grant.year) == year))).scalars())
    payments = await _payments_of(session, [grant.id for grant in grants])
    amended = await _amended_yearly(session, grants)
    differences += await _ledgers(session, envelopes)
    differences += _envelopes(envelopes, grants, payments)
    differences += await _decisions(session, grants, amended)
    differences += _schedules(grants, payments)
    rows, open_data = await _open_data(session, funder_id=funder_id, year=year, amended=amended)
    differences += open_data
    return IntegrityReport(
        funder_id=funder_id, year=year, envelopes=len(envelopes), grants=len(grants), open_data_rows=rows,
        ok=not differences, differences=differences,
    )


async def _payments_of(session: AsyncSession, grant_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Payment]]:
    found: dict[uuid.UUID, list[Payment]] = {grant_id: [] for grant_id in grant_ids}
    if grant_ids:
        for payment in (await session.execute(select(Payment).where(col(Payment.grant_id).in_(grant_ids)))).scalars():
            found[payment.grant_id].append(payment)
    return found


async def _amended_yearly(session: AsyncSession, grants: list[Grant]) -> dict[uuid.UUID, dict[int, int]]:
    """Each CPO grant's yearly amounts as its dossier's current version says them (the committee's decision, as
    amended since); other grants are absent."""
    dossier_ids = list({grant.dossier_id for grant in grants})
    if not dossier_ids:
        return {}
    latest = select(col(CpoVersion.dossier_id), func.max(col(CpoVersion.number)).label("number")).where(
        col(CpoVersion.dossier_id).in_(dossier_ids)).group_by(col(CpoVersion.dossier_id)).subquery()
    versions = {version.dossier_id: version for version in (await session.execute(
        select(CpoVersion).join(latest, (col(CpoVersion.dossier_id) == latest.c.dossier_id)
                                & (col(CpoVersion.number) == latest.c.number)))).scalars()}
    return {
        grant.id: {int(y): int(cents) for y, cents in versions[grant.dossier_id].amounts.get(str(grant.funder_id),
                                                                                             {}).items()}
        for grant in grants if grant.dossier_id in versions
    }


async def _ledgers(session: AsyncSession, envelopes: list[Envelope]) -> list[Difference]:
    if not envelopes:
        return []
    sums: dict[tuple[uuid.UUID, str], int] = {
        (envelope_id, kind): int(total) for envelope_id, kind, total in await session.execute(
            select(col(EnvelopeMovement.envelope_id), col(EnvelopeMovement.kind),
                   func.sum(col(EnvelopeMovement.amount_cents)))
            .where(col(EnvelopeMovement.envelope_id).in_([e.id for e in envelopes]))
            .group_by(col(EnvelopeMovement.envelope_id), col(EnvelopeMovement.kind)))
    }
    found = []
    for envelope in envelopes:
        def moved(*kinds: str, envelope_id: uuid.UUID = envelope.id) -> int:
            return sum(sums.get((envelope_id, kind), 0) for kind in kinds)

        for name, balance, ledger in (
            ("total", envelope.total_cents, moved(MovementKind.opened, MovementKind.total_changed)),
            ("committed", envelope.committed_cents, moved(MovementKind.committed, MovementKind.released)),
            ("paid", envelope.paid_cents, moved(MovementKind.paid)),
        ):
            if balance != ledger:
                found.append(Difference(
                    check="ledger_balances", subject_kind="envelope", subject_id=envelope.id, expected=ledger,
                    found=balance, detail=f"Le solde {name} de l'enveloppe n'est pas la somme de son registre."))
    return found


def _envelopes(envelopes: list[Envelope], grants: list[Grant], payments: dict[uuid.UUID, list[Payment]]
               ) -> list[Difference]:
    committed: dict[uuid.UUID, int] = defaultdict(int)
    paid: dict[uuid.UUID, int] = defaultdict(int)
    for grant in grants:
        cancelled = sum(p.amount_cents for p in payments[grant.id] if p.state == PaymentState.cancelled)
        committed[grant.programme_id] += grant.amount_cents - cancelled
        paid[grant.programme_id] += sum(p.amount_cents for p in payments[grant.id] if p.state == PaymentState.paid)
    found = []
    by_programme = {envelope.programme_id: envelope for envelope in envelopes}
    for programme_id in set(committed) | set(by_programme):
        envelope = by_programme.get(programme_id)
        if envelope is None:
            continue  # grants without an envelope cannot be: the commitment needs one (and would have failed)
        if envelope.committed_cents != committed[programme_id]:
            found.append(Difference(
                check="envelope_commitments", subject_kind="envelope", subject_id=envelope.id,
                expected=committed[programme_id], found=envelope.committed_cents,
                detail="L'enveloppe n'engage pas ce que ses subventions accordent, moins les versements annulés."))
        if envelope.paid_cents != paid[programme_id]:
            found.append(Difference(
                check="envelope_payments", subject_kind="envelope", subject_id=envelope.id,
                expected=paid[programme_id], found=envelope.paid_cents,
                detail="L'enveloppe n'a pas versé ce que les versements payés de ses subventions font."))
    return found


async def _decisions(session: AsyncSession, grants: list[Grant], amended: dict[uuid.UUID, dict[int, int]]
                     ) -> list[Difference]:
    """Each committee grant against its funder's decision in its closed session (amended for a CPO)."""
    in_session = [grant for grant in grants if grant.session_id is not None]
    if not in_session:
        return []
    decided: dict[tuple[uuid.UUID, uuid.UUID], FunderDecision] = {
        (decision.dossier_id, decision.funder_id): decision for decision in (await session.execute(
            select(FunderDecision).join(AgendaItem, col(AgendaItem.id) == col(FunderDecision.item_id))
            .join(CommitteeSession, col(CommitteeSession.id) == col(AgendaItem.session_id))
            .where(col(CommitteeSession.state) == SessionState.closed,
                   col(FunderDecision.dossier_id).in_([grant.dossier_id for grant in in_session]),
                   col(FunderDecision.funder_id).in_({grant.funder_id for grant in in_session})))).scalars()
    }
    found = []
    for grant in in_session:
        decision = decided.get((grant.dossier_id, grant.funder_id))
        if decision is None:
            found.append(Difference(
                check="decisions_grants", subject_kind="grant", subject_id=grant.id, expected="une décision",
                found="aucune", detail="Une subvention en séance sans la décision de son financeur."))
            continue
        expected = sum(amended[grant.id].values()) if grant.id in amended else decision.granted_cents
        if expected != grant.amount_cents:
            found.append(Difference(
                check="decisions_grants", subject_kind="decision", subject_id=decision.id, expected=expected,
                found=grant.amount_cents,
                detail="La subvention n'est pas ce que la décision (avec ses avenants) accorde."))
    return found


def _schedules(grants: list[Grant], payments: dict[uuid.UUID, list[Payment]]) -> list[Difference]:
    found = []
    for grant in grants:
        scheduled = sum(p.amount_cents for p in payments[grant.id])
        paid = sum(p.amount_cents for p in payments[grant.id] if p.state == PaymentState.paid)
        if payments[grant.id] and scheduled != grant.amount_cents:
            found.append(Difference(
                check="payment_schedule", subject_kind="grant", subject_id=grant.id, expected=grant.amount_cents,
                found=scheduled, detail="L'échéancier (versements annulés compris) n'est pas la subvention."))
        if paid > grant.amount_cents:
            found.append(Difference(
                check="paid_within_grant", subject_kind="grant", subject_id=grant.id, expected=grant.amount_cents,
                found=paid, detail="Plus a été versé que la subvention n'accorde."))
    return found


def _notified(agreement: Agreement) -> bool:
    if agreement.kind == AgreementKind.decision_letter:
        return agreement.sent_at is not None
    return agreement.funder_signed_at is not None and agreement.holder_signed_at is not None


async def _open_data(session: AsyncSession, *, funder_id: uuid.UUID, year: int,
                     amended: dict[uuid.UUID, dict[int, int]]) -> tuple[int, list[Difference]]:
    """The year's rows against the notified grants' amounts of that year, whatever their programme's year (a CPO
    decided in 2027 publishes in 2028 too)."""
    rows = {(row.grant_id, row.year): row for row in (await session.execute(select(OpenDataRow).where(
        col(OpenDataRow.funder_id) == funder_id, col(OpenDataRow.year) == year))).scalars()}
    grants = list((await session.execute(select(Grant).where(col(Grant.funder_id) == funder_id))).scalars())
    agreements = await _agreements_of(session, [grant.id for grant in grants])
    cpo = await _amended_yearly(session, grants) | amended
    found = []
    expected: dict[uuid.UUID, int] = {}
    for grant in grants:
        agreement = agreements.get(grant.id)
        if agreement is None or not _notified(agreement):
            continue
        yearly = cpo.get(grant.id) or _yearly_of(agreement, grant)
        if yearly.get(year, 0) > 0:
            expected[grant.id] = yearly[year]
    for grant_id, cents in expected.items():
        row = rows.get((grant_id, year))
        if row is None or row.amount_cents != cents:
            found.append(Difference(
                check="open_data_rows", subject_kind="grant", subject_id=grant_id, expected=cents,
                found=row.amount_cents if row else "aucune ligne",
                detail="La ligne SCDL de l'année n'est pas le montant notifié de cette année."))
    for (grant_id, _), row in rows.items():
        if grant_id not in expected:
            found.append(Difference(
                check="open_data_rows", subject_kind="grant", subject_id=grant_id, expected="aucune ligne",
                found=row.amount_cents, detail="Une ligne SCDL sans subvention notifiée de cette année."))
    return len(rows), found


async def _agreements_of(session: AsyncSession, grant_ids: list[uuid.UUID]) -> dict[uuid.UUID, Agreement]:
    """The agreement each grant is notified by: its own, or the multi-party one it is a party to."""
    if not grant_ids:
        return {}
    own = {agreement.grant_id: agreement for agreement in (await session.execute(
        select(Agreement).where(col(Agreement.grant_id).in_(grant_ids)))).scalars()}
    shared = (await session.execute(select(col(AgreementParty.grant_id), Agreement).join(
        Agreement, col(Agreement.id) == col(AgreementParty.agreement_id)).where(
        col(AgreementParty.grant_id).in_(grant_ids)))).all()
    return own | {grant_id: agreement for grant_id, agreement in shared}


def _yearly_of(agreement: Agreement, grant: Grant) -> dict[int, int]:
    terms: dict[str, Any] = agreement.terms or {}
    entry = next((p for p in terms.get("parties", []) if p.get("funder_id") == str(grant.funder_id)), terms)
    yearly = {int(y["year"]): int(y["amount_cents"]) for y in entry.get("years", [])}
    return yearly or {grant.year: grant.amount_cents}
