"""Each dossier's life, as the desk's API would have written it: filed under one of its territory's programmes with a
co-funding plan, submitted (its project, budgets and profile frozen), perhaps sent back for supplements, declared
admissible, routed, examined by each funder, put on a committee's agenda (perhaps deferred once) and decided — or
withdrawn, or found inadmissible. Small projects go to their lead funder, who decides alone within weeks.

A life is played step by step and stops at the frame's `as_of`: past years end in final states, the current
year's dossiers stand wherever their dates have brought them.
"""

import random
from dataclasses import dataclass, field

from scripts.country.calendar import Calendar, Frame, Programme, Session, first_session_from, window_instant
from scripts.country.clock import DAY, HOUR, MINUTE, SECOND, day_of
from scripts.country.draws import apportion, draw
from scripts.country.ids import id_text, new_id
from scripts.country.projects import Project, new_project
from scripts.country.territories import Association, Funder, Territory

TRACK_SHARES = {"annual": 70, "small": 15, "seed": 5, "cpo": 10}
PLAN_SIZES = {"annual": ((1, 2, 3, 4), (20, 40, 28, 12)), "seed": ((1, 2, 3), (30, 50, 20)),
              "cpo": ((1, 2, 3, 4), (15, 40, 35, 10)), "small": ((1,), (1,))}
# How often each kind of funder is asked, relative to the others: the State and the main city fund most dossiers,
# the other communes those of their own QPVs.
ASKED = {"state": 10, "city": 9, "other_city": 3, "epci": 3, "departement": 3, "caf": 3, "region": 1.5,
         "landlord": 1, "foundation": 0.7, "other": 0.5}
OUTCOMES = {"small": (75, 10, 15), "committee": (50, 35, 15)}  # accepted, partially accepted, refused
SUPPLEMENTS = "Merci de joindre les pièces manquantes (statuts à jour, RIB, dernier rapport d'activité)."
INADMISSIBLE = "Le projet ne touche aucun QPV du contrat de ville, ou le dossier est resté incomplet."
WITHDRAWN = "Projet abandonné par l'association (porteur parti, local indisponible)."
DEFERRED = "Le comité attend le plan de financement consolidé avant de se prononcer."
REFUSED = "Le projet ne correspond pas aux priorités de ce financeur pour cette année."


@dataclass(slots=True, eq=False)
class Seed:
    """A dossier before its life: when it is created, under which programme, by whom; its reference number."""

    created: int
    year: int
    track: str
    association: int
    number: int = 0


@dataclass(slots=True, eq=False)
class Dossier:
    id: bytes
    text: str
    reference: str
    programme: Programme
    association: Association
    project: Project
    created: int
    lines: list[tuple]  # the co-funding plan: (funder, amount, yearly amounts)
    state: str = "draft"
    trail: list[tuple] = field(default_factory=list)  # (at, action, from, to, actor, actor's organisation, comment)
    withdraw_at: int | None = None
    submitted_at: int | None = None
    first_submitted_at: int | None = None
    supplements_asked_at: int | None = None
    routed_at: int | None = None
    opinions: list[tuple] = field(default_factory=list)  # (funder, at, granted)
    agenda: list[tuple] = field(default_factory=list)  # (session, placed at, item state)
    granted: dict = field(default_factory=dict)  # funder -> cents, once decided
    outcome: str | None = None
    decided_at: int | None = None
    decided_in: Session | None = None
    decision_due_at: int | None = None
    clock_remaining_seconds: int | None = None
    closing_reason: str | None = None
    cpo_years: int | None = None
    cpo_state: str | None = None
    partners: list = field(default_factory=list)
    verdict: tuple | None = None  # (verdict, comment, at)

    def step(self, at: int, action: str, to: str, actor: str, organisation: bytes | None,
             comment: str | None = None) -> None:
        self.trail.append((at, action, self.state if self.trail else None, to, actor, organisation, comment))
        self.state = to


def plan_territory(territory: Territory, calendar: Calendar, frame: Frame, count: int,
                   rng: random.Random) -> list[Seed]:
    """The territory's dossiers: a few more each year, shared among tracks and associations (the bigger file
    more); the demo's Blosne Avenir files about four a year."""
    years = list(frame.years)
    by_year = apportion(count, [1 + 0.06 * i for i in range(len(years))])
    cumulative, total = [], 0.0
    for association in territory.associations:
        total += association.weight
        cumulative.append(total)
    seeds: list[Seed] = []
    for year, year_count in zip(years, by_year, strict=True):
        for track, track_count in zip(TRACK_SHARES, apportion(year_count, list(TRACK_SHARES.values())), strict=True):
            programme = calendar.programmes[(year, track)]
            if programme.opens > day_of(frame.as_of - HOUR):
                continue  # not open yet when the history stops
            authors = rng.choices(range(len(territory.associations)), cum_weights=cumulative, k=track_count)
            seeds.extend(Seed(window_instant(programme, rng, frame.as_of), year, track, author) for author in authors)
    if territory.index == 1 and seeds:  # the demo's association that tells the story (see scripts/demo_data.py)
        for seed in rng.sample(seeds, min(4 * len(years), len(seeds) // 10)):
            seed.association = 0
    return sorted(seeds, key=lambda s: s.created)


class Lives:
    """Plays the lives of one territory's dossiers."""

    def __init__(self, territory: Territory, calendar: Calendar, frame: Frame, desk: tuple[str, bytes],
                 rng: random.Random):
        self.territory, self.calendar, self.frame, self.rng = territory, calendar, frame, rng
        self.desk, self.desk_org = desk
        self.as_of = frame.as_of
        self.asked = [ASKED["other_city" if f.category == "city" and f is not territory.city else f.category]
                      for f in territory.funders]

    def dossier(self, seed: Seed, reference: str) -> Dossier:
        rng = self.rng
        programme = self.calendar.programmes[(seed.year, seed.track)]
        association = self.territory.associations[seed.association]
        cpo_years = rng.choice((2, 3, 3, 3, 4)) if seed.track == "cpo" else None
        lines = self.plan(programme, cpo_years)
        dossier_id = new_id(rng)
        project = new_project(self.territory, association, seed.track, seed.year, seed.created, lines, cpo_years, rng)
        d = Dossier(id=dossier_id, text=id_text(dossier_id), reference=reference, programme=programme,
                    association=association, project=project, created=seed.created, lines=lines, cpo_years=cpo_years)
        if seed.track == "seed":
            others = rng.sample(self.territory.associations, min(2, len(self.territory.associations)))
            d.partners = [a for a in others if a is not association][: draw(rng, 1, 2)]
        if seed.track == "small":
            self.small_life(d)
        else:
            self.committee_life(d)
        return d

    def plan(self, programme: Programme, cpo_years: int | None) -> list[tuple]:
        rng = self.rng
        if programme.track == "small":
            return [(programme.lead, draw(rng, 3, 50) * 10_000, [])]
        sizes, weights = PLAN_SIZES[programme.track]
        wanted = rng.choices(sizes, weights)[0]
        funders: list[Funder] = []
        while len(funders) < min(wanted, len(self.territory.funders)):
            funder = rng.choices(self.territory.funders, self.asked)[0]
            if funder not in funders:
                funders.append(funder)
        if programme.track == "seed":  # the seed fund's ceiling is on the whole dossier: 15,000 euros
            amounts = apportion(draw(rng, 30, 150), [rng.random() + 0.5 for _ in funders])
            return [(f, a * 10_000, []) for f, a in zip(funders, amounts, strict=True) if a > 0]
        if programme.track == "cpo":
            lines = []
            for funder in funders:
                yearly = int(min(80_000, max(5_000, rng.lognormvariate(9.6, 0.6)))) // 1_000 * 100_000
                lines.append((funder, yearly * (cpo_years or 3), [yearly] * (cpo_years or 3)))
            return lines
        return [(f, int(min(60_000, max(500, rng.lognormvariate(8.7, 0.7)))) // 100 * 10_000, []) for f in funders]

    # Lives.

    def begin(self, d: Dossier, submit_at: int) -> bool:
        holder, org = d.association.holder, d.association.id
        d.step(d.created, "created", "draft", holder, org)
        if submit_at > self.as_of or self.withdrawn(d, submit_at):
            return False
        d.step(submit_at, "submitted", "submitted", holder, org)
        d.submitted_at = d.first_submitted_at = submit_at
        return True

    def withdrawn(self, d: Dossier, next_at: int) -> bool:
        """Whether the holder withdrew the dossier before its next step (then written, and the life ends)."""
        if d.withdraw_at is None or next_at <= d.withdraw_at:
            return False
        if d.withdraw_at <= self.as_of and d.state != "withdrawn":
            d.step(d.withdraw_at, "withdrawn", "withdrawn", d.association.holder, d.association.id, WITHDRAWN)
            d.closing_reason = WITHDRAWN
            if d.agenda and d.agenda[-1][2] == "pending":  # its item leaves the agenda undecided
                d.agenda[-1] = (d.agenda[-1][0], d.agenda[-1][1], "withdrawn")
        return True

    def supplements(self, d: Dossier, span: int) -> int | None:
        """Perhaps sent back for supplements: the instant the file is complete again, or None if the life stops."""
        t = d.submitted_at or 0
        if self.rng.random() >= 0.15:
            return t
        asked = t + int(span * self.rng.uniform(0.03, 0.10))
        back = asked + int(span * self.rng.uniform(0.03, 0.12))
        if asked > self.as_of or self.withdrawn(d, asked):
            return None
        d.step(asked, "supplements_requested", "supplements_requested", self.desk, self.desk_org, SUPPLEMENTS)
        d.supplements_asked_at = asked
        if back > self.as_of or self.withdrawn(d, back):
            return None
        d.step(back, "supplements_provided", "submitted", d.association.holder, d.association.id)
        d.submitted_at = back
        return back

    def admissibility(self, d: Dossier, at: int, share_refused: float) -> bool:
        if at > self.as_of or self.withdrawn(d, at):
            return False
        if self.rng.random() < share_refused:
            d.step(at, "declared_inadmissible", "inadmissible", self.desk, self.desk_org, INADMISSIBLE)
            d.closing_reason = INADMISSIBLE
            return False
        d.step(at, "declared_admissible", "admissible", self.desk, self.desk_org)
        return True

    def committee_life(self, d: Dossier) -> None:
        rng, year = self.rng, d.programme.year
        session = first_session_from(self.calendar, year, day_of(d.created) + 40)
        horizon = session.opened_at if session else d.created + 80 * DAY
        span = horizon - d.created
        # Submitted within the first weeks, early enough that the decision comes 20 to 120 days later.
        submit_at = d.created + max(HOUR, int(span * rng.uniform(0, 0.15)), span - 115 * DAY)
        if rng.random() < 0.04:
            d.withdraw_at = submit_at + int((horizon - submit_at) * rng.uniform(0.05, 0.8))
        if not self.begin(d, submit_at):
            return
        complete = self.supplements(d, span)
        if complete is None:
            return
        admissible_at = complete + int((horizon - complete) * rng.uniform(0.05, 0.2))
        if not self.admissibility(d, admissible_at, 0.06):
            return
        routed_at = admissible_at + draw(rng, 1, 48) * HOUR
        if routed_at > self.as_of or self.withdrawn(d, routed_at):
            return
        funders = [f for f, _, _ in d.lines]
        d.step(routed_at, "routed", "in_instruction", self.desk, self.desk_org, ", ".join(f.text for f in funders))
        d.routed_at = routed_at
        given = sorted((routed_at + int((horizon - 2 * DAY - routed_at) * rng.uniform(0.2, 0.95)), f) for f in funders)
        d.opinions = [(f, at, None) for at, f in given if at <= self.as_of and not self.withdrawn(d, at)]
        if d.state == "withdrawn" or len(d.opinions) < len(funders):
            return
        ready_at, last = given[-1]
        d.step(ready_at, "ready_for_committee", "ready_for_committee", last.subjects[0], last.id)
        if session is None:
            return
        deciding = session
        later = next((s for s in self.calendar.sessions[year] if s.held_on > session.held_on), None)
        if later and rng.random() < 0.05 and later.closed_at - complete <= 120 * DAY:
            if not self.place(d, session, ready_at) or self.withdrawn(d, session.closed_at):
                return
            d.agenda[-1] = (session, d.agenda[-1][1], "deferred")
            d.step(session.closed_at, "deferred", "deferred", self.desk, self.desk_org, DEFERRED)
            ready_at, deciding = session.closed_at, later
        if not self.place(d, deciding, ready_at):
            return
        self.decide(d, deciding.closed_at, "committee")
        if d.state == "decided":
            d.agenda[-1] = (deciding, d.agenda[-1][1], "decided")
            d.decided_in = deciding

    def place(self, d: Dossier, session: Session, ready_at: int) -> bool:
        """On the session's agenda, once the session exists; False when the life stops before."""
        placed = max(ready_at, session.created_at) + draw(self.rng, 1, 72) * HOUR
        placed = min(placed, session.opened_at - HOUR)
        if placed > self.as_of or self.withdrawn(d, placed):
            return False
        d.step(placed, "placed_on_agenda", "ready_for_committee", self.desk, self.desk_org, id_text(session.id))
        d.agenda.append((session, placed, "pending"))
        return session.closed_at <= self.as_of

    def decide(self, d: Dossier, at: int, kind: str) -> None:
        rng = self.rng
        if at > self.as_of or self.withdrawn(d, at):
            return
        aimed = rng.choices(("accepted", "partially_accepted", "refused"), OUTCOMES[kind])[0]
        asked = {funder: amount for funder, amount, _ in d.lines}
        if aimed == "accepted":
            granted = dict(asked)
        elif aimed == "refused":
            granted = dict.fromkeys(asked, 0)
        else:  # each share granted in full, cut or refused; never all in full, never none
            granted = {f: rng.choice((0, cut(a, rng), a)) for f, a in asked.items()}
            chosen = rng.choice(list(asked))
            if all(granted[f] >= a for f, a in asked.items()):
                granted[chosen] = cut(asked[chosen], rng)
            elif not any(granted.values()):
                granted[chosen] = asked[chosen]
        d.granted, d.outcome, d.decided_at = granted, outcome_of(asked, granted), at
        d.opinions = [(f, when, granted[f]) for f, when, _ in d.opinions]
        lead = d.lines[0][0]
        actor: tuple[str, bytes] = (self.desk, self.desk_org) if kind == "committee" else (lead.subjects[1], lead.id)
        d.step(at, "decided", "decided", *actor, d.outcome)

    def small_life(self, d: Dossier) -> None:
        """Rolling: submitted any day, decided by the lead funder's manager within weeks (target: 21 days)."""
        rng = self.rng
        submit_at = d.created + draw(rng, 1, 72) * HOUR
        if rng.random() < 0.03:
            d.withdraw_at = submit_at + draw(rng, 1, 15) * DAY + draw(rng, 1, 600) * MINUTE
        if self.begin(d, submit_at):
            complete = self.supplements(d, 30 * DAY)
            if complete is not None:
                admissible_at = complete + draw(rng, 1, 4) * DAY + draw(rng, 0, 8) * HOUR
                if self.admissibility(d, admissible_at, 0.05):
                    d.routed_at = admissible_at  # routed to the lead funder with the admissibility
                    self.decide(d, admissible_at + draw(rng, 1, 20) * DAY + draw(rng, 0, 8) * HOUR, "small")
        self.service_clock(d)

    def service_clock(self, d: Dossier) -> None:
        """Where the small project's clock stands (see services/funding/dossiers/service_clock.py): running from the
        first submission, standing still while supplements are awaited, stopped at the end."""
        if d.first_submitted_at is None or d.state in ("decided", "withdrawn", "inadmissible"):
            return
        due = d.first_submitted_at + 21 * DAY
        if d.state == "supplements_requested":
            d.clock_remaining_seconds = (due - (d.supplements_asked_at or 0)) // SECOND
        elif d.supplements_asked_at is not None:
            d.decision_due_at = (d.submitted_at or 0) + due - d.supplements_asked_at
        else:
            d.decision_due_at = due


def cut(amount: int, rng: random.Random) -> int:
    """Part of an amount, in whole hundreds of euros (nothing, when the amount is too small to cut)."""
    return amount * draw(rng, 40, 90) // 100 // 10_000 * 10_000


def outcome_of(asked: dict, granted: dict) -> str:
    """As the committee's closing computes it (services/funding/committee/closing.py outcome_of)."""
    if all(granted[f] >= a for f, a in asked.items()):
        return "accepted"
    return "refused" if not any(granted.values()) else "partially_accepted"
