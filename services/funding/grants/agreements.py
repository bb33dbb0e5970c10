"""After the committee: each share granted becomes a grant, with its agreement (a convention from the legal
threshold, a decision letter below it) and its payment schedule; the agreement then goes drafted → sent →
signed by both sides → active → ended (a decision letter is in force once notified)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from common.db import get_row, utcnow
from common.pagination import keyset
from common.problems import Conflict, NotFound, Text
from common.tokens import Principal
from services.funding.dossiers import cpo_plan
from services.funding.dossiers import filters as dossiers_filters
from services.funding.dossiers import repository as dossiers_repository
from services.funding.financial_reports import service as financial_reports
from services.funding.grants.instalments import Instalment, payment_terms, payments_of, schedule
from services.funding.grants.schemas import AgreementPublic, PartyPublic
from services.funding.models.agreement import (
    Agreement,
    AgreementKind,
    AgreementParty,
    AgreementState,
    Grant,
    Payment,
    PaymentState,
)
from services.funding.models.dossier import Dossier, FundingLine
from services.funding.models.programme import Programme
from services.funding.peers import Peers
from services.funding.programmes.track_rules import TrackRules, rules_of
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES, Role

AGREEMENT_NOT_FOUND = Text("Convention introuvable.", "Agreement not found.")
FUNDER_SIGNERS = frozenset({Role.funder_manager})
HOLDER_SIGNERS = frozenset({Role.holder_admin})


def agreement_number(kind: AgreementKind, dossier: Dossier, position: int) -> str:
    """CONV- or DEC- and the dossier's reference number, then the funder's place in the plan: one thread of
    identifiers from the dossier to its agreements."""
    prefix = "CONV" if kind == AgreementKind.convention else "DEC"
    return f"{prefix}-{dossier.reference.removeprefix('GU-')}-{position}"


@dataclass(frozen=True)
class Share:
    """What one funder granted on a dossier: by a committee's decision, or alone (small projects)."""

    granted_cents: int
    conditions: str | None


@dataclass(frozen=True)
class Granted:
    """One share granted, before its agreement: the grant, its amount for each year, its instalments."""

    position: int
    grant: Grant
    yearly: dict[int, int]
    instalments: list[Instalment]


async def grant_shares(
    session: AsyncSession, *, dossier: Dossier, programme: Programme, lines: list[FundingLine],
    shares: dict[uuid.UUID, Share], session_id: uuid.UUID | None, decided_at: datetime, decided_by: str,
) -> list[Grant]:
    """A grant, its payment schedule and its reports for each share granted on the dossier (money already
    committed on the envelopes by the decisions), and its agreement — or one agreement for them all when the
    programme asks for a multi-party one. A delegated decision is notified with the answer: its letter is in
    force at once. A CPO's grant runs over its years, and the CPO's first version is kept."""
    rules = rules_of(programme)
    years = cpo_plan.years_of(programme, dossier) if rules.multi_year else [programme.year]
    granted: list[Granted] = []
    for position, line in enumerate(lines, start=1):
        share = shares.get(line.funder_id) if line.funder_id is not None else None
        if share is None or share.granted_cents <= 0:
            continue
        grant = Grant(
            dossier_id=dossier.id, funder_id=line.funder_id, organisation_id=dossier.organisation_id,
            programme_id=programme.id, session_id=session_id, year=programme.year,
            amount_cents=share.granted_cents, conditions=share.conditions, decided_at=decided_at,
        )
        session.add(grant)
        await session.flush()
        yearly = dict(zip(years, cpo_plan.granted_by_year(line, share.granted_cents, len(years)), strict=True))
        session.add_all(financial_reports.owed_report(grant, dossier, rules, year) for year in yearly)
        granted.append(Granted(position, grant, yearly, schedule(rules, yearly, decided_at.date())))
    if rules.multi_party_agreement and len(granted) > 1:
        agreement = _multi_party(dossier, granted, rules)
        session.add(agreement)
        await session.flush()
        session.add_all(AgreementParty(agreement_id=agreement.id, funder_id=g.grant.funder_id, grant_id=g.grant.id)
                        for g in granted)
        for g in granted:
            session.add_all(payments_of(g.grant, agreement, g.instalments))
    else:
        for g in granted:
            agreement = await _one_party(session, dossier, g, rules, decided_at, decided_by)
            session.add(agreement)
            await session.flush()
            session.add_all(payments_of(g.grant, agreement, g.instalments))
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
        number=f"CONV-{dossier.reference.removeprefix('GU-')}", kind=AgreementKind.convention, grant_id=lead.id,
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


async def agreement_kind(session: AsyncSession, grant: Grant, yearly: dict[int, int], rules: TrackRules) -> str:
    """A convention when, in one of the grant's years, this funder gives this association the legal threshold or
    more, this grant included (loi 2000-321, art. 10); a decision letter below it."""
    for year, amount in yearly.items():
        if await _granted_that_year(session, grant, year) + amount >= rules.convention_threshold_cents:
            return AgreementKind.convention
    return AgreementKind.decision_letter


async def _granted_that_year(session: AsyncSession, grant: Grant, year: int) -> int:
    """What this funder's other grants give this association in that year (their instalments not cancelled)."""
    total = await session.execute(
        select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
            Payment.funder_id == grant.funder_id, Payment.organisation_id == grant.organisation_id,
            Payment.year == year, Payment.grant_id != grant.id, Payment.state != PaymentState.cancelled,
        )
    )
    return int(total.scalar_one())


# Who sees an agreement: the desk, the funders' people (each party's, for a multi-party one), the association's.


async def parties_of(session: AsyncSession, agreement_id: uuid.UUID) -> list[AgreementParty]:
    """A multi-party agreement's funders, in the plan's order; none for a one-funder agreement."""
    rows = await session.execute(
        select(AgreementParty).join(Grant, Grant.id == AgreementParty.grant_id)
        .where(AgreementParty.agreement_id == agreement_id).order_by(Grant.created_at, Grant.id)
    )
    return list(rows.scalars())


def _sees(principal: Principal, agreement: Agreement, parties: list[AgreementParty]) -> bool:
    if principal.has_any_role(DESK_ROLES):
        return True
    if principal.has_any_role(FUNDER_ROLES) and principal.organisation_id in _funders(agreement, parties):
        return True
    return principal.has_any_role(HOLDER_ROLES) and agreement.organisation_id == principal.organisation_id


def _funders(agreement: Agreement, parties: list[AgreementParty]) -> set[uuid.UUID]:
    return {agreement.funder_id} | {party.funder_id for party in parties}


async def visible_agreement(
    session: AsyncSession, *, principal: Principal, agreement_id: uuid.UUID, for_update: bool = False
) -> Agreement:
    agreement = await get_row(session, Agreement, agreement_id, for_update=for_update)
    if agreement is None or not _sees(principal, agreement, await parties_of(session, agreement.id)):
        raise NotFound(AGREEMENT_NOT_FOUND)
    return agreement


def _party_to(funder_id: uuid.UUID | None) -> Any:
    """SQL: the agreement is this funder's, alone or as one of its parties — one set of ids from two indexes (an
    OR of the two made PostgreSQL walk every agreement: 1.3 s a page at a million dossiers)."""
    own = aliased(Agreement)
    return Agreement.id.in_(union_all(
        select(own.id).where(own.funder_id == funder_id),
        select(AgreementParty.agreement_id).where(AgreementParty.funder_id == funder_id),
    ))


async def visible_agreements(
    session: AsyncSession, *, principal: Principal, state: str | None, dossier_id: uuid.UUID | None,
    funder_id: uuid.UUID | None, updated_since: datetime | None, limit: int, cursor: str | None,
    filters: dossiers_filters.DossierFilters | None = None,
) -> list[Agreement]:
    statement = select(Agreement)
    if principal.has_any_role(FUNDER_ROLES) and not principal.has_any_role(DESK_ROLES):
        statement = statement.where(_party_to(principal.organisation_id))
    elif not principal.has_any_role(DESK_ROLES):
        statement = statement.where(Agreement.organisation_id == principal.organisation_id)
    if state:
        statement = statement.where(Agreement.state == state)
    if dossier_id:
        statement = statement.where(Agreement.dossier_id == dossier_id)
    if funder_id:
        statement = statement.where(_party_to(funder_id))
    if updated_since:
        statement = statement.where(Agreement.updated_at >= updated_since)
    if filters is not None:
        statement = filters.narrow_rows(statement, Agreement.dossier_id)
    return list((await session.execute(keyset(statement, Agreement, limit=limit, cursor=cursor))).scalars())


# Its life.


@dataclass(frozen=True)
class Parties:
    funder: str
    holder: str
    project: str


async def party_names(session: AsyncSession, peers: Peers, agreement: Agreement) -> Parties:
    """The parties as identity names them today (every funder of a multi-party agreement), and the project as
    the dossier froze it."""
    funders = [party.funder_id for party in await parties_of(session, agreement.id)] or [agreement.funder_id]
    cards = await peers.organisations([*funders, agreement.organisation_id])
    dossier = await dossiers_repository.dossier_by_id(session, agreement.dossier_id)
    assert dossier is not None  # a foreign key
    return Parties(
        funder=", ".join((cards[funder] or {}).get("name") or str(funder) for funder in funders),
        holder=(cards[agreement.organisation_id] or {}).get("name") or str(agreement.organisation_id),
        project=(dossier.project_snapshot or {}).get("title") or dossier.reference,
    )


def _side(principal: Principal, agreement: Agreement, parties: list[AgreementParty]) -> str | None:
    """Which party the caller speaks for: the (lead) funder's manager, another party's manager, or the
    association's admin."""
    if principal.has_any_role(FUNDER_SIGNERS):
        if principal.organisation_id == agreement.funder_id:
            return "funder"
        if principal.organisation_id in _funders(agreement, parties):
            return "co_funder"
    if principal.has_any_role(HOLDER_SIGNERS) and principal.organisation_id == agreement.organisation_id:
        return "holder"
    return None


def _funder_signed(principal: Principal, agreement: Agreement, parties: list[AgreementParty]) -> bool:
    mine = next((party for party in parties if party.funder_id == principal.organisation_id), None)
    return mine.signed_at is not None if mine is not None else agreement.funder_signed_at is not None


def allowed_actions(
    principal: Principal, agreement: Agreement, parties: list[AgreementParty] | None = None
) -> list[str]:
    """The moves open to the caller. The lead funder sends, activates and ends; each funder party signs once,
    and so does the association."""
    parties = parties or []
    side = _side(principal, agreement, parties)
    state = agreement.state
    unsigned = state == AgreementState.sent and not _funder_signed(principal, agreement, parties)
    if side == "funder":
        moves = {
            AgreementState.drafted: ["send"],
            AgreementState.sent: ["sign"] if unsigned else [],
            AgreementState.signed: ["activate"],
            AgreementState.active: ["end"],
        }
        return moves.get(state, [])
    if side == "co_funder":
        return ["sign"] if unsigned else []
    if side == "holder" and state == AgreementState.sent and agreement.holder_signed_at is None:
        return ["sign"]
    return []


def _refuse(agreement: Agreement, action: str, allowed: list[str]) -> Conflict:
    return Conflict(
        Text(
            f"Action « {action} » impossible sur une convention « {agreement.state} ».",
            f"Action '{action}' is not allowed on a '{agreement.state}' agreement.",
        ),
        code="illegal_transition",
        extra={"state": agreement.state, "allowed_actions": allowed},
    )


def _require(
    principal: Principal, agreement: Agreement, action: str, parties: list[AgreementParty] | None = None
) -> None:
    allowed = allowed_actions(principal, agreement, parties)
    if action not in allowed:
        raise _refuse(agreement, action, allowed)


def _moved(agreement: Agreement) -> None:
    agreement.version += 1
    agreement.updated_at = utcnow()


def send(principal: Principal, agreement: Agreement, now: datetime) -> None:
    """The funder sends it to the association; a decision letter is in force once notified."""
    _require(principal, agreement, "send")
    agreement.sent_at, agreement.sent_by = now, principal.subject
    if agreement.kind == AgreementKind.decision_letter:
        agreement.state, agreement.activated_at = AgreementState.active, now
    else:
        agreement.state = AgreementState.sent
    _moved(agreement)


async def sign(session: AsyncSession, principal: Principal, agreement: Agreement, now: datetime) -> None:
    """Each side signs once — each funder party of a multi-party agreement, for its share; with every
    signature the convention is signed."""
    parties = await parties_of(session, agreement.id)
    _require(principal, agreement, "sign", parties)
    side = _side(principal, agreement, parties)
    if side == "holder":
        agreement.holder_signed_at, agreement.holder_signed_by = now, principal.subject
    elif parties:
        mine = next(party for party in parties if party.funder_id == principal.organisation_id)
        mine.signed_at, mine.signed_by = now, principal.subject
        if all(party.signed_at for party in parties):
            agreement.funder_signed_at, agreement.funder_signed_by = now, principal.subject
    else:
        agreement.funder_signed_at, agreement.funder_signed_by = now, principal.subject
    if agreement.funder_signed_at and agreement.holder_signed_at:
        agreement.state = AgreementState.signed
    _moved(agreement)


def activate(principal: Principal, agreement: Agreement, now: datetime) -> None:
    _require(principal, agreement, "activate")
    agreement.state, agreement.activated_at = AgreementState.active, now
    _moved(agreement)


async def end(session: AsyncSession, principal: Principal, agreement: Agreement, now: datetime) -> None:
    """Once every payment is paid or cancelled."""
    _require(principal, agreement, "end")
    outstanding = (await session.execute(
        select(Payment.sequence).where(
            Payment.agreement_id == agreement.id,
            Payment.state.in_([PaymentState.scheduled, PaymentState.requested]),
        ).order_by(Payment.sequence)
    )).scalars().all()
    if outstanding:
        raise Conflict(
            Text("Des versements restent à faire ou à annuler.", "Some payments are still to be paid or cancelled."),
            code="payments_outstanding",
            extra={"sequences": list(outstanding)},
        )
    agreement.state, agreement.ended_at = AgreementState.ended, now
    _moved(agreement)


async def to_public(session: AsyncSession, principal: Principal, agreement: Agreement) -> AgreementPublic:
    dossier = await dossiers_repository.dossier_by_id(session, agreement.dossier_id)
    grant = await session.get(Grant, agreement.grant_id)
    assert dossier is not None and grant is not None  # foreign keys
    parties = await parties_of(session, agreement.id)
    amounts = {entry["funder_id"]: entry["amount_cents"] for entry in agreement.terms.get("parties", [])}
    return AgreementPublic(
        **agreement.model_dump(exclude={"sent_by", "funder_signed_by", "holder_signed_by"}),
        reference=dossier.reference, year=grant.year,
        allowed_actions=allowed_actions(principal, agreement, parties),
        parties=[PartyPublic(funder_id=party.funder_id, grant_id=party.grant_id,
                             amount_cents=amounts.get(str(party.funder_id), 0), signed_at=party.signed_at)
                 for party in parties],
    )
