"""The financial report a route works on, loaded (or loaded and locked) for the caller: 404 for what it may not
see, 412 for a stale If-Match."""

from typing import Annotated

from fastapi import Depends

from common.resources import locked_resource, resource
from services.funding.financial_reports import repository
from services.funding.financial_reports.auth import (
    FinancialReportReviewer,
    FinancialReportsReader,
    FinancialReportWriter,
)
from services.funding.financial_reports.schemas import FinancialReportUpdate, ReviewComment
from services.funding.models.financial_report import FinancialReport


async def _update_first(body: FinancialReportUpdate) -> None:
    """The report's new content, read before the report is locked: an invalid one answers 422, whatever the
    If-Match says (FastAPI reads a route's own body only after its dependencies)."""


async def _comment_first(body: ReviewComment) -> None:
    """The reviewer's comment, read before the report is locked (as `_update_first`)."""


CurrentReport = Annotated[
    FinancialReport, resource(repository.readable_report, path="report_id", caller=FinancialReportsReader)
]
# The content's edit (a PUT): If-Match required, no Idempotency-Key.
EditedReport = Annotated[
    FinancialReport,
    locked_resource(repository.locked_report, path="report_id", caller=FinancialReportWriter, if_match_required=True,
                    idempotent=False, before=[Depends(_update_first)]),
]
SubmittedReport = Annotated[
    FinancialReport,
    locked_resource(repository.locked_report, path="report_id", caller=FinancialReportWriter, if_match_required=False),
]
ReviewedReport = Annotated[
    FinancialReport,
    locked_resource(repository.locked_report, path="report_id", caller=FinancialReportReviewer,
                    if_match_required=False),
]
ReturnedReport = Annotated[
    FinancialReport,
    locked_resource(repository.locked_report, path="report_id", caller=FinancialReportReviewer,
                    if_match_required=False, before=[Depends(_comment_first)]),
]
