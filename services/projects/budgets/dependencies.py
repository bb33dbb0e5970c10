"""The budget a route is about, loaded (or locked) for its caller: 404 for a budget the caller may not see."""

import uuid
from typing import Annotated

from fastapi import Depends, Path, Request

from common.clock import TodayDep
from common.db import SessionDep
from common.etag import check_if_match
from common.resources import locked_resource, resource, validated_body
from services.projects.budgets import service as budgets
from services.projects.budgets.auth import BudgetWrite, ProjectBudgetRead
from services.projects.budgets.schemas import BudgetIn
from services.projects.budgets.service import StoredBudget
from services.projects.models import Project
from services.projects.projects import service as project_service

Year = Annotated[int, Path(ge=2000, le=2100, description="Exercice budgétaire.", examples=[2027])]

BudgetedProject = Annotated[
    Project, resource(project_service.readable_project, path="project_id", caller=ProjectBudgetRead)
]
# If-Match is the budget's (« "0" » before the first entry), checked once the project is locked.
LockedProjectBudget = Annotated[
    tuple[Project, StoredBudget],
    locked_resource(
        budgets.locked_project_budget, path="project_id", caller=BudgetWrite, if_match_required=True,
        version_of=lambda row: row[1].version, idempotent=False, before=[validated_body(BudgetIn)],
    ),
]


async def _locked_association_budget(
    organisation_id: uuid.UUID, year: Year, caller: BudgetWrite, body: BudgetIn, today: TodayDep, request: Request,
    session: SessionDep,
) -> StoredBudget:
    """An association's budget is named by two path parameters, which `common.resources` does not take: the
    same load-lock-check, by hand (the route's `body` read first: an invalid one is a 422 whatever the If-Match)."""
    budgets.association_lines_only(body)
    stored = await budgets.locked_association_budget(session, caller, organisation_id, year, today)
    check_if_match(request, stored.version)
    return stored


LockedAssociationBudget = Annotated[StoredBudget, Depends(_locked_association_budget)]
