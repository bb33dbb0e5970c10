"""An association's projects."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from common.db import SessionDep
from common.etag import if_match_parameter
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses
from common.resources import answer, with_etag
from services.projects.projects import service
from services.projects.projects.auth import ProjectsList, ProjectWrite
from services.projects.projects.dependencies import CurrentProject, LockedProject
from services.projects.projects.schemas import ProjectCreate, ProjectPublic, ProjectUpdate
from services.projects.referential.schemas import QpvCode

router = APIRouter(prefix="/projects", tags=["projects"])

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
async def create_project(
    body: ProjectCreate, session: SessionDep, caller: ProjectWrite, call: IdempotencyDep
) -> Response:
    """A draft project of the caller's association (its members only). Refused: 403 for a caller of no
    organisation; 422 for an unknown QPV or priority code, or an end date before the start."""
    project = await service.create_project(session, principal=caller, request=body)
    return await answer(session, call, project, status_code=201, location=f"/api/v1/projects/{project.id}")


@router.get(
    "",
    summary="Projets de mon association (le guichet : de toutes, ou de celle qu'il nomme)",
    response_model=Page[ProjectPublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_projects(
    session: SessionDep,
    caller: ProjectsList,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    qpv: Annotated[QpvCode | None, Query(description="Un QPV que le projet touche.")] = None,
    priority: Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$", description="Une priorité du projet.")] = None,
    year: Annotated[int | None, Query(
        ge=2000, le=2100, description="Les projets en cours cette année-là : leurs dates de début et de fin en "
        "couvrent au moins un jour.",
    )] = None,
    updated_since: UpdatedSinceParam = None,
    organisation_id: Annotated[uuid.UUID | None, Query(
        description="Le guichet : l'association dont il lit les projets (sans : toutes). Une association ne peut "
        "nommer qu'elle-même (403 sinon).",
    )] = None,
) -> dict:
    """The caller's association's projects, filtered and paged (its members; 403 for a caller of no organisation
    or naming another association); the desk reads every association's, or the one it names."""
    rows = await service.list_projects(
        session, principal=caller, qpv=qpv, priority=priority, year=year, updated_since=updated_since, limit=limit,
        cursor=cursor, organisation_id=organisation_id,
    )
    page, next_cursor = split_page(rows, limit=limit)
    return {"items": await service.to_public_many(session, page), "next_cursor": next_cursor}


@router.get(
    "/{project_id}",
    summary="Lire un projet",
    response_model=ProjectPublic,
    responses={**problem_responses(401, 403, 404, 422), 200: {"links": READ_LINKS}},
)
async def get_project(project: CurrentProject, session: SessionDep, response: Response) -> ProjectPublic:
    """One project with its ETag, read by its association's members and by the desk's services; 404 for anyone
    else."""
    return with_etag(response, await service.to_public(session, project))


@router.patch(
    "/{project_id}",
    summary="Modifier un projet (If-Match requis)",
    response_model=ProjectPublic,
    responses=problem_responses(400, 401, 403, 404, 412, 413, 422, 428),
    openapi_extra=if_match_parameter(),
)
async def update_project(
    project: LockedProject, body: ProjectUpdate, response: Response, session: SessionDep
) -> ProjectPublic:
    """Changes the given fields of one of the caller's association's projects (its members only; 404 for
    another's). Refused: 428 without If-Match, 412 on a stale one; 422 for an unknown code or an end before the
    start. A change that changes nothing keeps the version and ETag."""
    return with_etag(response, await service.update_project(session, project=project, request=body))
