"""A CPO's life after the committee, read as one resource on its dossier; its yearly reviews (`yearly_review`)
and their amendments (`amendments`); at the end, a final evaluation; then a renewal opens the next CPO on the
same thread."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.problems import Conflict, NotFound, Text, UnprocessableContent
from common.tokens import Principal
from services.funding.cpo import repository
from services.funding.cpo.schemas import (
    CpoPublic,
    CpoReviewPublic,
    CpoStateName,
    CpoVersionPublic,
    FinalEvaluationIn,
    YearCommitmentPublic,
    YearlyAmountPublic,
)
from services.funding.dossiers import cpo_plan, threads
from services.funding.dossiers import service as dossiers_service
from services.funding.dossiers import visibility as dossiers_visibility
from services.funding.dossiers.service import moved, open_programme, trace
from services.funding.grants import grant_years_repository
from services.funding.models.agreement import Agreement, AgreementState, Payment
from services.funding.models.cpo import CpoReview, CpoState, CpoVersion
from services.funding.models.dossier import Dossier
from services.funding.models.financial_report import ReportState
from services.funding.models.programme import Track
from services.funding.programmes import repository as programmes_repository
from services.vocabulary import DESK_ROLES

CPO_NOT_FOUND = Text("Ce dossier n'est pas une CPO accordée.", "This dossier is no granted CPO.")
# What a review or the final evaluation takes as handed in.
IN_HAND = (ReportState.submitted, ReportState.accepted)
ACTIVITY_IN_HAND = ("submitted", "accepted")


# The dossiers a CPO route works on.


async def readable_dossier(session: AsyncSession, principal: Principal, dossier_id: uuid.UUID) -> Dossier:
    """A dossier the caller may read; 404 otherwise."""
    return await dossiers_visibility.visible_dossier(session, principal=principal, dossier_id=dossier_id)


async def reviewed_dossier(session: AsyncSession, principal: Principal, dossier_id: uuid.UUID) -> Dossier:
    """For the desk: any dossier, locked for its review or evaluation; 404 when there is none."""
    return await dossiers_service.any_dossier(session, dossier_id)


async def renewed_dossier(session: AsyncSession, principal: Principal, dossier_id: uuid.UUID) -> Dossier:
    """Any dossier for the desk, the association's own for its admin, locked for its renewal; 404 otherwise."""
    dossier = await dossiers_service.any_dossier(session, dossier_id)
    if not principal.has_any_role(DESK_ROLES) and dossier.organisation_id != principal.organisation_id:
        raise NotFound(dossiers_service.DOSSIER_NOT_FOUND)
    return dossier


async def funded_dossier(session: AsyncSession, principal: Principal, dossier_id: uuid.UUID) -> Dossier:
    """A dossier the caller may read (the desk any, a funder those routed to it), locked for the move; 404
    otherwise."""
    await dossiers_visibility.visible_dossier(session, principal=principal, dossier_id=dossier_id)
    return await dossiers_service.any_dossier(session, dossier_id)


async def cpo_years(session: AsyncSession, dossier: Dossier) -> list[int]:
    """The CPO's years, from its programme."""
    programme = await programmes_repository.programme_by_id(session, dossier.programme_id)
    assert programme is not None  # a foreign key
    return cpo_plan.years_of(programme, dossier)


# Reading.


def _state_name(state: str) -> CpoStateName:
    """The stored state as the API names it (a CpoState, checked here)."""
    return CpoState(state).value


def _version_public(version: CpoVersion) -> CpoVersionPublic:
    return CpoVersionPublic(
        number=version.number, objectives=version.objectives, targets=version.targets, reason=version.reason,
        created_at=version.created_at,
        amounts=[YearlyAmountPublic(funder_id=uuid.UUID(funder), year=int(year), amount_cents=amount)
                 for funder, years in version.amounts.items() for year, amount in sorted(years.items())],
    )


async def view(session: AsyncSession, dossier: Dossier) -> CpoPublic:
    """The CPO of a granted dossier (404 `CPO_NOT_FOUND` for any other): its years, its versions, its reviews."""
    programme = await programmes_repository.programme_by_id(session, dossier.programme_id)
    versions = await repository.versions_of(session, dossier.id)
    if programme is None or dossier.cpo_state is None or not versions:
        raise NotFound(CPO_NOT_FOUND)
    public = CpoPublic(
        dossier_id=dossier.id, reference=dossier.reference,
        thread_reference=dossier.thread_reference, state=_state_name(dossier.cpo_state),
        years=cpo_plan.years_of(programme, dossier), current=_version_public(versions[-1]),
        versions=[_version_public(v) for v in versions],
        reviews=[CpoReviewPublic.model_validate(r, from_attributes=True)
                 for r in await repository.reviews_of(session, dossier.id)],
        commitments=[YearCommitmentPublic.model_validate(row, from_attributes=True)
                     for row in await grant_years_repository.years_of_dossier(session, dossier.id)],
    )
    public._dossier_version = dossier.version
    return public


# What the reviews and the evaluation share.


def refused(text: Text, code: str, **extra: Any) -> Conflict:
    return Conflict(text, code=code, extra=extra or None)


async def missing_reports(
    session: AsyncSession, dossier: Dossier, year: int, activity: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The reports of `year` not yet handed in: each funder's financial report, and the project's activity
    report (indicator actuals)."""
    reports = await repository.financial_reports_of(session, dossier.id, year)
    missing = [{"kind": "financial_report", "report_id": str(r.id), "funder_id": str(r.funder_id), "year": year,
                "state": r.state, "due_on": r.due_on.isoformat()}
               for r in reports if r.state not in IN_HAND]
    if activity is None or activity.get("state") not in ACTIVITY_IN_HAND:
        missing.append({"kind": "activity_report", "period": str(year),
                        "state": activity.get("state") if activity else None})
    return missing


def reports_refused(missing: list[dict[str, Any]], year: int) -> Conflict:
    kinds = {"financial_report": ("compte rendu financier", "financial report"),
             "activity_report": ("rapport d'activité", "activity report")}
    fr = ", ".join(sorted({kinds[m["kind"]][0] for m in missing}))
    en = ", ".join(sorted({kinds[m["kind"]][1] for m in missing}))
    return refused(Text(f"Manquent pour {year} : {fr}.", f"Missing for {year}: {en}."), "reports_missing",
                   year=year, missing=missing)


def require_running(dossier: Dossier, *states: str) -> None:
    if dossier.cpo_state not in states:
        raise refused(Text(f"CPO « {dossier.cpo_state} » : action impossible.",
                           f"CPO '{dossier.cpo_state}': not allowed."), "cpo_not_running", state=dossier.cpo_state)


def touched(row: Agreement | Payment) -> None:
    row.version += 1
    row.updated_at = utcnow()


# The end.


async def evaluate(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, request: FinalEvaluationIn,
    activity: dict[str, Any] | None, now: datetime,
) -> CpoReview:
    """Once the last year is over and reviewed, its reports in hand and every payment made or cancelled: the
    objectives judged, the agreements ended."""
    programme = await programmes_repository.programme_by_id(session, dossier.programme_id)
    if programme is None or dossier.cpo_state is None:
        raise NotFound(CPO_NOT_FOUND)
    require_running(dossier, CpoState.running)
    years = cpo_plan.years_of(programme, dossier)
    last = years[-1]
    passed = await repository.years_passed(session, dossier.id)
    waiting = [year for year in years if year not in passed]
    if waiting or now.year <= last:
        raise refused(Text(f"L'évaluation finale suit la revue de chaque année et la fin de {last}.",
                           f"The final evaluation follows each year's review and the end of {last}."),
                      "evaluation_too_early", years_to_review=waiting, last_year=last)
    missing = await missing_reports(session, dossier, last, activity)
    if missing:
        raise reports_refused(missing, last)
    if await repository.has_outstanding_payments(session, dossier.id):
        raise refused(Text("Des versements restent à faire ou à annuler.",
                           "Some payments are still to be paid or cancelled."), "payments_outstanding")
    for agreement in await repository.locked_agreements(session, dossier.id):
        if agreement.state != AgreementState.ended:
            agreement.state, agreement.ended_at = AgreementState.ended, now
            touched(agreement)
    number = await repository.next_review_number(session, dossier.id)
    record = CpoReview(dossier_id=dossier.id, number=number, kind="final", year=last, outcome=request.outcome,
                       comment=request.comment, recorded_by=principal.subject, recorded_at=now)
    session.add(record)
    dossier.cpo_state = CpoState.completed
    moved(dossier)
    session.add(trace(dossier, principal, "cpo_evaluated", dossier.state, request.outcome))
    await session.flush()
    return record


async def renew(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, programme_id: uuid.UUID, now: datetime,
    project: dict[str, Any] | None = None,
) -> Dossier:
    """The next CPO, as a draft on an open CPO programme, on the same thread: each funder asked its last year's
    amount for each year, the objectives carried over; on `project` (projects' card of another project of the
    association, read beforehand) when one is named, else on the same project."""
    if project is not None and project.get("organisation_id") != str(dossier.organisation_id):
        raise UnprocessableContent(
            Text("Un projet de l'association de la CPO.", "A project of the CPO's association."),
            errors=[("body.project_id", Text("Projet inconnu de l'association.", "Unknown to the association."))],
            code="unknown_project",
        )
    if dossier.cpo_state != CpoState.completed:
        raise refused(Text("Le renouvellement suit l'évaluation finale.", "Renewal follows the final evaluation."),
                      "not_evaluated", state=dossier.cpo_state)
    target = await open_programme(session, programme_id, now.date())
    if target.track != Track.cpo:
        raise UnprocessableContent(
            Text("Une CPO se renouvelle sur un programme CPO.", "A CPO is renewed on a CPO programme."),
            errors=[("body.programme_id", Text("Un programme CPO.", "A CPO programme."))], code="not_a_cpo_programme",
        )
    current = (await repository.versions_of(session, dossier.id))[-1]
    years = dossier.cpo_years or 1
    asks: list[tuple[uuid.UUID | None, int, list[int]]] = []
    for funder, amounts in current.amounts.items():
        last: int = amounts[max(amounts, key=int)]
        asks.append((uuid.UUID(funder), last * years, [last] * years))
    return await threads.open_follow_on(
        session, principal=principal, previous=dossier, target=target, asks=asks, now=now, action="opened_by_renewal",
        project_id=uuid.UUID(project["id"]) if project is not None else None, objectives=list(dossier.objectives),
    )
