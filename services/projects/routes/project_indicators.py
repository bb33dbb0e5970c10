"""A project's indicators and targets, and the collective impact's aggregates."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from common.auth import Authorize
from common.db import SessionDep
from common.etag import check_if_match, etag_of, if_match_parameter
from common.pagination import CursorParam, LimitParam
from common.problems import problem_responses
from common.tokens import Principal
from services.projects import impact, indicator_targets
from services.projects.referential.schemas import PriorityCode, QpvCode
from services.projects.report_schemas import ImpactOfProjects, ImpactPage, ProjectIndicators, TargetsReplace
from services.projects.schemas import IndicatorCode
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES, Scope

router = APIRouter(tags=["indicators"])

Reader = Annotated[
    Principal, Depends(Authorize(roles=HOLDER_ROLES | DESK_ROLES, scope=Scope.projects_read, services=True))
]
Writer = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.projects_write))]
ImpactReader = Annotated[
    Principal, Depends(Authorize(roles=FUNDER_ROLES | DESK_ROLES, scope=Scope.projects_read, services=True))
]

@router.get(
    "/projects/{project_id}/indicators",
    summary="Indicateurs suivis par un projet et leurs cibles",
    response_model=ProjectIndicators,
    description="Lus par l'association du projet, le guichet et les services du guichet. "
    "ETag « \"0\" » tant qu'aucun indicateur n'a été choisi.",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_project_indicators(
    project_id: uuid.UUID, session: SessionDep, caller: Reader, response: Response
) -> ProjectIndicators:
    project = await indicator_targets.visible_project(session, principal=caller, project_id=project_id)
    targets = await indicator_targets.read_targets(session, project)
    response.headers["ETag"] = etag_of(targets.version)
    return targets


@router.put(
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
    project_id: uuid.UUID,
    body: TargetsReplace,
    request: Request,
    response: Response,
    session: SessionDep,
    caller: Writer,
) -> ProjectIndicators:
    project = await indicator_targets.owned_project(session, principal=caller, project_id=project_id)
    version = await indicator_targets.plan_version(session, project.id)
    check_if_match(request, version, required=version > 0)
    targets = await indicator_targets.replace_targets(session, principal=caller, project=project, targets=body.targets)
    response.headers["ETag"] = etag_of(targets.version)
    return targets


@router.get(
    "/indicators/aggregates",
    summary="Impact collectif : valeurs acceptées et cibles par indicateur × QPV × priorité × année",
    description="Sommes faites par la base à partir des rapports acceptés et des cibles. Une valeur annuelle "
    "compte dans son année, une valeur « span » dans l'année de fin du projet. Un projet compte dans chacun de "
    "ses QPV et sous chacune de ses priorités (null : aucune) : additionner les lignes de plusieurs QPV le "
    "compte plusieurs fois. `actual` et `target` : une somme ; une moyenne pour un indicateur moyen ; pour un "
    "ratio, le taux en pour cent (100 × Σ numérateurs / Σ dénominateurs). Lu par le guichet, les financeurs et "
    "les services.",
    response_model=ImpactPage,
    responses=problem_responses(400, 401, 403, 422),
)
async def list_indicator_aggregates(
    session: SessionDep,
    _caller: ImpactReader,
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
    rows, next_cursor = await impact.aggregates(
        session, year=year, qpv=qpv, priority=priority, indicator=indicator, limit=limit, cursor=cursor
    )
    return ImpactPage(items=rows, next_cursor=next_cursor)


@router.post(
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
    _caller: ImpactReader,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> ImpactPage:
    rows, next_cursor = await impact.aggregates(
        session, year=body.year, qpv=None, priority=None, indicator=body.indicator, limit=limit, cursor=cursor,
        project_ids=body.project_ids,
    )
    return ImpactPage(items=rows, next_cursor=next_cursor)
