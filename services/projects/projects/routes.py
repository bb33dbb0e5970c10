"""An association's projects."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from common.auth import Authorize
from common.db import SessionDep
from common.etag import check_if_match, etag_of, if_match_parameter
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses
from common.tokens import Principal
from services.projects.projects import repository, service
from services.projects.projects.schemas import ProjectCreate, ProjectPublic, ProjectUpdate
from services.projects.referential.schemas import QpvCode
from services.vocabulary import HOLDER_ROLES, Scope

router = APIRouter(prefix="/projects", tags=["projects"])

Reader = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.projects_read, services=True))]
Writer = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.projects_write))]

# OpenAPI links: what a client can do next with the project it got back (schemathesis' stateful run follows them).
CREATED_LINKS = {
    "GetProject": {"operationId": "get_project", "parameters": {"project_id": "$response.body#/id"}},
    "UpdateProject": {"operationId": "update_project", "parameters": {
        "project_id": "$response.body#/id", "header.If-Match": "$response.header.ETag"}},
}
READ_LINKS = {
    "UpdateProject": {"operationId": "update_project", "parameters": {
        "project_id": "$request.path.project_id", "header.If-Match": "$response.header.ETag"}},
}


@router.post(
    "",
    summary="Créer un projet de mon association",
    status_code=201,
    response_model=ProjectPublic,
    responses={**problem_responses(400, 401, 403, 409, 413, 422), 201: {"links": CREATED_LINKS}},
)
async def create_project(body: ProjectCreate, session: SessionDep, caller: Writer, call: IdempotencyDep) -> Response:
    project = await service.create_project(session, principal=caller, request=body)
    return await call.respond(
        session, status_code=201, content=project,
        headers={"Location": f"/api/v1/projects/{project.id}", "ETag": etag_of(project.version)},
    )


@router.get(
    "",
    summary="Projets de mon association",
    response_model=Page[ProjectPublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_projects(
    session: SessionDep,
    caller: Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.projects_read))],
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    qpv: Annotated[QpvCode | None, Query(description="Un QPV que le projet touche.")] = None,
    priority: Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$", description="Une priorité du projet.")] = None,
    year: Annotated[int | None, Query(
        ge=2000, le=2100, description="Les projets en cours cette année-là : leurs dates de début et de fin en "
        "couvrent au moins un jour.",
    )] = None,
    updated_since: UpdatedSinceParam = None,
) -> dict:
    rows = await repository.list_projects(
        session, organisation_id=service.holder_organisation(caller), qpv=qpv, priority=priority,
        updated_since=updated_since, limit=limit, cursor=cursor, year=year,
    )
    page, next_cursor = split_page(rows, limit=limit)
    return {"items": await service.to_public_many(session, page), "next_cursor": next_cursor}


@router.get(
    "/{project_id}",
    summary="Lire un projet",
    response_model=ProjectPublic,
    responses={**problem_responses(401, 403, 404, 422), 200: {"links": READ_LINKS}},
)
async def get_project(project_id: uuid.UUID, session: SessionDep, caller: Reader, response: Response) -> ProjectPublic:
    project = await service.visible_project(session, principal=caller, project_id=project_id)
    response.headers["ETag"] = etag_of(project.version)
    return await service.to_public(session, project)


@router.patch(
    "/{project_id}",
    summary="Modifier un projet (If-Match requis)",
    response_model=ProjectPublic,
    responses=problem_responses(400, 401, 403, 404, 412, 413, 422, 428),
    openapi_extra=if_match_parameter(),
)
async def update_project(
    project_id: uuid.UUID,
    body: ProjectUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    caller: Writer,
) -> ProjectPublic:
    project = await service.visible_project(
        session, principal=caller, project_id=project_id, for_update=True
    )
    check_if_match(request, project.version)
    updated = await service.update_project(session, project=project, request=body)
    response.headers["ETag"] = etag_of(updated.version)
    return updated
