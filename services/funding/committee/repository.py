"""The committee's queries: sessions (and who may read them), their programmes, invited funders and agenda items,
the dossiers they lock, conflicts of interest, decisions and the seed fund's scores.

Locks are always taken in the same order — session, dossiers (by id), agenda items, envelopes — so that two
changes never wait on each other.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, Select, delete, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import children_by_parent, where_given
from common.pagination import keyset
from common.problems import NotFound, Text
from common.tokens import Principal
from services.funding.dossiers.filters import DossierFilters
from services.funding.models.committee import (
    AgendaItem,
    CommitteeSession,
    DecisionAmendment,
    FunderDecision,
    Recusal,
    Score,
    SessionFunder,
    SessionProgramme,
    SessionState,
)
from services.funding.models.dossier import Dossier, DossierOpinion, FundingLine
from services.funding.models.programme import Programme, Track
from services.vocabulary import DESK_ROLES, FUNDER_ROLES

SESSION_NOT_FOUND = Text("Séance introuvable.", "Session not found.")


# Sessions, as each caller may read them.
def sees_all(principal: Principal) -> bool:
    """The desk sees every session and every item of their agendas."""
    return principal.has_any_role(DESK_ROLES)


def readable_sessions(principal: Principal) -> Select[CommitteeSession]:
    """The sessions the caller may read: all for the desk, those its funder is invited to for a funder's people,
    none for anyone else."""
    statement = select(CommitteeSession)
    if sees_all(principal):
        return statement
    if not principal.has_any_role(FUNDER_ROLES) or principal.organisation_id is None:
        return statement.where(false())
    invited = select(col(SessionFunder.session_id)).where(col(SessionFunder.funder_id) == principal.organisation_id)
    return statement.where(col(CommitteeSession.id).in_(invited))


async def _session(
    session: AsyncSession, principal: Principal, session_id: uuid.UUID, *, lock: str | None
) -> CommitteeSession:
    statement = readable_sessions(principal).where(col(CommitteeSession.id) == session_id)
    if lock is not None:
        statement = statement.with_for_update(read=lock == "share").execution_options(populate_existing=True)
    found = (await session.execute(statement)).scalar_one_or_none()
    if found is None:
        raise NotFound(SESSION_NOT_FOUND)
    return found


async def readable_session(session: AsyncSession, principal: Principal, session_id: uuid.UUID) -> CommitteeSession:
    """The session if the caller may read it, else NotFound (the others never learn it exists)."""
    return await _session(session, principal, session_id, lock=None)


async def session_for_change(
    session: AsyncSession, principal: Principal, session_id: uuid.UUID
) -> CommitteeSession:
    """The session, locked for the desk's change (`FOR UPDATE`)."""
    return await _session(session, principal, session_id, lock="update")


async def session_in_use(session: AsyncSession, principal: Principal, session_id: uuid.UUID) -> CommitteeSession:
    """The session, share-locked: decisions, scores and conflicts run side by side, never beside an opening, a
    deferral or a closing."""
    return await _session(session, principal, session_id, lock="share")


async def sessions_page(
    session: AsyncSession, *, principal: Principal, state: str | None, updated_since: datetime | None,
    limit: int, cursor: str | None,
) -> list[CommitteeSession]:
    statement = where_given(readable_sessions(principal), (CommitteeSession.state, state))
    if updated_since:
        statement = statement.where(col(CommitteeSession.updated_at) >= updated_since)
    rows = await session.execute(keyset(statement, CommitteeSession, limit=limit, cursor=cursor))
    return list(rows.scalars())


# What a session holds: programmes, invited funders, agenda items.
async def programme_ids_of(session: AsyncSession, session_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.execute(
        select(col(SessionProgramme.programme_id)).where(col(SessionProgramme.session_id) == session_id)
    )
    return list(rows.scalars())


async def programme_ids_by_session(
    session: AsyncSession, session_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    return await children_by_parent(session, SessionProgramme.session_id, SessionProgramme.programme_id, session_ids)


async def programmes_by_id(
    session: AsyncSession, programme_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Programme]:
    ids = list(programme_ids)
    rows = await session.execute(select(Programme).where(col(Programme.id).in_(ids)))
    return {programme.id: programme for programme in rows.scalars()}


async def invited_funders(session: AsyncSession, session_id: uuid.UUID) -> list[SessionFunder]:
    rows = await session.execute(
        select(SessionFunder).where(col(SessionFunder.session_id) == session_id).order_by(col(SessionFunder.name))
    )
    return list(rows.scalars())


async def invitation(
    session: AsyncSession, session_id: uuid.UUID, funder_id: uuid.UUID | None
) -> SessionFunder | None:
    """The funder's invitation to the session (with its attendance once open), if any."""
    if funder_id is None:
        return None
    return await session.get(SessionFunder, (session_id, funder_id))


async def remove_invitations(session: AsyncSession, session_id: uuid.UUID, funder_ids: list[uuid.UUID]) -> None:
    """The funders no longer invited, and the conflicts their members declared (no member left to recuse)."""
    await session.execute(
        delete(SessionFunder).where(
            col(SessionFunder.session_id) == session_id, col(SessionFunder.funder_id).in_(funder_ids)
        )
    )
    await session.execute(
        delete(Recusal).where(col(Recusal.session_id) == session_id, col(Recusal.organisation_id).in_(funder_ids))
    )


async def items_of(session: AsyncSession, session_id: uuid.UUID, *, for_update: bool = False) -> list[AgendaItem]:
    statement = select(AgendaItem).where(col(AgendaItem.session_id) == session_id).order_by(col(AgendaItem.position))
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return list((await session.execute(statement)).scalars())


async def item_by_id(session: AsyncSession, item_id: uuid.UUID, *, for_update: bool = False) -> AgendaItem | None:
    if not for_update:
        return await session.get(AgendaItem, item_id)
    statement = (
        select(AgendaItem).where(col(AgendaItem.id) == item_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def item_of_dossier(session: AsyncSession, session_id: uuid.UUID, dossier_id: uuid.UUID) -> AgendaItem | None:
    """The dossier's item on that session's agenda, locked."""
    statement = select(AgendaItem).where(
        col(AgendaItem.session_id) == session_id, col(AgendaItem.dossier_id) == dossier_id
    ).with_for_update()
    return (await session.execute(statement)).scalars().first()


# The dossiers of an agenda.
async def lock_dossiers(session: AsyncSession, dossier_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Dossier]:
    """The dossiers, locked in the order of their ids (the same order for every change)."""
    ids = sorted(set(dossier_ids))
    if not ids:
        return {}
    statement = (
        select(Dossier).where(col(Dossier.id).in_(ids)).order_by(col(Dossier.id)).with_for_update()
        .execution_options(populate_existing=True)
    )
    return {dossier.id: dossier for dossier in (await session.execute(statement)).scalars()}


async def lock_item_with_dossier(
    session: AsyncSession, session_id: uuid.UUID, item_id: uuid.UUID
) -> tuple[AgendaItem, Dossier] | None:
    """The session's item and its dossier, locked in the house order: the item read, its dossier locked, then
    the item locked. None for an item of no such session."""
    item = await item_by_id(session, item_id)
    if item is None or item.session_id != session_id:
        return None
    dossier = (await lock_dossiers(session, [item.dossier_id]))[item.dossier_id]
    item = await item_by_id(session, item_id, for_update=True)
    if item is None or item.session_id != session_id:
        return None
    return item, dossier


async def dossiers_by_id(session: AsyncSession, dossier_ids: list[uuid.UUID]) -> dict[uuid.UUID, Dossier]:
    if not dossier_ids:
        return {}
    rows = await session.execute(select(Dossier).where(col(Dossier.id).in_(dossier_ids)))
    return {dossier.id: dossier for dossier in rows.scalars()}


async def holders_of(session: AsyncSession, dossier_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """The associations holding these dossiers, each once, in the order found."""
    if not dossier_ids:
        return []
    rows = await session.execute(select(col(Dossier.organisation_id)).where(col(Dossier.id).in_(dossier_ids)))
    return list(dict.fromkeys(rows.scalars()))


async def asked_dossiers(
    session: AsyncSession, funder_id: uuid.UUID | None, dossier_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """The dossiers, among these, whose plan asks this funder for a share."""
    ids = list(dossier_ids)
    if funder_id is None or not ids:
        return set()
    rows = await session.execute(
        select(col(FundingLine.dossier_id)).where(
            col(FundingLine.dossier_id).in_(ids), col(FundingLine.funder_id) == funder_id
        )
    )
    return set(rows.scalars())


async def seed_dossiers(session: AsyncSession, dossier_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """The dossiers, among these, of a seed-fund programme."""
    if not dossier_ids:
        return set()
    rows = await session.execute(
        select(col(Dossier.id)).join(Programme, col(Programme.id) == col(Dossier.programme_id)).where(
            col(Dossier.id).in_(dossier_ids), col(Programme.track) == Track.seed
        )
    )
    return set(rows.scalars())


# Conflicts of interest.
async def recusals_of(session: AsyncSession, session_id: uuid.UUID) -> list[Recusal]:
    rows = await session.execute(
        select(Recusal).where(col(Recusal.session_id) == session_id)
        .order_by(col(Recusal.declared_at), col(Recusal.id))
    )
    return list(rows.scalars())


async def is_recused(session: AsyncSession, item_id: uuid.UUID, member: str) -> bool:
    """Whether the member declared a conflict of interest on the item."""
    rows = await session.execute(
        select(col(Recusal.id)).where(col(Recusal.item_id) == item_id, col(Recusal.member) == member)
    )
    return rows.first() is not None


# Decisions.
async def decisions_of(session: AsyncSession, item_ids: list[uuid.UUID]) -> list[FunderDecision]:
    if not item_ids:
        return []
    rows = await session.execute(
        select(FunderDecision).where(col(FunderDecision.item_id).in_(item_ids))
        .order_by(col(FunderDecision.created_at))
    )
    return list(rows.scalars())


async def decision_of(session: AsyncSession, item_id: uuid.UUID, funder_id: uuid.UUID | None) -> FunderDecision | None:
    """The funder's decision on the item, if it recorded one."""
    rows = await session.execute(
        select(FunderDecision).where(col(FunderDecision.item_id) == item_id, col(FunderDecision.funder_id) == funder_id)
    )
    return rows.scalars().first()


# A delegated decision (a small project's) has no item, so no session nor session state.
# A decision, its dossier's reference and thread reference, its programme, its session and the session's state.
DecisionRow = tuple[FunderDecision, str, str, uuid.UUID, uuid.UUID | None, str | None]


async def decisions_page(
    session: AsyncSession, *, funder_id: uuid.UUID | None, dossier_id: uuid.UUID | None, granted: bool | None,
    updated_since: datetime | None, filters: DossierFilters, limit: int, cursor: str | None,
    council_id: uuid.UUID | None = None,
) -> list[DecisionRow]:
    """The decisions, in session and delegated alike (each with its dossier's reference and programme, its
    session and the session's state, none for a delegated one) in the keyset order, one row more than `limit`;
    `granted` True for grants, False for refusals. `council_id`: a citizen council's read, the final decisions
    (session closed, or delegated) of the dossiers it gave its opinion on, nothing else."""
    statement = (
        select(
            FunderDecision, col(Dossier.reference), col(Dossier.thread_reference), col(Dossier.programme_id),
            col(AgendaItem.session_id), col(CommitteeSession.state),
        )
        .join(Dossier, col(Dossier.id) == col(FunderDecision.dossier_id))
        .outerjoin(AgendaItem, col(AgendaItem.id) == col(FunderDecision.item_id))
        .outerjoin(CommitteeSession, col(CommitteeSession.id) == col(AgendaItem.session_id))
    )
    statement = where_given(statement, (FunderDecision.funder_id, funder_id), (FunderDecision.dossier_id, dossier_id))
    if council_id is not None:
        opined = select(col(DossierOpinion.dossier_id)).where(
            col(DossierOpinion.organisation_id) == council_id, col(DossierOpinion.author_kind) == "citizen_council")
        # Before the session closes a decision may still change: the council reads the answer, not the debate.
        final = or_(col(FunderDecision.item_id).is_(None), col(CommitteeSession.state) == SessionState.closed)
        statement = statement.where(col(FunderDecision.dossier_id).in_(opined), final)
    if granted is not None:  # a refusal grants nothing (the table's checks), a grant something
        some: ColumnElement[bool] = col(FunderDecision.granted_cents) > 0
        statement = statement.where(some if granted else ~some)
    if updated_since is not None:
        statement = statement.where(col(FunderDecision.updated_at) >= updated_since)
    statement = filters.narrow_rows(statement, col(FunderDecision.dossier_id))
    rows = await session.execute(keyset(statement, FunderDecision, limit=limit, cursor=cursor))
    return [(decision, reference, thread, programme_id, session_id, state)
            for decision, reference, thread, programme_id, session_id, state in rows.all()]


# The seed fund's scores.
async def scores_of(session: AsyncSession, item_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Score]]:
    """Each item's scores, in the order given (every item asked for is in the answer)."""
    ids = list(item_ids)
    found: dict[uuid.UUID, list[Score]] = {item_id: [] for item_id in ids}
    if ids:
        rows = await session.execute(
            select(Score).where(col(Score.item_id).in_(ids)).order_by(col(Score.created_at))
        )
        for score in rows.scalars():
            found[score.item_id].append(score)
    return found


async def score_of(session: AsyncSession, item_id: uuid.UUID, member: str) -> Score | None:
    """The member's scores on the item, if given."""
    rows = await session.execute(select(Score).where(col(Score.item_id) == item_id, col(Score.member) == member))
    return rows.scalars().first()


async def amendments_of(session: AsyncSession, decision_ids: list[uuid.UUID]
                        ) -> dict[uuid.UUID, list[DecisionAmendment]]:
    """Each decision's later versions (a CPO's amendments), in order."""
    found: dict[uuid.UUID, list[DecisionAmendment]] = {decision_id: [] for decision_id in decision_ids}
    if decision_ids:
        rows = await session.execute(
            select(DecisionAmendment).where(col(DecisionAmendment.decision_id).in_(decision_ids))
            .order_by(col(DecisionAmendment.decision_id), col(DecisionAmendment.number))
        )
        for amendment in rows.scalars():
            found[amendment.decision_id].append(amendment)
    return found
