"""A funder's year in figures, for its dashboard (the gateway's /dashboards/funder adds the indicators)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from common.auth import Authorize
from common.db import SessionDep
from common.problems import Forbidden, Text, UnprocessableContent, problem_responses
from common.tokens import Principal
from services.funding import funder_stats
from services.funding.stats_schemas import FunderYear
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, Scope

router = APIRouter(prefix="/stats", tags=["stats"])

FunderOrDesk = Annotated[Principal, Depends(Authorize(roles=FUNDER_ROLES | DESK_ROLES, scope=Scope.exports_read))]


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
    if caller.has_any_role(DESK_ROLES):
        if funder_id is None:
            raise UnprocessableContent(
                Text("Nommez le financeur.", "Name the funder."),
                errors=[("query.funder_id", Text("Obligatoire pour le guichet.", "Required for the desk."))],
            )
    elif funder_id not in (None, caller.organisation_id):
        raise Forbidden(Text("Un financeur voit ses propres chiffres.", "A funder sees its own figures."),
                        code="not_your_funder")
    else:
        funder_id = caller.organisation_id
    assert funder_id is not None
    return FunderYear.model_validate(await funder_stats.funder_year(session, funder_id, year))
