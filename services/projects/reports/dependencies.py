"""The report a route is about, loaded (or locked, If-Match checked) for its caller: 404 for a report the caller
may not see."""

from typing import Annotated

from common.resources import locked_resource, resource, validated_body
from services.projects.models import Report
from services.projects.reports import service as reports
from services.projects.reports.auth import ReportRead, ReportReview, ReportWrite
from services.projects.reports.schemas import ChangesRequest, ReportDecision, ReportUpdate

CurrentReport = Annotated[Report, resource(reports.readable_report, path="report_id", caller=ReportRead)]
# The holder's edit (PATCH: no Idempotency-Key) and submission of its own report.
EditedReport = Annotated[
    Report,
    locked_resource(
        reports.locked_own_report, path="report_id", caller=ReportWrite, if_match_required=True, idempotent=False,
        before=[validated_body(ReportUpdate)],
    ),
]
SubmittedReport = Annotated[
    Report, locked_resource(reports.locked_own_report, path="report_id", caller=ReportWrite, if_match_required=True)
]
# The desk's review of a submitted report: accepted (an optional decision) or sent back (the changes asked).
AcceptedReport = Annotated[
    Report,
    locked_resource(reports.locked_readable_report, path="report_id", caller=ReportReview, if_match_required=True,
                    before=[validated_body(ReportDecision, optional=True)]),
]
SentBackReport = Annotated[
    Report,
    locked_resource(reports.locked_readable_report, path="report_id", caller=ReportReview, if_match_required=True,
                    before=[validated_body(ChangesRequest)]),
]
