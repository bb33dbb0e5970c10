"""Reports: a project's actual values for one period, its narrative and evidence, reviewed by the desk."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from common.db import SessionDep
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses
from common.resources import answer, change_route, with_etag
from services.projects.reports import service as reports
from services.projects.reports.auth import ReportRead, ReportReview, ReportWrite
from services.projects.reports.dependencies import (
    AcceptedReport,
    CurrentReport,
    EditedReport,
    SentBackReport,
    SubmittedReport,
)
from services.projects.reports.schemas import (
    ChangesRequest,
    Period,
    ReportCreate,
    ReportDecision,
    ReportPublic,
    ReportStateFilter,
    ReportUpdate,
)

router = APIRouter(prefix="/reports", tags=["reports"])

# OpenAPI links: what a client can do next with the report it got back (schemathesis' stateful run follows them).
CREATED_LINKS = {"GetReport": {"operationId": "get_report", "parameters": {"report_id": "$response.body#/id"}}}
READ_LINKS = {
    "UpdateReport": {"operationId": "update_report", "parameters": {
        "report_id": "$request.path.report_id", "header.If-Match": "$response.header.ETag"}},
    "SubmitReport": {"operationId": "submit_report", "parameters": {
        "report_id": "$request.path.report_id", "header.If-Match": "$response.header.ETag"}},
}
# A report's changes are edits and moves alike with If-Match required: the holder and the desk may cross.
CHANGE = change_route(ReportPublic)


def _location(report: ReportPublic) -> str:
    return f"/api/v1/reports/{report.id}"


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
async def create_report(body: ReportCreate, session: SessionDep, caller: ReportWrite, call: IdempotencyDep) -> Response:
    """A draft report of one of the caller's association's projects (its members only). Refused: 409
    `report_exists` for a second one of the period; 422 `unknown_project` for another's project, or for values,
    a period or evidence that break the rules above."""
    report = await reports.create_report(session, principal=caller, request=body)
    return await answer(session, call, report, status_code=201, location=_location(report))


@router.get(
    "",
    summary="Rapports visibles par moi",
    response_model=Page[ReportPublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_reports(
    session: SessionDep,
    caller: ReportRead,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    project_id: Annotated[uuid.UUID | None, Query()] = None,
    state: Annotated[ReportStateFilter | None, Query()] = None,
    period: Annotated[Period | None, Query()] = None,
    updated_since: UpdatedSinceParam = None,
) -> dict:
    """A holder lists its organisation's; the desk and its services, all."""
    rows = await reports.list_reports(
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
async def get_report(report: CurrentReport, session: SessionDep, response: Response) -> ReportPublic:
    """One report with its values, evidence and history, read by its association, the desk and the desk's
    services; 404 for anyone else."""
    return with_etag(response, await reports.to_public(session, report))


@router.patch(
    "/{report_id}",
    summary="Modifier un rapport en brouillon ou à compléter (If-Match requis)",
    **CHANGE,
)
async def update_report(
    report: EditedReport, body: ReportUpdate, response: Response, session: SessionDep, caller: ReportWrite
) -> ReportPublic:
    """The same rules as at creation, by the report's association (404 for another's); only in `draft` or
    `changes_requested` (otherwise 409). Refused: 428 without If-Match, 412 on a stale one."""
    return with_etag(response, await reports.update_report(session, principal=caller, report=report, request=body))


@router.post(
    "/{report_id}/submit",
    summary="Déposer le rapport (If-Match requis, Idempotency-Key conseillé)",
    description="Complétude : une valeur pour chaque indicateur choisi pour la période et un récit ; les règles de "
    "forme à nouveau (les cibles ont pu changer). Sinon 409 `report_incomplete` qui les liste "
    "(`missing_indicators`).",
    **CHANGE,
)
async def submit_report(
    report: SubmittedReport, session: SessionDep, caller: ReportWrite, call: IdempotencyDep
) -> Response:
    """Completeness checked now, by the report's association (404 for another's); the report then waits for the
    desk. Refused: 409 `report_incomplete`, or for a report not in `draft` or `changes_requested`; 428 without
    If-Match, 412 on a stale one."""
    submitted = await reports.submit(session, principal=caller, report=report)
    return await answer(session, call, submitted, location=_location(submitted))


@router.post(
    "/{report_id}/accept",
    summary="Accepter un rapport déposé (guichet ; If-Match requis)",
    **CHANGE,
)
async def accept_report(
    report: AcceptedReport, session: SessionDep, caller: ReportReview, call: IdempotencyDep,
    body: ReportDecision | None = None,
) -> Response:
    """The desk accepts a submitted report, with an optional comment: its values then count in the aggregates.
    Refused: 409 for a report not submitted; 428 without If-Match, 412 on a stale one."""
    accepted = await reports.accept(session, principal=caller, report=report, comment=body.comment if body else None)
    return await answer(session, call, accepted, location=_location(accepted))


@router.post(
    "/{report_id}/request-changes",
    summary="Demander des compléments sur un rapport déposé (guichet ; commentaire requis ; If-Match requis)",
    **CHANGE,
)
async def request_report_changes(
    report: SentBackReport, body: ChangesRequest, session: SessionDep, caller: ReportReview, call: IdempotencyDep
) -> Response:
    """The desk sends a submitted report back to its holder with a comment; the holder changes it and submits it
    again. Refused: 409 for a report not submitted; 428 without If-Match, 412 on a stale one."""
    moved = await reports.request_changes(session, principal=caller, report=report, comment=body.comment)
    return await answer(session, call, moved, location=_location(moved))
