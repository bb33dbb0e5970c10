"""What follows a granted dossier on its own thread: a seed project's mid-term learning review and final verdict;
a CPO's first version, its yearly reviews and its final evaluation. Their dates drive the payments that wait for
them (see money.py)."""

import random
from dataclasses import dataclass, field

from scripts.country.bulk import Batch, Table
from scripts.country.clock import DAY, HOUR, day, instant_of_day
from scripts.country.dossier_rows import OBJECTIVES, cpo_targets
from scripts.country.dossiers import Dossier
from scripts.country.draws import draw
from scripts.country.ids import new_id
from scripts.country.snapshots import dumps
from services.funding.programmes.payment_schedule import proportional_split

LEARNING_REVIEWS = Table("funding", "learning_reviews", (
    "id", "dossier_id", "organisation_id", "state", "learned", "next_steps", "submitted_at", "reviewed_at",
    "reviewed_by", "review_comment", "version", "created_at", "updated_at"))
CPO_VERSIONS = Table("funding", "cpo_versions", (
    "id", "dossier_id", "number", "amounts", "objectives", "targets", "reason", "review_id", "created_by",
    "created_at"))
CPO_REVIEWS = Table("funding", "cpo_reviews", (
    "id", "dossier_id", "number", "kind", "year", "outcome", "comment", "version_number", "recorded_by",
    "recorded_at"))

LEARNED = "Les habitants se sont approprié l'atelier ; la fréquentation a doublé au deuxième trimestre."
NEXT_STEPS = "Former deux bénévoles référents et ouvrir un second créneau."
VERDICTS = {"continue": "Le collectif poursuit l'expérimentation avec ses propres moyens.",
            "stop": "L'expérimentation s'arrête : les enseignements sont partagés avec le réseau."}
EVALUATIONS = (("achieved", 60), ("partly_achieved", 30), ("not_achieved", 10))


@dataclass(slots=True)
class FollowUp:
    """When the reviews a dossier's payments wait for were accepted (None: not yet)."""

    seed_review_accepted: int | None = None
    cpo_reviews: dict[int, int] = field(default_factory=dict)  # year -> instant of its review
    evaluated_at: int | None = None


def follow(d: Dossier, as_of: int, desk: tuple[str, bytes], batch: Batch, rng: random.Random) -> FollowUp:
    if not any(d.granted.values()):
        return FollowUp()
    if d.programme.track == "seed":
        return _seed(d, as_of, desk, batch, rng)
    if d.programme.track == "cpo":
        return _cpo(d, as_of, desk, batch, rng)
    return FollowUp()


def _seed(d: Dossier, as_of: int, desk: tuple[str, bytes], batch: Batch, rng: random.Random) -> FollowUp:
    decided = d.decided_at or 0
    created = decided + draw(rng, 150, 240) * DAY + draw(rng, 8, 17) * HOUR
    if created > as_of:
        return FollowUp()
    submitted = created + draw(rng, 1, 20) * DAY
    reviewed = submitted + draw(rng, 5, 30) * DAY
    state = "accepted" if reviewed <= as_of else "submitted" if submitted <= as_of else "draft"
    batch.rows_of(LEARNING_REVIEWS).append((
        new_id(rng), d.id, d.association.id, state, LEARNED, NEXT_STEPS, submitted if submitted <= as_of else None,
        reviewed if state == "accepted" else None, desk[0] if state == "accepted" else None, None,
        {"draft": 1, "submitted": 2, "accepted": 3}[state], created,
        {"draft": created, "submitted": submitted, "accepted": reviewed}[state]))
    if state != "accepted":
        return FollowUp()
    verdict_at = max(instant_of_day(d.project.end, 10), reviewed) + draw(rng, 10, 60) * DAY
    if verdict_at <= as_of:
        verdict = "continue" if rng.random() < 0.55 else "stop"
        d.verdict = (verdict, VERDICTS[verdict], verdict_at)
        d.step(verdict_at, f"verdict_{verdict}", "decided", *desk, VERDICTS[verdict])
    return FollowUp(seed_review_accepted=reviewed)


def _cpo(d: Dossier, as_of: int, desk: tuple[str, bytes], batch: Batch, rng: random.Random) -> FollowUp:
    """Reviewed each year from mid-September (never before the decision), evaluated the autumn after its last
    year; every review passes (continue)."""
    decided = d.decided_at or 0
    first, years = d.programme.year, d.cpo_years or 3
    amounts = {funder.text: dict(zip((str(y) for y in range(first, first + years)), yearly, strict=True))
               for funder, yearly in granted_by_year(d).items()}
    batch.rows_of(CPO_VERSIONS).append((
        new_id(rng), d.id, 1, dumps(amounts), dumps(list(OBJECTIVES[: 2 + years % 2])), dumps(cpo_targets(d)), None,
        None, desk[0], decided))
    d.cpo_state = "running"
    follow_up = FollowUp()
    reviews = batch.rows_of(CPO_REVIEWS)
    number = 0
    for year in range(first, first + years):
        at = max(instant_of_day(day(year, 9, 15) + draw(rng, 0, 70), draw(rng, 9, 17)),
                 decided + draw(rng, 10, 30) * DAY)
        if at > as_of:
            return follow_up
        number += 1
        reviews.append((new_id(rng), d.id, number, "yearly", year, "continue", None, None, desk[0], at))
        d.step(at, "cpo_review_continue", "decided", *desk, str(year))
        follow_up.cpo_reviews[year] = at
    last = first + years - 1
    at = instant_of_day(day(last + 1, 9, 20) + draw(rng, 0, 60), draw(rng, 9, 17))
    if at <= as_of:
        outcome = rng.choices([o for o, _ in EVALUATIONS], [w for _, w in EVALUATIONS])[0]
        reviews.append((new_id(rng), d.id, number + 1, "final", last, outcome,
                        "Évaluation finale partagée par les financeurs.", None, desk[0], at))
        d.step(at, "cpo_evaluated", "decided", *desk, outcome)
        d.cpo_state = "completed"
        follow_up.evaluated_at = at
    return follow_up


def granted_by_year(d: Dossier) -> dict:
    """Each funder's grant cut along what it was asked each year (services/funding/dossiers/cpo_plan.py)."""
    return {funder: proportional_split(d.granted[funder], yearly) for funder, _, yearly in d.lines
            if d.granted.get(funder)}
