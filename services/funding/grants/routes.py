"""Grants: each funder's share granted, and an association's yearly total with the certified-accounts flag."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from common.auth import Authorize
from common.db import SessionDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses
from common.tokens import Principal
from services.funding.dossiers.filters import DossierFiltersDep
from services.funding.grants import service as grants
from services.funding.grants.schemas import GrantPublic, GrantTotals
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES, Scope

router = APIRouter(prefix="/grants", tags=["agreements"])

Reader = Annotated[
    Principal, Depends(Authorize(roles=DESK_ROLES | FUNDER_ROLES | HOLDER_ROLES, scope=Scope.agreements_read))
]
DeskOrHolder = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES | HOLDER_ROLES, scope=Scope.agreements_read))]
Year = Annotated[int, Query(ge=2000, le=2100, description="Exercice.")]


@router.get(
    "",
    summary="Subventions accordées visibles : celles de mon association, de mon financeur ; toutes pour le guichet",
    response_model=Page[GrantPublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_grants(
    session: SessionDep,
    caller: Reader,
    filters: DossierFiltersDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    organisation_id: Annotated[uuid.UUID | None, Query()] = None,
    funder_id: Annotated[uuid.UUID | None, Query(description="Le financeur qui accorde.")] = None,
    dossier_id: Annotated[uuid.UUID | None, Query()] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="L'année du programme du dossier.")] = None,
    updated_since: UpdatedSinceParam = None,
) -> Page[GrantPublic]:
    rows = await grants.visible_grants(
        session, principal=caller, organisation_id=organisation_id, funder_id=funder_id, dossier_id=dossier_id,
        year=year, updated_since=updated_since, limit=limit, cursor=cursor, filters=filters,
    )
    page, next_cursor = split_page(rows, limit=limit)
    return Page(items=[grants.to_public(row) for row in page], next_cursor=next_cursor)


@router.get(
    "/totals",
    summary=(
        "Total des subventions accordées à une association pour un exercice, et l'alerte « comptes certifiés » "
        "au-delà de 153 000 € (l'association : la sienne ; le guichet : celle qu'il nomme)"
    ),
    response_model=GrantTotals,
    responses=problem_responses(400, 401, 403, 422),
)
async def grant_totals(
    session: SessionDep, caller: DeskOrHolder, year: Year,
    organisation_id: Annotated[uuid.UUID | None, Query(description="Le guichet nomme l'association.")] = None,
) -> GrantTotals:
    return await grants.totals(session, principal=caller, organisation_id=organisation_id, year=year)
