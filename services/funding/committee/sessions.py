"""Committee sessions: who sees one, what each state allows, the locks, the opening on quorum, and the session
as read (its public form, its minutes). Planning (planning.py), the agenda (agenda.py) and the conflicts of
interest (conflicts.py) build on these.

Locks are always taken in the same order — session, dossiers (by id), agenda items, envelopes — so that two
changes never wait on each other.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import children_by_parent, get_row, utcnow
from common.pagination import keyset
from common.problems import Conflict, NotFound, Text, UnprocessableContent
from common.tokens import Principal
from services.funding.committee import scores
from services.funding.committee.schemas import (
    AgendaItemPublic,
    DecisionPublic,
    Minutes,
    Opening,
    RecusalPublic,
    SessionFunderPublic,
    SessionPublic,
    SessionSummary,
    ShareAsked,
)
from services.funding.dossiers import repository as dossiers_repository
from services.funding.models.committee import (
    AgendaItem,
    CommitteeSession,
    FunderDecision,
    ItemState,
    Recusal,
    SessionFunder,
    SessionProgramme,
    SessionState,
)
from services.funding.models.dossier import Dossier, DossierState, FundingLine
from services.funding.models.programme import Programme
from services.funding.programmes import repository as programmes_repository
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, Role

SESSION_NOT_FOUND = Text("Séance introuvable.", "Session not found.")
ITEM_NOT_FOUND = Text("Point de l'ordre du jour introuvable.", "Agenda item not found.")
# Who sits for a funder and speaks for it in session: its committee members, and its managers.
MEMBER_ROLES = frozenset({Role.committee_member, Role.funder_manager})
# The funder category identity gives the State's services; the default quorum needs one of them.
STATE_CATEGORY = "state"


# Who sees a session: the desk, and the people of the funders invited to it (the others get the 404).
def _sees_all(principal: Principal) -> bool:
    return principal.has_any_role(DESK_ROLES)


async def invited_funders(session: AsyncSession, session_id: uuid.UUID) -> list[SessionFunder]:
    rows = await session.execute(
        select(SessionFunder).where(SessionFunder.session_id == session_id).order_by(SessionFunder.name)
    )
    return list(rows.scalars())


async def is_invited(session: AsyncSession, session_id: uuid.UUID, organisation_id: uuid.UUID | None) -> bool:
    if organisation_id is None:
        return False
    row = await session.get(SessionFunder, (session_id, organisation_id))
    return row is not None


async def visible_session(
    session: AsyncSession, *, principal: Principal, session_id: uuid.UUID, lock: str | None = None
) -> CommitteeSession:
    """The session if the caller may see it; `lock` "update" (the desk's changes) or "share" (decisions, which
    may run side by side but never beside an opening or a closing)."""
    statement = select(CommitteeSession).where(CommitteeSession.id == session_id)
    if lock is not None:
        statement = statement.with_for_update(read=lock == "share").execution_options(populate_existing=True)
    found = (await session.execute(statement)).scalar_one_or_none()
    if found is None:
        raise NotFound(SESSION_NOT_FOUND)
    if _sees_all(principal):
        return found
    if principal.has_any_role(FUNDER_ROLES) and await is_invited(session, found.id, principal.organisation_id):
        return found
    raise NotFound(SESSION_NOT_FOUND)


async def visible_sessions(
    session: AsyncSession, *, principal: Principal, state: str | None, updated_since: datetime | None,
    limit: int, cursor: str | None,
) -> list[CommitteeSession]:
    statement = select(CommitteeSession)
    if not _sees_all(principal):
        statement = statement.where(
            CommitteeSession.id.in_(
                select(SessionFunder.session_id).where(SessionFunder.funder_id == principal.organisation_id)
            )
        )
    if state:
        statement = statement.where(CommitteeSession.state == state)
    if updated_since:
        statement = statement.where(CommitteeSession.updated_at >= updated_since)
    rows = await session.execute(keyset(statement, CommitteeSession, limit=limit, cursor=cursor))
    return list(rows.scalars())


async def asked_dossiers(
    session: AsyncSession, funder_id: uuid.UUID | None, dossier_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """The dossiers, among these, whose plan asks this funder for a share."""
    ids = list(dossier_ids)
    if funder_id is None or not ids:
        return set()
    rows = await session.execute(
        select(FundingLine.dossier_id).where(FundingLine.dossier_id.in_(ids), FundingLine.funder_id == funder_id)
    )
    return set(rows.scalars())


async def visible_items(
    session: AsyncSession, principal: Principal, items: list[AgendaItem]
) -> list[AgendaItem]:
    """The desk sees the whole agenda; a funder's people, the items whose dossier asks their funder for a share:
    a funder outside a dossier's plan sees nothing of it, in session as anywhere else."""
    if _sees_all(principal):
        return items
    asked = await asked_dossiers(session, principal.organisation_id, [item.dossier_id for item in items])
    return [item for item in items if item.dossier_id in asked]


async def sees_item(session: AsyncSession, principal: Principal, item: AgendaItem) -> bool:
    return bool(await visible_items(session, principal, [item]))


# What each state of a session lets the desk and the members do; a 409 names them.
SESSION_ACTIONS: dict[str, list[str]] = {
    SessionState.planned: ["update", "invite", "set_agenda", "declare_conflict", "open", "delete"],
    SessionState.open: ["decide", "defer", "raise_plan", "close"],
    SessionState.closed: [],
}


def require_state(committee: CommitteeSession, wanted: SessionState, action: str) -> None:
    """409 naming the state the action needs and what the session's state allows."""
    if committee.state == wanted:
        return
    raise Conflict(
        Text(
            f"Action « {action} » possible seulement en séance « {wanted} » (séance « {committee.state} »).",
            f"Action '{action}' needs a '{wanted}' session (this one is '{committee.state}').",
        ),
        code=f"session_not_{wanted}",
        extra={"state": committee.state, "allowed_actions": SESSION_ACTIONS[committee.state]},
    )


def touched(committee: CommitteeSession) -> None:
    """A change the session's ETag must show."""
    committee.version += 1
    committee.updated_at = utcnow()


# Planning.
async def programmes_by_id(
    session: AsyncSession, programme_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Programme]:
    ids = list(programme_ids)
    rows = await session.execute(select(Programme).where(Programme.id.in_(ids)))
    return {programme.id: programme for programme in rows.scalars()}


async def programme_ids_of(session: AsyncSession, session_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.execute(
        select(SessionProgramme.programme_id).where(SessionProgramme.session_id == session_id)
    )
    return list(rows.scalars())


async def items_of(session: AsyncSession, session_id: uuid.UUID, *, for_update: bool = False) -> list[AgendaItem]:
    statement = select(AgendaItem).where(AgendaItem.session_id == session_id).order_by(AgendaItem.position)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return list((await session.execute(statement)).scalars())


async def lock_dossiers(session: AsyncSession, dossier_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Dossier]:
    """The dossiers, locked in the order of their ids (the same order for every change)."""
    ids = sorted(set(dossier_ids))
    if not ids:
        return {}
    statement = (
        select(Dossier).where(Dossier.id.in_(ids)).order_by(Dossier.id).with_for_update()
        .execution_options(populate_existing=True)
    )
    return {dossier.id: dossier for dossier in (await session.execute(statement)).scalars()}


def _agenda_refusal(problems: list[dict[str, Any]]) -> Conflict:
    references = ", ".join(problem["reference"] for problem in problems)
    return Conflict(
        Text(f"Ces dossiers ne peuvent être inscrits : {references}.",
             f"These dossiers cannot be placed on the agenda: {references}."),
        code="dossier_not_placeable",
        extra={"dossiers": problems},
    )


async def item_of(session: AsyncSession, committee: CommitteeSession, item_id: uuid.UUID,
                  *, for_update: bool = False) -> AgendaItem:
    item = await get_row(session, AgendaItem, item_id, for_update=for_update)
    if item is None or item.session_id != committee.id:
        raise NotFound(ITEM_NOT_FOUND)
    return item


# What a member needs to speak in session: its funder present, and no conflict declared on the item.


# Conflicts of interest, declared before the session opens.
async def recusals_of(session: AsyncSession, session_id: uuid.UUID) -> list[Recusal]:
    rows = await session.execute(
        select(Recusal).where(Recusal.session_id == session_id).order_by(Recusal.declared_at, Recusal.id)
    )
    return list(rows.scalars())


# Opening: attendance, quorum, and every dossier of the agenda still ready.
def quorum_gaps(
    programme: Programme, participating: list[uuid.UUID], present: dict[uuid.UUID, SessionFunder]
) -> dict[str, Any] | None:
    """What the programme's quorum misses among the funders present, or None when it holds."""
    required = [uuid.UUID(fid) for fid in programme.quorum_funder_ids]
    if required:
        missing = [str(fid) for fid in required if fid not in present]
        return {"programme_id": str(programme.id), "rule": "named_funders", "missing_funder_ids": missing} \
            if missing else None
    sitting = [present[fid] for fid in participating if fid in present]
    has_state = any(funder.category == STATE_CATEGORY for funder in sitting)
    if len(sitting) >= 2 and has_state:
        return None
    return {"programme_id": str(programme.id), "rule": "two_funders_with_the_state",
            "present_count": len(sitting), "state_present": has_state}


async def open_session(
    session: AsyncSession, *, principal: Principal, committee: CommitteeSession, request: Opening
) -> SessionPublic:
    require_state(committee, SessionState.planned, "open")
    invited = {row.funder_id: row for row in await invited_funders(session, committee.id)}
    strangers = [str(fid) for fid in request.present_funder_ids if fid not in invited]
    if strangers:
        raise UnprocessableContent(
            Text("Ces financeurs ne sont pas invités à la séance.", "These funders are not invited to the session."),
            errors=[("body.present_funder_ids", Text(", ".join(strangers), ", ".join(strangers)))],
            code="funder_not_invited",
        )
    present = {fid: invited[fid] for fid in request.present_funder_ids}
    programmes = await programmes_by_id(session, await programme_ids_of(session, committee.id))
    funders = await programmes_repository.funders_of_programmes(session, list(programmes))
    gaps = [gap for pid, programme in programmes.items() if (gap := quorum_gaps(programme, funders[pid], present))]
    if gaps:
        raise Conflict(
            Text(
                "Quorum non atteint : il faut les financeurs que le programme exige, ou deux financeurs dont l'État.",
                "No quorum: the funders the programme requires must sit, or two funders, one of them the State.",
            ),
            code="quorum_not_met",
            extra={"programmes": gaps},
        )
    items = await items_of(session, committee.id)
    pending = [item for item in items if item.state == ItemState.pending]
    if not pending:
        raise Conflict(Text("L'ordre du jour est vide.", "The agenda is empty."), code="agenda_empty")
    locked = await lock_dossiers(session, [item.dossier_id for item in pending])
    stale = [
        {"dossier_id": str(d.id), "reference": d.reference, "state": d.state, "reason": "not_ready"}
        for d in locked.values() if d.state != DossierState.ready_for_committee or d.agenda_session_id != committee.id
    ]
    if stale:
        raise _agenda_refusal(stale)
    for fid, row in invited.items():
        row.present = fid in present
    committee.state = SessionState.open
    committee.opened_at = utcnow()
    committee.opened_by = principal.subject
    touched(committee)
    await session.flush()
    return await to_public(session, committee)


# Reads.
async def decisions_of(session: AsyncSession, item_ids: list[uuid.UUID]) -> list[FunderDecision]:
    if not item_ids:
        return []
    rows = await session.execute(
        select(FunderDecision).where(FunderDecision.item_id.in_(item_ids)).order_by(FunderDecision.created_at)
    )
    return list(rows.scalars())


def decision_public(decision: FunderDecision) -> DecisionPublic:
    return DecisionPublic(**decision.model_dump(exclude={"granted_cents"}), granted_amount_cents=decision.granted_cents)


def recusal_public(recusal: Recusal) -> RecusalPublic:
    return RecusalPublic(**recusal.model_dump())


async def to_public(
    session: AsyncSession, committee: CommitteeSession, viewer: Principal | None = None
) -> SessionPublic:
    """The session with its agenda; a `viewer` other than the desk sees only the items that concern its funder."""
    items = await items_of(session, committee.id)
    if viewer is not None:
        items = await visible_items(session, viewer, items)
    dossiers = {d.id: d for d in (await session.execute(
        select(Dossier).where(Dossier.id.in_([item.dossier_id for item in items]))
    )).scalars()} if items else {}
    lines = await dossiers_repository.lines_of(session, list(dossiers))
    decisions: dict[uuid.UUID, list[DecisionPublic]] = {item.id: [] for item in items}
    for decision in await decisions_of(session, [item.id for item in items]):
        decisions[decision.item_id].append(decision_public(decision))
    recusals: dict[uuid.UUID, list[RecusalPublic]] = {item.id: [] for item in items}
    for recusal in await recusals_of(session, committee.id):
        if recusal.item_id in recusals:
            recusals[recusal.item_id].append(recusal_public(recusal))
    graded = await scores.scored_items(session, {item.id: item.dossier_id for item in items})
    marks = await scores.scores_of(session, graded)
    return SessionPublic(
        **committee.model_dump(exclude={"minutes", "created_by", "opened_by", "closed_by"}),
        programme_ids=await programme_ids_of(session, committee.id),
        funders=[SessionFunderPublic(**row.model_dump()) for row in await invited_funders(session, committee.id)],
        items=[
            AgendaItemPublic(
                **item.model_dump(), reference=dossiers[item.dossier_id].reference,
                asked=[ShareAsked(funder_id=line.funder_id, amount_cents=line.amount_cents)
                       for line in lines[item.dossier_id] if line.funder_id is not None],
                decisions=decisions[item.id], recusals=recusals[item.id],
                scores=scores.summary(marks[item.id]) if item.id in graded else None,
            )
            for item in items
        ],
    )


async def minutes_for(session: AsyncSession, principal: Principal, committee: CommitteeSession) -> Minutes:
    """The frozen minutes as the caller may read them: every item for the desk, a funder's own for its people
    (the attendance and the totals per funder name no dossier)."""
    if committee.minutes is None:
        raise Conflict(
            Text("Le procès-verbal est établi à la clôture de la séance.",
                 "The minutes are made when the session closes."),
            code="minutes_not_ready",
            extra={"state": committee.state, "allowed_actions": SESSION_ACTIONS[committee.state]},
        )
    minutes = Minutes.model_validate(committee.minutes)
    if _sees_all(principal):
        return minutes
    asked = await asked_dossiers(session, principal.organisation_id, [item.dossier_id for item in minutes.items])
    return minutes.model_copy(update={"items": [item for item in minutes.items if item.dossier_id in asked]})


async def summaries(session: AsyncSession, committees: list[CommitteeSession]) -> list[SessionSummary]:
    programmes = await children_by_parent(
        session, SessionProgramme.session_id, SessionProgramme.programme_id, [c.id for c in committees]
    )
    return [SessionSummary(**c.model_dump(exclude={"minutes"}), programme_ids=programmes[c.id]) for c in committees]
