"""Each dossier's project in the projects service: its QPVs and priorities, its dates, and its CERFA budget whose
grant lines (account 74) ask each funder what the co-funding plan asks."""

import random
from dataclasses import dataclass

from scripts.country import MARKER, places
from scripts.country.bulk import Batch, Table
from scripts.country.clock import DAY, HOUR, date_of, day, day_from, day_of
from scripts.country.draws import draw
from scripts.country.ids import new_id
from scripts.country.snapshots import TO_ALLOCATE, Line, split
from scripts.country.territories import BUDGET_LINES, BUDGETS, Association, Territory
from services.funding.programmes.track_rules import add_months

PROJECTS = Table("projects", "projects", (
    "id", "organisation_id", "title", "summary", "start_date", "end_date", "target_public", "total_cost_cents",
    "created_by", "version", "created_at", "updated_at"))
PROJECT_QPVS = Table("projects", "project_qpv", ("project_id", "qpv_code"))
PROJECT_PRIORITIES = Table("projects", "project_priorities", ("project_id", "priority_code"))

PILLARS = ("social_cohesion", "living_environment", "economic_development")
PILLAR_WEIGHTS = (55, 20, 25)
CROSS_CUTTING = (("youth", 0.40), ("citizenship", 0.20), ("gender_equality", 0.15), ("anti_discrimination", 0.10))
SUMMARIES = {
    "annual": "Action menée toute l'année avec les habitants du quartier, en lien avec les partenaires locaux.",
    "small": "Action ponctuelle portée par des habitants, avec l'appui administratif de l'association.",
    "seed": "Expérimentation collective portée par plusieurs associations, avec un plan d'apprentissage.",
    "cpo": "Action structurante du quartier, reconduite chaque année dans le cadre d'objectifs partagés.",
}


@dataclass(slots=True, eq=False)
class Project:
    id: bytes
    title: str
    summary: str
    qpv_codes: list[str]
    priorities: list[str]
    start: int  # days
    end: int
    target_public: str
    total_cost: int
    lines: list[Line]  # its budget
    created_at: int
    budget_saved: int


def priorities_of(rng: random.Random) -> list[str]:
    chosen = rng.choices(PILLARS, PILLAR_WEIGHTS)
    chosen += [code for code, share in CROSS_CUTTING if rng.random() < share]
    if rng.random() < 0.15:
        chosen.append(rng.choice([p for p in PILLARS if p != chosen[0]]))
    return chosen


def dates_of(track: str, year: int, created: int, cpo_years: int | None, rng: random.Random) -> tuple[int, int]:
    start = day_of(created) + draw(rng, 15, 75)
    if track == "cpo":
        return day(year, 1, 1), day(year + (cpo_years or 3) - 1, 12, 31)
    if track == "small":
        return day_of(created) + draw(rng, 10, 40), day_of(created) + draw(rng, 45, 100)
    if track == "seed":  # within the seed fund's 18 months
        end = day_from(add_months(date_of(start), draw(rng, 6, 18))) - 1
        return start, end
    return start, start + draw(rng, 90, 330)


def new_project(territory: Territory, association: Association, track: str, year: int, created: int,
                plan: list[tuple], cpo_years: int | None, rng: random.Random) -> Project:
    """`plan`: the co-funding plan's lines as (funder or None, amount, yearly amounts)."""
    priorities = priorities_of(rng)
    home = territory.qpvs[association.home]
    qpvs = [home[0]]
    if rng.random() < 0.25:
        other = rng.choice(territory.qpvs)[0]
        if other != home[0]:
            qpvs.append(other)
    theme = rng.choice(places.THEMES[priorities[0]])
    start, end = dates_of(track, year, created, cpo_years, rng)
    requested = sum(amount for _, amount, _ in plan)
    # Grants cover a share of the cost; the rest is the association's own money and the families' share.
    cost = -(-requested * 100 // draw(rng, 35, 85) // 10_000) * 10_000
    staff = draw(rng, 50, 75)
    purchases = draw(rng, 5, 100 - staff - 5)
    lines: list[Line] = [("charge", group, label, amount, None) for group, label, amount in zip(
        ("64", "60", "62"), ("Animateurs et coordination", "Fournitures et petit matériel", "Prestations et sorties"),
        split(cost, (staff, purchases, 100 - staff - purchases)), strict=True) if amount > 0]
    for funder, amount, _ in plan:
        lines.append(("income", "74", funder.name if funder else TO_ALLOCATE, amount, funder.text if funder else None))
    own = cost - requested
    if own:
        parts = split(own, (40, 60)) if own >= 20_000 else [0, own]
        lines += [("income", group, label, amount, None) for group, label, amount in (
            ("70", "Participation des familles", parts[0]), ("75", "Fonds propres de l'association", parts[1]))
            if amount > 0]
    if track != "small" and rng.random() < 0.3:
        valued = draw(rng, 50, 600) * 1_200
        lines += [("charge", "86", "Bénévolat valorisé", valued, None),
                  ("income", "87", "Bénévolat valorisé", valued, None)]
    where = home[1] if len(qpvs) == 1 else territory.communes[0][0]
    created_at = created - draw(rng, 1, 30) * DAY - draw(rng, 0, 8) * HOUR
    return Project(
        id=new_id(rng), title=f"{theme} — {where} {year}"[:200], summary=SUMMARIES[track], qpv_codes=qpvs,
        priorities=priorities, start=start, end=end, target_public=rng.choice(places.TARGET_PUBLICS),
        total_cost=cost, lines=lines, created_at=created_at,
        budget_saved=created_at + draw(rng, 1, 20) * HOUR,  # before the dossier is created
    )


def project_rows(project: Project, association: Association, batch: Batch, rng: random.Random) -> None:
    batch.rows_of(PROJECTS).append((
        project.id, association.id, project.title, project.summary, project.start, project.end,
        project.target_public, project.total_cost, MARKER, 1, project.created_at, project.created_at))
    batch.rows_of(PROJECT_QPVS).extend((project.id, code) for code in project.qpv_codes)
    batch.rows_of(PROJECT_PRIORITIES).extend((project.id, code) for code in project.priorities)
    budget_id = new_id(rng)
    batch.rows_of(BUDGETS).append((budget_id, association.id, project.id, None, 1, MARKER, project.budget_saved))
    lines = batch.rows_of(BUDGET_LINES)
    positions = {"charge": 0, "income": 0}
    for side, group, label, amount, funder in project.lines:
        lines.append((new_id(rng), budget_id, side, positions[side], group, label[:200], amount,
                      funder and bytes.fromhex(funder.replace("-", "")), label == TO_ALLOCATE))
        positions[side] += 1

