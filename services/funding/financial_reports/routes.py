"""Financial reports (CERFA 15059): filled in and submitted by the association, accepted by the funder."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from common.auth import Authorize
from common.clock import ClockDep
from common.db import SessionDep
from common.etag import check_if_match, etag_of, if_match_parameter
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses
from common.tokens import Principal
from services.funding.dossiers.filters import DossierFiltersDep
from services.funding.financial_reports import service as financial_reports
from services.funding.financial_reports.schemas import FinancialReportPublic, FinancialReportUpdate, ReviewComment
from services.funding.models.financial_report import FinancialReport, ReportState
from services.vocabulary import DESK_ROLES, FUNDER_ROLES, HOLDER_ROLES, Scope

router = APIRouter(prefix="/financial-reports", tags=["financial-reports"])

Reader = Annotated[
    Principal, Depends(Authorize(roles=DESK_ROLES | FUNDER_ROLES | HOLDER_ROLES, scope=Scope.financial_reports_read))
]
Holder = Annotated[Principal, Depends(Authorize(roles=HOLDER_ROLES, scope=Scope.financial_reports_write))]
Reviewer = Annotated[
    Principal, Depends(Authorize(roles=financial_reports.REVIEWERS, scope=Scope.financial_reports_write))
]
MOVE = {
    "response_model": FinancialReportPublic,
    "responses": problem_responses(400, 401, 403, 404, 409, 412, 413, 422),
    "openapi_extra": if_match_parameter(required=False),
}


@router.get(
    "",
    summary=(
        "Comptes rendus financiers visibles (ceux de mon association, de mon financeur ; tous pour le guichet) ; "
        "overdue=true : ceux en retard"
    ),
    response_model=Page[FinancialReportPublic],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_financial_reports(
    session: SessionDep,
    caller: Reader,
    clock: ClockDep,
    filters: DossierFiltersDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    state: Annotated[ReportState | None, Query()] = None,
    overdue: Annotated[bool | None, Query(description="true : encore dus après leur date.")] = None,
    funder_id: Annotated[uuid.UUID | None, Query(description="Le financeur à qui le compte rendu est dû.")] = None,
    dossier_id: Annotated[uuid.UUID | None, Query()] = None,
    year: Annotated[int | None, Query(
        ge=2000, le=2100,
        description="L'exercice dont le compte rendu rend compte : l'année du programme, ou pour une CPO chacune "
        "de ses années.",
    )] = None,
    updated_since: UpdatedSinceParam = None,
) -> Page[FinancialReportPublic]:
    today = clock.today()
    rows = await financial_reports.visible_reports(
        session, principal=caller, today=today, state=state, overdue=overdue, funder_id=funder_id,
        dossier_id=dossier_id, updated_since=updated_since, limit=limit, cursor=cursor, year=year, filters=filters,
    )
    page, next_cursor = split_page(rows, limit=limit)
    return Page(
        items=[await financial_reports.to_public(session, caller, row, today) for row in page], next_cursor=next_cursor
    )


@router.get(
    "/{report_id}",
    summary="Un compte rendu financier : le prévu et le réalisé ligne à ligne, les écarts",
    response_model=FinancialReportPublic,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_financial_report(
    report_id: uuid.UUID, session: SessionDep, caller: Reader, clock: ClockDep, response: Response
) -> FinancialReportPublic:
    report = await financial_reports.visible_report(session, principal=caller, report_id=report_id)
    response.headers["ETag"] = etag_of(report.version)
    return await financial_reports.to_public(session, caller, report, clock.today())


async def _locked(request: Request, session: SessionDep, caller: Principal, report_id: uuid.UUID,
                  *, required: bool = False) -> FinancialReport:
    report = await financial_reports.visible_report(session, principal=caller, report_id=report_id, for_update=True)
    check_if_match(request, report.version, required=required)
    return report


async def _answer(session: SessionDep, caller: Principal, report: FinancialReport, clock: ClockDep,
                  call: IdempotencyDep | None = None) -> Response:
    await session.flush()
    public = await financial_reports.to_public(session, caller, report, clock.today())
    headers = {"ETag": etag_of(public.version)}
    if call is None:
        return Response(public.model_dump_json(), media_type="application/json", headers=headers)
    return await call.respond(session, status_code=200, content=public, headers=headers)


@router.put(
    "/{report_id}",
    summary="Saisir le réalisé de chaque ligne du budget prévu, et les explications des écarts (association)",
    response_model=FinancialReportPublic,
    responses=problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 428),
    openapi_extra=if_match_parameter(required=True),
)
async def update_financial_report(
    report_id: uuid.UUID, body: FinancialReportUpdate, request: Request, session: SessionDep, caller: Holder,
    clock: ClockDep,
) -> Response:
    """The whole report is replaced, one entry per planned line in its order; the same content keeps the version."""
    report = await _locked(request, session, caller, report_id, required=True)
    financial_reports.update(caller, report, body)
    return await _answer(session, caller, report, clock)


@router.post(
    "/{report_id}/submit",
    summary="Déposer le compte rendu : tout le réalisé saisi, chaque écart de plus de 15 % expliqué (association)",
    **MOVE,
)
async def submit_financial_report(
    report_id: uuid.UUID, request: Request, session: SessionDep, caller: Holder, clock: ClockDep,
    call: IdempotencyDep,
) -> Response:
    report = await _locked(request, session, caller, report_id)
    financial_reports.submit(caller, report, clock.now())
    return await _answer(session, caller, report, clock, call)


@router.post("/{report_id}/accept", summary="Accepter le compte rendu déposé (financeur)", **MOVE)
async def accept_financial_report(
    report_id: uuid.UUID, request: Request, session: SessionDep, caller: Reviewer, clock: ClockDep,
    call: IdempotencyDep,
) -> Response:
    report = await _locked(request, session, caller, report_id)
    financial_reports.review(caller, report, clock.now(), accepted=True, comment=None)
    return await _answer(session, caller, report, clock, call)


@router.post(
    "/{report_id}/request-changes",
    summary="Demander des corrections au compte rendu déposé, avec un commentaire (financeur)",
    **MOVE,
)
async def request_financial_report_changes(
    report_id: uuid.UUID, body: ReviewComment, request: Request, session: SessionDep, caller: Reviewer,
    clock: ClockDep, call: IdempotencyDep,
) -> Response:
    report = await _locked(request, session, caller, report_id)
    financial_reports.review(caller, report, clock.now(), accepted=False, comment=body.comment)
    return await _answer(session, caller, report, clock, call)
