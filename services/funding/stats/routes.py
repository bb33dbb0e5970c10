"""The dashboards' figures: a funder's year, a territory's year, an association's home (the gateway's
/dashboards/* add the other services' parts)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from common.auth import Authorize
from common.clock import ClockDep
from common.db import SessionDep
from common.problems import problem_responses
from common.tokens import Principal
from services.funding.fields import QpvCode
from services.funding.funder_scope import FunderOrDesk, association_of, funder_of
from services.funding.stats import association_home
from services.funding.stats import funder as funder_stats
from services.funding.stats import territory as territory_stats
from services.funding.stats.schemas import AssociationHome, FunderProjects, FunderYear, TerritoryYear
from services.vocabulary import DESK_ROLES, HOLDER_ROLES, Scope

router = APIRouter(prefix="/stats", tags=["stats"])
HolderOrDesk = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES | DESK_ROLES, scope=Scope.dossiers_read))]
# A contrat de ville counts a few dozen QPVs; the largest (Marseille) about forty.
MAX_TERRITORY_QPVS = 200


def _one_funder(caller: Principal, funder_id: uuid.UUID | None) -> uuid.UUID:
    funder = funder_of(caller, funder_id, desk_may_take_all=False)
    assert funder is not None  # the desk must name one
    return funder


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
    funder = _one_funder(caller, funder_id)
    return FunderYear.model_validate(await funder_stats.funder_year(session, funder, year))


@router.get(
    "/funder/projects",
    summary="Les projets qu'un financeur a soutenus dans l'année (pour ses indicateurs)",
    response_model=FunderProjects,
    responses=problem_responses(400, 401, 403, 422),
)
async def funder_projects(
    session: SessionDep,
    caller: FunderOrDesk,
    year: Annotated[int, Query(ge=2000, le=2100, examples=[2027])],
    funder_id: Annotated[uuid.UUID | None, Query(description="Le guichet nomme le financeur.")] = None,
) -> FunderProjects:
    funder = _one_funder(caller, funder_id)
    return FunderProjects(funder_id=funder, year=year,
                          project_ids=await funder_stats.granted_projects(session, funder, year))


@router.get(
    "/territory",
    summary="L'année d'un territoire en chiffres : subventions par financeur, parcours et priorité, projets et "
    "associations soutenus, dossiers par état",
    response_model=TerritoryYear,
    responses=problem_responses(400, 401, 403, 422),
)
async def territory_year(
    session: SessionDep,
    _caller: FunderOrDesk,
    year: Annotated[int, Query(ge=2000, le=2100, examples=[2027])],
    qpv: Annotated[
        list[QpvCode] | None,
        Query(max_length=MAX_TERRITORY_QPVS,
              description="Les QPV du territoire (un QPV, ceux d'une commune ou d'un contrat de ville) ; aucun : tout "
              "ce que couvre le guichet."),
    ] = None,
) -> TerritoryYear:
    codes = sorted(set(qpv or []))
    return TerritoryYear.model_validate(await territory_stats.territory_year(session, codes, year))


@router.get(
    "/association",
    summary="L'accueil d'une association : ses dossiers par état, ce qu'elle doit faire (pièces, comptes rendus, "
    "signatures), les versements attendus",
    response_model=AssociationHome,
    responses=problem_responses(400, 401, 403, 422),
)
async def association_figures(
    session: SessionDep,
    caller: HolderOrDesk,
    clock: ClockDep,
    organisation_id: Annotated[uuid.UUID | None, Query(description="Le guichet nomme l'association.")] = None,
) -> AssociationHome:
    organisation = association_of(caller, organisation_id)
    return AssociationHome.model_validate(await association_home.association_home(session, organisation, clock.today()))
