"""A lived dossier as rows: the dossier with what its submission froze, its co-funding plan, its tags (as
`services.funding.dossiers.repository.tags_of` writes them), its trail, its routings and the funders' opinions; and its
project in the projects service."""

import random

from scripts.country import MARKER
from scripts.country.bulk import Batch, Table
from scripts.country.clock import day_of, iso_day, year_of
from scripts.country.dossiers import SUPPLEMENTS, Dossier
from scripts.country.ids import id_text, new_id
from scripts.country.projects import project_rows
from scripts.country.snapshots import budget_snapshot, dumps, project_snapshot, totals
from scripts.country.territories import Association
from services.funding.dossiers.repository import size_of

DOSSIERS = Table("funding", "dossiers", (
    "id", "reference", "thread_reference", "programme_id", "project_id", "organisation_id", "state",
    "requested_total_cents", "project_snapshot", "budget_snapshot", "association_budget_snapshot",
    "organisation_snapshot",
    "document_version_ids", "submitted_at", "supplements_message", "supplements_due_on", "closing_reason",
    "agenda_session_id", "outcome", "decided_at", "decision_due_at", "clock_remaining_seconds", "partners",
    "learning_plan", "verdict", "verdict_comment", "verdict_at", "cpo_years", "objectives", "cpo_targets",
    "cpo_state", "created_by", "version", "created_at", "updated_at"))
FUNDING_LINES = Table("funding", "funding_lines", (
    "id", "dossier_id", "position", "funder_id", "amount_cents", "yearly_amounts_cents"))
TAGS = Table("funding", "dossier_tags", ("dossier_id", "kind", "value", "year"))
HISTORY = Table("funding", "dossier_history", (
    "id", "dossier_id", "action", "from_state", "to_state", "actor", "actor_organisation_id", "at", "comment"))
ROUTINGS = Table("funding", "dossier_routings", (
    "id", "dossier_id", "dossier_created_at", "funder_id", "state", "amount_cents", "routed_by", "routed_at"))
OPINIONS = Table("funding", "dossier_opinions", (
    "id", "dossier_id", "organisation_id", "author_kind", "opinion", "proposed_amount_cents", "conditions",
    "comment", "author", "version", "created_at", "updated_at"))

LEARNING_PLAN = dumps({"experiment": "Un atelier tenu par les habitants, deux samedis par mois, avec les partenaires.",
                       "evidence": "Participants, bénévoles formés, fréquentation, avis recueillis des habitants."})
OBJECTIVES = ("Accueillir chaque année davantage d'habitants du quartier", "Associer les habitants à la gouvernance",
              "Renforcer les partenariats avec les acteurs du quartier")
CPO_INDICATORS = ("qpv_residents_reached", "volunteers_involved")


def cpo_targets(d: Dossier) -> dict:
    """The CPO's indicator targets for each of its years, as the submission freezes them."""
    years = range(d.programme.year, d.programme.year + (d.cpo_years or 0))
    return {str(y): [{"indicator_code": code, "target": (40 + 10 * i) * (1 + n)}
                     for n, code in enumerate(CPO_INDICATORS)] for i, y in enumerate(years)}


def association_budget(association: Association, year: int) -> tuple[str, str | None]:
    """The association's yearly budget as a submission that year freezes it, and its size bracket."""
    if year not in association.budget_snapshots:
        lines = association.budget_lines[year]
        association.budget_snapshots[year] = (
            budget_snapshot(organisation=association.text, lines=lines, year=year,
                            updated_at=association.budget_saved[year]),
            size_of({"totals": {"charges_cents": totals(lines)["charges_cents"]}}))
    return association.budget_snapshots[year]


def emit(d: Dossier, batch: Batch, rng: random.Random, desk: str) -> None:
    """The dossier's rows and its project's; what a submission freezes only once it was submitted."""
    a, p = d.association, d.project
    project_rows(p, a, batch, rng)
    snapshots: tuple = (None, None, None, None)
    targets = None
    if d.submitted_at is not None:
        project_text = id_text(p.id)
        start, end = iso_day(p.start), iso_day(p.end)
        association_json, size = association_budget(a, year_of(d.submitted_at))
        snapshots = (
            project_snapshot(project=project_text, organisation=a.text, title=p.title, summary=p.summary,
                             qpv_codes=p.qpv_codes, priorities=p.priorities, start=start, end=end,
                             target_public=p.target_public, total_cost_cents=p.total_cost, created_at=p.created_at),
            budget_snapshot(organisation=a.text, project=project_text, lines=p.lines, updated_at=p.budget_saved),
            association_json, a.snapshot)
        tags = batch.rows_of(TAGS)
        year = d.programme.year
        tags.extend((d.id, "qpv", code, year) for code in dict.fromkeys(p.qpv_codes))
        tags.extend((d.id, "priority", code, year) for code in dict.fromkeys(p.priorities))
        if size:
            tags.append((d.id, "size", size, year))
        if d.cpo_years:
            targets = dumps(cpo_targets(d))
    waiting = d.state == "supplements_requested"
    agenda = next((s for s, _, state in d.agenda if state == "pending"), None)
    verdict, verdict_comment, verdict_at = d.verdict or (None, None, None)
    last = d.trail[-1][0]
    batch.rows_of(DOSSIERS).append((
        d.id, d.reference, d.reference, d.programme.id, p.id, a.id, d.state, sum(amount for _, amount, _ in d.lines),
        *snapshots, "[]", d.submitted_at, SUPPLEMENTS if waiting else None,
        day_of(d.supplements_asked_at or 0) + 15 if waiting else None, d.closing_reason,
        agenda.id if agenda else None, d.outcome, d.decided_at, d.decision_due_at, d.clock_remaining_seconds,
        dumps([{"name": o.name, "organisation_id": o.text, "siret": None, "rna": None} for o in d.partners])
        if d.partners else "[]",
        LEARNING_PLAN if d.programme.track == "seed" else None, verdict, verdict_comment, verdict_at,
        d.cpo_years, dumps(list(OBJECTIVES[: 2 + (d.cpo_years or 0) % 2])) if d.cpo_years else "[]", targets,
        d.cpo_state, MARKER, len(d.trail), d.created, last))
    lines = batch.rows_of(FUNDING_LINES)
    for position, (funder, amount, yearly) in enumerate(d.lines):
        lines.append((new_id(rng), d.id, position, funder.id, amount, dumps(yearly) if yearly else "[]"))
    batch.rows_of(HISTORY).extend((new_id(rng), d.id, action, before, after, actor, organisation, at, comment)
                                  for at, action, before, after, actor, organisation, comment in d.trail)
    if d.routed_at is not None:
        routings = batch.rows_of(ROUTINGS)
        if d.programme.track == "small":
            routings.append((new_id(rng), d.id, d.created, d.lines[0][0].id, "routed",
                             sum(x for _, x, _ in d.lines), desk, d.routed_at))
        else:
            routings.extend((new_id(rng), d.id, d.created, funder.id, "routed", amount, desk, d.routed_at)
                            for funder, amount, _ in d.lines)
    asked = {funder: amount for funder, amount, _ in d.lines}
    opinions = batch.rows_of(OPINIONS)
    for funder, at, granted in d.opinions:
        if granted is None:  # not decided yet: the instructor's proposal
            opinion = rng.choices(("favourable", "reserved", "unfavourable"), (70, 20, 10))[0]
            proposed = {"favourable": asked[funder], "reserved": asked[funder] // 2 // 10_000 * 10_000,
                        "unfavourable": 0}[opinion]
        else:
            opinion = "favourable" if granted >= asked[funder] else "reserved" if granted else "unfavourable"
            proposed = granted
        opinions.append((new_id(rng), d.id, funder.id, "funder", opinion, proposed, None, None, funder.subjects[0],
                         1, at, at))

