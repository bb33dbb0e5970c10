"""A funder's year in figures, for its dashboard (the gateway's /dashboards/funder adds the indicators)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from common.db import SessionDep
from common.problems import problem_responses
from services.funding import funder_stats
from services.funding.funder_scope import FunderOrDesk, funder_of
from services.funding.stats_schemas import FunderYear

router = APIRouter(prefix="/stats", tags=["stats"])


@router.get(
    "/funder",
    summary="L'année d'un financeur en chiffres : enveloppes, dossiers par état, délais de décision, répartition, "
    "effet de levier",
    response_model=FunderYear,
    responses=problem_responses(400, 401, 403, 422),
)
async def funder_year(
    session: SessionDep,
    caller: FunderOrDesk,
    year: Annotated[int, Query(ge=2000, le=2100, examples=[2027])],
    funder_id: Annotated[uuid.UUID | None, Query(description="Le guichet nomme le financeur.")] = None,
) -> FunderYear:
    funder = funder_of(caller, funder_id, desk_may_take_all=False)
    assert funder is not None  # the desk names one
    return FunderYear.model_validate(await funder_stats.funder_year(session, funder, year))
