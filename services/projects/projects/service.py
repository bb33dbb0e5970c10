"""Projects: the rules (reference lists checked, only the owning organisation sees or changes)."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.problems import Forbidden, NotFound, Text, UnprocessableContent
from common.tokens import Principal
from services.projects.models import Project
from services.projects.projects import repository
from services.projects.projects.schemas import ProjectCreate, ProjectPublic, ProjectUpdate
from services.projects.referential.service import check_references
from services.vocabulary import DESK_ROLES

PROJECT_NOT_FOUND = Text("Projet introuvable.", "Project not found.")


def holder_organisation(principal: Principal) -> uuid.UUID:
    """The caller's association: identity puts an organisation in every token carrying a holder's role."""
    if principal.organisation_id is None:
        raise Forbidden(Text("Seule une association a des projets.", "Only an association has projects."))
    return principal.organisation_id


async def create_project(session: AsyncSession, *, principal: Principal, request: ProjectCreate) -> ProjectPublic:
    """A draft project of the caller's association."""
    organisation_id = holder_organisation(principal)
    await check_references(session, qpv_codes=request.qpv_codes, priorities=request.priorities)
    project = Project(
        organisation_id=organisation_id,
        created_by=principal.subject,
        **request.model_dump(exclude={"qpv_codes", "priorities"}),
    )
    session.add(project)
    await session.flush()
    await repository.replace_tags(session, project.id, qpv_codes=request.qpv_codes, priorities=request.priorities)
    return await to_public(session, project)


async def readable_project(session: AsyncSession, principal: Principal, project_id: uuid.UUID) -> Project:
    """The project if the caller may read it (`repository.readable_projects`); else 404."""
    project = await repository.readable_project(session, principal, project_id)
    if project is None:
        raise NotFound(PROJECT_NOT_FOUND)
    return project


async def locked_project(session: AsyncSession, principal: Principal, project_id: uuid.UUID) -> Project:
    """The caller's own project, locked for a change of it or of what hangs on it (If-Match checked and versions
    bumped under the same lock); else 404."""
    project = await repository.locked_writable_project(session, principal, project_id)
    if project is None:
        raise NotFound(PROJECT_NOT_FOUND)
    return project


async def list_projects(
    session: AsyncSession,
    *,
    principal: Principal,
    qpv: str | None,
    priority: str | None,
    year: int | None,
    updated_since: datetime | None,
    limit: int,
    cursor: str | None,
    organisation_id: uuid.UUID | None = None,
) -> list[Project]:
    """A page (plus one row) of the projects the caller reads: its association's (403 for a caller of no
    organisation, or naming another association), or for the desk every association's, or the one it names."""
    if not principal.has_any_role(DESK_ROLES):
        own = holder_organisation(principal)
        if organisation_id is not None and organisation_id != own:
            raise Forbidden(Text("Une association ne lit que ses propres projets.",
                                 "An association reads its own projects only."))
    return await repository.list_projects(
        session, principal=principal, qpv=qpv, priority=priority, updated_since=updated_since, limit=limit,
        cursor=cursor, year=year, organisation_id=organisation_id,
    )


async def update_project(session: AsyncSession, *, project: Project, request: ProjectUpdate) -> ProjectPublic:
    changes = request.model_dump(exclude_unset=True)
    start = changes.get("start_date", project.start_date)
    end = changes.get("end_date", project.end_date)
    if end < start:
        raise UnprocessableContent(
            Text("La date de fin précède la date de début.", "The end date is before the start date."),
            errors=[("body.end_date", Text("Avant la date de début.", "Before the start date."))],
        )
    current = await to_public(session, project)
    await check_references(
        session, qpv_codes=changes.get("qpv_codes"), priorities=changes.get("priorities"),
        kept_qpv_codes=current.qpv_codes,
    )
    if not _changes_anything(current, changes):
        return current  # same version, same ETag
    for field, value in changes.items():
        if field not in ("qpv_codes", "priorities"):
            setattr(project, field, value)
    project.version += 1
    project.updated_at = utcnow()
    await session.flush()
    await repository.replace_tags(
        session, project.id, qpv_codes=changes.get("qpv_codes"), priorities=changes.get("priorities")
    )
    return await to_public(session, project)


def _changes_anything(current: ProjectPublic, changes: dict) -> bool:
    for field, value in changes.items():
        wanted = sorted(set(value)) if field in ("qpv_codes", "priorities") else value
        if getattr(current, field) != wanted:
            return True
    return False


async def to_public(session: AsyncSession, project: Project) -> ProjectPublic:
    return (await to_public_many(session, [project]))[0]


async def to_public_many(session: AsyncSession, projects: list[Project]) -> list[ProjectPublic]:
    tags = await repository.tags_of(session, [p.id for p in projects])
    return [
        ProjectPublic(**p.model_dump(exclude={"created_by"}), qpv_codes=tags[p.id][0], priorities=tags[p.id][1])
        for p in projects
    ]
