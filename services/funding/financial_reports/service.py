"""Financial reports: each grant owes its funder a compte rendu financier (CERFA 15059) some months after the
end of its year — the budget as planned against what was spent and received, each gap over 15 % explained.
The association fills it in and submits it; the funder accepts it or asks for changes. An overdue one is
listed for the funder and the desk, and blocks the association's new requests to that funder."""

import calendar
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.problems import Conflict, Text, UnprocessableContent
from common.tokens import Principal
from services.funding.dossiers import readiness
from services.funding.dossiers import repository as dossiers_repository
from services.funding.financial_reports import repository
from services.funding.financial_reports.auth import REVIEWERS
from services.funding.financial_reports.schemas import (
    FinancialReportPublic,
    FinancialReportUpdate,
    ReportLinePublic,
    ReportTotals,
)
from services.funding.models.agreement import Grant
from services.funding.models.dossier import Dossier
from services.funding.models.financial_report import OWED_STATES, FinancialReport, ReportKind, ReportState
from services.funding.programmes.track_rules import TrackRules, add_months
from services.vocabulary import HOLDER_ROLES

# A gap is explained when it exceeds this share of the planned amount (in basis points: 1,500 = 15 %).
EXPLAINED_GAP_BP = 1_500


def due_on(year: int, months: int) -> date:
    """The last day of the month that ends `months` months after the year's end: 6 → 30 June of the next year."""
    month_index = 12 + months  # counted from January of `year`, 1-based
    due_year, due_month = year + (month_index - 1) // 12, (month_index - 1) % 12 + 1
    return date(due_year, due_month, calendar.monthrange(due_year, due_month)[1])


def owed_report(grant: Grant, dossier: Dossier, rules: TrackRules, year: int) -> FinancialReport:
    """The report a new grant owes for one of its years (a CPO owes one a year), nothing entered yet. The CERFA
    15059 takes the lines of the budget frozen at submission, due months after the year; a small project's light
    report takes what was spent in all, due months after the project's end."""
    budget = readiness.requested_budget(dossier) or {}
    owed = FinancialReport(
        grant_id=grant.id, dossier_id=dossier.id, funder_id=grant.funder_id, organisation_id=grant.organisation_id,
        year=year, due_on=due_on(year, rules.financial_report_months),
    )
    if rules.light_report_months is not None:
        end = date.fromisoformat((dossier.project_snapshot or {})["end_date"])
        owed.kind, owed.due_on = ReportKind.light, add_months(end, rules.light_report_months)
        owed.lines = [{"side": "charge", "account_group": "total", "label": "Dépenses du projet",
                       "planned_cents": (budget.get("totals") or {}).get("charges_cents", 0),
                       "actual_cents": None, "explanation": None}]
        return owed
    owed.lines = [
        {"side": side, "account_group": line["account_group"], "label": line["label"],
         "planned_cents": line["amount_cents"], "actual_cents": None, "explanation": None}
        for side, key in (("charge", "charges"), ("income", "income"))
        for line in budget.get(key) or []
    ]
    return owed


async def is_overdue(session: AsyncSession, report: FinancialReport, today: date) -> bool:
    """Still owed after its date (as the lists' `overdue` filter says it)."""
    if report.state not in OWED_STATES or report.due_on >= today:
        return False
    return await repository.is_late(session, report.id, today)


# Its life.


def allowed_actions(principal: Principal, report: FinancialReport) -> list[str]:
    if principal.has_any_role(HOLDER_ROLES) and principal.organisation_id == report.organisation_id:
        if report.state in OWED_STATES:
            return ["update", "submit"] if report.state != ReportState.expected else ["update"]
        return []
    if (principal.has_any_role(REVIEWERS) and principal.organisation_id == report.funder_id
            and report.state == ReportState.submitted):
        return ["accept", "request_changes"]
    return []


def _require(principal: Principal, report: FinancialReport, action: str) -> None:
    allowed = allowed_actions(principal, report)
    if action not in allowed:
        raise Conflict(
            Text(f"Action « {action} » impossible sur un compte rendu « {report.state} ».",
                 f"Action '{action}' is not allowed on a '{report.state}' report."),
            code="illegal_transition",
            extra={"state": report.state, "allowed_actions": allowed},
        )


def _needs_explanation(planned: int, actual: int | None) -> bool:
    if actual is None or actual == planned:
        return False
    return planned == 0 or abs(actual - planned) * 10_000 > EXPLAINED_GAP_BP * planned


def _moved(report: FinancialReport) -> None:
    report.version += 1
    report.updated_at = utcnow()


def update(principal: Principal, report: FinancialReport, request: FinancialReportUpdate) -> bool:
    """Record what was spent and received; whether anything changed (the same content keeps the version)."""
    _require(principal, report, "update")
    if len(request.lines) != len(report.lines):
        raise UnprocessableContent(
            Text(f"Le compte rendu a {len(report.lines)} lignes, celles du budget prévu.",
                 f"The report has {len(report.lines)} lines, those of the planned budget."),
            errors=[("body.lines", Text(f"{len(report.lines)} lignes attendues.",
                                        f"{len(report.lines)} lines expected."))],
            code="report_lines_mismatch",
            extra={"expected_lines": len(report.lines)},
        )
    lines = [
        {**line, "actual_cents": entry.actual_cents, "explanation": entry.explanation}
        for line, entry in zip(report.lines, request.lines, strict=True)
    ]
    same = (lines, request.comment, request.people_reached) == (report.lines, report.comment, report.people_reached)
    if same and report.state != ReportState.expected:
        return False
    report.lines, report.comment, report.people_reached = lines, request.comment, request.people_reached
    if report.state == ReportState.expected:
        report.state = ReportState.draft
    _moved(report)
    return True


def submit(principal: Principal, report: FinancialReport, now: datetime) -> None:
    """Every line has its actual amount, and each gap over 15 % its explanation (409 naming the lines)."""
    _require(principal, report, "submit")
    gaps: list[dict[str, Any]] = []
    for index, line in enumerate(report.lines):
        if line["actual_cents"] is None:
            gaps.append({"line": index, "label": line["label"], "missing": "actual_cents"})
        elif _needs_explanation(line["planned_cents"], line["actual_cents"]) and not line["explanation"]:
            gaps.append({"line": index, "label": line["label"], "missing": "explanation"})
    if report.kind == ReportKind.light:  # what happened and whom it reached, in a few words and one number
        gaps += [{"line": None, "label": name, "missing": name}
                 for name in ("comment", "people_reached") if getattr(report, name) is None]
    if gaps:
        labels = ", ".join(gap["label"] for gap in gaps)
        raise Conflict(
            Text(f"Compte rendu incomplet : {labels} (réalisé manquant, ou écart de plus de 15 % sans explication).",
                 f"Incomplete report: {labels} (actual missing, or a gap over 15% unexplained)."),
            code="report_incomplete",
            extra={"lines": gaps},
        )
    report.state = ReportState.submitted
    report.submitted_at, report.submitted_by = now, principal.subject
    _moved(report)


def review(principal: Principal, report: FinancialReport, now: datetime, *, accepted: bool,
           comment: str | None) -> None:
    _require(principal, report, "accept" if accepted else "request_changes")
    report.state = ReportState.accepted if accepted else ReportState.changes_requested
    report.reviewed_at, report.reviewed_by, report.review_comment = now, principal.subject, comment
    _moved(report)


def _line_public(line: dict[str, Any]) -> ReportLinePublic:
    planned, actual = line["planned_cents"], line["actual_cents"]
    gap = None if actual is None else actual - planned
    return ReportLinePublic(
        **line, gap_cents=gap,
        gap_basis_points=None if gap is None or planned == 0 else gap * 10_000 // planned,
        needs_explanation=_needs_explanation(planned, actual),
    )


async def to_public(
    session: AsyncSession, principal: Principal, report: FinancialReport, today: date
) -> FinancialReportPublic:
    dossier = await dossiers_repository.dossier_by_id(session, report.dossier_id)
    assert dossier is not None  # a foreign key

    def total(side: str, key: str) -> int:
        return sum(line[key] or 0 for line in report.lines if line["side"] == side)

    return FinancialReportPublic(
        **report.model_dump(exclude={"lines", "submitted_by", "reviewed_by"}),
        reference=dossier.reference, overdue=await is_overdue(session, report, today),
        lines=[_line_public(line) for line in report.lines],
        totals=ReportTotals(
            planned_charges_cents=total("charge", "planned_cents"),
            actual_charges_cents=total("charge", "actual_cents"),
            planned_income_cents=total("income", "planned_cents"),
            actual_income_cents=total("income", "actual_cents"),
        ),
        allowed_actions=allowed_actions(principal, report),
    )
