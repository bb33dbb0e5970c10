"""The seed fund's grid as read: which items have it, each member's scores, their averages and spread."""

import statistics
import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.funding.committee.schemas import ScoreSummary
from services.funding.models.committee import Score
from services.funding.models.dossier import Dossier
from services.funding.models.programme import Programme, Track

CRITERIA = ("innovation", "collective", "residents_involvement", "feasibility")


async def scored_items(session: AsyncSession, item_dossiers: dict[uuid.UUID, uuid.UUID]) -> set[uuid.UUID]:
    """The items (by id) whose dossier belongs to a seed-fund programme: the grid is theirs."""
    if not item_dossiers:
        return set()
    rows = await session.execute(
        select(Dossier.id).join(Programme, Programme.id == Dossier.programme_id).where(
            Dossier.id.in_(set(item_dossiers.values())), Programme.track == Track.seed
        )
    )
    seed = set(rows.scalars())
    return {item_id for item_id, dossier_id in item_dossiers.items() if dossier_id in seed}


async def scores_of(session: AsyncSession, item_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Score]]:
    ids = list(item_ids)
    found: dict[uuid.UUID, list[Score]] = {item_id: [] for item_id in ids}
    if ids:
        rows = await session.execute(select(Score).where(Score.item_id.in_(ids)).order_by(Score.created_at))
        for score in rows.scalars():
            found[score.item_id].append(score)
    return found


def summary(scores: list[Score]) -> ScoreSummary:
    def mean(values: list[int] | list[float]) -> float | None:
        return round(statistics.fmean(values), 2) if values else None

    overall = [statistics.fmean(getattr(score, name) for name in CRITERIA) for score in scores]
    return ScoreSummary(
        count=len(scores),
        **{name: mean([getattr(score, name) for score in scores]) for name in CRITERIA},
        average=mean(overall),
        spread=round(max(overall) - min(overall), 2) if overall else None,
    )
