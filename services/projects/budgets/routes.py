"""Budgets as the CERFA 12156 asks: the project's forecast budget, the association's yearly budget."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from common.auth import Authorize
from common.clock import TodayDep
from common.db import SessionDep
from common.etag import check_if_match, etag_of, if_match_parameter
from common.problems import problem_responses, request_language
from common.tokens import Principal
from services.projects.budgets import service as budgets
from services.projects.budgets.schemas import BudgetIn, BudgetPublic
from services.projects.projects import service as project_service
from services.vocabulary import DESK_ROLES, HOLDER_ROLES, Scope

router = APIRouter(tags=["budgets"])

ProjectReader = Annotated[
    Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.projects_read, services=True))
]
AssociationReader = Annotated[
    Principal, Depends(Authorize(roles=HOLDER_ROLES | DESK_ROLES, scope=Scope.projects_read, services=True))
]
Writer = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.projects_write))]
Year = Annotated[int, Path(ge=2000, le=2100, description="Exercice budgétaire.", examples=[2027])]

UPDATE_PROJECT_BUDGET_LINK = {
    "ReplaceProjectBudget": {"operationId": "replace_project_budget", "parameters": {
        "project_id": "$request.path.project_id", "header.If-Match": "$response.header.ETag"}},
}


@router.get(
    "/projects/{project_id}/budget",
    summary="Budget prévisionnel du projet (CERFA 12156)",
    response_model=BudgetPublic,
    responses={**problem_responses(401, 403, 404, 422), 200: {"links": UPDATE_PROJECT_BUDGET_LINK}},
)
async def get_project_budget(
    project_id: uuid.UUID, request: Request, response: Response, session: SessionDep, caller: ProjectReader
) -> BudgetPublic:
    project = await project_service.visible_project(session, principal=caller, project_id=project_id)
    stored = await budgets.project_budget(session, project)
    response.headers["ETag"] = etag_of(stored.version)
    return budgets.to_public(
        stored, organisation_id=project.organisation_id, project=project, lang=request_language(request)
    )


@router.put(
    "/projects/{project_id}/budget",
    summary="Remplacer le budget du projet (If-Match requis ; « \"0\" » avant la première saisie)",
    response_model=BudgetPublic,
    responses=problem_responses(400, 401, 403, 404, 412, 413, 422, 428),
    openapi_extra=if_match_parameter(),
)
async def replace_project_budget(
    project_id: uuid.UUID, body: BudgetIn, request: Request, response: Response, session: SessionDep, caller: Writer
) -> BudgetPublic:
    # The project's row lock serialises the writers of its budget, the first one included.
    project = await project_service.visible_project(
        session, principal=caller, project_id=project_id, for_update=True
    )
    stored = await budgets.project_budget(session, project)
    check_if_match(request, stored.version)
    stored = await budgets.replace(
        session, stored=stored, request=body, principal=caller,
        organisation_id=project.organisation_id, project_id=project.id,
    )
    response.headers["ETag"] = etag_of(stored.version)
    return budgets.to_public(
        stored, organisation_id=project.organisation_id, project=project, lang=request_language(request)
    )


@router.get(
    "/association-budgets/{organisation_id}/{year}",
    summary="Budget prévisionnel annuel de l'association",
    response_model=BudgetPublic,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_association_budget(
    organisation_id: uuid.UUID,
    year: Year,
    request: Request,
    response: Response,
    session: SessionDep,
    caller: AssociationReader,
) -> BudgetPublic:
    budgets.readable_association(caller, organisation_id)
    stored = await budgets.association_budget(session, organisation_id, year)
    response.headers["ETag"] = etag_of(stored.version)
    return budgets.to_public(stored, organisation_id=organisation_id, year=year, lang=request_language(request))


@router.put(
    "/association-budgets/{organisation_id}/{year}",
    summary="Saisir le budget annuel de mon association (If-Match requis ; « \"0\" » avant la première saisie)",
    response_model=BudgetPublic,
    responses=problem_responses(400, 401, 403, 404, 412, 413, 422, 428),
    openapi_extra=if_match_parameter(),
)
async def replace_association_budget(
    organisation_id: uuid.UUID,
    year: Year,
    body: BudgetIn,
    request: Request,
    response: Response,
    session: SessionDep,
    caller: Writer,
    today: TodayDep,
) -> BudgetPublic:
    budgets.writable_association(caller, organisation_id, year, today)
    # Locked when it exists; two first entries at once meet on the unique (organisation, year): one gets a 412.
    stored = await budgets.association_budget(session, organisation_id, year, for_update=True)
    check_if_match(request, stored.version)
    stored = await budgets.replace(
        session, stored=stored, request=body, principal=caller, organisation_id=organisation_id, year=year
    )
    response.headers["ETag"] = etag_of(stored.version)
    return budgets.to_public(stored, organisation_id=organisation_id, year=year, lang=request_language(request))
