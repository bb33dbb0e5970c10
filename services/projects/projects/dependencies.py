"""The project a route is about, loaded (or locked) for its caller: 404 for a project the caller may not see."""

from typing import Annotated

from fastapi import Depends

from common.resources import locked_resource, resource
from services.projects.models import Project
from services.projects.projects import service
from services.projects.projects.auth import ProjectRead, ProjectWrite
from services.projects.projects.schemas import ProjectUpdate

CurrentProject = Annotated[Project, resource(service.readable_project, path="project_id", caller=ProjectRead)]


async def _project_update(body: ProjectUpdate) -> ProjectUpdate:
    return body


# The change asked, read before the lock that waits for it: an invalid body is a 422 whatever its If-Match says.
ProjectUpdateBody = Annotated[ProjectUpdate, Depends(_project_update)]
# A change of the project's own fields: If-Match required, checked against the locked row.
LockedProject = Annotated[
    Project,
    locked_resource(
        service.locked_project, path="project_id", caller=ProjectWrite, if_match_required=True, idempotent=False,
        before=[Depends(_project_update)],
    ),
]
