"""Dossiers: a draft for one of my projects under an open programme, its co-funding plan, its submission."""

import uuid
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utcnow
from common.money import euros
from common.problems import Conflict, NotFound, Text, UnprocessableContent
from common.tokens import Principal
from services.funding.dossiers import cpo_plan, readiness, repository, service_clock
from services.funding.dossiers.schemas import (
    DossierCreate,
    DossierPublic,
    DossierSummary,
    DossierUpdate,
    FundingLineIn,
    FundingLinePublic,
    RequiredDocument,
    RequiredDocuments,
)
from services.funding.models.dossier import Dossier, DossierHistory, DossierState, FundingLine
from services.funding.models.programme import Programme, Track
from services.funding.peers import Peers
from services.funding.programmes import repository as programmes_repository
from services.funding.programmes.service import REQUIRED_DOCUMENTS, get_programme, is_open
from services.funding.programmes.track_rules import TrackRules, add_months, rules_of

DOSSIER_NOT_FOUND = Text("Dossier introuvable.", "Dossier not found.")


def format_reference(year: int, number: int) -> str:
    return f"GU-{year}-{number:06d}"


def _programme_closed(programme: Programme, today: date) -> Conflict:
    """Not open: past its deadline (said first: a call's deadline is what a late applicant needs to read), or
    not open yet."""
    if today > programme.closes_on:
        text = Text(
            f"La date limite de dépôt de ce programme était le {programme.closes_on}.",
            f"This programme's deadline for submissions was {programme.closes_on}.",
        )
    else:
        text = Text(
            f"Le programme n'est pas encore ouvert (du {programme.opens_on} au {programme.closes_on}).",
            f"The programme is not open yet (from {programme.opens_on} to {programme.closes_on}).",
        )
    return Conflict(
        text,
        code="programme_closed",
        extra={"opens_on": programme.opens_on.isoformat(), "closes_on": programme.closes_on.isoformat()},
    )


async def open_programme(session: AsyncSession, programme_id: uuid.UUID, today: date) -> Programme:
    try:
        programme = await get_programme(session, programme_id)
    except NotFound as exc:
        raise UnprocessableContent(
            Text("Programme inconnu.", "Unknown programme."),
            errors=[("body.programme_id", Text("Programme inconnu.", "Unknown programme."))],
        ) from exc
    if not is_open(programme, today):
        raise _programme_closed(programme, today)
    return programme


async def funders_outside(
    session: AsyncSession, programme_id: uuid.UUID, funder_ids: list[uuid.UUID | None]
) -> list[str]:
    """The funders named that do not take part in the programme."""
    participating = set((await programmes_repository.funders_of_programmes(session, [programme_id]))[programme_id])
    return [str(funder) for funder in funder_ids if funder is not None and funder not in participating]


async def _check_plan(session: AsyncSession, programme: Programme, plan: list[FundingLineIn]) -> None:
    strangers = await funders_outside(session, programme.id, [line.funder_id for line in plan])
    if strangers:
        raise UnprocessableContent(
            Text("Financeur(s) hors du programme.", "Funder(s) outside the programme."),
            errors=[("body.funding_plan", Text(", ".join(strangers), ", ".join(strangers)))],
            code="funder_not_in_programme",
        )


async def _owned_project(peers: Peers, principal: Principal, project_id: uuid.UUID) -> dict:
    """The live project from the projects service; it must belong to the caller's organisation."""
    return _check_owned(principal, await peers.project(project_id))


def _check_owned(principal: Principal, project: dict | None) -> dict:
    if project is None or project.get("organisation_id") != str(principal.organisation_id):
        raise UnprocessableContent(
            Text("Projet inconnu de votre organisation.", "Project unknown to your organisation."),
            errors=[("body.project_id", Text("Projet inconnu.", "Unknown project."))],
            code="unknown_project",
        )
    return project


def _track_failures(programme: Programme, rules: TrackRules, dossier: Dossier, project: dict) -> list:
    """What the track asks beyond the common file: a seed fund's partners and learning plan, and a duration
    within the track's limit (18 months for a seed fund), each named with its rule and limit."""
    failures = []
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


def plan_of(programme: Programme, plan: list[FundingLineIn] | None, requested: int | None) -> list[FundingLineIn]:
    """The co-funding plan, or, for a small project, the amount asked of the lead funder the programme names;
    the track's ceiling either way (422 naming the rule and the limit)."""
    rules = rules_of(programme)
    if rules.delegated:
        if plan is not None:
            raise UnprocessableContent(
                Text("Dossier simplifié : pas de plan de cofinancement, le programme nomme son financeur.",
                     "Simplified dossier: no co-funding plan, the programme names its funder."),
                errors=[("body.funding_plan", Text("Donnez requested_amount_cents.", "Give requested_amount_cents."))],
                code="simplified_dossier",
            )
        if requested is None:
            raise UnprocessableContent(
                Text("Le montant demandé est obligatoire.", "The requested amount is required."),
                errors=[("body.requested_amount_cents", Text("Obligatoire.", "Required."))],
                code="simplified_dossier",
            )
        plan = [FundingLineIn(funder_id=uuid.UUID(rules.lead_funder_id), amount_cents=requested)]
    elif plan is None:
        raise UnprocessableContent(
            Text("Ce programme demande un plan de cofinancement.", "This programme asks for a co-funding plan."),
            errors=[("body.funding_plan", Text("Obligatoire.", "Required."))],
            code="funding_plan_required",
        )
    asked = sum(line.amount_cents for line in plan)
    if rules.ceiling_cents is not None and asked > rules.ceiling_cents:
        ceiling = euros(rules.ceiling_cents)
        raise UnprocessableContent(
            Text(f"Plafond du programme dépassé : {ceiling.fr} au plus.",
                 f"Above the programme's ceiling: {ceiling.en} at most."),
            errors=[("body.requested_amount_cents" if rules.delegated else "body.funding_plan",
                     Text(f"Au plus {ceiling.fr}.", f"At most {ceiling.en}."))],
            code="above_ceiling",
            extra={"rule": "ceiling_cents", "limit_cents": rules.ceiling_cents, "asked_cents": asked},
        )
    return plan


def _lines(dossier_id: uuid.UUID, plan: list[FundingLineIn], cpo_years: int | None) -> list[FundingLine]:
    return [
        FundingLine(dossier_id=dossier_id, position=index, funder_id=line.funder_id, amount_cents=line.amount_cents,
                    yearly_amounts_cents=cpo_plan.yearly_of(line, cpo_years) if cpo_years else [])
        for index, line in enumerate(plan)
    ]


def _check_objectives(rules: TrackRules, objectives: list[str] | None) -> None:
    if objectives and not rules.multi_year:
        raise UnprocessableContent(
            Text("Seule une CPO fixe des objectifs pluriannuels.", "Only a CPO sets multi-year objectives."),
            errors=[("body.objectives", Text("Réservé au parcours CPO.", "CPO track only."))],
            code="not_a_cpo",
        )


def moved(dossier: Dossier) -> None:
    """A change the dossier's ETag must show."""
    dossier.version += 1
    dossier.updated_at = utcnow()


async def any_dossier(session: AsyncSession, dossier_id: uuid.UUID) -> Dossier:
    """Any dossier, for the desk, locked for the move it is about to make."""
    dossier = await repository.dossier_by_id(session, dossier_id, for_update=True)
    if dossier is None:
        raise NotFound(DOSSIER_NOT_FOUND)
    return dossier


def trace(
    dossier: Dossier, principal: Principal, action: str, from_state: str | None, comment: str | None = None
) -> DossierHistory:
    """One line of the audit trail."""
    return DossierHistory(
        comment=comment,
        dossier_id=dossier.id,
        action=action,
        from_state=from_state,
        to_state=dossier.state,
        actor=principal.subject,
        actor_organisation_id=principal.organisation_id,
    )


async def create_dossier(
    session: AsyncSession, *, principal: Principal, request: DossierCreate, peers: Peers, today: date
) -> DossierPublic:
    programme = await open_programme(session, request.programme_id, today)
    plan = plan_of(programme, request.funding_plan, request.requested_amount_cents)
    rules = rules_of(programme)
    cpo_years = cpo_plan.cpo_years_of(programme, rules, plan, request.cpo_years)
    _check_objectives(rules, request.objectives)
    await _check_plan(session, programme, plan)
    await _owned_project(peers, principal, request.project_id)
    now = utcnow()
    number = await repository.next_reference_number(session, now.year)
    dossier = Dossier(
        reference=format_reference(now.year, number),
        programme_id=programme.id,
        project_id=request.project_id,
        organisation_id=principal.organisation_id,
        requested_total_cents=sum(line.amount_cents for line in plan),
        document_version_ids=[str(version) for version in request.document_version_ids],
        partners=[partner.model_dump(mode="json") for partner in request.partners],
        learning_plan=request.learning_plan.model_dump() if request.learning_plan else None,
        cpo_years=cpo_years, objectives=list(request.objectives),
        created_by=principal.subject,
    )
    session.add(dossier)
    await session.flush()
    await repository.replace_lines(session, dossier.id, _lines(dossier.id, plan, cpo_years))
    session.add(trace(dossier, principal, "created", None))
    return await to_public(session, dossier)


def _illegal_move(dossier: Dossier, action: str, allowed: list[str]) -> Conflict:
    return Conflict(
        Text(
            f"Action « {action} » impossible dans l'état « {dossier.state} ».",
            f"Action '{action}' is not allowed in state '{dossier.state}'.",
        ),
        code="illegal_transition",
        extra={"state": dossier.state, "allowed_actions": allowed},
    )


# Who may do what in each state: the holder updates, submits and withdraws; the desk asks for supplements,
# declares admissibility and allocates the share left to it. The next issue's steps extend it.
ALLOWED_ACTIONS: dict[str, list[str]] = {
    DossierState.draft: ["update", "submit", "withdraw"],
    DossierState.submitted: ["request_supplements", "decide_admissibility", "allocate", "withdraw"],
    DossierState.supplements_requested: ["update", "submit", "withdraw"],
    # A small project's lead funder decides it once admissible (the committee's tracks are routed instead).
    DossierState.admissible: ["allocate", "route", "decide", "withdraw"],
    DossierState.inadmissible: [],
    DossierState.in_instruction: ["allocate", "route", "decline_routing", "give_opinion", "withdraw"],
    DossierState.ready_for_committee: ["decline_routing", "give_opinion", "withdraw"],
    # The desk places a deferred dossier on a later session's agenda (it is then ready for the committee again).
    DossierState.deferred: ["withdraw"],
    DossierState.decided: [],
    DossierState.withdrawn: [],
}
# While a dossier is on a session's agenda its plan stays as the committee will read it.
FROZEN_ON_AGENDA = frozenset({"decline_routing"})


def require_action(dossier: Dossier, action: str) -> None:
    """409 with the moves the state allows when `action` is not one of them."""
    allowed = ALLOWED_ACTIONS.get(dossier.state, [])
    if dossier.agenda_session_id is not None:
        allowed = [move for move in allowed if move not in FROZEN_ON_AGENDA]
    if action not in allowed:
        raise _illegal_move(dossier, action, allowed)


async def update_draft(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, request: DossierUpdate
) -> DossierPublic:
    """Change the plan, the attached documents, or both; the same content again keeps the version."""
    require_action(dossier, "update")
    current = await to_public(session, dossier)
    changed = False
    programme = await get_programme(session, dossier.programme_id)
    rules = rules_of(programme)
    _check_objectives(rules, request.objectives)
    wanted = None
    if request.funding_plan is not None or request.requested_amount_cents is not None:
        wanted = plan_of(programme, request.funding_plan, request.requested_amount_cents)
    if wanted is not None:
        yearly_given = any(line.yearly_amounts_cents is not None for line in wanted)
        cpo_years = cpo_plan.cpo_years_of(programme, rules, wanted, None if yearly_given else dossier.cpo_years)
        lines = _lines(dossier.id, wanted, cpo_years)
    if wanted is not None and [_comparable(line) for line in lines] != [
        _comparable(line) for line in current.funding_plan
    ]:
        await _check_plan(session, programme, wanted)
        await repository.replace_lines(session, dossier.id, lines)
        dossier.cpo_years = cpo_years
        dossier.requested_total_cents = sum(line.amount_cents for line in wanted)
        session.add(trace(dossier, principal, "plan_updated", dossier.state))
        changed = True
    seed_details = {
        "partners": [partner.model_dump(mode="json") for partner in request.partners]
        if request.partners is not None else dossier.partners,
        "learning_plan": request.learning_plan.model_dump() if request.learning_plan is not None
        else dossier.learning_plan,
    }
    if (seed_details["partners"], seed_details["learning_plan"]) != (dossier.partners, dossier.learning_plan):
        dossier.partners, dossier.learning_plan = seed_details["partners"], seed_details["learning_plan"]
        session.add(trace(dossier, principal, "seed_details_updated", dossier.state))
        changed = True
    if request.objectives is not None and list(request.objectives) != dossier.objectives:
        dossier.objectives = list(request.objectives)
        session.add(trace(dossier, principal, "objectives_updated", dossier.state))
        changed = True
    documents = [str(version) for version in request.document_version_ids or []]
    if request.document_version_ids is not None and documents != dossier.document_version_ids:
        dossier.document_version_ids = documents
        session.add(trace(dossier, principal, "documents_updated", dossier.state))
        changed = True
    if not changed:
        return current
    moved(dossier)
    await session.flush()
    return await to_public(session, dossier)


def _comparable(line: FundingLine | FundingLinePublic) -> tuple:
    return line.funder_id, line.amount_cents, list(line.yearly_amounts_cents or [])


async def submit(
    session: AsyncSession, *, principal: Principal, dossier: Dossier, peers: Peers, language: str, now: datetime
) -> DossierPublic:
    """Check what identity and projects hold, freeze it (snapshots), then the dossier leaves the holder's hands;
    after supplements, the same checks and a fresh snapshot."""
    require_action(dossier, "submit")
    programme = await get_programme(session, dossier.programme_id)
    today = now.date()
    if dossier.state == DossierState.draft and not is_open(programme, today):  # supplements may come later
        raise _programme_closed(programme, today)
    facts = await readiness.gather(
        peers, organisation_id=dossier.organisation_id, project_id=dossier.project_id, year=today.year,
        language=language,
    )
    project = _check_owned(principal, facts.project)
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


async def to_public(session: AsyncSession, dossier: Dossier) -> DossierPublic:
    return (await to_public_many(session, [dossier]))[0]


async def to_public_many(
    session: AsyncSession, dossiers: list[Dossier], *, summary: bool = False
) -> list[DossierPublic] | list[DossierSummary]:
    """`summary`: without the snapshots (which the list did not load)."""
    lines = await repository.lines_of(session, [d.id for d in dossiers])
    shape = DossierSummary if summary else DossierPublic
    names = [name for name in shape.model_fields if name != "funding_plan"]
    return [
        shape(
            **{name: getattr(d, name) for name in names},
            funding_plan=[{"funder_id": line.funder_id, "amount_cents": line.amount_cents,
                           "yearly_amounts_cents": line.yearly_amounts_cents or None} for line in lines[d.id]],
        )
        for d in dossiers
    ]


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
        dossier_id=dossier.id, track=programme.track, on=today, complete=all(i.satisfied for i in items), items=items
    )
