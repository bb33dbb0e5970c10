"""A grant's years and the envelope each one's money sits on. A grant of one year is committed on its year's
envelope at the decision. A CPO's decision commits its first year only: each later year is "subject to that year's
budget vote", and is committed on that year's envelope of the funder when its year opens (the funder or the desk
commits it, or that year's review does), with a clear problem when the envelope cannot take it. Until then its
payments wait (409 `year_not_committed`), its amendments move only what is decided, and a termination cancels it
without touching any envelope."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.money import euros
from common.problems import Conflict, Text
from services.funding.envelopes import money as envelopes_money
from services.funding.grants import grant_years_repository as repository
from services.funding.models.agreement import Grant, GrantYear, GrantYearState, Payment


def open_years(
    session: AsyncSession, grant: Grant, yearly: dict[int, int], *, committed: dict[int, int], at: datetime, by: str,
) -> list[GrantYear]:
    """The grant's years as decided. `committed`: for each year already committed at the decision, the year of
    the envelope it was committed on (a CPO's first year on its own; one decided before the decisions kept their
    yearly amounts, every year on the programme's year's)."""
    rows = []
    for year, cents in sorted(yearly.items()):
        envelope_year = committed.get(year)
        rows.append(GrantYear(
            grant_id=grant.id, dossier_id=grant.dossier_id, funder_id=grant.funder_id,
            programme_id=grant.programme_id, year=year, amount_cents=cents,
            state=GrantYearState.committed if envelope_year is not None else GrantYearState.awaiting,
            committed_cents=cents if envelope_year is not None else 0, envelope_year=envelope_year,
            committed_at=at if envelope_year is not None else None,
            committed_by=by if envelope_year is not None else None,
        ))
    session.add_all(rows)
    return rows


async def commit_year(session: AsyncSession, row: GrantYear, *, actor: str, now: datetime) -> bool:
    """Commit an awaiting year on that year's envelope of its funder (what its cancelled payments gave back
    excepted); 409 `envelope_missing` or `envelope_exceeded` (naming the year) when the envelope cannot take it.
    False when there was nothing to commit (the year is not awaiting)."""
    if row.state != GrantYearState.awaiting:
        return False
    cents = row.amount_cents - await repository.cancelled_in_year(session, row.grant_id, row.year)
    if cents > 0:
        try:
            await envelopes_money.commit(
                session, funder_id=row.funder_id, programme_id=row.programme_id, year=row.year, amount_cents=cents,
                dossier_id=row.dossier_id, actor=actor,
            )
        except Conflict as refused:
            raise _year_refused(refused, row) from None
    row.state, row.committed_cents, row.envelope_year = GrantYearState.committed, max(cents, 0), row.year
    row.committed_at, row.committed_by = now, actor
    _touched(row)
    # Its instalments may fall due now, by their dates and conditions.
    for payment in await repository.pending_payments(session, row.grant_id, row.year):
        payment.budget_pending = False
        payment.version += 1
        payment.updated_at = now
    return True


def _year_refused(refused: Conflict, row: GrantYear) -> Conflict:
    """The envelope's problem, saying which year of which grant it was about."""
    asked = euros(row.amount_cents)
    why = refused.detail or Text("", "")
    detail = Text(
        f"L'année {row.year} de cette CPO ({asked.fr}) ne peut être engagée : {why.fr}",
        f"Year {row.year} of this CPO ({asked.en}) cannot be committed: {why.en}",
    )
    extra = {**(refused.extra or {}), "year": row.year, "funder_id": str(row.funder_id),
             "grant_id": str(row.grant_id)}
    return Conflict(detail, code=refused.code, extra=extra)


async def envelope_year_to_pay(session: AsyncSession, payment: Payment) -> int:
    """The year of the envelope a payment is paid from: its grant year's, once committed; 409 `year_not_committed`
    while the year waits for its budget."""
    row = await _row(session, payment.grant_id, payment.year)
    if row.state != GrantYearState.committed or row.envelope_year is None:
        raise Conflict(
            Text(f"L'année {payment.year} de cette CPO n'est pas encore engagée sur l'enveloppe {payment.year} du "
                 "financeur : elle doit l'être avant tout versement.",
                 f"Year {payment.year} of this CPO is not committed on the funder's {payment.year} envelope yet: it "
                 "must be before any payment."),
            code="year_not_committed",
            extra={"year": payment.year, "funder_id": str(payment.funder_id), "state": row.state},
        )
    return row.envelope_year


async def payment_cancelled(session: AsyncSession, payment: Payment, *, actor: str) -> None:
    """A payment not made is cancelled: what its year committed for it goes back to that envelope (an awaiting
    year committed nothing yet, and will commit without it)."""
    row = await _row(session, payment.grant_id, payment.year)
    if row.state != GrantYearState.committed:
        return
    assert row.envelope_year is not None  # the check constraint's sibling: a committed year has its envelope
    await envelopes_money.release(
        session, funder_id=payment.funder_id, programme_id=payment.programme_id, year=row.envelope_year,
        amount_cents=payment.amount_cents, dossier_id=payment.dossier_id, actor=actor,
    )
    row.committed_cents -= payment.amount_cents
    _touched(row)


async def amended(session: AsyncSession, grant: Grant, year: int, change: int, *, actor: str) -> bool:
    """An amendment moved the year's amount by `change` cents: a committed year's envelope moves with it (409
    `envelope_exceeded` when it cannot take more), an awaiting one will commit the new amount. Whether the year
    still waits for its budget."""
    row = await _row(session, grant.id, year)
    row.amount_cents += change
    if row.state == GrantYearState.committed and change:
        assert row.envelope_year is not None
        move = envelopes_money.commit if change > 0 else envelopes_money.release
        await move(session, funder_id=grant.funder_id, programme_id=grant.programme_id, year=row.envelope_year,
                   amount_cents=abs(change), dossier_id=grant.dossier_id, actor=actor)
        row.committed_cents += change
    _touched(row)
    return row.state == GrantYearState.awaiting


async def cancel_awaiting(session: AsyncSession, dossier_id: uuid.UUID) -> None:
    """A terminated CPO: the years not committed yet will never be."""
    for row in await repository.years_of_dossier(session, dossier_id, lock=True):
        if row.state == GrantYearState.awaiting:
            row.state = GrantYearState.cancelled
            _touched(row)


async def _row(session: AsyncSession, grant_id: uuid.UUID, year: int) -> GrantYear:
    row = await repository.locked_year(session, grant_id, year)
    assert row is not None, "every grant has a row for each year of its payments"
    return row


def _touched(row: GrantYear) -> None:
    row.version += 1
    row.updated_at = utcnow()
