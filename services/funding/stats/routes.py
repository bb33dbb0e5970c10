"""The dashboards' figures: a funder's year, a territory's year, an association's home (the gateway's
/dashboards/* add the other services' parts)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from common.clock import ClockDep
from common.db import SessionDep
from common.problems import problem_responses
from services.funding.fields import QpvCode
from services.funding.stats import association_home
from services.funding.stats import funder as funder_stats
from services.funding.stats import territory as territory_stats
from services.funding.stats.auth import AssociationHomeReader, FunderFiguresReader, TerritoryFiguresReader
from services.funding.stats.schemas import AssociationHome, FunderProjects, FunderYear, TerritoryYear
from services.shared_figures import suppression_threshold

router = APIRouter(prefix="/stats", tags=["stats"])
# A contrat de ville counts a few dozen QPVs; the largest (Marseille) about forty.
MAX_TERRITORY_QPVS = 200


@router.get(
    "/funder",
    summary="L'année d'un financeur en chiffres : enveloppes, dossiers par état, délais de décision, répartition, "
    "effet de levier",
    response_model=FunderYear,
    responses=problem_responses(400, 401, 403, 422),
)
async def funder_year(
    session: SessionDep,
    caller: FunderFiguresReader,
    year: Annotated[int, Query(ge=2000, le=2100, examples=[2027])],
    funder_id: Annotated[uuid.UUID | None, Query(description="Le guichet nomme le financeur.")] = None,
) -> FunderYear:
    """A funder's people read their own funder's year (403 `not_your_funder` for another's); the desk names the
    funder (422 without one)."""
    funder = funder_stats.one_funder(caller, funder_id)
    return FunderYear.model_validate(await funder_stats.funder_year(session, funder, year))


@router.get(
    "/funder/projects",
    summary="Les projets qu'un financeur a soutenus dans l'année (pour ses indicateurs)",
    response_model=FunderProjects,
    responses=problem_responses(400, 401, 403, 422),
)
async def funder_projects(
    session: SessionDep,
    caller: FunderFiguresReader,
    year: Annotated[int, Query(ge=2000, le=2100, examples=[2027])],
    funder_id: Annotated[uuid.UUID | None, Query(description="Le guichet nomme le financeur.")] = None,
) -> FunderProjects:
    """The projects a funder granted money to that year, for the gateway's dashboard to read their shared
    indicators: a funder's people their own funder's (403 `not_your_funder` for another's), the desk the funder it
    names (422 without one)."""
    funder = funder_stats.one_funder(caller, funder_id)
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
    request: Request,
    session: SessionDep,
    caller: TerritoryFiguresReader,
    year: Annotated[int, Query(ge=2000, le=2100, examples=[2027])],
    qpv: Annotated[
        list[QpvCode] | None,
        Query(max_length=MAX_TERRITORY_QPVS,
              description="Les QPV du territoire (un QPV, ceux d'une commune ou d'un contrat de ville) ; aucun : tout "
              "ce que couvre le guichet."),
    ] = None,
) -> TerritoryYear:
    """Every signed-in organisation reads a territory's year, given as its QPVs (the gateway resolves a commune or
    a contrat de ville to them), or everything the desk covers without any; for the associations and the councils,
    what rests on fewer than 3 projects (`FUNDING_SMALL_CELL_MIN_PROJECTS`) is suppressed."""
    threshold = suppression_threshold(caller, request.app.state.settings.small_cell_min_projects)
    return TerritoryYear.model_validate(
        await territory_stats.territory_year(session, qpv or [], year, min_projects=threshold)
    )


@router.get(
    "/association",
    summary="L'accueil d'une association : ses dossiers par état, ce qu'elle doit faire (pièces, comptes rendus, "
    "signatures), les versements attendus",
    response_model=AssociationHome,
    responses=problem_responses(400, 401, 403, 422),
)
async def association_figures(
    session: SessionDep,
    caller: AssociationHomeReader,
    clock: ClockDep,
    organisation_id: Annotated[uuid.UUID | None, Query(description="Le guichet nomme l'association.")] = None,
) -> AssociationHome:
    """An association's people read their own home (403 `not_your_association` for another's, `no_organisation`
    for a token naming none); the desk names the association (422 without one)."""
    organisation = association_home.one_association(caller, organisation_id)
    return AssociationHome.model_validate(await association_home.association_home(session, organisation, clock.today()))
