"""Projects' queries: who reads or changes which project, one project, the projects' lists (filtered, paged),
their QPV and priority tags."""

import uuid
from datetime import date, datetime

from sqlalchemy import Select, delete, false, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import children_by_parent, get_row
from common.pagination import keyset
from common.tokens import Principal
from services.projects.models import Project, ProjectPriority, ProjectQpv
from services.vocabulary import DESK_ROLES, HOLDER_ROLES


def readable_projects(principal: Principal) -> Select[Project]:
    """The projects a caller may read: every one for the desk and the desk's services (their service token), its
    own organisation's for a holder, none otherwise."""
    statement = select(Project)
    if principal.kind == "service" or principal.has_any_role(DESK_ROLES):
        return statement
    if not principal.has_any_role(HOLDER_ROLES):
        return statement.where(false())
    return statement.where(col(Project.organisation_id) == principal.organisation_id)


def writable_projects(principal: Principal) -> Select[Project]:
    """The projects a caller may change (or attach budgets, targets and reports to): its own organisation's."""
    return select(Project).where(col(Project.organisation_id) == principal.organisation_id)


async def project_by_id(session: AsyncSession, project_id: uuid.UUID, *, for_update: bool = False) -> Project | None:
    return await get_row(session, Project, project_id, for_update=for_update)


async def readable_project(session: AsyncSession, principal: Principal, project_id: uuid.UUID) -> Project | None:
    statement = readable_projects(principal).where(col(Project.id) == project_id)
    return (await session.execute(statement)).scalars().first()


async def locked_writable_project(
    session: AsyncSession, principal: Principal, project_id: uuid.UUID
) -> Project | None:
    """The caller's own project, locked until the commit (PostgreSQL; on SQLite a writer holds the database)."""
    statement = (
        writable_projects(principal).where(col(Project.id) == project_id)
        .with_for_update().execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalars().first()


async def tags_of(session: AsyncSession, project_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[list[str], list[str]]]:
    """QPV codes and priorities of several projects in two queries."""
    qpv = await children_by_parent(session, ProjectQpv.project_id, ProjectQpv.qpv_code, project_ids)
    priorities = await children_by_parent(
        session, ProjectPriority.project_id, ProjectPriority.priority_code, project_ids
    )
    return {pid: (qpv[pid], priorities[pid]) for pid in project_ids}


async def replace_tags(
    session: AsyncSession, project_id: uuid.UUID, *, qpv_codes: list[str] | None, priorities: list[str] | None
) -> None:
    if qpv_codes is not None:
        await session.execute(delete(ProjectQpv).where(col(ProjectQpv.project_id) == project_id))
        session.add_all(ProjectQpv(project_id=project_id, qpv_code=code) for code in sorted(set(qpv_codes)))
    if priorities is not None:
        await session.execute(delete(ProjectPriority).where(col(ProjectPriority.project_id) == project_id))
        session.add_all(ProjectPriority(project_id=project_id, priority_code=code) for code in sorted(set(priorities)))
    await session.flush()


async def list_projects(
    session: AsyncSession,
    *,
    principal: Principal,
    qpv: str | None,
    priority: str | None,
    updated_since: datetime | None,
    limit: int,
    cursor: str | None,
    year: int | None = None,
    organisation_id: uuid.UUID | None = None,
) -> list[Project]:
    """The projects the caller reads; for an association, walked along its (organisation_id, created_at, id) index
    in page order: the filters only sift its own rows, which no other index would give in that order."""
    statement = readable_projects(principal)
    if organisation_id is not None:  # the desk's view of one association (a holder's own is already its filter)
        statement = statement.where(col(Project.organisation_id) == organisation_id)
    if year is not None:  # the project runs at some point of the year: it starts before its end, ends after its start
        statement = statement.where(
            col(Project.start_date) <= date(year, 12, 31), col(Project.end_date) >= date(year, 1, 1)
        )
    if qpv:
        statement = statement.where(
            col(Project.id).in_(select(col(ProjectQpv.project_id)).where(col(ProjectQpv.qpv_code) == qpv))
        )
    if priority:
        statement = statement.where(
            col(Project.id).in_(
                select(col(ProjectPriority.project_id)).where(col(ProjectPriority.priority_code) == priority)
            )
        )
    if updated_since:
        statement = statement.where(col(Project.updated_at) >= updated_since)
    return list((await session.execute(keyset(statement, Project, limit=limit, cursor=cursor))).scalars())
