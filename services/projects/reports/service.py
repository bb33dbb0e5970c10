"""Reports: what a project did over one period, `draft → submitted → accepted | changes_requested`.

When the rules apply:
- at every save of a draft (create, PATCH): the shape of what is written: the period is one the project
  follows indicators for, each value is for an indicator picked for that period, listed once, and consistent
  (whole counts, percents within 0-100, a part never above its whole, a ratio's numerator never above its
  denominator, when both are given); evidence names document versions of the organisation's vault;
- at submission: completeness (a value for every indicator picked for the period, a narrative), and the shape
  rules again, since the project's targets may have changed since the draft was saved: a 409 listing them.
"""

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.problems import Conflict, NotFound, Text, UnprocessableContent
from common.tokens import Principal
from services.projects.documents.pins import owned_versions
from services.projects.indicators import repository as indicators_repository
from services.projects.indicators.schemas import format_hundredths
from services.projects.indicators.targets import Measured, consistency_errors, project_periods
from services.projects.models import Project, Report, ReportHistory, ReportState
from services.projects.projects import repository as projects_repository
from services.projects.reports import repository
from services.projects.reports.schemas import (
    HistoryOut,
    ReportCreate,
    ReportPublic,
    ReportUpdate,
    ValueIn,
    ValueOut,
)

REPORT_NOT_FOUND = Text("Rapport introuvable.", "Report not found.")

ALLOWED_ACTIONS: dict[str, list[str]] = {
    ReportState.draft: ["update", "submit"],
    ReportState.changes_requested: ["update", "submit"],
    ReportState.submitted: ["accept", "request_changes"],
    ReportState.accepted: [],
}


def _illegal_move(report: Report, action: str) -> Conflict:
    return Conflict(
        Text(
            f"Action « {action} » impossible dans l'état « {report.state} ».",
            f"Action '{action}' is not allowed in state '{report.state}'.",
        ),
        code="illegal_transition",
        extra={"state": report.state, "allowed_actions": ALLOWED_ACTIONS.get(report.state, [])},
    )


def _trace(
    report: Report, principal: Principal, action: str, from_state: str | None, comment: str | None = None
) -> ReportHistory:
    return ReportHistory(
        report_id=report.id,
        action=action,
        from_state=from_state,
        to_state=report.state,
        actor=principal.subject,
        actor_organisation_id=principal.organisation_id,
        comment=comment,
    )


async def _picked(session: AsyncSession, project_id: uuid.UUID, period: str) -> set[str]:
    return {t.indicator_code for t in await indicators_repository.targets_of(session, project_id) if t.period == period}


def _body_values(values: list[ValueIn]) -> list[tuple[str, str, int]]:
    """(where, indicator, hundredths) of the values of a request body."""
    return [(f"body.values.{index}", v.indicator_code, v.value) for index, v in enumerate(values)]


async def _check_values(
    session: AsyncSession, *, project_id: uuid.UUID, period: str, values: list[tuple[str, str, int]]
) -> list[tuple[str, Text]]:
    """The shape rules of the values, each error naming `<where>.indicator_code` or `<where>.value`."""
    picked = await _picked(session, project_id, period)
    catalogue = await indicators_repository.indicators_by_code(session, {code for _, code, _ in values})
    errors: list[tuple[str, Text]] = []
    seen: set[str] = set()
    for where, code, _ in values:
        if code in seen:
            errors.append((f"{where}.indicator_code", Text("Indicateur déjà listé.", "Indicator listed twice.")))
        elif code not in picked:
            errors.append(
                (
                    f"{where}.indicator_code",
                    Text(
                        f"Le projet n'a pas choisi {code} pour la période {period}.",
                        f"The project did not pick {code} for the period {period}.",
                    ),
                )
            )
        seen.add(code)
    errors += consistency_errors(
        [Measured(f"{where}.value", code, period, value) for where, code, value in values], catalogue
    )
    return errors


def _values_refused(errors: list[tuple[str, Text]]) -> UnprocessableContent:
    return UnprocessableContent(
        Text("Certaines valeurs sont refusées.", "Some values are refused."), errors=errors, code="inconsistent_values"
    )


async def _check_evidence(
    session: AsyncSession, *, organisation_id: uuid.UUID, version_ids: list[uuid.UUID]
) -> None:
    """Evidence is a document version of the organisation's own vault."""
    if not version_ids:
        return
    wanted = set(version_ids)
    owned = await owned_versions(session, organisation_id=organisation_id, version_ids=sorted(wanted))
    unknown = ", ".join(sorted(str(v) for v in wanted - owned))
    if unknown:
        raise UnprocessableContent(
            Text(
                "Pièces inconnues du coffre de votre organisation.", "Documents unknown to your organisation's vault."
            ),
            errors=[("body.evidence_version_ids", Text(f"Inconnues : {unknown}.", f"Unknown: {unknown}."))],
            code="unknown_evidence",
        )


async def _report_project(session: AsyncSession, principal: Principal, request: ReportCreate) -> Project:
    """The caller's own project, locked so that two drafts for one period cannot both pass the check."""
    project = await projects_repository.locked_writable_project(session, principal, request.project_id)
    if project is None:
        raise UnprocessableContent(
            Text("Projet inconnu de votre organisation.", "Project unknown to your organisation."),
            errors=[("body.project_id", Text("Projet inconnu.", "Unknown project."))],
            code="unknown_project",
        )
    return project


async def _check_period(session: AsyncSession, project: Project, period: str) -> None:
    if period not in project_periods(project) or not await _picked(session, project.id, period):
        raise UnprocessableContent(
            Text(
                "Le projet ne suit aucun indicateur pour cette période.",
                "The project follows no indicator for this period.",
            ),
            errors=[
                (
                    "body.period",
                    Text(
                        "Choisissez d'abord des indicateurs pour cette période (PUT /projects/{id}/indicators).",
                        "First pick indicators for this period (PUT /projects/{id}/indicators).",
                    ),
                )
            ],
            code="period_not_planned",
        )


def _report_exists(existing: Report | None) -> Conflict:
    return Conflict(
        Text("Ce projet a déjà un rapport pour cette période.", "This project already has a report for this period."),
        code="report_exists",
        extra={"report_id": str(existing.id)} if existing else None,
    )


async def create_report(session: AsyncSession, *, principal: Principal, request: ReportCreate) -> ReportPublic:
    """A draft: shape rules now, completeness at submission."""
    project = await _report_project(session, principal, request)
    await _check_period(session, project, request.period)
    errors = await _check_values(
        session, project_id=project.id, period=request.period, values=_body_values(request.values)
    )
    if errors:
        raise _values_refused(errors)
    await _check_evidence(session, organisation_id=project.organisation_id, version_ids=request.evidence_version_ids)
    existing = await repository.report_for(session, project.id, request.period)
    if existing is not None:
        raise _report_exists(existing)
    report = Report(
        project_id=project.id,
        organisation_id=project.organisation_id,
        period=request.period,
        narrative=request.narrative,
        created_by=principal.subject,
    )
    session.add(report)
    try:
        await session.flush()
    except IntegrityError as exc:  # the same period created at the same moment by another request
        raise _report_exists(None) from exc
    await repository.replace_values(session, report.id, {v.indicator_code: v.value for v in request.values})
    await repository.replace_evidence(session, report.id, request.evidence_version_ids)
    session.add(_trace(report, principal, "created", None))
    await session.flush()
    return await to_public(session, report)


async def readable_report(session: AsyncSession, principal: Principal, report_id: uuid.UUID) -> Report:
    """A holder reads its organisation's reports; the desk and the desk's services, every one; else 404."""
    return _found(await repository.readable_report(session, principal, report_id))


async def locked_readable_report(session: AsyncSession, principal: Principal, report_id: uuid.UUID) -> Report:
    """A report the caller reads, locked for the desk's review of it (If-Match, state checks)."""
    return _found(await repository.readable_report(session, principal, report_id, for_update=True))


async def locked_own_report(session: AsyncSession, principal: Principal, report_id: uuid.UUID) -> Report:
    """The caller's own report, locked for the change about to be made (If-Match, state checks)."""
    return _found(await repository.locked_writable_report(session, principal, report_id))


def _found(report: Report | None) -> Report:
    if report is None:
        raise NotFound(REPORT_NOT_FOUND)
    return report


# The list counterpart of `readable_report`.
list_reports = repository.list_reports


async def update_report(
    session: AsyncSession, *, principal: Principal, report: Report, request: ReportUpdate
) -> ReportPublic:
    if "update" not in ALLOWED_ACTIONS[report.state]:
        raise _illegal_move(report, "update")
    if request.values is not None:
        errors = await _check_values(
            session, project_id=report.project_id, period=report.period, values=_body_values(request.values)
        )
        if errors:
            raise _values_refused(errors)
    if request.evidence_version_ids is not None:
        await _check_evidence(session, organisation_id=report.organisation_id, version_ids=request.evidence_version_ids)
    current = await to_public(session, report)
    values = None if request.values is None else {v.indicator_code: v.value for v in request.values}
    evidence = None if request.evidence_version_ids is None else sorted(set(request.evidence_version_ids))
    if (
        request.narrative in (None, current.narrative)
        and (values is None or values == await _stored_values(session, report))
        and (evidence is None or evidence == current.evidence_version_ids)
    ):
        return current  # nothing changes: same version, same ETag
    if request.narrative is not None:
        report.narrative = request.narrative
    if values is not None:
        await repository.replace_values(session, report.id, values)
    if evidence is not None:
        await repository.replace_evidence(session, report.id, evidence)
    report.version += 1
    report.updated_at = utcnow()
    session.add(_trace(report, principal, "updated", report.state))
    await session.flush()
    return await to_public(session, report)


async def _stored_values(session: AsyncSession, report: Report) -> dict[str, int]:
    rows = (await repository.values_of(session, [report.id]))[report.id]
    return {row.indicator_code: row.value_hundredths for row in rows}


async def submit(session: AsyncSession, *, principal: Principal, report: Report) -> ReportPublic:
    """Completeness now: every indicator picked for the period has a value, and the account is written."""
    if "submit" not in ALLOWED_ACTIONS[report.state]:
        raise _illegal_move(report, "submit")
    # The project's lock, as a change of its targets takes it: the targets checked here stay as read until commit.
    await projects_repository.project_by_id(session, report.project_id, for_update=True)
    stored = await _stored_values(session, report)
    errors = await _check_values(
        session, project_id=report.project_id, period=report.period,
        values=[(f"values.{code}", code, value) for code, value in stored.items()],
    )
    missing = sorted(await _picked(session, report.project_id, report.period) - set(stored))
    errors += [
        ("values", Text(f"Valeur manquante : {code}.", f"Missing value: {code}.")) for code in missing
    ]
    if not report.narrative.strip():
        errors.append(("narrative", Text("Le compte rendu qualitatif est vide.", "The narrative is empty.")))
    if errors:
        raise Conflict(
            Text(
                "Le rapport n'est pas complet ou n'est plus cohérent avec les indicateurs du projet.",
                "The report is incomplete or no longer consistent with the project's indicators.",
            ),
            errors=errors,
            code="report_incomplete",
            extra={"missing_indicators": missing},
        )
    return await _move(session, principal=principal, report=report, action="submitted", to=ReportState.submitted)


async def accept(session: AsyncSession, *, principal: Principal, report: Report, comment: str | None) -> ReportPublic:
    if "accept" not in ALLOWED_ACTIONS[report.state]:
        raise _illegal_move(report, "accept")
    return await _move(
        session, principal=principal, report=report, action="accepted", to=ReportState.accepted, comment=comment
    )


async def request_changes(
    session: AsyncSession, *, principal: Principal, report: Report, comment: str
) -> ReportPublic:
    if "request_changes" not in ALLOWED_ACTIONS[report.state]:
        raise _illegal_move(report, "request_changes")
    return await _move(
        session, principal=principal, report=report, action="changes_requested", to=ReportState.changes_requested,
        comment=comment,
    )


async def _move(
    session: AsyncSession, *, principal: Principal, report: Report, action: str, to: ReportState,
    comment: str | None = None,
) -> ReportPublic:
    previous = report.state
    report.state = to
    report.version += 1
    report.updated_at = utcnow()
    if to == ReportState.submitted:
        report.submitted_at = report.updated_at
    session.add(_trace(report, principal, action, previous, comment))
    await session.flush()
    return await to_public(session, report)


async def to_public(session: AsyncSession, report: Report) -> ReportPublic:
    return (await to_public_many(session, [report]))[0]


async def to_public_many(session: AsyncSession, reports: list[Report]) -> list[ReportPublic]:
    ids = [r.id for r in reports]
    values = await repository.values_of(session, ids)
    evidence = await repository.evidence_of(session, ids)
    history = await repository.history_of(session, ids)
    return [
        ReportPublic(
            **r.model_dump(exclude={"created_by"}),
            values=[
                ValueOut(indicator_code=v.indicator_code, value=format_hundredths(v.value_hundredths))
                for v in values[r.id]
            ],
            evidence_version_ids=evidence[r.id],
            history=[HistoryOut(**h.model_dump()) for h in history[r.id]],
        )
        for r in reports
    ]

