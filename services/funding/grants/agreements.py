"""After the committee: each share granted becomes a grant, with its agreement (a convention from the legal
threshold, a decision letter below it) and its payment schedule. What the agreement then goes through is in
`agreement_life`."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.funding.dossiers import cpo_plan
from services.funding.exports import open_data
from services.funding.financial_reports import service as financial_reports
from services.funding.grants import agreements_repository, grant_years
from services.funding.grants.instalments import Instalment, payment_terms, payments_of, schedule
from services.funding.models.agreement import Agreement, AgreementKind, AgreementParty, AgreementState, Grant
from services.funding.models.dossier import Dossier, FundingLine
from services.funding.models.programme import Programme
from services.funding.programmes.track_rules import TrackRules, rules_of


def agreement_number(kind: AgreementKind, dossier: Dossier, position: int | None) -> str:
    """CONV- or DEC- and the dossier's references, then the funder's place in the plan (none for the one
    multi-party convention): one thread of identifiers from the dossier to its agreements. A renewal's (or a
    graduation's) starts with its thread's reference, the one the association and the open data quote, and keeps
    its own after it, which keeps the number unique: CONV-2027-000123-2030-000456-1."""
    prefix = "CONV" if kind == AgreementKind.convention else "DEC"
    thread, own = dossier.thread_reference.removeprefix("GU-"), dossier.reference.removeprefix("GU-")
    parts = [prefix, thread, *([own] if own != thread else []), *([str(position)] if position is not None else [])]
    return "-".join(parts)


@dataclass(frozen=True)
class Share:
    """What one funder granted on a dossier: by a committee's decision, or alone (small projects)."""

    granted_cents: int
    conditions: str | None
    # The funder's own reference of its decision, when it gave one.
    decision_reference: str | None = None
    # A CPO's amount for each year, as the decision recorded it (its first year committed by the decision); None
    # for a decision taken before decisions kept them, which committed every year on the programme's year.
    yearly: dict[int, int] | None = None


@dataclass(frozen=True)
class Granted:
    """One share granted, before its agreement: the grant, its amount for each year, its instalments."""

    position: int
    grant: Grant
    yearly: dict[int, int]
    instalments: list[Instalment]
    # The years waiting for their budget (a CPO's later years): their instalments wait with them.
    awaiting: frozenset[int] = frozenset()


async def grant_shares(
    session: AsyncSession, *, dossier: Dossier, programme: Programme, lines: list[FundingLine],
    shares: dict[uuid.UUID, Share], session_id: uuid.UUID | None, decided_at: datetime, decided_by: str,
    cards: open_data.Cards | None = None,
) -> list[Grant]:
    """A grant, its payment schedule and its reports for each share granted on the dossier (money already
    committed on the envelopes by the decisions), and its agreement — or one agreement for them all when the
    programme asks for a multi-party one. A delegated decision is notified with the answer: its letter is in
    force at once, and published as open data (`cards`: identity's, of the parties). A CPO's grant runs over its
    years, and the CPO's first version is kept."""
    rules = rules_of(programme)
    years = cpo_plan.years_of(programme, dossier) if rules.multi_year else [programme.year]
    granted: list[Granted] = []
    for position, line in enumerate(lines, start=1):
        share = shares.get(line.funder_id) if line.funder_id is not None else None
        if line.funder_id is None or share is None or share.granted_cents <= 0:
            continue
        grant = Grant(
            dossier_id=dossier.id, funder_id=line.funder_id, organisation_id=dossier.organisation_id,
            programme_id=programme.id, session_id=session_id, year=programme.year,
            amount_cents=share.granted_cents, conditions=share.conditions,
            decision_reference=share.decision_reference, decided_at=decided_at,
        )
        session.add(grant)
        await session.flush()
        if share.yearly is not None and rules.multi_year:
            yearly, committed = dict(share.yearly), {years[0]: years[0]}
        else:
            yearly = dict(zip(years, cpo_plan.granted_by_year(line, share.granted_cents, len(years)), strict=True))
            committed = {year: programme.year for year in years}
        grant_years.open_years(session, grant, yearly, committed=committed, at=decided_at, by=decided_by)
        session.add_all(financial_reports.owed_report(grant, dossier, rules, year) for year in yearly)
        granted.append(Granted(position, grant, yearly, schedule(rules, yearly, decided_at.date()),
                               frozenset(yearly) - frozenset(committed)))
    if rules.multi_party_agreement and len(granted) > 1:
        agreement = _multi_party(dossier, granted, rules)
        session.add(agreement)
        await session.flush()
        session.add_all(AgreementParty(agreement_id=agreement.id, agreement_created_at=agreement.created_at,
                                       funder_id=g.grant.funder_id, grant_id=g.grant.id) for g in granted)
        for g in granted:
            session.add_all(payments_of(g.grant, agreement, g.instalments, awaiting=g.awaiting))
    else:
        for g in granted:
            agreement = await _one_party(session, dossier, g, rules, decided_at, decided_by)
            session.add(agreement)
            await session.flush()
            session.add_all(payments_of(g.grant, agreement, g.instalments, awaiting=g.awaiting))
            if agreement.state == AgreementState.active:
                await open_data.publish(session, agreement, cards or {})
    if rules.multi_year and granted:
        amounts = {str(g.grant.funder_id): {str(year): amount for year, amount in g.yearly.items()} for g in granted}
        cpo_plan.start(session, dossier, amounts, decided_by)
    await session.flush()
    return [g.grant for g in granted]


def _title(dossier: Dossier) -> str:
    return ((dossier.project_snapshot or {}).get("title") or dossier.reference)[:500]


def _terms(granted: Granted, rules: TrackRules) -> dict[str, Any]:
    return {
        "years": [{"year": year, "amount_cents": amount} for year, amount in granted.yearly.items()],
        "payments": payment_terms(granted.instalments),
        "financial_report_months": rules.financial_report_months,
        "conditions": granted.grant.conditions,
    }


async def _one_party(
    session: AsyncSession, dossier: Dossier, granted: Granted, rules: TrackRules, decided_at: datetime,
    decided_by: str,
) -> Agreement:
    grant = granted.grant
    kind = await agreement_kind(session, grant, granted.yearly, rules)
    agreement = Agreement(
        number=agreement_number(kind, dossier, granted.position), kind=kind, grant_id=grant.id,
        dossier_id=dossier.id, funder_id=grant.funder_id, organisation_id=grant.organisation_id,
        object=_title(dossier), amount_cents=grant.amount_cents, terms=_terms(granted, rules),
    )
    if rules.delegated and kind == AgreementKind.decision_letter:  # a convention still waits for signatures
        agreement.state = AgreementState.active
        agreement.sent_at = agreement.activated_at = decided_at
        agreement.sent_by = decided_by
    return agreement


def _multi_party(dossier: Dossier, granted: list[Granted], rules: TrackRules) -> Agreement:
    """One convention between the association and every funder: the first funder of the plan leads it (sends and
    activates it), each funder signs for its share."""
    lead = granted[0].grant
    years = sorted({year for g in granted for year in g.yearly})
    return Agreement(
        number=agreement_number(AgreementKind.convention, dossier, None), kind=AgreementKind.convention,
        grant_id=lead.id,
        dossier_id=dossier.id, funder_id=lead.funder_id, organisation_id=lead.organisation_id,
        object=_title(dossier), amount_cents=sum(g.grant.amount_cents for g in granted),
        terms={
            "years": [{"year": year, "amount_cents": sum(g.yearly.get(year, 0) for g in granted)} for year in years],
            "parties": [{"funder_id": str(g.grant.funder_id), "amount_cents": g.grant.amount_cents,
                         **_terms(g, rules)} for g in granted],
            "payments": [],  # each party's schedule is in its entry
            "financial_report_months": rules.financial_report_months,
            "conditions": "; ".join(g.grant.conditions for g in granted if g.grant.conditions) or None,
        },
    )


async def agreement_kind(
    session: AsyncSession, grant: Grant, yearly: dict[int, int], rules: TrackRules
) -> AgreementKind:
    """A convention when, in one of the grant's years, this funder gives this association the legal threshold or
    more, this grant included (loi 2000-321, art. 10); a decision letter below it."""
    for year, amount in yearly.items():
        already = await agreements_repository.granted_that_year(session, grant, year)
        if already + amount >= rules.convention_threshold_cents:
            return AgreementKind.convention
    return AgreementKind.decision_letter
