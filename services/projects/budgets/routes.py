"""Budgets as the CERFA 12156 asks: the project's forecast budget, the association's yearly budget."""

import uuid

from fastapi import APIRouter, Request, Response

from common.db import SessionDep
from common.etag import if_match_parameter
from common.problems import problem_responses, request_language
from common.resources import with_etag
from services.projects.budgets import service as budgets
from services.projects.budgets.auth import AssociationBudgetRead, BudgetWrite
from services.projects.budgets.dependencies import BudgetedProject, LockedAssociationBudget, LockedProjectBudget, Year
from services.projects.budgets.schemas import BudgetIn, BudgetPublic

router = APIRouter(tags=["budgets"])

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
    project: BudgetedProject, request: Request, response: Response, session: SessionDep
) -> BudgetPublic:
    """The project's forecast budget with its checks (balanced, in-kind, the project's declared cost), read by its
    association's members and the desk's services; version 0 (ETag « "0" ») while nothing was entered."""
    stored = await budgets.project_budget(session, project)
    return with_etag(response, budgets.to_public(
        stored, organisation_id=project.organisation_id, project=project, lang=request_language(request)
    ))


@router.put(
    "/projects/{project_id}/budget",
    summary="Remplacer le budget du projet (If-Match requis ; « \"0\" » avant la première saisie)",
    response_model=BudgetPublic,
    responses=problem_responses(400, 401, 403, 404, 412, 413, 422, 428),
    openapi_extra=if_match_parameter(),
)
async def replace_project_budget(
    locked: LockedProjectBudget, body: BudgetIn, request: Request, response: Response, session: SessionDep,
    caller: BudgetWrite,
) -> BudgetPublic:
    """Replaces every line of one of the caller's association's projects' budget (its members only; 404 for
    another's). Refused: 428 without If-Match, 412 on a stale one (the first entry's is « "0" »)."""
    project, stored = locked
    stored = await budgets.replace(
        session, stored=stored, request=body, principal=caller,
        organisation_id=project.organisation_id, project_id=project.id,
    )
    return with_etag(response, budgets.to_public(
        stored, organisation_id=project.organisation_id, project=project, lang=request_language(request)
    ))


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
    caller: AssociationBudgetRead,
) -> BudgetPublic:
    """An association's budget of a year, read by its members, the desk and the desk's services (404 for anyone
    else); version 0 while nothing was entered."""
    budgets.readable_association(caller, organisation_id)
    stored = await budgets.association_budget(session, organisation_id, year)
    return with_etag(
        response, budgets.to_public(stored, organisation_id=organisation_id, year=year, lang=request_language(request))
    )


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
    stored: LockedAssociationBudget,
    body: BudgetIn,
    request: Request,
    response: Response,
    session: SessionDep,
    caller: BudgetWrite,
) -> BudgetPublic:
    """Replaces the caller's association's budget of a year (its members only; 404 for another association's).
    Refused: 422 for a year outside last year to two years ahead; 428 without If-Match, 412 on a stale one (the
    first entry's is « "0" »)."""
    stored = await budgets.replace(
        session, stored=stored, request=body, principal=caller, organisation_id=organisation_id, year=year
    )
    return with_etag(
        response, budgets.to_public(stored, organisation_id=organisation_id, year=year, lang=request_language(request))
    )
