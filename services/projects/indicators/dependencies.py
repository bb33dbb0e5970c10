"""The indicator, or the project whose targets, a route is about: loaded (or locked, If-Match checked) for its
caller; 404 for what the caller may not see."""

import uuid
from typing import Annotated

from fastapi import Depends, Request

from common.db import SessionDep
from common.etag import check_if_match
from common.resources import locked_resource, resource, validated_body
from services.projects.indicators import service
from services.projects.indicators import targets as project_targets
from services.projects.indicators.auth import CatalogueManage, CatalogueRead, TargetsRead, TargetsWrite
from services.projects.indicators.schemas import IndicatorUpdate, TargetsReplace
from services.projects.models import Indicator, Project
from services.projects.projects import service as project_service

CurrentIndicator = Annotated[Indicator, resource(service.readable_indicator, path="indicator_id", caller=CatalogueRead)]
LockedIndicator = Annotated[
    Indicator,
    locked_resource(
        service.locked_indicator, path="indicator_id", caller=CatalogueManage, if_match_required=True,
        idempotent=False, before=[validated_body(IndicatorUpdate)],
    ),
]
TargetedProject = Annotated[Project, resource(project_service.readable_project, path="project_id", caller=TargetsRead)]


async def _locked_targets(
    caller: TargetsWrite, project_id: uuid.UUID, body: TargetsReplace, request: Request, session: SessionDep
) -> Project:
    """The caller's own project, locked, with If-Match checked against its targets' version: optional for the first
    choice, required (428) once they exist, which `common.resources` does not say (its If-Match is required or
    not for good)."""
    project, version = await project_targets.locked_project_plan(session, caller, project_id)
    check_if_match(request, version, required=version > 0)
    return project


LockedTargets = Annotated[Project, Depends(_locked_targets)]
