"""A dossier's submission: what identity, projects and the financial reports must allow, the snapshots it freezes,
and the documents its track requires. Gathered first without a lock (`prepare`), then written under the lock if
nothing changed meanwhile (`submit`): no call to another service runs while funding's write lock is held."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import Database
from common.etag import check_if_match
from common.problems import Conflict, NotFound, Text
from common.tokens import Principal
from services.funding.dossiers import cpo_plan, pin_saga, readiness, repository, service_clock
from services.funding.dossiers.lifecycle import moved, require_action, trace
from services.funding.dossiers.public import to_public
from services.funding.dossiers.schemas import DossierPublic, RequiredDocument, RequiredDocuments
from services.funding.dossiers.service import DOSSIER_NOT_FOUND, check_owned, programme_closed
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


@dataclass(frozen=True)
class Prepared:
    """What a submission gathered before anything is locked: the dossier's version it checked, what identity and
    projects said, and the attempt whose pins projects now reserves (None: no document attached)."""

    dossier_id: uuid.UUID
    version: int
    facts: readiness.Facts
    project: dict[str, Any]
    cpo_targets: dict[str, Any] | None
    versions: list[dict[str, Any]] | None
    attempt_id: uuid.UUID | None


async def prepare(
    database: Database, *, principal: Principal, dossier_id: uuid.UUID, peers: Peers, language: str,
    now: datetime, request: Request,
) -> Prepared:
    """Check what funding, identity and projects hold, without any lock: funding's rows in a short reading
    transaction, then the calls, then the documents reserved last (so that a refused submission pins nothing).
    `submit` writes it under the lock if the dossier is still the version checked."""
    today = now.date()
    async with database.transaction(write=False) as reading:
        dossier = await repository.dossier_by_id(reading, dossier_id)
        if dossier is None or dossier.organisation_id != principal.organisation_id:
            raise NotFound(DOSSIER_NOT_FOUND)
        check_if_match(request, dossier.version, required=False)  # a stale one is 412 before any call
        require_action(dossier, "submit")
        programme = await get_programme(reading, dossier.programme_id)
        if dossier.state == DossierState.draft and not is_open(programme, today):  # supplements may come later
            raise programme_closed(programme, today)
        plan = (await repository.lines_of(reading, [dossier.id]))[dossier.id]
        late = await readiness.overdue_with(
            reading, organisation_id=dossier.organisation_id, today=today,
            funder_ids={line.funder_id for line in plan if line.funder_id is not None},
        )
    facts = await readiness.gather(
        peers, organisation_id=dossier.organisation_id, project_id=dossier.project_id, year=today.year,
        language=language,
    )
    project = check_owned(principal, facts.project)
    readiness.check_one_moment(facts)
    failures = readiness.failed_rules(facts, plan, request_object=dossier.request_object)
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
    versions, attempt_id = None, None
    if dossier.document_version_ids:
        attempt_id = uuid.uuid4()
        versions, refusal = await peers.pin_documents(
            organisation_id=dossier.organisation_id, dossier_id=dossier.id,
            version_ids=dossier.document_version_ids, language=language, attempt_id=attempt_id,
        )
        if refusal is not None:  # all or nothing there: nothing reserved
            raise readiness.not_ready(readiness.unknown_documents(refusal))
    return Prepared(dossier_id=dossier.id, version=dossier.version, facts=facts, project=project,
                    cpo_targets=cpo_targets, versions=versions, attempt_id=attempt_id)


def changed_meanwhile() -> Conflict:
    return Conflict(
        Text("Le dossier a changé pendant son dépôt : relisez-le et déposez-le de nouveau.",
             "The dossier changed while it was being submitted: read it again and submit it again."),
        code="dossier_changed",
    )


async def submit(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, prepared: Prepared, now: datetime
) -> DossierPublic:
    """Under the dossier's lock: if it is still the version `prepare` checked, freeze what was gathered
    (snapshots) and the dossier leaves the holder's hands; after supplements, a fresh snapshot. The attempt is
    kept with the step owed to its pins (`confirm`), in this very transaction."""
    require_action(dossier, "submit")  # a concurrent submission won: 409 illegal_transition, as before
    if dossier.version != prepared.version:
        raise changed_meanwhile()
    programme = await get_programme(session, dossier.programme_id)
    rules = rules_of(programme)
    facts, project = prepared.facts, prepared.project
    if prepared.attempt_id is not None:
        dossier.documents_snapshot = prepared.versions
        dossier.pin_attempt_id, dossier.pin_step = prepared.attempt_id, pin_saga.CONFIRM
    previous = dossier.state
    dossier.supplements_message = dossier.supplements_due_on = None
    dossier.project_snapshot = project
    dossier.budget_snapshot = facts.budget
    dossier.association_budget_snapshot = facts.association_budget
    dossier.organisation_snapshot = facts.profile
    dossier.cpo_targets = prepared.cpo_targets
    await repository.replace_tags(session, dossier.id, programme.year, project, facts.association_budget)
    dossier.state = DossierState.submitted
    moved(dossier)
    dossier.submitted_at = now  # the clock's: the service clocks and the decision delays count from it
    service_clock.run(dossier, rules, now)
    action = "submitted" if previous == DossierState.draft else "supplements_provided"
    session.add(trace(dossier, principal, action, previous))
    await session.flush()
    return await to_public(session, dossier)


async def document_compliance(
    session: AsyncSession, *, dossier: Dossier, peers: Peers, today: date
) -> dict[str, Any]:
    """What the vault says of the documents the dossier's track requires (asked with no lock held)."""
    programme = await get_programme(session, dossier.programme_id)
    return await peers.document_compliance(
        organisation_id=dossier.organisation_id, kinds=list(REQUIRED_DOCUMENTS[programme.track]), on=today
    )


async def required_documents(
    session: AsyncSession, *, dossier: Dossier, peers: Peers, today: date, compliance: dict[str, Any] | None = None
) -> RequiredDocuments:
    """The documents the dossier's track requires, and whether the association's vault holds valid ones today
    (`compliance`: what the vault said, when it was asked before a lock)."""
    programme = await get_programme(session, dossier.programme_id)
    answer = compliance if compliance is not None else await document_compliance(
        session, dossier=dossier, peers=peers, today=today
    )
    items = [RequiredDocument(**item) for item in answer["items"]]
    return RequiredDocuments(
        dossier_id=dossier.id, track=Track(programme.track), on=today, complete=all(i.satisfied for i in items),
        items=items,
    )
