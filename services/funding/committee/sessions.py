"""Committee sessions: which items a caller sees, what each state allows, the opening on quorum, and the session
as read (its public form, its minutes). Planning (planning.py), the agenda (agenda.py) and the conflicts of
interest (conflicts.py) build on these; every query is in repository.py.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.pagination import Page, split_page
from common.problems import Conflict, NotFound, Text, UnprocessableContent
from common.tokens import Principal
from services.funding.committee import repository, scores
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
    YearAmount,
)
from services.funding.dossiers import repository as dossiers_repository
from services.funding.models.committee import (
    AgendaItem,
    CommitteeSession,
    FunderDecision,
    ItemState,
    Recusal,
    SessionFunder,
    SessionState,
)
from services.funding.models.dossier import DossierState
from services.funding.models.programme import Programme
from services.funding.programmes import repository as programmes_repository

ITEM_NOT_FOUND = Text("Point de l'ordre du jour introuvable.", "Agenda item not found.")
# The funder category identity gives the State's services; the default quorum needs one of them.
STATE_CATEGORY = "state"


async def visible_items(
    session: AsyncSession, principal: Principal, items: list[AgendaItem]
) -> list[AgendaItem]:
    """The desk sees the whole agenda; a funder's people, the items whose dossier asks their funder for a share:
    a funder outside a dossier's plan sees nothing of it, in session as anywhere else."""
    if repository.sees_all(principal):
        return items
    asked = await repository.asked_dossiers(session, principal.organisation_id, [item.dossier_id for item in items])
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


def agenda_refusal(problems: list[dict[str, Any]]) -> Conflict:
    references = ", ".join(problem["reference"] for problem in problems)
    return Conflict(
        Text(f"Ces dossiers ne peuvent être inscrits : {references}.",
             f"These dossiers cannot be placed on the agenda: {references}."),
        code="dossier_not_placeable",
        extra={"dossiers": problems},
    )


async def item_of(session: AsyncSession, committee: CommitteeSession, item_id: uuid.UUID,
                  *, for_update: bool = False) -> AgendaItem:
    item = await repository.item_by_id(session, item_id, for_update=for_update)
    if item is None or item.session_id != committee.id:
        raise NotFound(ITEM_NOT_FOUND)
    return item


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
    invited = {row.funder_id: row for row in await repository.invited_funders(session, committee.id)}
    strangers = [str(fid) for fid in request.present_funder_ids if fid not in invited]
    if strangers:
        raise UnprocessableContent(
            Text("Ces financeurs ne sont pas invités à la séance.", "These funders are not invited to the session."),
            errors=[("body.present_funder_ids", Text(", ".join(strangers), ", ".join(strangers)))],
            code="funder_not_invited",
        )
    present = {fid: invited[fid] for fid in request.present_funder_ids}
    programmes = await repository.programmes_by_id(session, await repository.programme_ids_of(session, committee.id))
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
    items = await repository.items_of(session, committee.id)
    pending = [item for item in items if item.state == ItemState.pending]
    if not pending:
        raise Conflict(Text("L'ordre du jour est vide.", "The agenda is empty."), code="agenda_empty")
    locked = await repository.lock_dossiers(session, [item.dossier_id for item in pending])
    stale = [
        {"dossier_id": str(d.id), "reference": d.reference, "state": d.state, "reason": "not_ready"}
        for d in locked.values() if d.state != DossierState.ready_for_committee or d.agenda_session_id != committee.id
    ]
    if stale:
        raise agenda_refusal(stale)
    for fid, row in invited.items():
        row.present = fid in present
    committee.state = SessionState.open
    committee.opened_at = utcnow()
    committee.opened_by = principal.subject
    touched(committee)
    await session.flush()
    return await to_public(session, committee)


def year_amounts(yearly: dict[str, int] | None) -> list[YearAmount] | None:
    if yearly is None:
        return None
    return [YearAmount(year=int(year), amount_cents=cents) for year, cents in sorted(yearly.items())]


def decision_public(decision: FunderDecision) -> DecisionPublic:
    return DecisionPublic(**decision.model_dump(exclude={"granted_cents", "yearly_cents"}),
                          granted_amount_cents=decision.granted_cents,
                          yearly_amounts=year_amounts(decision.yearly_cents))


def recusal_public(recusal: Recusal) -> RecusalPublic:
    return RecusalPublic(**recusal.model_dump())


async def to_public(
    session: AsyncSession, committee: CommitteeSession, viewer: Principal | None = None
) -> SessionPublic:
    """The session with its agenda; a `viewer` other than the desk sees only the items that concern its funder."""
    items = await repository.items_of(session, committee.id)
    if viewer is not None:
        items = await visible_items(session, viewer, items)
    dossiers = await repository.dossiers_by_id(session, [item.dossier_id for item in items])
    lines = await dossiers_repository.lines_of(session, list(dossiers))
    decisions: dict[uuid.UUID, list[DecisionPublic]] = {item.id: [] for item in items}
    for decision in await repository.decisions_of(session, [item.id for item in items]):
        assert decision.item_id is not None  # read by its item: a decision in session
        decisions[decision.item_id].append(decision_public(decision))
    recusals: dict[uuid.UUID, list[RecusalPublic]] = {item.id: [] for item in items}
    for recusal in await repository.recusals_of(session, committee.id):
        if recusal.item_id in recusals:
            recusals[recusal.item_id].append(recusal_public(recusal))
    graded = await scores.scored_items(session, {item.id: item.dossier_id for item in items})
    marks = await repository.scores_of(session, graded)
    return SessionPublic(
        **committee.model_dump(exclude={"minutes", "created_by", "opened_by", "closed_by"}),
        programme_ids=await repository.programme_ids_of(session, committee.id),
        funders=[
            SessionFunderPublic(**row.model_dump()) for row in await repository.invited_funders(session, committee.id)
        ],
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
    if repository.sees_all(principal):
        return minutes
    asked = await repository.asked_dossiers(
        session, principal.organisation_id, [item.dossier_id for item in minutes.items]
    )
    return minutes.model_copy(update={"items": [item for item in minutes.items if item.dossier_id in asked]})


async def listed_sessions(
    session: AsyncSession, *, principal: Principal, state: str | None, updated_since: datetime | None,
    limit: int, cursor: str | None,
) -> Page[SessionSummary]:
    """A page of the sessions the caller may read, in the keyset order."""
    rows = await repository.sessions_page(
        session, principal=principal, state=state, updated_since=updated_since, limit=limit, cursor=cursor
    )
    page, next_cursor = split_page(rows, limit=limit)
    return Page(items=await summaries(session, page), next_cursor=next_cursor)


async def summaries(session: AsyncSession, committees: list[CommitteeSession]) -> list[SessionSummary]:
    programmes = await repository.programme_ids_by_session(session, [c.id for c in committees])
    return [SessionSummary(**c.model_dump(exclude={"minutes"}), programme_ids=programmes[c.id]) for c in committees]
