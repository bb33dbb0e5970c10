"""The seed fund's grid as read: which items have it, each member's scores, their averages and spread."""

import statistics
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.funding.committee import repository
from services.funding.committee.schemas import ScoreSummary
from services.funding.models.committee import Score

CRITERIA = ("innovation", "collective", "residents_involvement", "feasibility")


async def scored_items(session: AsyncSession, item_dossiers: dict[uuid.UUID, uuid.UUID]) -> set[uuid.UUID]:
    """The items (by id) whose dossier belongs to a seed-fund programme: the grid is theirs."""
    seed = await repository.seed_dossiers(session, set(item_dossiers.values()))
    return {item_id for item_id, dossier_id in item_dossiers.items() if dossier_id in seed}


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
