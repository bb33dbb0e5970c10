"""The report a route is about, loaded (or locked, If-Match checked) for its caller: 404 for a report the caller
may not see."""

from typing import Annotated

from fastapi import Depends

from common.resources import locked_resource, resource
from services.projects.models import Report
from services.projects.reports import service as reports
from services.projects.reports.auth import ReportRead, ReportReview, ReportWrite
from services.projects.reports.schemas import ChangesRequest, ReportDecision, ReportUpdate


# Each change's body, read before the lock that waits for it: an invalid body is a 422 whatever its If-Match says.
async def _report_update(body: ReportUpdate) -> ReportUpdate:
    return body


async def _changes_request(body: ChangesRequest) -> ChangesRequest:
    return body


async def _report_decision(body: ReportDecision | None = None) -> ReportDecision | None:
    return body


ReportUpdateBody = Annotated[ReportUpdate, Depends(_report_update)]
ChangesRequestBody = Annotated[ChangesRequest, Depends(_changes_request)]
ReportDecisionBody = Annotated[ReportDecision | None, Depends(_report_decision)]

CurrentReport = Annotated[Report, resource(reports.readable_report, path="report_id", caller=ReportRead)]
# The holder's edit (PATCH: no Idempotency-Key) and submission of its own report.
EditedReport = Annotated[
    Report,
    locked_resource(
        reports.locked_own_report, path="report_id", caller=ReportWrite, if_match_required=True, idempotent=False,
        before=[Depends(_report_update)],
    ),
]
SubmittedReport = Annotated[
    Report, locked_resource(reports.locked_own_report, path="report_id", caller=ReportWrite, if_match_required=True)
]
# The desk's review of a submitted report: accepted, or sent back with a comment.
AcceptedReport = Annotated[
    Report,
    locked_resource(
        reports.locked_readable_report, path="report_id", caller=ReportReview, if_match_required=True,
        before=[Depends(_report_decision)],
    ),
]
SentBackReport = Annotated[
    Report,
    locked_resource(
        reports.locked_readable_report, path="report_id", caller=ReportReview, if_match_required=True,
        before=[Depends(_changes_request)],
    ),
]
