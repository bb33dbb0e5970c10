"""The platform's view of the whole trail: besides each organisation's, the entries that name no organisation
(sign-ups asked, password resets and changes), by person or address."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import EmailStr

from common.db import SessionDep
from common.pagination import CursorParam, LimitParam, Page, page_of
from common.problems import problem_responses
from services.identity import audit
from services.identity.guards import PlatformAdmin
from services.identity.schemas import AuditEventPublic

router = APIRouter(prefix="/audit-events", tags=["organisations"])


@router.get(
    "",
    summary="Journal des accès de toute la plateforme (administrateur de la plateforme)",
    response_model=Page[AuditEventPublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_every_audit_event(
    session: SessionDep,
    _platform: PlatformAdmin,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    action: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+\.[a-z_]+$",
                                        examples=["password.reset"])] = None,
    person_id: uuid.UUID | None = None,
    email: Annotated[EmailStr | None, Query(description="The address an entry names (sign-ups, invitations).")] = None,
) -> dict:
    """Oldest first; who did what, when, with the request id that did it. The platform's admins only."""
    rows = await audit.events(session, organisation_id=None, action=action, person_id=person_id,
                              email=email.lower() if email else None, limit=limit, cursor=cursor)
    return page_of(rows, limit=limit, to_public=lambda row: AuditEventPublic.model_validate(row, from_attributes=True))
