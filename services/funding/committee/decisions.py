"""The committee in session: each funder present decides its own share of each item, committing money on its
envelope; the desk defers an item or raises what the plan asks of a funder; a dossier withdrawn gives its money
back. Closing the session is closing.py."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.money import euros
from common.pagination import Page, split_page
from common.problems import Conflict, NotFound, Text, UnprocessableContent
from common.tokens import Principal
from services.funding.committee import repository
from services.funding.committee.conflicts import require_not_recused, require_present
from services.funding.committee.schemas import (
    DecisionAmendmentPublic,
    DecisionIn,
    DecisionKind,
    DecisionListed,
    DecisionOutcome,
    Deferral,
    PlanRaise,
    SessionPublic,
)
from services.funding.committee.sessions import (
    ITEM_NOT_FOUND,
    decision_public,
    require_state,
    to_public,
    touched,
    year_amounts,
)
from services.funding.dossiers import cpo_plan
from services.funding.dossiers import filters as dossiers_filters
from services.funding.dossiers import repository as dossiers_repository
from services.funding.dossiers.service import moved, trace
from services.funding.envelopes import money as envelopes_money
from services.funding.models.committee import (
    AgendaItem,
    CommitteeSession,
    DecisionAmendment,
    FunderDecision,
    ItemState,
    SessionState,
)
from services.funding.models.dossier import Dossier, DossierState, FundingLine
from services.funding.programmes import repository as programmes_repository
from services.funding.programmes.track_rules import rules_of
from services.vocabulary import COUNCIL_ROLES, DESK_ROLES, FUNDER_ROLES


@dataclass
class Seat:
    """What a decision is about: the item (locked), its dossier (locked), the share asked of the caller's funder,
    and the decision the funder already recorded, if any."""

    committee: CommitteeSession
    item: AgendaItem
    dossier: Dossier
    funder_id: uuid.UUID
    asked: FundingLine
    current: FunderDecision | None


async def pending_item(
    session: AsyncSession, committee: CommitteeSession, item_id: uuid.UUID
) -> tuple[AgendaItem, Dossier]:
    """The item and its dossier, locked, the item still pending (404 for an item of another session, 409 for
    one already decided, deferred or withdrawn)."""
    found = await repository.lock_item_with_dossier(session, committee.id, item_id)
    if found is None:
        raise NotFound(ITEM_NOT_FOUND)
    item, dossier = found
    if item.state != ItemState.pending:
        raise Conflict(
            Text(f"Ce point est déjà « {item.state} ».", f"This item is already '{item.state}'."),
            code="item_not_pending",
            extra={"state": item.state},
        )
    return item, dossier


async def seat(
    session: AsyncSession, *, principal: Principal, committee: CommitteeSession, item_id: uuid.UUID
) -> Seat:
    """Where the caller's funder speaks on the item: present, not recused, asked for a share."""
    require_state(committee, SessionState.open, "decide")
    await require_present(session, committee, principal)
    item, dossier = await pending_item(session, committee, item_id)
    await require_not_recused(session, item, principal, Text(
        "Vous avez déclaré un conflit d'intérêts sur ce point : vous ne prenez pas part à la décision.",
        "You declared a conflict of interest on this item: you take no part in the decision.",
    ))
    lines = (await dossiers_repository.lines_of(session, [dossier.id]))[dossier.id]
    funder_id = principal.organisation_id
    asked = next((line for line in lines if line.funder_id == funder_id), None) if funder_id else None
    if asked is None or funder_id is None:  # a funder outside the dossier's plan sees nothing of it
        raise NotFound(ITEM_NOT_FOUND)
    current = await repository.decision_of(session, item.id, funder_id)
    return Seat(committee=committee, item=item, dossier=dossier, funder_id=funder_id, asked=asked, current=current)


def yearly_of(decision: FunderDecision) -> dict[int, int] | None:
    """A CPO decision's amount for each year; None for another track's, or for a CPO decision recorded in a session
    still open before decisions kept their years (it committed them all at once; those of closed sessions got
    their first version's years with migration 00a2b0f89ddd, and are never moved again)."""
    if decision.yearly_cents is None:
        return None
    return {int(year): int(cents) for year, cents in decision.yearly_cents.items()}


def committed_by(decision: FunderDecision) -> int:
    """What the decision holds on its envelope before the closing: a CPO's first year, another's whole amount."""
    yearly = yearly_of(decision)
    return yearly[min(yearly)] if yearly else decision.granted_cents


async def _move_money(
    session: AsyncSession, *, dossier: Dossier, funder_id: uuid.UUID, before: int, after: int, actor: str
) -> None:
    """Commit the increase on the funder's envelope for the programme's year, or release the decrease."""
    if before == after:
        return
    programme = await programmes_repository.programme_by_id(session, dossier.programme_id)
    assert programme is not None  # a dossier's programme is a foreign key
    if after > before:
        await envelopes_money.commit(
            session, funder_id=funder_id, programme_id=programme.id, year=programme.year,
            amount_cents=after - before, dossier_id=dossier.id, actor=actor,
        )
    else:
        await envelopes_money.release(
            session, funder_id=funder_id, programme_id=programme.id, year=programme.year,
            amount_cents=before - after, dossier_id=dossier.id, actor=actor,
        )


async def _yearly(session: AsyncSession, place: Seat, request: DecisionIn) -> dict[str, int] | None:
    """A CPO decision's amount for each of the CPO's years (as given, or along what was asked each year); 422 for
    yearly amounts outside a CPO, or not one per year. None for another track, or for nothing granted."""
    programme = await programmes_repository.programme_by_id(session, place.dossier.programme_id)
    assert programme is not None  # a foreign key
    given = request.yearly_amounts_cents
    if not rules_of(programme).multi_year:
        if given is not None:
            raise UnprocessableContent(
                Text("Seule une CPO a des montants annuels.", "Only a CPO has yearly amounts."),
                errors=[("body.yearly_amounts_cents", Text("Réservé au parcours CPO.", "CPO track only."))],
                code="not_a_cpo",
            )
        return None
    years = cpo_plan.years_of(programme, place.dossier)
    if given is not None and len(given) != len(years):
        raise UnprocessableContent(
            Text(f"Une CPO de {len(years)} ans : un montant pour chacune de ses années.",
                 f"A {len(years)}-year CPO: one amount for each of its years."),
            errors=[("body.yearly_amounts_cents", Text(f"{len(years)} montants.", f"{len(years)} amounts."))],
            code="cpo_years_mismatch", extra={"years": years},
        )
    if request.granted_amount_cents == 0:
        return None
    amounts = given if given is not None else cpo_plan.granted_by_year(
        place.asked, request.granted_amount_cents, len(years))
    return {str(year): cents for year, cents in zip(years, amounts, strict=True)}


async def record_decision(
    session: AsyncSession, *, principal: Principal, place: Seat, request: DecisionIn
) -> tuple[FunderDecision, bool]:
    """Record or replace the funder's decision (the same content again keeps the version); the money follows on
    its envelope in the same transaction. Returns the decision and whether it was created."""
    granted = request.granted_amount_cents
    if granted > place.asked.amount_cents:
        asked = euros(place.asked.amount_cents)
        raise UnprocessableContent(
            Text(f"Au plus {asked.fr}, ce que le plan demande à votre financeur (le guichet peut le relever).",
                 f"At most {asked.en}, what the plan asks of your funder (the desk may raise it)."),
            errors=[("body.granted_amount_cents", Text(f"Au plus {asked.fr}.", f"At most {asked.en}."))],
            code="above_amount_asked",
            extra={"asked_cents": place.asked.amount_cents},
        )
    refusal_reason = request.refusal_reason if granted == 0 else None
    reference = request.decision_reference if granted > 0 else None  # a refusal publishes nothing
    yearly = await _yearly(session, place, request)
    content = {"granted_cents": granted, "conditions": request.conditions, "refusal_reason": refusal_reason,
               "decision_reference": reference, "yearly_cents": yearly}
    current = place.current
    if current is not None and all(getattr(current, name) == value for name, value in content.items()):
        return current, False
    # A CPO commits its first year now; each later year waits for that year's envelope (grants/grant_years.py).
    await _move_money(
        session, dossier=place.dossier, funder_id=place.funder_id,
        before=committed_by(current) if current else 0, after=yearly[min(yearly)] if yearly else granted,
        actor=principal.subject,
    )
    created = current is None
    if current is None:
        current = FunderDecision(
            item_id=place.item.id, dossier_id=place.dossier.id, funder_id=place.funder_id,
            decided_by=principal.subject, granted_cents=granted, conditions=request.conditions,
            refusal_reason=refusal_reason, decision_reference=reference, yearly_cents=yearly,
        )
        session.add(current)
    else:
        for name, value in content.items():
            setattr(current, name, value)
        current.decided_by = principal.subject
        current.version += 1
        current.updated_at = utcnow()
    # Nothing goes in the dossier's trail, which the holder reads: the answer reaches it whole, with the
    # notification, once the session closes. The decision keeps who made it and when.
    await session.flush()
    return current, created


async def _void_decisions(session: AsyncSession, item: AgendaItem, dossier: Dossier, actor: str) -> None:
    """The item leaves the session undecided: every amount its decisions committed goes back to the envelopes."""
    # Envelopes in the order of their funders, as every release does: two voids never wait on each other.
    for decision in sorted(await repository.decisions_of(session, [item.id]), key=lambda d: d.funder_id):
        await _move_money(session, dossier=dossier, funder_id=decision.funder_id,
                          before=committed_by(decision), after=0, actor=actor)
        await session.delete(decision)
    await session.flush()


async def defer(
    session: AsyncSession, *, principal: Principal, committee: CommitteeSession, item_id: uuid.UUID,
    request: Deferral,
) -> SessionPublic:
    """The whole item waits for a later session: decisions voided, the dossier `deferred`."""
    require_state(committee, SessionState.open, "defer")
    item, dossier = await pending_item(session, committee, item_id)
    await _void_decisions(session, item, dossier, principal.subject)
    item.state = ItemState.deferred
    item.deferral_reason = request.reason
    previous = dossier.state
    dossier.state = DossierState.deferred
    dossier.agenda_session_id = None
    moved(dossier)
    session.add(trace(dossier, principal, "deferred", previous, request.reason))
    touched(committee)
    await session.flush()
    return await to_public(session, committee)


async def raise_plan(
    session: AsyncSession, *, principal: Principal, committee: CommitteeSession, item_id: uuid.UUID,
    request: PlanRaise,
) -> SessionPublic:
    """The coordinator raises what the plan asks of one funder, so that it may grant more."""
    require_state(committee, SessionState.open, "raise_plan")
    item, dossier = await pending_item(session, committee, item_id)
    lines = (await dossiers_repository.lines_of(session, [dossier.id]))[dossier.id]
    line = next((line for line in lines if line.funder_id == request.funder_id), None)
    if line is None:
        raise UnprocessableContent(
            Text("Ce financeur n'est pas au plan du dossier.", "This funder is not in the dossier's plan."),
            errors=[("body.funder_id", Text("Financeur hors du plan.", "Funder outside the plan."))],
            code="funder_not_in_plan",
        )
    if request.amount_cents <= line.amount_cents:
        asked = euros(line.amount_cents)
        raise UnprocessableContent(
            Text(f"Le plan demande déjà {asked.fr} à ce financeur : relever, c'est demander plus.",
                 f"The plan already asks {asked.en} of this funder: a raise asks for more."),
            errors=[("body.amount_cents", Text(f"Plus de {asked.fr}.", f"More than {asked.en}."))],
            code="not_a_raise",
            extra={"asked_cents": line.amount_cents},
        )
    before = line.amount_cents
    programme = await programmes_repository.programme_by_id(session, dossier.programme_id)
    assert programme is not None  # a dossier's programme is a foreign key
    ceiling = rules_of(programme).ceiling_cents
    total = dossier.requested_total_cents + request.amount_cents - before
    if ceiling is not None and total > ceiling:
        limit = euros(ceiling)
        raise UnprocessableContent(
            Text(f"Plafond du programme dépassé : {limit.fr} au plus.", f"Above the programme's ceiling: {limit.en} at "
                 "most."),
            errors=[("body.amount_cents", Text(f"Au plus {limit.fr} en tout.", f"At most {limit.en} in all."))],
            code="above_ceiling",
            extra={"rule": "ceiling_cents", "limit_cents": ceiling, "asked_cents": total},
        )
    line.amount_cents = request.amount_cents
    dossier.requested_total_cents = total
    moved(dossier)
    session.add(trace(dossier, principal, "plan_raised", dossier.state,
                      f"{request.funder_id}: {before} → {request.amount_cents}"))
    touched(committee)
    await session.flush()
    return await to_public(session, committee)


async def on_withdrawn(session: AsyncSession, *, dossier: Dossier, actor: str) -> None:
    """The holder withdrew a dossier on an agenda (the dossier is locked): its item is marked withdrawn, and what
    its decisions committed goes back to the envelopes."""
    if dossier.agenda_session_id is None:
        return
    item = await repository.item_of_dossier(session, dossier.agenda_session_id, dossier.id)
    if item is not None and item.state == ItemState.pending:
        await _void_decisions(session, item, dossier, actor)
        item.state = ItemState.withdrawn
    dossier.agenda_session_id = None


# The decisions list, for the funders' systems.
def council_of(principal: Principal) -> uuid.UUID | None:
    """The citizen council the caller reads for, when it reads as one (neither the desk nor a funder)."""
    if principal.has_any_role(DESK_ROLES | FUNDER_ROLES) or not principal.has_any_role(COUNCIL_ROLES):
        return None
    # A council's person always belongs to it; an id nobody has stands for "no council" and matches nothing.
    return principal.organisation_id or uuid.UUID(int=0)


async def listed_decisions(
    session: AsyncSession, *, council_id: uuid.UUID | None = None, funder_id: uuid.UUID | None,
    dossier_id: uuid.UUID | None,
    outcome: DecisionOutcome | None, updated_since: datetime | None, filters: dossiers_filters.DossierFilters,
    limit: int, cursor: str | None,
) -> Page[DecisionListed]:
    """A page of one funder's decisions (None: every funder's, for the desk), in session and delegated, in the
    keyset order, each with its dossier, item and session (a delegated one has neither, and is final)."""
    rows = await repository.decisions_page(
        session, council_id=council_id, funder_id=funder_id, dossier_id=dossier_id,
        granted=None if outcome is None else outcome == DecisionOutcome.granted, updated_since=updated_since,
        filters=filters, limit=limit, cursor=cursor,
    )
    page, next_cursor = split_page(rows, limit=limit, anchor=lambda row: row[0])
    amendments = await repository.amendments_of(session, [row[0].id for row in page])
    return Page(next_cursor=next_cursor, items=[
        listed(decision, amendments[decision.id], reference=reference, thread_reference=thread,
               programme_id=programme_id, session_id=session_id, closed=state == SessionState.closed)
        for decision, reference, thread, programme_id, session_id, state in page
    ])


def listed(decision: FunderDecision, amendments: list[DecisionAmendment], *, reference: str,
           thread_reference: str, programme_id: uuid.UUID, session_id: uuid.UUID | None, closed: bool
           ) -> DecisionListed:
    """The decision as it stands: the last amendment's amounts, if any, the session's otherwise (kept beside)."""
    public = decision_public(decision).model_dump()
    last = amendments[-1] if amendments else None
    if last is not None:
        public |= {"granted_amount_cents": last.granted_cents, "yearly_amounts": year_amounts(last.yearly_cents)}
    return DecisionListed(
        **public, reference=reference, thread_reference=thread_reference, programme_id=programme_id,
        kind=DecisionKind.committee if decision.item_id else DecisionKind.delegated, session_id=session_id,
        final=decision.item_id is None or closed,
        outcome=DecisionOutcome.granted if decision.granted_cents > 0 else DecisionOutcome.refused,
        decided_amount_cents=decision.granted_cents, amended_on=last.amended_on if last else None,
        amendment_reference=last.reference if last else None,
        amendments=[DecisionAmendmentPublic(
            number=a.number, granted_amount_cents=a.granted_cents, yearly_amounts=year_amounts(a.yearly_cents) or [],
            reference=a.reference, amended_on=a.amended_on, reason=a.reason, review_id=a.review_id,
        ) for a in amendments],
    )
