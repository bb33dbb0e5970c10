"""Machine clients of the caller's organisation."""

import uuid

from fastapi import APIRouter, Response

from common.clock import ClockDep
from common.db import SessionDep
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, page_of
from common.problems import problem_responses
from services.identity import accounts, clients
from services.identity.guards import OrganisationAdmin
from services.identity.models import MachineClient
from services.identity.schemas import ClientCreate, ClientCreated, ClientPublic

router = APIRouter(prefix="/clients", tags=["clients"])

def client_public(client: MachineClient) -> ClientPublic:
    return ClientPublic.model_validate(client, from_attributes=True)


@router.post(
    "",
    summary="Créer un client machine (le secret n'est montré qu'une fois)",
    status_code=201,
    response_model=ClientCreated,
    responses={
        **problem_responses(400, 401, 403, 409, 413, 422),
        # OpenAPI link: how to revoke the client created (schemathesis' stateful run follows it).
        201: {"links": {"RevokeClient": {
            "operationId": "revoke_client", "parameters": {"client_id": "$response.body#/id"}}}},
    },
)
async def create_client(
    body: ClientCreate, session: SessionDep, admin: OrganisationAdmin, call: IdempotencyDep, clock: ClockDep
) -> Response:
    """A machine client of the caller's organisation, with the scopes asked and an expiry; created by its admins
    (people only: 403 for a machine client); 422 for a kind of organisation that has none. The secret is in this
    answer only."""
    organisation_id = clients.managed_organisation(admin)
    organisation = await accounts.visible_organisation(session, organisation_id)
    client, secret = await clients.create_client(
        session, principal=admin, organisation=organisation, request=body, now=clock.now()
    )
    created = ClientCreated(**client_public(client).model_dump(), client_secret=secret)
    return await call.respond(
        session, status_code=201, content=created, headers={"Location": f"/api/v1/clients/{client.id}"}
    )


@router.get(
    "",
    summary="Clients machine de mon organisation",
    response_model=Page[ClientPublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_clients(
    session: SessionDep, admin: OrganisationAdmin, limit: LimitParam = 50, cursor: CursorParam = None
) -> dict:
    """The machine clients of the caller's organisation, revoked ones included, paged; read by its admins (people
    only)."""
    rows = await clients.list_clients(session, principal=admin, limit=limit, cursor=cursor)
    return page_of(rows, limit=limit, to_public=client_public)


@router.delete(
    "/{client_id}",
    summary="Révoquer un client machine",
    response_model=ClientPublic,
    responses=problem_responses(401, 403, 404, 422),
)
async def revoke_client(
    client_id: uuid.UUID, session: SessionDep, admin: OrganisationAdmin, clock: ClockDep
) -> ClientPublic:
    """Revokes one of the caller's organisation's machine clients (its admins, people only; 404 for another's):
    it obtains no token any more. Revoking it again answers the same."""
    client = await clients.revoke_client(
        session, organisation_id=clients.managed_organisation(admin), client_uuid=client_id, principal=admin,
        now=clock.now(),
    )
    return client_public(client)
