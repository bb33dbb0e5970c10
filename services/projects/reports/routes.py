"""Reports: a project's actual values for one period, its narrative and evidence, reviewed by the desk."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from common.auth import Authorize
from common.db import SessionDep
from common.etag import check_if_match, etag_of, if_match_parameter
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses
from common.tokens import Principal
from services.projects.reports import service as reports
from services.projects.reports.schemas import (
    ChangesRequest,
    Period,
    ReportCreate,
    ReportDecision,
    ReportPublic,
    ReportStateFilter,
    ReportUpdate,
)
from services.vocabulary import DESK_ROLES, HOLDER_ROLES, Scope

router = APIRouter(prefix="/reports", tags=["reports"])

Reader = Annotated[
    Principal, Depends(Authorize(roles=HOLDER_ROLES | DESK_ROLES, scope=Scope.projects_read, services=True))
]
Holder = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.projects_write))]
Desk = Annotated[Principal, Depends(Authorize(roles=DESK_ROLES, scope=Scope.projects_write))]


# OpenAPI links: what a client can do next with the report it got back (schemathesis' stateful run follows them).
_CHANGE = {"header.If-Match": "$response.header.ETag"}
CREATED_LINKS = {"GetReport": {"operationId": "get_report", "parameters": {"report_id": "$response.body#/id"}}}
READ_LINKS = {
    "UpdateReport": {"operationId": "update_report", "parameters": {"report_id": "$request.path.report_id", **_CHANGE}},
    "SubmitReport": {"operationId": "submit_report", "parameters": {"report_id": "$request.path.report_id", **_CHANGE}},
}


def _headers(report: ReportPublic) -> dict[str, str]:
    return {"Location": f"/api/v1/reports/{report.id}", "ETag": etag_of(report.version)}


ACTION_RESPONSES = problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 428)


@router.post(
    "",
    summary="Créer le rapport (brouillon) d'un de mes projets pour une période",
    status_code=201,
    response_model=ReportPublic,
    description="Un rapport par projet et période (un second : 409 `report_exists`). À chaque enregistrement : "
    "la période est une de celles pour lesquelles le projet suit des indicateurs ; chaque valeur porte sur un "
    "indicateur choisi pour elle, une seule fois, ≥ 0 avec au plus deux décimales (entier JSON ou chaîne "
    "décimale), entière pour des effectifs, entre 0 et 100 pour un pourcentage, jamais au-dessus de son tout "
    "(« dont ») ni du dénominateur de son ratio ; les preuves sont des versions de documents de l'association. "
    "La complétude est vérifiée au dépôt.",
    responses={
        **problem_responses(400, 401, 403, 409, 413, 422), 201: {"links": CREATED_LINKS}
    },
)
async def create_report(body: ReportCreate, session: SessionDep, caller: Holder, call: IdempotencyDep) -> Response:
    report = await reports.create_report(session, principal=caller, request=body)
    return await call.respond(session, status_code=201, content=report, headers=_headers(report))


@router.get(
    "",
    summary="Rapports visibles par moi",
    response_model=Page[ReportPublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_reports(
    session: SessionDep,
    caller: Reader,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    project_id: Annotated[uuid.UUID | None, Query()] = None,
    state: Annotated[ReportStateFilter | None, Query()] = None,
    period: Annotated[Period | None, Query()] = None,
    updated_since: UpdatedSinceParam = None,
) -> dict:
    """A holder lists its organisation's; the desk and its services, all."""
    rows = await reports.visible_reports(
        session, principal=caller, project_id=project_id, state=state, period=period, updated_since=updated_since,
        limit=limit, cursor=cursor,
    )
    page, next_cursor = split_page(rows, limit=limit)
    return {"items": await reports.to_public_many(session, page), "next_cursor": next_cursor}


@router.get(
    "/{report_id}",
    summary="Lire un rapport, avec son historique",
    response_model=ReportPublic,
    responses={**problem_responses(401, 403, 404, 422), 200: {"links": READ_LINKS}},
)
async def get_report(report_id: uuid.UUID, session: SessionDep, caller: Reader, response: Response) -> ReportPublic:
    report = await reports.visible_report(session, principal=caller, report_id=report_id)
    response.headers["ETag"] = etag_of(report.version)
    return await reports.to_public(session, report)


@router.patch(
    "/{report_id}",
    summary="Modifier un rapport en brouillon ou à compléter (If-Match requis)",
    response_model=ReportPublic,
    responses=ACTION_RESPONSES,
    openapi_extra=if_match_parameter(),
)
async def update_report(
    report_id: uuid.UUID,
    body: ReportUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    caller: Holder,
) -> ReportPublic:
    """The same rules as at creation; only in `draft` or `changes_requested` (otherwise 409)."""
    report = await reports.owned_report(session, principal=caller, report_id=report_id)
    check_if_match(request, report.version)
    updated = await reports.update_report(session, principal=caller, report=report, request=body)
    response.headers["ETag"] = etag_of(updated.version)
    return updated


@router.post(
    "/{report_id}/submit",
    summary="Déposer le rapport (If-Match requis, Idempotency-Key conseillé)",
    description="Complétude : une valeur pour chaque indicateur choisi pour la période et un récit ; les règles de "
    "forme à nouveau (les cibles ont pu changer). Sinon 409 `report_incomplete` qui les liste "
    "(`missing_indicators`).",
    response_model=ReportPublic,
    responses=ACTION_RESPONSES,
    openapi_extra=if_match_parameter(),
)
async def submit_report(
    report_id: uuid.UUID, request: Request, session: SessionDep, caller: Holder, call: IdempotencyDep
) -> Response:
    """Completeness checked now; the report then waits for the desk."""
    report = await reports.owned_report(session, principal=caller, report_id=report_id)
    check_if_match(request, report.version)
    submitted = await reports.submit(session, principal=caller, report=report)
    return await call.respond(session, status_code=200, content=submitted, headers=_headers(submitted))


@router.post(
    "/{report_id}/accept",
    summary="Accepter un rapport déposé (guichet ; If-Match requis)",
    response_model=ReportPublic,
    responses=ACTION_RESPONSES,
    openapi_extra=if_match_parameter(),
)
async def accept_report(
    report_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    caller: Desk,
    call: IdempotencyDep,
    body: ReportDecision | None = None,
) -> Response:
    """Its values then count in the aggregates."""
    report = await reports.visible_report(session, principal=caller, report_id=report_id, for_update=True)
    check_if_match(request, report.version)
    accepted = await reports.accept(session, principal=caller, report=report, comment=body.comment if body else None)
    return await call.respond(session, status_code=200, content=accepted, headers=_headers(accepted))


@router.post(
    "/{report_id}/request-changes",
    summary="Demander des compléments sur un rapport déposé (guichet ; commentaire requis ; If-Match requis)",
    response_model=ReportPublic,
    responses=ACTION_RESPONSES,
    openapi_extra=if_match_parameter(),
)
async def request_report_changes(
    report_id: uuid.UUID,
    body: ChangesRequest,
    request: Request,
    session: SessionDep,
    caller: Desk,
    call: IdempotencyDep,
) -> Response:
    """The report goes back to its holder, who changes it and submits it again."""
    report = await reports.visible_report(session, principal=caller, report_id=report_id, for_update=True)
    check_if_match(request, report.version)
    moved = await reports.request_changes(session, principal=caller, report=report, comment=body.comment)
    return await call.respond(session, status_code=200, content=moved, headers=_headers(moved))
