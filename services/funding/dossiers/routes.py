"""Dossiers: one per project and programme, with its co-funding plan."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from common.clock import ClockDep
from common.db import SessionDep
from common.etag import check_if_match, if_match_parameter
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, UpdatedSinceParam
from common.problems import problem_responses
from common.resources import answer, change_route, with_etag
from services.funding.dossiers import filters, pin_saga, submission, visibility
from services.funding.dossiers import service as dossiers
from services.funding.dossiers.auth import DossierHolder, DossierOrCouncilReader, DraftEditor
from services.funding.dossiers.dependencies import CurrentDossier, EditableDraft, PreparedSubmission
from services.funding.dossiers.schemas import (
    DossierCreate,
    DossierPage,
    DossierPublic,
    DossierUpdate,
    RequiredDocuments,
)
from services.funding.fields import QpvCode
from services.funding.models.dossier import DossierState
from services.funding.models.programme import Track
from services.funding.peers import PeersDep

router = APIRouter(prefix="/dossiers", tags=["dossiers"])

def _next_steps(dossier_id: str) -> dict[str, dict[str, Any]]:
    """OpenAPI links: what a client can do next with the dossier it got back (schemathesis' stateful run
    follows them); `dossier_id` is a runtime expression naming where its id is."""
    changes = {"dossier_id": dossier_id, "header.If-Match": "$response.header.ETag"}
    return {
        "GetDossier": {"operationId": "get_dossier", "parameters": {"dossier_id": dossier_id}},
        "UpdateDossier": {"operationId": "update_dossier", "parameters": changes},
        "SubmitDossier": {"operationId": "submit_dossier", "parameters": changes},
    }


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
    body: DossierCreate, session: SessionDep, caller: DossierHolder, peers: PeersDep, call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    """A draft for one of the caller's projects under an open programme; the association's people only. The human
    reference (GU-YYYY-NNNNNN) is given now and kept for the dossier's whole life. Refused: 409
    `programme_closed` (past its deadline or not open yet), 422 `unknown_project`, `funder_not_in_programme`,
    `above_ceiling`, `funding_plan_required` or `simplified_dossier`; 503 while projects is away (504 when too slow)."""
    dossier = await dossiers.create_dossier(
        session, principal=caller, request=body, peers=peers, today=clock.today()
    )
    return await answer(session, call, dossier, status_code=201, location=f"/api/v1/dossiers/{dossier.id}")


@router.get(
    "",
    summary="Dossiers visibles par moi",
    description="Un conseil citoyen : les dossiers de ses QPV en instruction ou prêts pour le comité, et ceux sur "
    "lesquels il a donné son avis (le projet et son budget ; ni la fiche de l'association, ni son budget annuel, "
    "ni ses pièces).",
    response_model=DossierPage,
    responses=problem_responses(400, 401, 403, 422, 502),
)
async def list_dossiers(
    session: SessionDep,
    caller: DossierOrCouncilReader,
    peers: PeersDep,
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
    reference: filters.ReferenceParam = None,
    view: Annotated[Literal["full", "summary"], Query(
        description="full : chaque dossier entier ; summary : sans ce que le dépôt a figé (projet, budgets, fiche, "
        "documents, cibles), que donne GET /dossiers/{id} — une page bien plus légère pour qui parcourt tout."
    )] = "full",
) -> Response:
    """A holder lists its own; a funder, the dossiers routed to it (and not declined); the desk, all; a citizen
    council, the examined dossiers of its QPVs and those it gave its opinion on (identity says which QPVs it speaks
    for: 503 while identity is away)."""
    items, next_cursor = await visibility.visible_page(
        session, principal=caller, state=state, programme_id=programme_id, updated_since=updated_since,
        limit=limit, cursor=cursor, decision_overdue=decision_overdue, now=clock.now(),
        filters=filters.DossierFilters(track=track, year=year, funder_id=funder_id, qpv=qpv, priority=priority,
                                       reference=reference),
        summary=view == "summary", peers=peers,
    )
    # A partner walks every dossier through this list: its page goes out as pydantic writes it, without FastAPI's
    # second pass over the models (validation then a JSON encoding of their dump).
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
    dossier_id: uuid.UUID, session: SessionDep, caller: DossierOrCouncilReader, peers: PeersDep, response: Response
) -> DossierPublic:
    """The holder reads its own, a routed funder (and not declined) those routed to it, the desk all; 404 for
    anyone else. A citizen council sees the examined dossiers of its QPVs (identity says which QPVs it speaks
    for): the project and its budget, not the association's profile, yearly budget or documents."""
    dossier = await visibility.visible_dossier(session, principal=caller, dossier_id=dossier_id, peers=peers)
    return with_etag(response, await visibility.public_view(session, principal=caller, dossier=dossier))


# A draft's edit (If-Match required), with the links a client follows next.
EDIT = change_route(DossierPublic)
EDIT["responses"][200] = {"links": _next_steps("$request.path.dossier_id")}


@router.patch(
    "/{dossier_id}",
    summary=(
        "Modifier le plan de financement ou les documents joints d'un brouillon (If-Match requis) — le porteur, ou "
        "l'accompagnant du guichet pendant un accompagnement"
    ),
    **EDIT,
)
async def update_dossier(
    body: DossierUpdate, response: Response, session: SessionDep, caller: DraftEditor, dossier: EditableDraft
) -> DossierPublic:
    """The holder, or the desk's helper while an administrative support is active (the trail names who; 409
    `not_the_helper` for anyone else of the desk). Refused: 409 `illegal_transition` once submitted (until
    supplements are asked), 412 on a stale If-Match, 428 without one, 422 on a plan the programme refuses."""
    updated = await dossiers.update_draft(session, principal=caller, dossier=dossier, request=body)
    return with_etag(response, updated)


@router.post(
    "/{dossier_id}/submit",
    summary="Déposer le dossier (Idempotency-Key conseillé)",
    response_model=DossierPublic,
    responses=problem_responses(401, 403, 404, 409, 412, 422, 502),
    openapi_extra=if_match_parameter(required=False),
)
async def submit_dossier(
    request: Request,
    caller: DossierHolder,
    prepared: PreparedSubmission,
    session: SessionDep,
    peers: PeersDep,
    call: IdempotencyDep,
    clock: ClockDep,
) -> Response:
    """The holder hands its draft (or its supplements) to the desk. Takes a snapshot of the project as it stands;
    later changes to the project do not touch it. Refused: 409 `dossier_not_ready` with each failed rule (a late
    financial report, a track's rule, a document unknown to the vault), 409 `programme_closed`, 409
    `illegal_transition`, 409 `dossier_changed` when the dossier changed while identity and projects were asked;
    503 while identity or projects is away (504 when too slow)."""
    # Identity and projects were asked (and the documents reserved) before this first statement takes the lock;
    # committed here, so that the reservation is released when the commit fails and confirmed once it held.
    try:
        dossier = await visibility.owned_dossier(session, principal=caller, dossier_id=prepared.dossier_id)
        check_if_match(request, dossier.version, required=False)
        submitted = await submission.submit(
            session, principal=caller, dossier=dossier, prepared=prepared, now=clock.now()
        )
        response = await answer(session, call, submitted, location=f"/api/v1/dossiers/{submitted.id}")
        await session.commit()
    except BaseException:
        await session.rollback()  # the lock goes before projects is called
        await pin_saga.release_attempt(peers, prepared.dossier_id, prepared.attempt_id)
        raise
    await pin_saga.settle_after_commit(request.app.state.db, peers, dossier)
    return response


@router.get(
    "/{dossier_id}/required-documents",
    summary="Pièces exigées par le dispositif, et celles que le coffre-fort de l'association contient",
    response_model=RequiredDocuments,
    responses=problem_responses(401, 403, 404, 422, 502),
)
async def dossier_required_documents(
    dossier: CurrentDossier, session: SessionDep, peers: PeersDep, clock: ClockDep
) -> RequiredDocuments:
    """The documents the dossier's track requires, and whether the association's vault holds a valid one today;
    for whoever reads the dossier (404 otherwise), 503 while projects is away (504 when too slow)."""
    return await submission.required_documents(session, dossier=dossier, peers=peers, today=clock.today())
