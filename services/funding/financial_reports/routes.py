"""Financial reports (CERFA 15059): filled in and submitted by the association, accepted by the funder."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from common.clock import ClockDep
from common.db import SessionDep
from common.idempotency import IdempotencyDep
from common.pagination import CursorParam, LimitParam, Page, UpdatedSinceParam, split_page
from common.problems import problem_responses
from common.resources import answer, change_route, move_route, with_etag
from services.funding.dossiers.filters import DossierFiltersDep
from services.funding.financial_reports import repository
from services.funding.financial_reports import service as financial_reports
from services.funding.financial_reports.auth import (
    FinancialReportReviewer,
    FinancialReportsReader,
    FinancialReportWriter,
)
from services.funding.financial_reports.dependencies import (
    CurrentReport,
    EditedReport,
    ReturnedReport,
    ReviewedReport,
    SubmittedReport,
)
from services.funding.financial_reports.schemas import FinancialReportPublic, FinancialReportUpdate, ReviewComment
from services.funding.models.financial_report import ReportState

router = APIRouter(prefix="/financial-reports", tags=["financial-reports"])

MOVE = move_route(FinancialReportPublic)


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
    caller: FinancialReportsReader,
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
    """The desk reads every report, a funder's people those owed to their funder, an association's members their
    own; each with the moves open to the caller."""
    today = clock.today()
    rows = await repository.list_reports(
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
    report: CurrentReport, session: SessionDep, caller: FinancialReportsReader, clock: ClockDep, response: Response
) -> FinancialReportPublic:
    """One report the caller may read (404 otherwise), with its ETag, its gaps and the moves open to the caller."""
    return with_etag(response, await financial_reports.to_public(session, caller, report, clock.today()))


@router.put(
    "/{report_id}",
    summary="Saisir le réalisé, les lignes non prévues, l'annexe, le bilan qualitatif et le signataire (association)",
    **change_route(FinancialReportPublic),
)
async def update_financial_report(
    body: FinancialReportUpdate, report: EditedReport, session: SessionDep, caller: FinancialReportWriter,
    clock: ClockDep, response: Response,
) -> FinancialReportPublic:
    """The association's members replace the whole report, one entry per planned line in its order (422
    `report_lines_mismatch` otherwise), the unplanned lines, the annex, the qualitative account and the signatory
    (422 `signed_in_the_future` for a signature after today); If-Match required (428 without). The same content
    keeps the version. Refused (409 `illegal_transition`) once submitted."""
    financial_reports.update(caller, report, body, clock.today())
    return with_etag(response, await financial_reports.to_public(session, caller, report, clock.today()))


@router.post(
    "/{report_id}/submit",
    summary="Déposer le compte rendu : tout le réalisé saisi, chaque écart au-delà du seuil expliqué (association)",
    **MOVE,
)
async def submit_financial_report(
    report: SubmittedReport, session: SessionDep, caller: FinancialReportWriter, clock: ClockDep,
    call: IdempotencyDep,
) -> Response:
    """The association's members hand in a report whose every actual amount is entered and every gap over the
    programme's threshold (15 % by default) explained; a financial report (CERFA 15059) also carries its qualitative
    account, its signatory and the annex its figures call for (409 `report_incomplete`, naming what is missing)."""
    financial_reports.submit(caller, report, clock.now())
    return await answer(session, call, await financial_reports.to_public(session, caller, report, clock.today()))


@router.post("/{report_id}/accept", summary="Accepter le compte rendu déposé (financeur)", **MOVE)
async def accept_financial_report(
    report: ReviewedReport, session: SessionDep, caller: FinancialReportReviewer, clock: ClockDep,
    call: IdempotencyDep,
) -> Response:
    """The funder's instructors and managers accept a submitted report owed to their funder. Refused (409
    `illegal_transition`) unless submitted."""
    financial_reports.review(caller, report, clock.now(), accepted=True, comment=None)
    return await answer(session, call, await financial_reports.to_public(session, caller, report, clock.today()))


@router.post(
    "/{report_id}/request-changes",
    summary="Demander des corrections au compte rendu déposé, avec un commentaire (financeur)",
    **MOVE,
)
async def request_financial_report_changes(
    body: ReviewComment, report: ReturnedReport, session: SessionDep, caller: FinancialReportReviewer,
    clock: ClockDep, call: IdempotencyDep,
) -> Response:
    """The funder's instructors and managers send a submitted report back with a comment. Refused (409
    `illegal_transition`) unless submitted."""
    financial_reports.review(caller, report, clock.now(), accepted=False, comment=body.comment)
    return await answer(session, call, await financial_reports.to_public(session, caller, report, clock.today()))
