"""Projects' queries: one project, one association's projects (filtered, paged), their QPV and priority tags."""

import uuid
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import children_by_parent, get_row
from common.pagination import keyset
from services.projects.models import Project, ProjectPriority, ProjectQpv


async def project_by_id(session: AsyncSession, project_id: uuid.UUID, *, for_update: bool = False) -> Project | None:
    return await get_row(session, Project, project_id, for_update=for_update)


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
    organisation_id: uuid.UUID,
    qpv: str | None,
    priority: str | None,
    updated_since: datetime | None,
    limit: int,
    cursor: str | None,
    year: int | None = None,
) -> list[Project]:
    """One association's projects, walked along its (organisation_id, created_at, id) index in page order; the
    filters only sift its own rows, which no other index would give in that order."""
    statement = select(Project).where(col(Project.organisation_id) == organisation_id)
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
