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

# The form's lines whose actual amounts call for a text of the annex: indirect charges (how they were split) and
# in-kind contributions (what they were, how they are valued).
INDIRECT_LINES = frozenset({"indirect_fixed", "indirect_financial", "indirect_other"})
IN_KIND_LINES = frozenset({"86", "860", "861", "862", "864", "87", "870", "871", "875"})


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
        year=year, due_on=due_on(year, rules.financial_report_months), explained_gap_bp=rules.explained_gap_bp,
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


def _needs_explanation(planned: int, actual: int | None, threshold_bp: int) -> bool:
    """Over the programme's threshold; a line planned at nothing (unplanned) always."""
    if actual is None or actual == planned:
        return False
    return planned == 0 or abs(actual - planned) * 10_000 > threshold_bp * planned


def _is_planned(line: dict[str, Any]) -> bool:
    return bool(line.get("planned", True))


def _moved(report: FinancialReport) -> None:
    report.version += 1
    report.updated_at = utcnow()


def update(principal: Principal, report: FinancialReport, request: FinancialReportUpdate, today: date) -> bool:
    """Record what was spent and received, the annex, the qualitative account and the signatory; whether anything
    changed (the same content keeps the version)."""
    _require(principal, report, "update")
    planned = [line for line in report.lines if _is_planned(line)]
    if len(request.lines) != len(planned):
        raise UnprocessableContent(
            Text(f"Le compte rendu a {len(planned)} lignes, celles du budget prévu.",
                 f"The report has {len(planned)} lines, those of the planned budget."),
            errors=[("body.lines", Text(f"{len(planned)} lignes attendues.",
                                        f"{len(planned)} lines expected."))],
            code="report_lines_mismatch",
            extra={"expected_lines": len(planned)},
        )
    if request.unplanned_lines and report.kind == ReportKind.light:
        raise UnprocessableContent(
            Text("Un bilan léger donne ses dépenses en un total, sans ligne non prévue.",
                 "A light report gives its spending as one total, without unplanned lines."),
            errors=[("body.unplanned_lines", Text("Réservé au compte rendu financier.",
                                                  "Financial reports only."))],
            code="not_a_financial_report",
        )
    if request.signatory is not None and request.signatory.signed_on > today:
        raise UnprocessableContent(
            Text("Le compte rendu ne se signe pas à une date future.", "A report is not signed on a future date."),
            errors=[("body.signatory.signed_on", Text(f"Au plus tard le {today}.", f"On {today} at the latest."))],
            code="signed_in_the_future",
        )
    lines = [
        {**line, "actual_cents": entry.actual_cents, "explanation": entry.explanation}
        for line, entry in zip(planned, request.lines, strict=True)
    ] + [
        {"side": entry.side, "account_group": entry.account_group, "label": entry.label, "planned_cents": 0,
         "actual_cents": entry.actual_cents, "explanation": entry.explanation, "planned": False}
        for entry in request.unplanned_lines
    ]
    annex = request.annex.model_dump(exclude_none=True) if request.annex is not None else None
    qualitative = request.qualitative.model_dump(exclude_none=True) if request.qualitative is not None else None
    signatory = request.signatory.model_dump(mode="json") if request.signatory is not None else None
    wanted = (lines, request.comment, request.people_reached, annex or None, qualitative, signatory)
    if wanted == (report.lines, report.comment, report.people_reached, report.annex, report.qualitative,
                  report.signatory) and report.state != ReportState.expected:
        return False
    (report.lines, report.comment, report.people_reached, report.annex, report.qualitative,
     report.signatory) = wanted
    if report.state == ReportState.expected:
        report.state = ReportState.draft
    _moved(report)
    return True


def _form_gaps(report: FinancialReport) -> list[dict[str, Any]]:
    """What the CERFA 15059 asks beyond the lines: the qualitative account and the signatory always, and each text
    of the annex that the figures call for."""
    missing = [name for name in ("qualitative", "signatory") if getattr(report, name) is None]
    annex = report.annex or {}

    def spent(codes: frozenset[str]) -> bool:
        return any(line["account_group"] in codes and (line["actual_cents"] or 0) > 0 for line in report.lines)

    # The gaps are explained line by line (a total within the threshold when every line is); the annex's own
    # text on them is the association's overall word, never required.
    wanted = [("indirect_costs_method", spent(INDIRECT_LINES)), ("in_kind_contributions", spent(IN_KIND_LINES))]
    missing += [f"annex.{name}" for name, needed in wanted if needed and not annex.get(name)]
    return [{"line": None, "label": name, "missing": name} for name in missing]


def submit(principal: Principal, report: FinancialReport, now: datetime) -> None:
    """Every line has its actual amount, and each gap over the programme's threshold its explanation; a financial
    report also has its qualitative account, its signatory and the annex its figures call for (409 naming what
    is missing)."""
    _require(principal, report, "submit")
    gaps: list[dict[str, Any]] = []
    for index, line in enumerate(report.lines):
        if line["actual_cents"] is None:
            gaps.append({"line": index, "label": line["label"], "missing": "actual_cents"})
        elif (_needs_explanation(line["planned_cents"], line["actual_cents"], report.explained_gap_bp)
              and not line["explanation"]):
            gaps.append({"line": index, "label": line["label"], "missing": "explanation"})
    if report.kind == ReportKind.light:  # what happened and whom it reached, in a few words and one number
        gaps += [{"line": None, "label": name, "missing": name}
                 for name in ("comment", "people_reached") if getattr(report, name) is None]
    else:
        gaps += _form_gaps(report)
    if gaps:
        labels = ", ".join(gap["label"] for gap in gaps)
        share = f"{report.explained_gap_bp / 100:g}"
        raise Conflict(
            Text(f"Compte rendu incomplet : {labels} (réalisé manquant, écart de plus de {share.replace('.', ',')} % "
                 "sans explication, ou partie du formulaire manquante).",
                 f"Incomplete report: {labels} (actual missing, a gap over {share}% unexplained, or a part of the "
                 "form missing)."),
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


def _line_public(line: dict[str, Any], threshold_bp: int) -> ReportLinePublic:
    planned, actual = line["planned_cents"], line["actual_cents"]
    gap = None if actual is None else actual - planned
    return ReportLinePublic(
        **line, gap_cents=gap,
        gap_basis_points=None if gap is None or planned == 0 else gap * 10_000 // planned,
        needs_explanation=_needs_explanation(planned, actual, threshold_bp),
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
        reference=dossier.reference, thread_reference=dossier.thread_reference,
        overdue=await is_overdue(session, report, today),
        lines=[_line_public(line, report.explained_gap_bp) for line in report.lines],
        totals=ReportTotals(
            planned_charges_cents=total("charge", "planned_cents"),
            actual_charges_cents=total("charge", "actual_cents"),
            planned_income_cents=total("income", "planned_cents"),
            actual_income_cents=total("income", "actual_cents"),
        ),
        allowed_actions=allowed_actions(principal, report),
    )
