"""Dossiers: one per project and programme, with its co-funding plan."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from common.auth import Authorize
from common.clock import ClockDep
from common.db import SessionDep
from common.etag import check_if_match, etag_of, if_match_parameter
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses, request_language
from common.tokens import Principal
from services.funding.dossiers import filters, support, visibility
from services.funding.dossiers import service as dossiers
from services.funding.dossiers.schemas import (
    DossierCreate,
    DossierPublic,
    DossierSummary,
    DossierUpdate,
    RequiredDocuments,
)
from services.funding.fields import QpvCode
from services.funding.models.dossier import DossierState
from services.funding.models.programme import Track
from services.funding.peers import PeersDep
from services.vocabulary import COUNCIL_ROLES, DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES, Scope

router = APIRouter(prefix="/dossiers", tags=["dossiers"])

Reader = Annotated[
    Principal, Depends(Authorize(roles=HOLDER_ROLES | FUNDER_ROLES | DESK_ROLES, scope=Scope.dossiers_read))
]
Holder = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.dossiers_write))]
# The holder edits its draft; the desk's helper too, while an administrative support is active.
Editor = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES | DESK_ROLES, scope=Scope.dossiers_write))]
# A citizen council reads one dossier of its QPVs (the project and its budget), never the list.
OneReader = Annotated[
    Principal,
    Depends(Authorize(roles=HOLDER_ROLES | FUNDER_ROLES | DESK_ROLES | COUNCIL_ROLES, scope=Scope.dossiers_read)),
]


def _next_steps(dossier_id: str) -> dict[str, dict]:
    """OpenAPI links: what a client can do next with the dossier it got back (schemathesis' stateful run
    follows them); `dossier_id` is a runtime expression naming where its id is."""
    changes = {"dossier_id": dossier_id, "header.If-Match": "$response.header.ETag"}
    return {
        "GetDossier": {"operationId": "get_dossier", "parameters": {"dossier_id": dossier_id}},
        "UpdateDossier": {"operationId": "update_dossier", "parameters": changes},
        "SubmitDossier": {"operationId": "submit_dossier", "parameters": changes},
    }


def _headers(dossier: object) -> dict[str, str]:
    return {"Location": f"/api/v1/dossiers/{dossier.id}", "ETag": etag_of(dossier.version)}  # type: ignore[attr-defined]


@router.post(
    "",
    summary="Créer un dossier (brouillon) pour un de mes projets",
    status_code=201,
    response_model=DossierPublic,
    responses={
        **problem_responses(400, 401, 403, 409, 413, 422, 502), 201: {"links": _next_steps("$response.body#/id")}
    },
)
async def create_dossier(
    body: DossierCreate, session: SessionDep, caller: Holder, peers: PeersDep, call: IdempotencyDep, clock: ClockDep
) -> Response:
    """The human reference (GU-YYYY-NNNNNN) is given now and kept for the dossier's whole life."""
    dossier = await dossiers.create_dossier(
        session, principal=caller, request=body, peers=peers, today=clock.today()
    )
    return await call.respond(session, status_code=201, content=dossier, headers=_headers(dossier))


# A partner walks every dossier through this list: its page goes out as pydantic writes it, without FastAPI's
# second pass over the models (validation then a JSON encoding of their dump).
class DossierPage(Page[DossierPublic | DossierSummary]):
    """A page of dossiers, whole or summed up (`view=summary`); a class, so that the OpenAPI names it
    `DossierPage`, not `Page_Union_DossierPublic__DossierSummary__`."""


@router.get(
    "",
    summary="Dossiers visibles par moi",
    response_model=DossierPage,
    responses=problem_responses(400, 401, 403, 422),
)
async def list_dossiers(
    session: SessionDep,
    caller: Reader,
    clock: ClockDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    state: Annotated[DossierState | None, Query()] = None,
    programme_id: Annotated[uuid.UUID | None, Query()] = None,
    updated_since: UpdatedSinceParam = None,
    decision_overdue: Annotated[bool | None, Query(
        description="true : les petits projets dont la décision a dépassé le délai cible (horloge en marche)."
    )] = None,
    track: Annotated[Track | None, Query(description="Le parcours du programme.")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="L'année du programme.")] = None,
    funder_id: Annotated[uuid.UUID | None, Query(description="Un financeur que le plan sollicite.")] = None,
    qpv: Annotated[QpvCode | None, Query(description="Un QPV du projet, tel qu'au dépôt.")] = None,
    priority: Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$",
                                          description="Une priorité du projet, telle qu'au dépôt.")] = None,
    view: Annotated[Literal["full", "summary"], Query(
        description="full : chaque dossier entier ; summary : sans ce que le dépôt a figé (projet, budgets, fiche, "
        "documents, cibles), que donne GET /dossiers/{id} — une page bien plus légère pour qui parcourt tout."
    )] = "full",
) -> Response:
    """A holder lists its own; a funder, the submitted dossiers whose plan names it; the desk, all."""
    summary = view == "summary"
    rows = await visibility.visible_dossiers(
        session, principal=caller, state=state, programme_id=programme_id, updated_since=updated_since,
        limit=limit, cursor=cursor, decision_overdue=decision_overdue, now=clock.now(),
        filters=filters.DossierFilters(track=track, year=year, funder_id=funder_id, qpv=qpv, priority=priority),
        summary=summary,
    )
    page, next_cursor = split_page(rows, limit=limit)
    items = await dossiers.to_public_many(session, page, summary=summary)
    return Response(DossierPage(items=items, next_cursor=next_cursor).model_dump_json(), media_type="application/json")


@router.get(
    "/{dossier_id}",
    summary="Lire un dossier",
    response_model=DossierPublic,
    responses={
        **problem_responses(401, 403, 404, 422, 502), 200: {"links": _next_steps("$request.path.dossier_id")}
    },
)
async def get_dossier(
    dossier_id: uuid.UUID, session: SessionDep, caller: OneReader, peers: PeersDep, response: Response
) -> DossierPublic:
    """A citizen council sees the examined dossiers of its QPVs (identity says which QPVs it speaks for): the
    project and its budget, not the association's profile, yearly budget or documents."""
    dossier = await visibility.visible_dossier(session, principal=caller, dossier_id=dossier_id, peers=peers)
    response.headers["ETag"] = etag_of(dossier.version)
    return await visibility.public_view(session, principal=caller, dossier=dossier)


@router.patch(
    "/{dossier_id}",
    summary=(
        "Modifier le plan de financement ou les documents joints d'un brouillon (If-Match requis) — le porteur, ou "
        "l'accompagnant du guichet pendant un accompagnement"
    ),
    response_model=DossierPublic,
    responses={
        **problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 428),
        200: {"links": _next_steps("$request.path.dossier_id")},
    },
    openapi_extra=if_match_parameter(),
)
async def update_dossier(
    dossier_id: uuid.UUID,
    body: DossierUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    caller: Editor,
) -> DossierPublic:
    """The holder, or the desk's helper while an administrative support is active (the trail names who)."""
    if caller.has_any_role(DESK_ROLES):
        dossier = await dossiers.any_dossier(session, dossier_id)
        support.require_helper(caller, dossier)
    else:
        dossier = await visibility.owned_dossier(session, principal=caller, dossier_id=dossier_id)
    check_if_match(request, dossier.version)
    updated = await dossiers.update_draft(session, principal=caller, dossier=dossier, request=body)
    response.headers["ETag"] = etag_of(updated.version)
    return updated


@router.post(
    "/{dossier_id}/submit",
    summary="Déposer le dossier (Idempotency-Key conseillé)",
    response_model=DossierPublic,
    responses=problem_responses(401, 403, 404, 409, 412, 422, 502),
    openapi_extra=if_match_parameter(required=False),
)
async def submit_dossier(
    dossier_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    caller: Holder,
    peers: PeersDep,
    call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    """Takes a snapshot of the project as it stands; later changes to the project do not touch it."""
    dossier = await visibility.owned_dossier(session, principal=caller, dossier_id=dossier_id)
    check_if_match(request, dossier.version, required=False)
    submitted = await dossiers.submit(
        session, principal=caller, dossier=dossier, peers=peers, language=request_language(request),
        now=clock.now(),
    )
    return await call.respond(session, status_code=200, content=submitted, headers=_headers(submitted))


@router.get(
    "/{dossier_id}/required-documents",
    summary="Pièces exigées par le dispositif, et celles que le coffre-fort de l'association contient",
    response_model=RequiredDocuments,
    responses=problem_responses(401, 403, 404, 422, 502),
)
async def dossier_required_documents(
    dossier_id: uuid.UUID, session: SessionDep, caller: Reader, peers: PeersDep, clock: ClockDep
) -> RequiredDocuments:
    dossier = await visibility.visible_dossier(session, principal=caller, dossier_id=dossier_id)
    return await dossiers.required_documents(session, dossier=dossier, peers=peers, today=clock.today())
