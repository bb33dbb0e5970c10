"""Machine clients of an organisation: created by its admin, secret shown once, stored hashed."""

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.problems import Forbidden, NotFound, Text, UnprocessableContent
from common.tokens import Principal
from services.identity import audit, repository
from services.identity.models import MachineClient, Organisation
from services.identity.one_time import hash_secret
from services.identity.schemas import ClientCreate
from services.vocabulary import CLIENT_ROLE_BY_KIND, OrganisationKind


def managed_organisation(principal: Principal) -> uuid.UUID:
    """The organisation whose machine clients the caller manages: a person's own (403 for a machine client)."""
    if principal.kind != "user" or principal.organisation_id is None:
        raise Forbidden(Text("Seule une personne gère les clients machine.", "Only a person manages machine clients."))
    return principal.organisation_id


async def list_clients(
    session: AsyncSession, *, principal: Principal, limit: int, cursor: str | None
) -> list[MachineClient]:
    """A page (plus one row) of the machine clients of the organisation the caller manages."""
    return await repository.clients_of(session, managed_organisation(principal), limit=limit, cursor=cursor)


async def create_client(
    session: AsyncSession, *, principal: Principal, organisation: Organisation, request: ClientCreate, now: datetime
) -> tuple[MachineClient, str]:
    if OrganisationKind(organisation.kind) not in CLIENT_ROLE_BY_KIND:
        raise UnprocessableContent(
            Text(
                "Ce type d'organisation n'a pas de client machine.", "This kind of organisation has no machine client."
            )
        )
    client_id = "cli_" + secrets.token_hex(12)
    secret = "cs_" + secrets.token_urlsafe(32)
    client = MachineClient(
        client_id=client_id,
        organisation_id=organisation.id,
        name=request.name,
        secret_hash=hash_secret(secret),
        scopes=sorted({s.value for s in request.scopes}),
        expires_at=utcnow() + timedelta(days=request.expires_in_days),
        created_by=uuid.UUID(principal.subject),
    )
    session.add(client)
    # A machine client opens the organisation's data to a partner system: who made it is kept.
    audit.record(session, action="client.created", actor=principal, at=now, organisation_id=organisation.id,
                 details={"client_id": client_id, "name": request.name, "scopes": client.scopes})
    await session.flush()
    return client, secret


async def revoke_client(
    session: AsyncSession, *, organisation_id: uuid.UUID, client_uuid: uuid.UUID, principal: Principal, now: datetime
) -> MachineClient:
    client = await repository.client_of(session, organisation_id, client_uuid)
    if client is None:
        raise NotFound(Text("Client introuvable.", "Client not found."))
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        audit.record(session, action="client.revoked", actor=principal, at=now,
                     organisation_id=organisation_id, details={"client_id": client.client_id})
        await session.flush()
    return client
