"""The indicators' HTTP routes: the shared catalogue (`router`, under /indicators), and a project's targets
with the collective impact's aggregates (`targets_router`, included before it)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from common.db import SessionDep
from common.etag import if_match_parameter
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses
from common.resources import answer, with_etag
from services.projects.indicators import impact, service
from services.projects.indicators import targets as project_targets
from services.projects.indicators.auth import (
    CatalogueManage,
    CatalogueRead,
    ImpactRead,
    SharedImpactRead,
    TargetsWrite,
)
from services.projects.indicators.dependencies import CurrentIndicator, LockedIndicator, LockedTargets, TargetedProject
from services.projects.indicators.schemas import (
    ImpactOfProjects,
    ImpactPage,
    IndicatorCode,
    IndicatorCreate,
    IndicatorPublic,
    IndicatorUpdate,
    ProjectIndicators,
    TargetsReplace,
)
from services.projects.referential.schemas import PriorityCode, QpvCode
from services.shared_figures import suppression_threshold

router = APIRouter(prefix="/indicators", tags=["indicators"])
# Only a UUID is an indicator's id: other words under /indicators (aggregates) are routes of their own, which a
# PATCH /indicators/aggregates must not reach as an id (a 422 where RFC 9110 says 405).
BY_ID = "/{indicator_id:uuid}"



@router.post(
    "",
    summary="Ajouter un indicateur partagé (guichet)",
    status_code=201,
    response_model=IndicatorPublic,
    responses={
        **problem_responses(400, 401, 403, 409, 413, 422),
        201: {
            "links": {
                "GetIndicator": {"operationId": "get_indicator", "parameters": {"indicator_id": "$response.body#/id"}}
            }
        },
    },
)
async def create_indicator(
    body: IndicatorCreate, session: SessionDep, _desk: CatalogueManage, call: IdempotencyDep
) -> Response:
    """Adds a shared indicator to the catalogue (the desk only). Refused: 409 `indicator_code_taken` for a code
    already used; 422 for an unknown priority or a denominator or whole that does not fit."""
    indicator = await service.create_indicator(session, request=body)
    return await answer(session, call, indicator, status_code=201, location=f"/api/v1/indicators/{indicator.id}")


@router.get(
    "",
    summary="Catalogue des indicateurs partagés",
    response_model=Page[IndicatorPublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_indicators(
    session: SessionDep,
    _caller: CatalogueRead,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    priority: Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$")] = None,
    unit: Annotated[Literal["people", "organisations", "hours", "events", "euros", "percent"] | None, Query()] = None,
    active: Annotated[bool | None, Query(description="true : en usage ; false : retirés.")] = None,
    updated_since: UpdatedSinceParam = None,
) -> dict:
    """The shared catalogue, filtered and paged; read by every role and service."""
    rows = await service.list_indicators(
        session, priority=priority, unit=unit, active=active, updated_since=updated_since, limit=limit, cursor=cursor
    )
    page, next_cursor = split_page(rows, limit=limit)
    return {"items": await service.to_public_many(session, page), "next_cursor": next_cursor}


@router.get(
    BY_ID,
    summary="Lire un indicateur",
    response_model=IndicatorPublic,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_indicator(indicator: CurrentIndicator, session: SessionDep, response: Response) -> IndicatorPublic:
    """One indicator of the catalogue with its ETag; read by every role and service."""
    return with_etag(response, (await service.to_public_many(session, [indicator]))[0])


@router.patch(
    BY_ID,
    summary="Modifier le libellé, les priorités ou retirer un indicateur (If-Match requis)",
    response_model=IndicatorPublic,
    responses=problem_responses(400, 401, 403, 404, 412, 413, 422, 428),
    openapi_extra=if_match_parameter(),
)
async def update_indicator(
    indicator: LockedIndicator, body: IndicatorUpdate, response: Response, session: SessionDep, _desk: CatalogueManage
) -> IndicatorPublic:
    """Changes an indicator's label or priorities, or retires it (the desk only). Refused: 428 without If-Match,
    412 on a stale one; 422 for an unknown priority."""
    return with_etag(response, await service.update_indicator(session, indicator=indicator, request=body))


targets_router = APIRouter(tags=["indicators"])


@targets_router.get(
    "/projects/{project_id}/indicators",
    summary="Indicateurs suivis par un projet et leurs cibles",
    response_model=ProjectIndicators,
    description="Lus par l'association du projet, le guichet et les services du guichet. "
    "ETag « \"0\" » tant qu'aucun indicateur n'a été choisi.",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_project_indicators(
    project: TargetedProject, session: SessionDep, response: Response
) -> ProjectIndicators:
    """The project's chosen indicators and targets with their ETag."""
    return with_etag(response, await project_targets.read_targets(session, project))


@targets_router.put(
    "/projects/{project_id}/indicators",
    summary="Choisir les indicateurs du projet et leurs cibles (remplace toute la liste ; If-Match requis dès "
    "qu'elle existe)",
    response_model=ProjectIndicators,
    description="Indicateurs actifs du catalogue (un indicateur déjà suivi reste permis une fois retiré). "
    "Période : une année comprise dans les dates du projet, ou « span » (toute la durée), jamais les deux pour "
    "un même indicateur. Un ratio vient avec son dénominateur et un indicateur « dont » avec son tout, pour la "
    "même période. Les cibles suivent les règles de cohérence des valeurs (entiers pour des effectifs, "
    "pourcentage entre 0 et 100, partie ≤ tout, numérateur ≤ dénominateur). Un couple (indicateur, période) "
    "ayant une valeur dans un rapport déposé ou accepté ne peut être retiré (409 `targets_in_use`). "
    "If-Match facultatif pour le premier choix, requis ensuite (428).",
    responses=problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 428),
    openapi_extra=if_match_parameter(required=False),
)
async def replace_project_indicators(
    project: LockedTargets, body: TargetsReplace, response: Response, session: SessionDep, caller: TargetsWrite
) -> ProjectIndicators:
    """Replaces the whole list, by the project's association (404 for another's); an unchanged list keeps its
    version and ETag."""
    targets = await project_targets.replace_targets(session, principal=caller, project=project, targets=body.targets)
    return with_etag(response, targets)


@targets_router.get(
    "/indicators/aggregates",
    summary="Impact collectif : valeurs acceptées et cibles par indicateur × QPV × priorité × année",
    description="Sommes faites par la base à partir des rapports acceptés et des cibles. Une valeur annuelle "
    "compte dans son année, une valeur « span » dans l'année de fin du projet. Un projet compte dans chacun de "
    "ses QPV et sous chacune de ses priorités (null : aucune) : additionner les lignes de plusieurs QPV le "
    "compte plusieurs fois. `actual` et `target` : une somme ; une moyenne pour un indicateur moyen ; pour un "
    "ratio, le taux en pour cent (100 × Σ numérateurs / Σ dénominateurs). Lu par toute organisation connectée "
    "et les services ; pour les associations et les conseils citoyens, une case de moins de 3 projets "
    "(`PROJECTS_SMALL_CELL_MIN_PROJECTS`) garde sa place mais perd ses chiffres (`suppressed: true`).",
    response_model=ImpactPage,
    responses=problem_responses(400, 401, 403, 422),
)
async def list_indicator_aggregates(
    request: Request,
    session: SessionDep,
    caller: SharedImpactRead,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    year: Annotated[int | None, Query(ge=1900, le=2999)] = None,
    qpv: Annotated[
        list[QpvCode] | None,
        Query(max_length=200, description="Un ou plusieurs QPV (ceux d'une commune, d'un contrat de ville)."),
    ] = None,
    priority: Annotated[PriorityCode | None, Query()] = None,
    indicator: Annotated[IndicatorCode | None, Query()] = None,
) -> ImpactPage:
    """The cells, paged, read by every signed-in organisation and the services; small cells suppressed for the
    associations and the councils."""
    threshold = suppression_threshold(caller, request.app.state.settings.small_cell_min_projects)
    rows, next_cursor = await impact.aggregates(
        session, year=year, qpv=qpv, priority=priority, indicator=indicator, limit=limit, cursor=cursor,
        min_projects=threshold,
    )
    return ImpactPage(items=rows, next_cursor=next_cursor)


@targets_router.post(
    "/indicators/aggregates/search",
    summary="Impact collectif d'un ensemble de projets (les projets soutenus par un financeur, par exemple)",
    description="Les mêmes cellules que GET /indicators/aggregates, pour les seuls projets nommés dans le corps "
    "(jusqu'à 5 000 : trop pour une adresse). Une lecture : rien n'est écrit.",
    response_model=ImpactPage,
    responses=problem_responses(400, 401, 403, 422),
)
async def search_indicator_aggregates(
    body: ImpactOfProjects,
    session: SessionDep,
    _caller: ImpactRead,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> ImpactPage:
    """The cells of the named projects, paged, read by the desk, the funders and the services."""
    rows, next_cursor = await impact.aggregates(
        session, year=body.year, qpv=None, priority=None, indicator=body.indicator, limit=limit, cursor=cursor,
        project_ids=body.project_ids,
    )
    return ImpactPage(items=rows, next_cursor=next_cursor)
