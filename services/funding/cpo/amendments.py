"""A CPO's amendment, made by a yearly review: a new version whose later years' amounts or objectives changed,
each changed year's instalments cut again and the envelopes committed by the difference."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.problems import Text, UnprocessableContent
from common.tokens import Principal
from services.funding.cpo import repository
from services.funding.cpo.schemas import CpoReviewIn
from services.funding.cpo.service import refused, touched
from services.funding.dossiers import cpo_plan
from services.funding.exports import open_data
from services.funding.grants import grant_years
from services.funding.grants.instalments import cpo_year, payment_terms, payments_of
from services.funding.models.agreement import Agreement, Grant, PaymentState
from services.funding.models.committee import DecisionAmendment
from services.funding.models.cpo import CpoReview, CpoVersion
from services.funding.models.dossier import Dossier
from services.funding.models.programme import Programme
from services.funding.programmes.track_rules import TrackRules, rules_of


async def amend(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, programme: Programme, review: CpoReview,
    request: CpoReviewIn, agreements: list[Agreement], now: datetime,
) -> int:
    """A new version: the later years' amounts or objectives changed; each changed year's instalments cut again
    (they must not have been paid or asked for), the envelopes committed by the difference."""
    assert request.amendment is not None
    versions = await repository.versions_of(session, dossier.id)
    current = versions[-1]
    amounts = {funder: dict(years) for funder, years in current.amounts.items()}
    grants = await repository.locked_grants_by_funder(session, dossier.id)
    by_grant = {agreement.grant_id: agreement for agreement in agreements}
    by_id = {agreement.id: agreement for agreement in agreements}
    parties = await repository.parties_of(session, list(by_id))
    by_grant |= {party.grant_id: by_id[party.agreement_id] for party in parties}
    later = [year for year in cpo_plan.years_of(programme, dossier) if year > request.year]
    rules = rules_of(programme)
    changes: dict[uuid.UUID, list[tuple[int, int, int]]] = {}  # grant → (year, before, after)
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
        if change.amount_cents != before:
            changes.setdefault(grant.id, []).append((change.year, before, change.amount_cents))
    # Each funder in the same order (its grant's locks, its decision's): two amendments never wait on each other.
    for grant in sorted((grants[f] for f in grants if grants[f].id in changes), key=lambda g: g.funder_id):
        agreement = by_grant[grant.id]
        decision = await repository.locked_decision(session, grant.dossier_id, grant.funder_id)
        assert decision is not None, "a CPO is only ever granted by a committee's decision"
        rank = await repository.amendments_count(session, decision.id) + 1
        act = open_data.Amendment(on=now.date(), reference=request.amendment.reference
                                  or f"{agreement.number}-AV{rank}")
        yearly = amounts[str(grant.funder_id)]
        for year, before, after in changes[grant.id]:
            await _recut_year(session, principal=principal, grant=grant, agreement=agreement, programme=programme,
                              year=year, before=before, after=after, rules=rules, now=now, act=act)
            yearly[str(year)] = after
        # The decision in a new version, the one before kept (the committee's own stays in its minutes).
        session.add(DecisionAmendment(
            decision_id=decision.id, dossier_id=grant.dossier_id, funder_id=grant.funder_id, number=rank + 1,
            granted_cents=sum(yearly.values()), yearly_cents=dict(yearly), reference=act.reference,
            amended_on=act.on, reason=request.comment, review_id=review.id, amended_by=principal.subject,
        ))
        decision.version += 1
        decision.updated_at = utcnow()  # GET /decisions?updated_since= lists it again
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
    year: int, before: int, after: int, rules: TrackRules, now: datetime, act: open_data.Amendment,
) -> None:
    rows = await repository.locked_payments_of_grant(session, grant.id)
    of_year = [payment for payment in rows if payment.year == year]
    if any(payment.state != PaymentState.scheduled for payment in of_year):
        raise refused(Text(f"Des versements de {year} sont déjà demandés ou faits : l'année ne change plus.",
                           f"Payments of {year} are already asked for or made: the year no longer changes."),
                      "year_already_paid", year=year, funder_id=str(grant.funder_id))
    # A year already committed moves its envelope by the difference; one awaiting its budget will commit the new
    # amount when it opens.
    awaiting = await grant_years.amended(session, grant, year, after - before, actor=principal.subject)
    await repository.delete_payments(session, of_year)
    fresh = payments_of(grant, agreement, cpo_year(rules, year, after, first=False, decided_on=now.date()),
                        first=max(payment.sequence for payment in rows) + 1,
                        awaiting=frozenset({year}) if awaiting else frozenset())
    session.add_all(fresh)
    grant.amount_cents += after - before
    grant.updated_at = utcnow()  # the grant changed: GET /grants?updated_since= must list it again
    agreement.amount_cents += after - before
    await open_data.amended(session, grant, year, after - before, act)
    kept = sorted([p for p in rows if p.year != year] + fresh, key=lambda payment: payment.sequence)
    agreement.terms = _restated(agreement.terms, grant, year, after - before, payment_terms(kept))
    touched(agreement)


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
