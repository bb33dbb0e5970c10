"""The financial report a route works on, loaded (or loaded and locked) for the caller: 404 for what it may not
see, 412 for a stale If-Match."""

from typing import Annotated

from common.resources import locked_resource, resource, validated_body
from services.funding.financial_reports import repository
from services.funding.financial_reports.auth import (
    FinancialReportReviewer,
    FinancialReportsReader,
    FinancialReportWriter,
)
from services.funding.financial_reports.schemas import FinancialReportUpdate, ReviewComment
from services.funding.models.financial_report import FinancialReport

CurrentReport = Annotated[
    FinancialReport, resource(repository.readable_report, path="report_id", caller=FinancialReportsReader)
]
# The content's edit (a PUT): If-Match required, no Idempotency-Key.
EditedReport = Annotated[
    FinancialReport,
    locked_resource(repository.locked_report, path="report_id", caller=FinancialReportWriter, if_match_required=True,
                    idempotent=False, before=[validated_body(FinancialReportUpdate)]),
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
                    if_match_required=False, before=[validated_body(ReviewComment)]),
]
