"""A dossier's submission: what identity, projects and the financial reports must allow, the snapshots it freezes,
and the documents its track requires."""

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.problems import Text
from common.tokens import Principal
from services.funding.dossiers import cpo_plan, readiness, repository, service_clock
from services.funding.dossiers.lifecycle import moved, require_action, trace
from services.funding.dossiers.public import to_public
from services.funding.dossiers.schemas import DossierPublic, RequiredDocument, RequiredDocuments
from services.funding.dossiers.service import check_owned, programme_closed
from services.funding.models.dossier import Dossier, DossierState
from services.funding.models.programme import Programme, Track
from services.funding.peers import Peers
from services.funding.programmes.service import REQUIRED_DOCUMENTS, get_programme, is_open
from services.funding.programmes.track_rules import TrackRules, add_months, rules_of


def _track_failures(
    programme: Programme, rules: TrackRules, dossier: Dossier, project: dict[str, Any]
) -> list[tuple[str, str, Text]]:
    """What the track asks beyond the common file: a seed fund's partners and learning plan, and a duration
    within the track's limit (18 months for a seed fund), each named with its rule and limit."""
    failures: list[tuple[str, str, Text]] = []
    if programme.track == Track.seed:
        if not dossier.partners:
            failures.append(("seed_partners_missing", "partners", Text(
                "Le fonds d'amorçage finance un collectif : nommez au moins une organisation partenaire.",
                "The seed fund funds a collective: name at least one partner organisation.")))
        if not dossier.learning_plan:
            failures.append(("seed_learning_plan_missing", "learning_plan", Text(
                "Dites ce qui est tenté et comment vous saurez si cela marche (plan d'apprentissage).",
                "Say what is being tried and how you will know whether it works (learning plan).")))
    limit = rules.max_duration_months
    start, end = project.get("start_date"), project.get("end_date")
    if limit is not None and start and end and date.fromisoformat(end) > add_months(date.fromisoformat(start), limit):
        failures.append(("duration_exceeded", "project", Text(
            f"Le projet dure plus que les {limit} mois permis par le programme.",
            f"The project lasts longer than the {limit} months the programme allows.")))
    return failures


# A small project's budget fits in a few lines (the dossier simplifié).
SIMPLIFIED_BUDGET_LINES = 10


async def submit(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, peers: Peers, language: str, now: datetime
) -> DossierPublic:
    """Check what identity and projects hold, freeze it (snapshots), then the dossier leaves the holder's hands;
    after supplements, the same checks and a fresh snapshot."""
    require_action(dossier, "submit")
    programme = await get_programme(session, dossier.programme_id)
    today = now.date()
    if dossier.state == DossierState.draft and not is_open(programme, today):  # supplements may come later
        raise programme_closed(programme, today)
    facts = await readiness.gather(
        peers, organisation_id=dossier.organisation_id, project_id=dossier.project_id, year=today.year,
        language=language,
    )
    project = check_owned(principal, facts.project)
    readiness.check_one_moment(facts)
    plan = (await repository.lines_of(session, [dossier.id]))[dossier.id]
    failures = readiness.failed_rules(facts, plan)
    late = await readiness.overdue_with(
        session, organisation_id=dossier.organisation_id, today=today,
        funder_ids={line.funder_id for line in plan if line.funder_id is not None},
    )
    if late:  # CERFA 15059: no new request to a funder while a report owed to it is late
        failures.append(("financial_report_overdue", "funding_plan", readiness.overdue_text(late)))
    rules = rules_of(programme)
    failures += _track_failures(programme, rules, dossier, project)
    cpo_targets = None
    if rules.multi_year:
        indicators = await peers.project_indicators(dossier.project_id)
        cpo_targets = cpo_plan.targets_by_year(indicators, cpo_plan.years_of(programme, dossier))
        failures += cpo_plan.plan_failures(dossier, cpo_targets)
    if rules.delegated and facts.budget is not None:
        count = len(facts.budget["charges"]) + len(facts.budget["income"])
        if count > SIMPLIFIED_BUDGET_LINES:
            failures.append(("simplified_budget_too_long", "project_budget", Text(
                f"Un dossier simplifié tient en {SIMPLIFIED_BUDGET_LINES} lignes de budget au plus ({count} saisies).",
                f"A simplified dossier's budget has {SIMPLIFIED_BUDGET_LINES} lines at most ({count} entered).",
            )))
    if failures:
        raise readiness.not_ready(failures)
    if dossier.document_version_ids:  # last, so that a refused submission pins nothing
        versions, refusal = await peers.pin_documents(
            organisation_id=dossier.organisation_id, dossier_id=dossier.id,
            version_ids=dossier.document_version_ids, language=language,
        )
        if refusal is not None:
            raise readiness.not_ready(readiness.unknown_documents(refusal))
        dossier.documents_snapshot = versions
    previous = dossier.state
    dossier.supplements_message = dossier.supplements_due_on = None
    dossier.project_snapshot = project
    dossier.budget_snapshot = facts.budget
    dossier.association_budget_snapshot = facts.association_budget
    dossier.organisation_snapshot = facts.profile
    dossier.cpo_targets = cpo_targets
    await repository.replace_tags(session, dossier.id, programme.year, project, facts.association_budget)
    dossier.state = DossierState.submitted
    moved(dossier)
    dossier.submitted_at = now  # the clock's: the service clocks and the decision delays count from it
    service_clock.run(dossier, rules, now)
    action = "submitted" if previous == DossierState.draft else "supplements_provided"
    session.add(trace(dossier, principal, action, previous))
    await session.flush()
    return await to_public(session, dossier)


async def required_documents(
    session: AsyncSession, *, dossier: Dossier, peers: Peers, today: date
) -> RequiredDocuments:
    """The documents the dossier's track requires, and whether the association's vault holds valid ones today."""
    programme = await get_programme(session, dossier.programme_id)
    answer = await peers.document_compliance(
        organisation_id=dossier.organisation_id, kinds=list(REQUIRED_DOCUMENTS[programme.track]), on=today
    )
    items = [RequiredDocument(**item) for item in answer["items"]]
    return RequiredDocuments(
        dossier_id=dossier.id, track=Track(programme.track), on=today, complete=all(i.satisfied for i in items),
        items=items,
    )
