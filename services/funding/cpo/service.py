"""A CPO's life after the committee. Each year a review, held in that year on the reports of the year before
(the financial reports owed to each funder and the project's activity report): it lets the year's balance fall
due (`continue`), or amends the later years (a new version, the one before kept), or suspends the payments, or
terminates the CPO. At the end, a final evaluation; then a renewal opens the next CPO on the same thread."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.problems import Conflict, NotFound, Text, UnprocessableContent
from common.tokens import Principal
from services.funding.cpo.schemas import (
    CpoPublic,
    CpoReviewIn,
    CpoReviewPublic,
    CpoVersionPublic,
    FinalEvaluationIn,
    YearlyAmountPublic,
)
from services.funding.dossiers import cpo_plan, threads
from services.funding.dossiers.service import moved, open_programme, trace
from services.funding.envelopes import money as envelopes_money
from services.funding.grants.instalments import cpo_year, payment_terms, payments_of
from services.funding.models.agreement import (
    Agreement,
    AgreementParty,
    AgreementState,
    Grant,
    Payment,
    PaymentCondition,
    PaymentState,
)
from services.funding.models.cpo import CpoReview, CpoState, CpoVersion, ReviewOutcome
from services.funding.models.dossier import Dossier
from services.funding.models.financial_report import FinancialReport, ReportState
from services.funding.models.programme import Programme, Track
from services.funding.programmes.track_rules import rules_of

CPO_NOT_FOUND = Text("Ce dossier n'est pas une CPO accordée.", "This dossier is no granted CPO.")
# What a review or the final evaluation takes as handed in.
IN_HAND = (ReportState.submitted, ReportState.accepted)
ACTIVITY_IN_HAND = ("submitted", "accepted")
PASSING = (ReviewOutcome.continue_, ReviewOutcome.amend)
OUTSTANDING = (PaymentState.scheduled, PaymentState.requested)


# Reading.


async def _versions(session: AsyncSession, dossier_id: uuid.UUID) -> list[CpoVersion]:
    rows = await session.execute(
        select(CpoVersion).where(CpoVersion.dossier_id == dossier_id).order_by(CpoVersion.number)
    )
    return list(rows.scalars())


async def _reviews(session: AsyncSession, dossier_id: uuid.UUID) -> list[CpoReview]:
    rows = await session.execute(
        select(CpoReview).where(CpoReview.dossier_id == dossier_id).order_by(CpoReview.number)
    )
    return list(rows.scalars())


async def _next_number(session: AsyncSession, dossier_id: uuid.UUID) -> int:
    """The next review's number (the dossier is locked: no other review is being written)."""
    last = await session.execute(select(func.max(CpoReview.number)).where(CpoReview.dossier_id == dossier_id))
    return (last.scalar_one() or 0) + 1


def _version_public(version: CpoVersion) -> CpoVersionPublic:
    return CpoVersionPublic(
        number=version.number, objectives=version.objectives, targets=version.targets, reason=version.reason,
        created_at=version.created_at,
        amounts=[YearlyAmountPublic(funder_id=uuid.UUID(funder), year=int(year), amount_cents=amount)
                 for funder, years in version.amounts.items() for year, amount in sorted(years.items())],
    )


async def view(session: AsyncSession, dossier: Dossier) -> CpoPublic:
    programme = await session.get(Programme, dossier.programme_id)
    versions = await _versions(session, dossier.id)
    if programme is None or dossier.cpo_state is None or not versions:
        raise NotFound(CPO_NOT_FOUND)
    return CpoPublic(
        dossier_id=dossier.id, reference=dossier.reference,
        thread_reference=dossier.thread_reference or dossier.reference, state=dossier.cpo_state,
        years=cpo_plan.years_of(programme, dossier), current=_version_public(versions[-1]),
        versions=[_version_public(v) for v in versions],
        reviews=[CpoReviewPublic.model_validate(r, from_attributes=True) for r in await _reviews(session, dossier.id)],
    )


# The yearly review.


def _refused(text: Text, code: str, **extra: Any) -> Conflict:
    return Conflict(text, code=code, extra=extra or None)


async def _years_passed(session: AsyncSession, dossier_id: uuid.UUID) -> set[int]:
    """The years whose review let the CPO go on (continue or amend)."""
    rows = await session.execute(
        select(CpoReview.year).where(CpoReview.dossier_id == dossier_id, CpoReview.kind == "yearly",
                                     CpoReview.outcome.in_(list(PASSING)))
    )
    return set(rows.scalars())


async def missing_reports(
    session: AsyncSession, dossier: Dossier, year: int, activity: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The reports of `year` not yet handed in: each funder's financial report, and the project's activity
    report (indicator actuals)."""
    reports = await session.execute(
        select(FinancialReport).where(FinancialReport.dossier_id == dossier.id, FinancialReport.year == year)
        .order_by(FinancialReport.due_on, FinancialReport.funder_id)
    )
    missing = [{"kind": "financial_report", "report_id": str(r.id), "funder_id": str(r.funder_id), "year": year,
                "state": r.state, "due_on": r.due_on.isoformat()}
               for r in reports.scalars() if r.state not in IN_HAND]
    if activity is None or activity.get("state") not in ACTIVITY_IN_HAND:
        missing.append({"kind": "activity_report", "period": str(year),
                        "state": activity.get("state") if activity else None})
    return missing


def _reports_refused(missing: list[dict[str, Any]], year: int) -> Conflict:
    kinds = {"financial_report": ("compte rendu financier", "financial report"),
             "activity_report": ("rapport d'activité", "activity report")}
    fr = ", ".join(sorted({kinds[m["kind"]][0] for m in missing}))
    en = ", ".join(sorted({kinds[m["kind"]][1] for m in missing}))
    return _refused(Text(f"Manquent pour {year} : {fr}.", f"Missing for {year}: {en}."), "reports_missing",
                    year=year, missing=missing)


def _require_running(dossier: Dossier, *states: str) -> None:
    if dossier.cpo_state not in states:
        raise _refused(Text(f"CPO « {dossier.cpo_state} » : action impossible.",
                            f"CPO '{dossier.cpo_state}': not allowed."), "cpo_not_running", state=dossier.cpo_state)


async def _agreements(session: AsyncSession, dossier_id: uuid.UUID) -> list[Agreement]:
    rows = await session.execute(
        select(Agreement).where(Agreement.dossier_id == dossier_id).order_by(Agreement.number).with_for_update()
    )
    return list(rows.scalars())


def _touched(row: Agreement | Payment) -> None:
    row.version += 1
    row.updated_at = utcnow()


async def review(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, request: CpoReviewIn,
    activity: dict[str, Any] | None, now: datetime,
) -> CpoReview:
    """`activity`: the project's activity report for the year before, as projects holds it (read beforehand)."""
    programme = await session.get(Programme, dossier.programme_id)
    if programme is None or dossier.cpo_state is None:
        raise NotFound(CPO_NOT_FOUND)
    _require_running(dossier, CpoState.running, CpoState.suspended)
    years = cpo_plan.years_of(programme, dossier)
    if request.year not in years:
        raise UnprocessableContent(
            Text("Une revue porte sur une année de la CPO.", "A review is held in one of the CPO's years."),
            errors=[("body.year", Text(f"Une de : {years}.", f"One of: {years}."))], code="not_a_cpo_year",
        )
    if request.year > now.year:
        raise _refused(Text(f"La revue de {request.year} se tient en {request.year}.",
                            f"The {request.year} review is held in {request.year}."), "review_too_early",
                       year=request.year)
    passed = await _years_passed(session, dossier.id)
    waiting = [year for year in years if year < request.year and year not in passed]
    if waiting:
        raise _refused(Text(f"La revue de {waiting[0]} vient d'abord.", f"The {waiting[0]} review comes first."),
                       "review_out_of_order", year=waiting[0])
    outcome = ReviewOutcome(request.outcome)
    if outcome in PASSING:
        if request.year in passed:
            raise _refused(Text(f"La revue de {request.year} est faite.", f"The {request.year} review is done."),
                           "review_done", year=request.year)
        if request.year > years[0]:  # the first year's review has no year before it in the CPO
            missing = await missing_reports(session, dossier, request.year - 1, activity)
            if missing:
                raise _reports_refused(missing, request.year - 1)
    agreements = await _agreements(session, dossier.id)
    record = CpoReview(dossier_id=dossier.id, number=await _next_number(session, dossier.id), kind="yearly",
                       year=request.year, outcome=outcome, comment=request.comment, recorded_by=principal.subject,
                       recorded_at=now)
    session.add(record)
    await session.flush()
    if outcome == ReviewOutcome.amend:
        assert request.amendment is not None  # the schema says so
        record.version_number = await _amend(session, principal=principal, dossier=dossier, programme=programme,
                                             review=record, request=request, agreements=agreements, now=now)
    if outcome in PASSING:
        await _release_balance(session, dossier.id, request.year, now)
        _set_suspension(agreements, None)
        dossier.cpo_state = CpoState.running
    elif outcome == ReviewOutcome.suspend:
        _set_suspension(agreements, now)
        dossier.cpo_state = CpoState.suspended
    else:
        await _terminate(session, principal=principal, dossier=dossier, programme=programme, agreements=agreements,
                         after_year=request.year, reason=request.comment or "", now=now)
    moved(dossier)
    session.add(trace(dossier, principal, f"cpo_review_{outcome}", dossier.state, f"{request.year}"))
    await session.flush()
    return record


async def _release_balance(session: AsyncSession, dossier_id: uuid.UUID, year: int, now: datetime) -> None:
    rows = await session.execute(
        select(Payment).where(Payment.dossier_id == dossier_id, Payment.year == year,
                              Payment.condition == PaymentCondition.after_review, Payment.released_at.is_(None))
    )
    for payment in rows.scalars():
        payment.released_at = now
        _touched(payment)


def _set_suspension(agreements: list[Agreement], at: datetime | None) -> None:
    for agreement in agreements:
        if agreement.state != AgreementState.ended and agreement.suspended_at != at:
            agreement.suspended_at = at
            _touched(agreement)


async def _terminate(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, programme: Programme,
    agreements: list[Agreement], after_year: int, reason: str, now: datetime,
) -> None:
    """Every payment not made is cancelled (its money back to the envelope), every agreement ends, and the reports
    of the years no longer funded are no longer owed."""
    rows = await session.execute(
        select(Payment).where(Payment.dossier_id == dossier.id, Payment.state.in_(list(OUTSTANDING)))
        .order_by(Payment.funder_id, Payment.sequence)
    )
    for payment in rows.scalars():
        await envelopes_money.release(
            session, funder_id=payment.funder_id, programme_id=programme.id, year=programme.year,
            amount_cents=payment.amount_cents, dossier_id=dossier.id, actor=principal.subject,
        )
        payment.state, payment.cancelled_at, payment.cancelled_by = PaymentState.cancelled, now, principal.subject
        payment.cancel_reason = reason
        _touched(payment)
    for agreement in agreements:
        if agreement.state != AgreementState.ended:
            agreement.state, agreement.ended_at, agreement.suspended_at = AgreementState.ended, now, None
            _touched(agreement)
    await session.execute(delete(FinancialReport).where(
        FinancialReport.dossier_id == dossier.id, FinancialReport.year > after_year,
        FinancialReport.state == ReportState.expected,
    ))
    dossier.cpo_state = CpoState.terminated


# Amendments.


async def _amend(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, programme: Programme, review: CpoReview,
    request: CpoReviewIn, agreements: list[Agreement], now: datetime,
) -> int:
    """A new version: the later years' amounts or objectives changed; each changed year's instalments cut again
    (they must not have been paid or asked for), the envelopes committed by the difference."""
    assert request.amendment is not None
    versions = await _versions(session, dossier.id)
    current = versions[-1]
    amounts = {funder: dict(years) for funder, years in current.amounts.items()}
    grants = {grant.funder_id: grant for grant in (await session.execute(
        select(Grant).where(Grant.dossier_id == dossier.id).with_for_update()
    )).scalars()}
    by_grant = {agreement.grant_id: agreement for agreement in agreements}
    by_id = {agreement.id: agreement for agreement in agreements}
    parties = await session.execute(select(AgreementParty).where(AgreementParty.agreement_id.in_(list(by_id))))
    by_grant |= {party.grant_id: by_id[party.agreement_id] for party in parties.scalars()}
    later = [year for year in cpo_plan.years_of(programme, dossier) if year > request.year]
    rules = rules_of(programme)
    for index, change in enumerate(request.amendment.amounts):
        field = f"body.amendment.amounts.{index}"
        grant = grants.get(change.funder_id)
        if grant is None:
            raise UnprocessableContent(
                Text("Ce financeur n'est pas partie à la CPO.", "This funder is no party to the CPO."),
                errors=[(f"{field}.funder_id", Text("Un financeur de la CPO.", "A funder of the CPO."))],
                code="not_a_cpo_funder",
            )
        if change.year not in later:
            raise UnprocessableContent(
                Text("Un avenant change les années qui suivent la revue.",
                     "An amendment changes the years after the review."),
                errors=[(f"{field}.year", Text(f"Une de : {later}.", f"One of: {later}."))],
                code="not_a_later_year",
            )
        before = amounts[str(grant.funder_id)][str(change.year)]
        if change.amount_cents == before:
            continue
        await _recut_year(session, principal=principal, grant=grant, agreement=by_grant[grant.id],
                          programme=programme, year=change.year, before=before, after=change.amount_cents,
                          rules=rules, now=now)
        amounts[str(grant.funder_id)][str(change.year)] = change.amount_cents
    objectives = request.amendment.objectives
    session.add(CpoVersion(
        dossier_id=dossier.id, number=current.number + 1, amounts=amounts,
        objectives=list(objectives) if objectives is not None else list(current.objectives),
        targets=dict(current.targets), reason=request.comment, review_id=review.id, created_by=principal.subject,
    ))
    if objectives is not None:
        dossier.objectives = list(objectives)
    return current.number + 1


async def _recut_year(
    session: AsyncSession, *, principal: Principal, grant: Grant, agreement: Agreement, programme: Programme,
    year: int, before: int, after: int, rules: Any, now: datetime,
) -> None:
    rows = list((await session.execute(
        select(Payment).where(Payment.grant_id == grant.id).order_by(Payment.sequence).with_for_update()
    )).scalars())
    of_year = [payment for payment in rows if payment.year == year]
    if any(payment.state != PaymentState.scheduled for payment in of_year):
        raise _refused(Text(f"Des versements de {year} sont déjà demandés ou faits : l'année ne change plus.",
                            f"Payments of {year} are already asked for or made: the year no longer changes."),
                       "year_already_paid", year=year, funder_id=str(grant.funder_id))
    money = {"funder_id": grant.funder_id, "programme_id": programme.id, "year": programme.year,
             "dossier_id": grant.dossier_id, "actor": principal.subject}
    if after > before:
        await envelopes_money.commit(session, amount_cents=after - before, **money)
    else:
        await envelopes_money.release(session, amount_cents=before - after, **money)
    for payment in of_year:
        await session.delete(payment)
    await session.flush()
    fresh = payments_of(grant, agreement, cpo_year(rules, year, after, first=False, decided_on=now.date()),
                        first=max(payment.sequence for payment in rows) + 1)
    session.add_all(fresh)
    grant.amount_cents += after - before
    agreement.amount_cents += after - before
    kept = sorted([p for p in rows if p.year != year] + fresh, key=lambda payment: payment.sequence)
    agreement.terms = _restated(agreement.terms, grant, year, after - before, payment_terms(kept))
    _touched(agreement)


def _restated(terms: dict[str, Any], grant: Grant, year: int, change: int, payments: list[dict[str, Any]]
              ) -> dict[str, Any]:
    """The agreement's terms after a year of `grant` changed by `change` cents: its years (and, in a
    multi-party agreement, that funder's entry) and its schedule."""
    def moved_year(years: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**y, "amount_cents": y["amount_cents"] + (change if y["year"] == year else 0)} for y in years]

    terms = {**terms, "years": moved_year(terms.get("years", []))}
    if "parties" not in terms:
        return {**terms, "payments": payments}
    terms["parties"] = [
        {**party, "amount_cents": party["amount_cents"] + change, "years": moved_year(party["years"]),
         "payments": payments} if party["funder_id"] == str(grant.funder_id) else party
        for party in terms["parties"]
    ]
    return terms


# The end.


async def evaluate(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, request: FinalEvaluationIn,
    activity: dict[str, Any] | None, now: datetime,
) -> CpoReview:
    """Once the last year is over and reviewed, its reports in hand and every payment made or cancelled: the
    objectives judged, the agreements ended."""
    programme = await session.get(Programme, dossier.programme_id)
    if programme is None or dossier.cpo_state is None:
        raise NotFound(CPO_NOT_FOUND)
    _require_running(dossier, CpoState.running)
    years = cpo_plan.years_of(programme, dossier)
    last = years[-1]
    passed = await _years_passed(session, dossier.id)
    waiting = [year for year in years if year not in passed]
    if waiting or now.year <= last:
        raise _refused(Text(f"L'évaluation finale suit la revue de chaque année et la fin de {last}.",
                            f"The final evaluation follows each year's review and the end of {last}."),
                       "evaluation_too_early", years_to_review=waiting, last_year=last)
    missing = await missing_reports(session, dossier, last, activity)
    if missing:
        raise _reports_refused(missing, last)
    outstanding = (await session.execute(
        select(Payment.id).where(Payment.dossier_id == dossier.id, Payment.state.in_(list(OUTSTANDING)))
    )).first()
    if outstanding is not None:
        raise _refused(Text("Des versements restent à faire ou à annuler.",
                            "Some payments are still to be paid or cancelled."), "payments_outstanding")
    for agreement in await _agreements(session, dossier.id):
        if agreement.state != AgreementState.ended:
            agreement.state, agreement.ended_at = AgreementState.ended, now
            _touched(agreement)
    record = CpoReview(dossier_id=dossier.id, number=await _next_number(session, dossier.id), kind="final",
                       year=last, outcome=request.outcome, comment=request.comment, recorded_by=principal.subject,
                       recorded_at=now)
    session.add(record)
    dossier.cpo_state = CpoState.completed
    moved(dossier)
    session.add(trace(dossier, principal, "cpo_evaluated", dossier.state, request.outcome))
    await session.flush()
    return record


async def renew(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, programme_id: uuid.UUID, now: datetime
) -> Dossier:
    """The next CPO, as a draft on an open CPO programme, on the same thread: each funder asked its last year's
    amount for each year, the objectives carried over."""
    if dossier.cpo_state != CpoState.completed:
        raise _refused(Text("Le renouvellement suit l'évaluation finale.", "Renewal follows the final evaluation."),
                       "not_evaluated", state=dossier.cpo_state)
    target = await open_programme(session, programme_id, now.date())
    if target.track != Track.cpo:
        raise UnprocessableContent(
            Text("Une CPO se renouvelle sur un programme CPO.", "A CPO is renewed on a CPO programme."),
            errors=[("body.programme_id", Text("Un programme CPO.", "A CPO programme."))], code="not_a_cpo_programme",
        )
    current = (await _versions(session, dossier.id))[-1]
    years = dossier.cpo_years or 1
    asks = []
    for funder, amounts in current.amounts.items():
        last = amounts[max(amounts, key=int)]
        asks.append((uuid.UUID(funder), last * years, [last] * years))
    return await threads.open_follow_on(
        session, principal=principal, previous=dossier, target=target, asks=asks, now=now, action="opened_by_renewal",
        objectives=list(dossier.objectives),
    )
