"""A CPO's yearly review, held in that year on the reports of the year before (the financial reports owed to
each funder and the project's activity report): it lets the year's balance fall due (`continue`), or amends the
later years (a new version, the one before kept), or suspends the payments, or terminates the CPO."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.problems import NotFound, Text, UnprocessableContent
from common.tokens import Principal
from services.funding.cpo import amendments, repository
from services.funding.cpo.repository import PASSING
from services.funding.cpo.schemas import CpoReviewIn
from services.funding.cpo.service import (
    CPO_NOT_FOUND,
    missing_reports,
    refused,
    reports_refused,
    require_running,
    touched,
)
from services.funding.cpo.year_commitments import commit_years
from services.funding.dossiers import cpo_plan
from services.funding.dossiers.service import moved, trace
from services.funding.grants import grant_years
from services.funding.models.agreement import Agreement, AgreementState, PaymentState
from services.funding.models.cpo import CpoReview, CpoState, ReviewOutcome
from services.funding.models.dossier import Dossier
from services.funding.models.programme import Programme
from services.funding.programmes import repository as programmes_repository


async def review(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, request: CpoReviewIn,
    activity: dict[str, Any] | None, now: datetime,
) -> CpoReview:
    """The year's review: it lets the CPO go on (`continue`, or `amend` its later years), suspends its payments,
    or terminates it. `activity`: the project's activity report for the year before, as projects holds it (read
    beforehand)."""
    programme = await programmes_repository.programme_by_id(session, dossier.programme_id)
    if programme is None or dossier.cpo_state is None:
        raise NotFound(CPO_NOT_FOUND)
    require_running(dossier, CpoState.running, CpoState.suspended)
    years = cpo_plan.years_of(programme, dossier)
    if request.year not in years:
        raise UnprocessableContent(
            Text("Une revue porte sur une année de la CPO.", "A review is held in one of the CPO's years."),
            errors=[("body.year", Text(f"Une de : {years}.", f"One of: {years}."))], code="not_a_cpo_year",
        )
    if request.year > now.year:
        raise refused(Text(f"La revue de {request.year} se tient en {request.year}.",
                           f"The {request.year} review is held in {request.year}."), "review_too_early",
                      year=request.year)
    passed = await repository.years_passed(session, dossier.id)
    waiting = [year for year in years if year < request.year and year not in passed]
    if waiting:
        raise refused(Text(f"La revue de {waiting[0]} vient d'abord.", f"The {waiting[0]} review comes first."),
                      "review_out_of_order", year=waiting[0])
    outcome = ReviewOutcome(request.outcome)
    if outcome in PASSING:
        if request.year in passed:
            raise refused(Text(f"La revue de {request.year} est faite.", f"The {request.year} review is done."),
                          "review_done", year=request.year)
        if request.year > years[0]:  # the first year's review has no year before it in the CPO
            missing = await missing_reports(session, dossier, request.year - 1, activity)
            if missing:
                raise reports_refused(missing, request.year - 1)
    agreements = await repository.locked_agreements(session, dossier.id)
    number = await repository.next_review_number(session, dossier.id)
    record = CpoReview(dossier_id=dossier.id, number=number, kind="yearly", year=request.year, outcome=outcome,
                       comment=request.comment, recorded_by=principal.subject, recorded_at=now)
    session.add(record)
    await session.flush()
    if outcome == ReviewOutcome.amend:
        assert request.amendment is not None  # the schema says so
        record.version_number = await amendments.amend(
            session, principal=principal, dossier=dossier, programme=programme, review=record, request=request,
            agreements=agreements, now=now,
        )
    if outcome in PASSING:
        # The year goes on: what of it still waited for its budget is committed now, or the review is refused.
        await commit_years(session, dossier.id, request.year, actor=principal.subject, now=now)
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
    for payment in await repository.balances_to_release(session, dossier_id, year):
        payment.released_at = now
        touched(payment)


def _set_suspension(agreements: list[Agreement], at: datetime | None) -> None:
    for agreement in agreements:
        if agreement.state != AgreementState.ended and agreement.suspended_at != at:
            agreement.suspended_at = at
            touched(agreement)


async def _terminate(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, programme: Programme,
    agreements: list[Agreement], after_year: int, reason: str, now: datetime,
) -> None:
    """Every payment not made is cancelled (its money back to the envelope), every agreement ends, and the reports
    of the years no longer funded are no longer owed."""
    for payment in await repository.outstanding_payments(session, dossier.id):
        await grant_years.payment_cancelled(session, payment, actor=principal.subject)
        payment.state, payment.cancelled_at, payment.cancelled_by = PaymentState.cancelled, now, principal.subject
        payment.cancel_reason = reason
        touched(payment)
    for agreement in agreements:
        if agreement.state != AgreementState.ended:
            agreement.state, agreement.ended_at, agreement.suspended_at = AgreementState.ended, now, None
            touched(agreement)
    await grant_years.cancel_awaiting(session, dossier.id)
    await repository.drop_reports_after(session, dossier.id, after_year)
    dossier.cpo_state = CpoState.terminated
