"""The seed fund's grid: in session, each committee member scores each seed-fund item on innovation, the
collective dimension, residents' involvement and feasibility (0 to 5 each); the agenda shows the averages and
their spread; a member recused from an item cannot score it."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.problems import Conflict, NotFound, Text
from common.tokens import Principal
from services.funding.committee import repository
from services.funding.committee.conflicts import require_not_recused, require_present
from services.funding.committee.schemas import ScoreIn, ScorePublic
from services.funding.committee.scores import scored_items
from services.funding.committee.sessions import ITEM_NOT_FOUND, item_of, require_state, sees_item
from services.funding.models.committee import CommitteeSession, ItemState, Score, SessionState


async def record(
    session: AsyncSession, *, principal: Principal, committee: CommitteeSession, item_id: uuid.UUID,
    request: ScoreIn,
) -> tuple[Score, bool]:
    """A member of a funder present scores an item it sees, once, then may change its scores; the same scores
    again keep the version. Returns the scores and whether they were first given."""
    require_state(committee, SessionState.open, "score")
    item = await item_of(session, committee, item_id, for_update=True)
    if not await sees_item(session, principal, item):
        raise NotFound(ITEM_NOT_FOUND)
    await require_present(session, committee, principal)
    if not await scored_items(session, {item.id: item.dossier_id}):
        raise Conflict(
            Text("La grille de notation est celle du fonds d'amorçage.", "The scoring grid is the seed fund's."),
            code="no_scoring_grid",
        )
    if item.state != ItemState.pending:
        raise Conflict(Text(f"Ce point est déjà « {item.state} ».", f"This item is already '{item.state}'."),
                       code="item_not_pending", extra={"state": item.state})
    await require_not_recused(session, item, principal, Text(
        "Vous avez déclaré un conflit d'intérêts sur ce point : vous ne le notez pas.",
        "You declared a conflict of interest on this item: you do not score it.",
    ))
    current = await repository.score_of(session, item.id, principal.subject)
    content = request.model_dump()
    if current is not None and all(getattr(current, name) == value for name, value in content.items()):
        return current, False
    created = current is None
    if current is None:
        current = Score(session_id=committee.id, item_id=item.id, member=principal.subject,
                        organisation_id=principal.organisation_id, **content)
        session.add(current)
    else:
        for name, value in content.items():
            setattr(current, name, value)
        current.version += 1
        current.updated_at = utcnow()
    await session.flush()
    return current, created


async def current_score(session: AsyncSession, item_id: uuid.UUID, member: str) -> Score | None:
    """The member's scores on the item, if given."""
    return await repository.score_of(session, item_id, member)


async def scores_on_item(session: AsyncSession, committee: CommitteeSession, item_id: uuid.UUID) -> list[ScorePublic]:
    """Every member's scores on one item of the session (404 for an item of another session)."""
    item = await item_of(session, committee, item_id)
    return [to_public(score) for score in (await repository.scores_of(session, [item.id]))[item.id]]


def to_public(score: Score) -> ScorePublic:
    return ScorePublic(**score.model_dump())

