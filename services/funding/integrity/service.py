"""The rules the integrity check recomputes, for one funder and one programme year (the envelopes' year):

- an envelope's ledger adds up to its balances (commitments less releases, payments, total);
- an envelope commits what its grants granted, less what their cancelled payments gave back, plus what the
  funder's decisions in sessions not closed yet committed (their grants come at the closing); it has paid what
  its grants' paid payments came to;
- a committee decision granted what its grant says, as the CPO's current version amends it (a delegated small
  project's decision is its grant);
- a grant's payment schedule, cancelled payments included, adds up to the grant; what was paid never exceeds it;
- the SCDL rows of the year are the notified grants' amounts of that year (one per grant and year; a CPO's from its
  current version), no more, no fewer.
"""

import uuid
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from services.funding.exports.open_data import yearly_amounts
from services.funding.exports.scdl import notified_on
from services.funding.integrity import repository
from services.funding.integrity.schemas import Difference, IntegrityReport
from services.funding.models.agreement import Grant, Payment, PaymentState
from services.funding.models.envelope import Envelope, MovementKind


async def check(session: AsyncSession, *, funder_id: uuid.UUID, year: int) -> IntegrityReport:
    envelopes = await repository.envelopes_of(session, funder_id, year)
    grants = await repository.grants_of(session, funder_id, year)
    payments = await repository.payments_of(session, [grant.id for grant in grants])
    amended = await _amended_yearly(session, grants)
    in_session = await repository.committed_in_open_sessions(session, funder_id, year)
    differences = _ledgers(envelopes, await repository.ledger_sums(session, [e.id for e in envelopes]))
    differences += _envelopes(envelopes, grants, payments, in_session)
    differences += await _decisions(session, grants, amended)
    differences += _schedules(grants, payments)
    rows, open_data = await _open_data(session, funder_id=funder_id, year=year)
    differences += open_data
    return IntegrityReport(
        funder_id=funder_id, year=year, envelopes=len(envelopes), grants=len(grants), open_data_rows=rows,
        ok=not differences, differences=differences,
    )


async def _amended_yearly(session: AsyncSession, grants: list[Grant]) -> dict[uuid.UUID, dict[int, int]]:
    """Each CPO grant's yearly amounts as its dossier's current version says them (the committee's decision, as
    amended since); other grants are absent."""
    versions = await repository.current_versions(session, list({grant.dossier_id for grant in grants}))
    return {
        grant.id: {int(y): int(cents) for y, cents in versions[grant.dossier_id].amounts.get(
            str(grant.funder_id), {}).items()}
        for grant in grants if grant.dossier_id in versions
    }


def _ledgers(envelopes: list[Envelope], sums: dict[tuple[uuid.UUID, str], int]) -> list[Difference]:
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


def _envelopes(envelopes: list[Envelope], grants: list[Grant], payments: dict[uuid.UUID, list[Payment]],
               in_session: dict[uuid.UUID, int]) -> list[Difference]:
    committed: dict[uuid.UUID, int] = defaultdict(int, in_session)
    paid: dict[uuid.UUID, int] = defaultdict(int)
    for grant in grants:
        cancelled = sum(p.amount_cents for p in payments[grant.id] if p.state == PaymentState.cancelled)
        committed[grant.programme_id] += grant.amount_cents - cancelled
        paid[grant.programme_id] += sum(p.amount_cents for p in payments[grant.id] if p.state == PaymentState.paid)
    found = []
    for envelope in envelopes:
        if envelope.committed_cents != committed[envelope.programme_id]:
            found.append(Difference(
                check="envelope_commitments", subject_kind="envelope", subject_id=envelope.id,
                expected=committed[envelope.programme_id], found=envelope.committed_cents,
                detail="L'enveloppe n'engage pas ce que ses subventions accordent (moins les versements annulés) "
                       "et ce que les décisions des séances encore ouvertes engagent."))
        if envelope.paid_cents != paid[envelope.programme_id]:
            found.append(Difference(
                check="envelope_payments", subject_kind="envelope", subject_id=envelope.id,
                expected=paid[envelope.programme_id], found=envelope.paid_cents,
                detail="L'enveloppe n'a pas versé ce que les versements payés de ses subventions font."))
    return found


async def _decisions(session: AsyncSession, grants: list[Grant], amended: dict[uuid.UUID, dict[int, int]]
                     ) -> list[Difference]:
    """Each committee grant against its funder's decision in its closed session (amended for a CPO)."""
    in_session = [grant for grant in grants if grant.session_id is not None]
    if not in_session:
        return []
    decided = await repository.closed_decisions(
        session, [grant.dossier_id for grant in in_session], {grant.funder_id for grant in in_session})
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


async def _open_data(session: AsyncSession, *, funder_id: uuid.UUID, year: int) -> tuple[int, list[Difference]]:
    """The year's rows against the notified grants' amounts of that year, whatever their programme's year (a CPO
    decided in 2027 publishes in 2028 too)."""
    rows = {(row.grant_id, row.year): row for row in await repository.open_data_rows(session, funder_id, year)}
    grants = await repository.grants_of(session, funder_id)
    agreements = await repository.agreements_of(session, [grant.id for grant in grants])
    cpo = await _amended_yearly(session, grants)
    found = []
    expected: dict[uuid.UUID, int] = {}
    for grant in grants:
        agreement = agreements.get(grant.id)
        if agreement is None or notified_on(agreement) is None:
            continue
        yearly = cpo.get(grant.id) or yearly_amounts(agreement, grant)
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
