"""The rules the integrity check recomputes, for one funder and one year (the envelopes' year):

- an envelope's ledger adds up to its balances (commitments less releases, payments, total);
- an envelope commits what the grant years committed on it (each year's amount, less what its cancelled payments
  gave back; a CPO's later years only once committed), plus what the funder's decisions in sessions not closed yet
  committed (a CPO's first year; their grants come at the closing); it has paid what the paid payments of those
  years came to;
- a grant's years add up to the grant; a year committed holds its amount less its cancelled payments, a year
  awaiting its budget holds nothing;
- a committee decision, as its last amendment stands (or as the session took it), grants what its grant and
  each of its years say, and a CPO's current version says the same (a delegated small project's decision is its
  grant);
- a grant's payment schedule, cancelled payments included, adds up to the grant; what was paid never exceeds it;
- the SCDL rows of the year are the notified grants' amounts of that year (one per grant and year), no more, no
  fewer.
"""

import uuid
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from services.funding.committee import repository as committee_repository
from services.funding.committee.decisions import committed_by
from services.funding.exports.scdl import notified_on
from services.funding.grants import grant_years_repository
from services.funding.integrity import repository
from services.funding.integrity.schemas import Difference, IntegrityReport
from services.funding.models.agreement import Grant, GrantYear, GrantYearState, Payment, PaymentState
from services.funding.models.envelope import Envelope, MovementKind

Years = dict[uuid.UUID, list[GrantYear]]
Payments = dict[uuid.UUID, list[Payment]]


async def check(session: AsyncSession, *, funder_id: uuid.UUID, year: int) -> IntegrityReport:
    envelopes = await repository.envelopes_of(session, funder_id, year)
    grants = await repository.grants_of(session, funder_id, year)
    grant_ids = [grant.id for grant in grants]
    payments = await repository.payments_of(session, grant_ids)
    years = await grant_years_repository.years_of_grants(session, grant_ids)
    in_session: dict[uuid.UUID, int] = defaultdict(int)
    for programme_id, decision in await repository.decided_in_open_sessions(session, funder_id, year):
        in_session[programme_id] += committed_by(decision)
    differences = _ledgers(envelopes, await repository.ledger_sums(session, [e.id for e in envelopes]))
    differences += _envelopes(envelopes, years, payments, in_session)
    differences += _grant_years(grants, years, payments)
    differences += await _decisions(session, grants, years)
    differences += _schedules(grants, payments)
    rows, open_data = await _open_data(session, funder_id=funder_id, year=year)
    differences += open_data
    return IntegrityReport(
        funder_id=funder_id, year=year, envelopes=len(envelopes), grants=len(grants), open_data_rows=rows,
        ok=not differences, differences=differences,
    )


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


def _cancelled(payments: list[Payment], year: int) -> int:
    return sum(p.amount_cents for p in payments if p.year == year and p.state == PaymentState.cancelled)


def _envelopes(envelopes: list[Envelope], years: Years, payments: Payments, in_session: dict[uuid.UUID, int]
               ) -> list[Difference]:
    committed: dict[uuid.UUID, int] = defaultdict(int, in_session)
    paid: dict[uuid.UUID, int] = defaultdict(int)
    by_programme = {envelope.programme_id: envelope for envelope in envelopes}
    for grant_id, rows in years.items():
        for row in rows:
            envelope = by_programme.get(row.programme_id)
            if envelope is None or row.envelope_year != envelope.year:
                continue
            committed[row.programme_id] += row.amount_cents - _cancelled(payments[grant_id], row.year)
            paid[row.programme_id] += sum(p.amount_cents for p in payments[grant_id]
                                          if p.year == row.year and p.state == PaymentState.paid)
    found = []
    for envelope in envelopes:
        if envelope.committed_cents != committed[envelope.programme_id]:
            found.append(Difference(
                check="envelope_commitments", subject_kind="envelope", subject_id=envelope.id,
                expected=committed[envelope.programme_id], found=envelope.committed_cents,
                detail="L'enveloppe n'engage pas ce que les années engagées sur elle accordent (moins les "
                       "versements annulés) et ce que les décisions des séances encore ouvertes engagent."))
        if envelope.paid_cents != paid[envelope.programme_id]:
            found.append(Difference(
                check="envelope_payments", subject_kind="envelope", subject_id=envelope.id,
                expected=paid[envelope.programme_id], found=envelope.paid_cents,
                detail="L'enveloppe n'a pas versé ce que les versements payés des années engagées sur elle font."))
    return found


def _grant_years(grants: list[Grant], years: Years, payments: Payments) -> list[Difference]:
    found = []
    for grant in grants:
        rows = years[grant.id]
        if sum(row.amount_cents for row in rows) != grant.amount_cents:
            found.append(Difference(
                check="grant_years", subject_kind="grant", subject_id=grant.id, expected=grant.amount_cents,
                found=sum(row.amount_cents for row in rows),
                detail="Les années de la subvention ne font pas la subvention."))
        for row in rows:
            # A year waiting for its budget holds its instalments back; a committed one lets them fall due.
            waiting = row.state == GrantYearState.awaiting
            astray = [p for p in payments[grant.id] if p.year == row.year and p.state == PaymentState.scheduled
                      and p.budget_pending != waiting]
            if astray:
                found.append(Difference(
                    check="grant_years", subject_kind="grant", subject_id=grant.id,
                    expected=f"{row.year} : {row.state}", found=f"{len(astray)} versement(s) à l'état contraire",
                    detail=f"Les versements de {row.year} ne suivent pas l'état de l'année (en attente de son "
                           "budget, ou engagée)."))
            expected = (row.amount_cents - _cancelled(payments[grant.id], row.year)
                        if row.state == GrantYearState.committed else 0)
            if row.committed_cents != expected:
                found.append(Difference(
                    check="grant_years", subject_kind="grant", subject_id=grant.id, expected=expected,
                    found=row.committed_cents,
                    detail=f"L'année {row.year} n'engage pas son montant moins ses versements annulés."))
    return found


async def _decisions(session: AsyncSession, grants: list[Grant], years: Years) -> list[Difference]:
    """Each committee grant against its funder's decision in its closed session, as its last amendment stands."""
    in_session = [grant for grant in grants if grant.session_id is not None]
    if not in_session:
        return []
    decided = await repository.closed_decisions(
        session, [grant.dossier_id for grant in in_session], {grant.funder_id for grant in in_session})
    amendments = await committee_repository.amendments_of(session, [d.id for d in decided.values()])
    versions = await repository.current_versions(session, list({grant.dossier_id for grant in in_session}))
    found = []
    for grant in in_session:
        decision = decided.get((grant.dossier_id, grant.funder_id))
        if decision is None:
            found.append(Difference(
                check="decisions_grants", subject_kind="grant", subject_id=grant.id, expected="une décision",
                found="aucune", detail="Une subvention en séance sans la décision de son financeur."))
            continue
        last = amendments[decision.id][-1] if amendments[decision.id] else None
        granted = last.granted_cents if last else decision.granted_cents
        yearly = last.yearly_cents if last else decision.yearly_cents
        if granted != grant.amount_cents:
            found.append(Difference(
                check="decisions_grants", subject_kind="decision", subject_id=decision.id, expected=granted,
                found=grant.amount_cents,
                detail="La subvention n'est pas ce que la décision (avec ses avenants) accorde."))
        by_year = {str(row.year): row.amount_cents for row in years[grant.id]}
        if yearly is not None and {y: int(c) for y, c in yearly.items()} != by_year:
            found.append(Difference(
                check="decisions_grants", subject_kind="decision", subject_id=decision.id, expected=str(yearly),
                found=str(by_year), detail="Les années de la subvention ne sont pas celles de la décision."))
        version = versions.get(grant.dossier_id)
        kept = version.amounts.get(str(grant.funder_id)) if version else None
        if kept is not None and {y: int(c) for y, c in kept.items()} != by_year:
            found.append(Difference(
                check="decisions_grants", subject_kind="grant", subject_id=grant.id, expected=str(kept),
                found=str(by_year), detail="Les années de la subvention ne sont pas celles de la version de la CPO."))
    return found


def _schedules(grants: list[Grant], payments: Payments) -> list[Difference]:
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
    years = await grant_years_repository.years_of_grants(session, [grant.id for grant in grants])
    found = []
    expected: dict[uuid.UUID, int] = {}
    for grant in grants:
        agreement = agreements.get(grant.id)
        if agreement is None or notified_on(agreement) is None:
            continue
        cents = next((row.amount_cents for row in years[grant.id] if row.year == year), 0)
        if cents > 0:
            expected[grant.id] = cents
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
