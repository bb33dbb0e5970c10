"""Grants: each funder's share granted, and an association's yearly total with the certified-accounts flag."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from common.db import SessionDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses
from services.funding.dossiers.filters import DossierFiltersDep
from services.funding.grants import grants_repository
from services.funding.grants import service as grants
from services.funding.grants.auth import AgreementsReader, GrantTotalsReader
from services.funding.grants.schemas import GrantPublic, GrantTotals

router = APIRouter(prefix="/grants", tags=["agreements"])

Year = Annotated[int, Query(ge=2000, le=2100, description="Exercice.")]


@router.get(
    "",
    summary="Subventions accordées visibles : celles de mon association, de mon financeur ; toutes pour le guichet",
    response_model=Page[GrantPublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_grants(
    session: SessionDep,
    caller: AgreementsReader,
    filters: DossierFiltersDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    organisation_id: Annotated[uuid.UUID | None, Query()] = None,
    funder_id: Annotated[uuid.UUID | None, Query(description="Le financeur qui accorde.")] = None,
    dossier_id: Annotated[uuid.UUID | None, Query()] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="L'année du programme du dossier.")] = None,
    updated_since: UpdatedSinceParam = None,
) -> Page[GrantPublic]:
    """The desk reads every grant, a funder's people their funder's, an association's members their own."""
    rows = await grants_repository.list_grants(
        session, principal=caller, organisation_id=organisation_id, funder_id=funder_id, dossier_id=dossier_id,
        year=year, updated_since=updated_since, limit=limit, cursor=cursor, filters=filters,
    )
    page, next_cursor = split_page(rows, limit=limit)
    return Page(items=await grants.page_public(session, list(page)), next_cursor=next_cursor)


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
    session: SessionDep, caller: GrantTotalsReader, year: Year,
    organisation_id: Annotated[uuid.UUID | None, Query(description="Le guichet nomme l'association.")] = None,
) -> GrantTotals:
    """An association's members read their own total; the desk names the association (422 without one). Refused
    (403 `not_your_association`) for another association's."""
    return await grants.totals(session, principal=caller, organisation_id=organisation_id, year=year)
