"""The trail of who changed whose access: memberships, invitations, sign-ups, passwords and suspensions. Each entry
is written in the same transaction as the change it records, so that neither exists without the other."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.observability import request_id_var
from common.pagination import keyset
from common.tokens import Principal
from services.identity.models import AuditEvent

ANONYMOUS = "anonymous"


def record(
    session: AsyncSession,
    *,
    action: str,
    actor: Principal | str | None,
    at: datetime,
    organisation_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
    email: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add one entry to the session (flushed with the change). `actor` is the caller, or a person's id as a string
    when the caller proved who they are by a mailed token rather than an access token."""
    if isinstance(actor, Principal):
        who, actor_organisation = actor.subject, actor.organisation_id
    else:
        who, actor_organisation = actor or ANONYMOUS, None
    session.add(AuditEvent(
        created_at=at, action=action, actor=who, actor_organisation_id=actor_organisation,
        organisation_id=organisation_id, person_id=person_id, email=email, details=details or {},
        request_id=request_id_var.get(),
    ))


async def events(
    session: AsyncSession, *, organisation_id: uuid.UUID | None, action: str | None, limit: int, cursor: str | None,
    person_id: uuid.UUID | None = None, email: str | None = None,
) -> list[AuditEvent]:
    """Oldest first, by the keyset cursor; one organisation's, or (organisation_id None) every entry."""
    statement = select(AuditEvent)
    if organisation_id is not None:
        statement = statement.where(col(AuditEvent.organisation_id) == organisation_id)
    if action:
        statement = statement.where(col(AuditEvent.action) == action)
    if person_id is not None:
        statement = statement.where(col(AuditEvent.person_id) == person_id)
    if email is not None:
        statement = statement.where(col(AuditEvent.email) == email)
    return list((await session.execute(keyset(statement, AuditEvent, limit=limit, cursor=cursor))).scalars())
