"""The project a route is about, loaded (or locked) for its caller: 404 for a project the caller may not see."""

from typing import Annotated

from common.resources import locked_resource, resource, validated_body
from services.projects.models import Project
from services.projects.projects import service
from services.projects.projects.auth import ProjectRead, ProjectWrite
from services.projects.projects.schemas import ProjectUpdate

CurrentProject = Annotated[Project, resource(service.readable_project, path="project_id", caller=ProjectRead)]
# A change of the project's own fields: If-Match required, checked against the locked row.
LockedProject = Annotated[
    Project,
    locked_resource(
        service.locked_project, path="project_id", caller=ProjectWrite, if_match_required=True, idempotent=False,
        before=[validated_body(ProjectUpdate)],
    ),
]
