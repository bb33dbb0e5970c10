"""Closing a session: each dossier's outcome from its funders' decisions, the minutes frozen as the session
stood when it closed, and one consolidated notification per dossier for its holders."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.problems import Conflict, Text
from common.tokens import Principal
from services.funding.committee import repository, scores
from services.funding.committee.decisions import yearly_of
from services.funding.committee.schemas import (
    Minutes,
    MinutesAttendance,
    MinutesDecision,
    MinutesFunderTotal,
    MinutesItem,
    MinutesProgramme,
    MinutesRecusal,
    SessionPublic,
)
from services.funding.committee.sessions import require_state, to_public, touched
from services.funding.dossiers import repository as dossiers_repository
from services.funding.dossiers.service import moved, trace
from services.funding.grants import agreements
from services.funding.models.committee import (
    AgendaItem,
    CommitteeSession,
    FunderDecision,
    ItemState,
    Outcome,
    Recusal,
    SessionState,
)
from services.funding.models.dossier import Dossier, DossierState, FundingLine
from services.funding.notifications import service as notifications
from services.funding.programmes import repository as programmes_repository


def shares_of(lines: list[FundingLine]) -> list[tuple[uuid.UUID, FundingLine]]:
    """The plan's lines that ask a funder for a share, each with its funder."""
    return [(line.funder_id, line) for line in lines if line.funder_id is not None]


def outcome_of(lines: list[FundingLine], granted: dict[uuid.UUID, int]) -> Outcome:
    """accepted: every share granted in full; refused: nothing granted; otherwise partially accepted."""
    if all(granted.get(funder_id, 0) >= line.amount_cents for funder_id, line in shares_of(lines)):
        return Outcome.accepted
    if sum(granted.values()) == 0:
        return Outcome.refused
    return Outcome.partially_accepted


def _undecided(
    items: list[AgendaItem], dossiers: dict[uuid.UUID, Dossier], lines: dict[uuid.UUID, list[FundingLine]],
    decided: dict[uuid.UUID, dict[uuid.UUID, FunderDecision]],
) -> list[dict[str, Any]]:
    gaps = []
    for item in items:
        if item.state != ItemState.pending:
            continue
        missing = [str(funder_id) for funder_id, _ in shares_of(lines[item.dossier_id])
                   if funder_id not in decided[item.id]]
        if missing:
            gaps.append({"item_id": str(item.id), "reference": dossiers[item.dossier_id].reference,
                         "missing_funder_ids": missing})
    return gaps


async def holders_to_ask(session: AsyncSession, committee: CommitteeSession) -> list[uuid.UUID]:
    """The associations of the agenda, whose names and addresses identity gives before the session is locked;
    refused (409) unless the session is open."""
    require_state(committee, SessionState.open, "close")
    items = await repository.items_of(session, committee.id)
    return await repository.holders_of(session, [item.dossier_id for item in items])


def recipients_of(dossier: Dossier, card: dict[str, Any] | None) -> list[str]:
    """Where the association's answer goes: its address at identity, its representative's and contact's."""
    profile = dossier.organisation_snapshot or {}
    found = [
        (card or {}).get("email"),
        (profile.get("legal_representative") or {}).get("email"),
        (profile.get("contact") or {}).get("email"),
    ]
    return list(dict.fromkeys(email for email in found if email))


async def close(
    session: AsyncSession, *, principal: Principal, committee: CommitteeSession,
    holders: dict[uuid.UUID, dict[str, Any] | None], now: datetime,
) -> tuple[SessionPublic, list[uuid.UUID]]:
    """Every pending item decided by every funder asked (else 409 naming what is missing), outcomes computed,
    dossiers decided, the minutes frozen, the notifications written. Returns the session and the notifications
    to send once committed. `holders` are identity's cards of the agenda's associations."""
    require_state(committee, SessionState.open, "close")
    items = await repository.items_of(session, committee.id)
    locked = await repository.lock_dossiers(session, [item.dossier_id for item in items])
    items = await repository.items_of(session, committee.id, for_update=True)
    lines = await dossiers_repository.lines_of(session, list(locked))
    decided: dict[uuid.UUID, dict[uuid.UUID, FunderDecision]] = {item.id: {} for item in items}
    for decision in await repository.decisions_of(session, [item.id for item in items]):
        assert decision.item_id is not None  # read by its item: a decision in session
        decided[decision.item_id][decision.funder_id] = decision
    gaps = _undecided(items, locked, lines, decided)
    if gaps:
        references = ", ".join(gap["reference"] for gap in gaps)
        raise Conflict(
            Text(f"Des financeurs n'ont pas décidé sur : {references}. Décidez ou reportez ces points.",
                 f"Some funders have not decided on: {references}. Decide or defer these items."),
            code="items_undecided",
            extra={"items": gaps},
        )
    for item in items:
        if item.state != ItemState.pending:
            continue
        dossier = locked[item.dossier_id]
        granted = {fid: decision.granted_cents for fid, decision in decided[item.id].items()}
        item.state = ItemState.decided
        item.outcome = outcome_of(lines[dossier.id], granted)
        previous = dossier.state
        dossier.state = DossierState.decided
        dossier.outcome = item.outcome
        dossier.decided_at = now
        dossier.agenda_session_id = None
        moved(dossier)
        session.add(trace(dossier, principal, "decided", previous, item.outcome))
        programme = await programmes_repository.programme_by_id(session, dossier.programme_id)
        assert programme is not None  # a foreign key
        await agreements.grant_shares(
            session, dossier=dossier, programme=programme, lines=lines[dossier.id],
            shares={fid: agreements.Share(d.granted_cents, d.conditions, d.decision_reference,
                                          yearly=yearly_of(d))
                    for fid, d in decided[item.id].items()},
            session_id=committee.id, decided_at=now, decided_by=principal.subject,
        )
    committee.state = SessionState.closed
    committee.closed_at = now
    committee.closed_by = principal.subject
    touched(committee)
    await session.flush()
    minutes = await build_minutes(session, committee, items, locked, lines, decided, holders)
    committee.minutes = minutes.model_dump(mode="json")
    recipients = {
        dossier.organisation_id: recipients_of(dossier, holders.get(dossier.organisation_id))
        for dossier in locked.values()
    }
    # A dossier deferred, then withdrawn by its holder, gets no word of a later session.
    answered = minutes.model_copy(update={
        "items": [item for item in minutes.items if locked[item.dossier_id].state != DossierState.withdrawn]
    })
    sent = await notifications.notify_holders(
        session, session_id=committee.id, minutes=answered, recipients=recipients
    )
    await session.flush()
    return await to_public(session, committee), sent


async def build_minutes(
    session: AsyncSession, committee: CommitteeSession, items: list[AgendaItem], dossiers: dict[uuid.UUID, Dossier],
    lines: dict[uuid.UUID, list[FundingLine]], decided: dict[uuid.UUID, dict[uuid.UUID, FunderDecision]],
    holders: dict[uuid.UUID, dict[str, Any] | None],
) -> Minutes:
    funders = await repository.invited_funders(session, committee.id)
    names = {funder.funder_id: funder.name for funder in funders}
    recusals: dict[uuid.UUID, list[Recusal]] = {item.id: [] for item in items}
    for recusal in await repository.recusals_of(session, committee.id):
        recusals[recusal.item_id].append(recusal)
    programmes = await repository.programmes_by_id(session, await repository.programme_ids_of(session, committee.id))
    graded = await scores.scored_items(session, {item.id: item.dossier_id for item in items})
    marks = await repository.scores_of(session, graded)
    totals: dict[uuid.UUID, MinutesFunderTotal] = {}
    minutes_items = []
    for item in items:
        dossier = dossiers[item.dossier_id]
        shares = shares_of(lines[dossier.id])
        decisions = []
        for funder_id, line in shares:
            decision = decided[item.id].get(funder_id) if item.state == ItemState.decided else None
            if decision is None:
                continue
            decisions.append(MinutesDecision(
                funder_id=funder_id, funder_name=names.get(funder_id, str(funder_id)),
                asked_cents=line.amount_cents, granted_cents=decision.granted_cents,
                conditions=decision.conditions, refusal_reason=decision.refusal_reason,
                decided_by=decision.decided_by,
            ))
            total = totals.setdefault(funder_id, MinutesFunderTotal(
                funder_id=funder_id, name=names.get(funder_id, str(funder_id)),
                asked_cents=0, granted_cents=0, dossiers_granted=0,
            ))
            total.asked_cents += line.amount_cents
            total.granted_cents += decision.granted_cents
            total.dossiers_granted += 1 if decision.granted_cents else 0
        minutes_items.append(MinutesItem(
            position=item.position, item_id=item.id, dossier_id=dossier.id, reference=dossier.reference,
            organisation_id=dossier.organisation_id,
            organisation_name=(holders.get(dossier.organisation_id) or {}).get("name") or str(dossier.organisation_id),
            project_title=(dossier.project_snapshot or {}).get("title") or "",
            note=item.note, state=ItemState(item.state), outcome=Outcome(item.outcome) if item.outcome else None,
            deferral_reason=item.deferral_reason, asked_cents=sum(line.amount_cents for _, line in shares),
            granted_cents=sum(decision.granted_cents for decision in decisions),
            decisions=decisions,
            scores=scores.summary(marks[item.id]) if item.id in graded else None,
            recusals=[
                MinutesRecusal(member=r.member, member_name=r.member_name, organisation_id=r.organisation_id,
                               organisation_name=names.get(r.organisation_id) if r.organisation_id else None,
                               reason=r.reason)
                for r in recusals[item.id]
            ],
        ))
    assert committee.opened_at is not None and committee.closed_at is not None and committee.closed_by is not None
    return Minutes(
        session_id=committee.id, title=committee.title, held_on=committee.held_on, place=committee.place,
        programmes=[MinutesProgramme(id=p.id, title=p.title, year=p.year) for p in programmes.values()],
        opened_at=committee.opened_at, closed_at=committee.closed_at, closed_by=committee.closed_by,
        attendance=[MinutesAttendance(funder_id=f.funder_id, name=f.name, category=f.category,
                                      present=bool(f.present)) for f in funders],
        items=minutes_items,
        totals=sorted(totals.values(), key=lambda total: total.name),
        granted_cents=sum(item.granted_cents for item in minutes_items),
    )
