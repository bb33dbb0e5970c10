"""Envelopes: what each funder puts into a programme for a year, what is committed on it, and its ledger."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from common.db import SessionDep
from common.etag import if_match_parameter
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses
from common.resources import answer, with_etag
from services.funding.envelopes import repository
from services.funding.envelopes import service as envelopes
from services.funding.envelopes.auth import EnvelopeManager, EnvelopesReader
from services.funding.envelopes.dependencies import CurrentEnvelope, ManagedEnvelope
from services.funding.envelopes.schemas import EnvelopeCreate, EnvelopePublic, EnvelopeUpdate, MovementPublic

router = APIRouter(prefix="/envelopes", tags=["envelopes"])

ENVELOPE_EXAMPLE: dict[str, Any] = {
    "id": "0b7f4c1e-5d1a-4f57-9a55-8a4f1f0e2c11",
    "funder_id": "5c1b7c8e-8f0a-5b7e-9d55-2f7c1a0e9b31",
    "programme_id": "8d2e6f4a-1c3b-5a9d-8e7f-6a5b4c3d2e1f",
    "year": 2027,
    "total_cents": 20_000_000,
    "committed_cents": 4_500_000,
    "paid_cents": 0,
    "available_cents": 15_500_000,
    "version": 4,
    "created_at": "2027-01-04T09:30:00Z",
    "updated_at": "2027-03-12T17:05:00Z",
}
# Just opened: nothing committed yet, version 1.
OPENED_EXAMPLE = {
    **ENVELOPE_EXAMPLE, "committed_cents": 0, "available_cents": 20_000_000, "version": 1,
    "updated_at": ENVELOPE_EXAMPLE["created_at"],
}


def _next_steps(envelope_id: str) -> dict[str, dict[str, Any]]:
    """OpenAPI links: what a client can do next with the envelope it got back (schemathesis follows them)."""
    return {
        "GetEnvelope": {"operationId": "get_envelope", "parameters": {"envelope_id": envelope_id}},
        "UpdateEnvelope": {
            "operationId": "update_envelope",
            "parameters": {"envelope_id": envelope_id, "header.If-Match": "$response.header.ETag"},
        },
        "ListEnvelopeLedger": {"operationId": "list_envelope_ledger", "parameters": {"envelope_id": envelope_id}},
    }


def _ok(
    links: dict[str, dict[str, Any]], status: int = 200, example: dict[str, Any] = ENVELOPE_EXAMPLE
) -> dict[int | str, dict[str, Any]]:
    return {status: {"links": links, "content": {"application/json": {"example": example}}}}


@router.post(
    "",
    summary="Ouvrir une enveloppe de mon organisation pour un programme et une année (gestionnaire du financeur)",
    status_code=201,
    response_model=EnvelopePublic,
    responses={
        **problem_responses(400, 401, 403, 409, 413, 422), **_ok(_next_steps("$response.body#/id"), 201, OPENED_EXAMPLE)
    },
)
async def create_envelope(
    body: EnvelopeCreate, session: SessionDep, caller: EnvelopeManager, call: IdempotencyDep
) -> Response:
    """A funder's manager opens an envelope of its organisation, for a programme it funds (422
    `funder_not_in_programme` otherwise). One envelope per funder, programme and year: a second one is a 409
    `envelope_exists`."""
    envelope = await envelopes.create_envelope(session, principal=caller, request=body)
    return await answer(session, call, envelope, status_code=201, location=f"/api/v1/envelopes/{envelope.id}")


@router.get(
    "",
    summary="Enveloppes visibles par moi (celles de mon organisation ; toutes pour le guichet)",
    response_model=Page[EnvelopePublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_envelopes(
    session: SessionDep,
    caller: EnvelopesReader,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    programme_id: Annotated[uuid.UUID | None, Query()] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    funder_id: Annotated[uuid.UUID | None, Query(description="Financeur (le guichet les voit tous).")] = None,
    updated_since: UpdatedSinceParam = None,
) -> Page[EnvelopePublic]:
    """The desk reads every envelope, a funder's people their organisation's."""
    rows = await repository.list_envelopes(
        session, principal=caller, programme_id=programme_id, year=year, funder_id=funder_id,
        updated_since=updated_since, limit=limit, cursor=cursor,
    )
    page, next_cursor = split_page(rows, limit=limit)
    return Page(items=[envelopes.to_public(e) for e in page], next_cursor=next_cursor)


@router.get(
    "/{envelope_id}",
    summary="Lire une enveloppe : total, engagé, versé, disponible",
    response_model=EnvelopePublic,
    responses={**problem_responses(401, 403, 404, 422), **_ok(_next_steps("$request.path.envelope_id"))},
)
async def get_envelope(envelope: CurrentEnvelope, response: Response) -> EnvelopePublic:
    """One envelope the caller may read (404 otherwise), with its ETag."""
    return with_etag(response, envelopes.to_public(envelope))


@router.patch(
    "/{envelope_id}",
    summary="Changer le montant d'une enveloppe de mon organisation (If-Match requis)",
    response_model=EnvelopePublic,
    responses={
        **problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 428),
        **_ok(_next_steps("$request.path.envelope_id")),
    },
    openapi_extra=if_match_parameter(),
)
async def update_envelope(
    body: EnvelopeUpdate, envelope: ManagedEnvelope, response: Response, session: SessionDep, caller: EnvelopeManager
) -> EnvelopePublic:
    """A funder's manager changes its envelope's total, If-Match required (428 without, 412 when stale). Never below
    what is committed (409 `envelope_below_committed`); the same total keeps the version."""
    updated = await envelopes.change_total(session, principal=caller, envelope=envelope, request=body)
    return with_etag(response, updated)


@router.get(
    "/{envelope_id}/ledger",
    summary="Registre des mouvements d'une enveloppe, dans l'ordre",
    response_model=Page[MovementPublic],
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def list_envelope_ledger(
    envelope: CurrentEnvelope, session: SessionDep, limit: LimitParam = 50, cursor: CursorParam = None
) -> Page[MovementPublic]:
    """Each movement with the balances right after it; commitments and releases add up to `committed_cents`. For
    whoever may read the envelope."""
    items, next_cursor = await envelopes.ledger(session, envelope, limit=limit, cursor=cursor)
    return Page(items=items, next_cursor=next_cursor)
