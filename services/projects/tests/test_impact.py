"""/api/v1/indicators/aggregates: accepted values and targets by indicator × QPV × priority × year."""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from services.projects.tests.test_indicator_targets import service_token
from tests.support import calls
from tests.support.stack import problem
from tests.support.world import (
    CITIZEN,
    CITY_INSTRUCTOR,
    CITY_MANAGER,
    COMMITTEE_MEMBER,
    DESK,
    HOLDER,
    OTHER_HOLDER,
    World,
)

AGGREGATES = "/api/v1/indicators/aggregates"
AGGREGATION = {
    "qpv_residents_reached": "sum", "women_reached": "sum", "people_accompanied_to_employment": "sum",
    "positive_outcome_rate": "ratio", "participant_satisfaction": "average",
}
DENOMINATOR = {"positive_outcome_rate": "people_accompanied_to_employment"}


@dataclass
class Plan:
    """A project made through the API, with what it aims at and reports, per period."""

    owner: str
    qpv_codes: list[str]
    priorities: list[str]
    start: str
    end: str
    targets: dict[str, dict[str, Any]]  # period -> {indicator: target}
    reports: dict[str, dict[str, Any]]  # period -> {indicator: value}
    accepted: set[str]  # the periods whose report the desk accepts; the others stay submitted
    project: dict[str, Any] = field(default_factory=dict)

    def year_of(self, period: str) -> int:
        return int(self.end[:4]) if period == "span" else int(period)


def plans() -> list[Plan]:
    return [
        # Two priorities: counts under each.
        Plan(HOLDER, ["QN03505M"], ["social_cohesion", "youth"], "2027-01-05", "2027-12-18",
             targets={"2027": {"qpv_residents_reached": 60, "women_reached": 30,
                               "people_accompanied_to_employment": 20, "positive_outcome_rate": 10,
                               "participant_satisfaction": 80}},
             reports={"2027": {"qpv_residents_reached": 64, "women_reached": "35",
                               "people_accompanied_to_employment": 20, "positive_outcome_rate": 8,
                               "participant_satisfaction": "90.5"}},
             accepted={"2027"}),
        # Two QPVs: counts in each; the span counts in the end date's year, 2028.
        Plan(HOLDER, ["QN03505M", "QN03504M"], ["social_cohesion"], "2027-03-01", "2028-06-30",
             targets={"span": {"qpv_residents_reached": 100}, "2027": {"participant_satisfaction": 70},
                      "2028": {"people_accompanied_to_employment": 10, "positive_outcome_rate": 5}},
             reports={"span": {"qpv_residents_reached": 120}, "2027": {"participant_satisfaction": 75},
                      "2028": {"people_accompanied_to_employment": 7, "positive_outcome_rate": 3}},
             accepted={"span", "2027", "2028"}),
        # Another association, no priority; its report is not accepted yet: targets only.
        Plan(OTHER_HOLDER, ["QN03504M"], [], "2027-01-01", "2027-12-31",
             targets={"2027": {"qpv_residents_reached": 40}},
             reports={"2027": {"qpv_residents_reached": 45}},
             accepted=set()),
        # Same QPV and priority as the first: its values add up with it.
        Plan(OTHER_HOLDER, ["QN03505M"], ["youth"], "2027-01-01", "2027-12-31",
             targets={"2027": {"qpv_residents_reached": 15, "participant_satisfaction": "60.5"}},
             reports={"2027": {"qpv_residents_reached": 10, "participant_satisfaction": "70.25"}},
             accepted={"2027"}),
    ]


def build(world: World, plan: Plan) -> None:
    api = world.as_("projects", plan.owner)
    plan.project = world.create_project(
        plan.owner, qpv_codes=plan.qpv_codes, priorities=plan.priorities, start_date=plan.start, end_date=plan.end
    )
    targets = [
        {"indicator_code": code, "period": period, "target": target}
        for period, chosen in plan.targets.items() for code, target in chosen.items()
    ]
    put = api.request("PUT", f"/api/v1/projects/{plan.project['id']}/indicators", json={"targets": targets})
    assert put.status_code == 200, put.text
    for period, values in plan.reports.items():
        report = api.post("/api/v1/reports", json={
            "project_id": plan.project["id"], "period": period, "narrative": "Bilan",
            "values": [{"indicator_code": code, "value": value} for code, value in values.items()],
        })
        assert report.status_code == 201, report.text
        moved = api.post(f"/api/v1/reports/{report.json()['id']}/submit", headers={"If-Match": '"1"'})
        assert moved.status_code == 200, moved.text
        if period in plan.accepted:
            accepted = world.as_("projects", DESK).post(
                f"/api/v1/reports/{report.json()['id']}/accept", headers={"If-Match": '"2"'}
            )
            assert accepted.status_code == 200, accepted.text


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _text(value: Decimal | None) -> str | None:
    if value is None:
        return None
    value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return str(int(value)) if value == value.to_integral_value() else f"{value:.2f}"


def expected_rows(built: list[Plan]) -> list[dict[str, Any]]:
    """The cells, computed here from the data the test created."""
    cells: dict[tuple, dict[str, Any]] = defaultdict(lambda: {
        "actual": [], "target": [], "actual_den": Decimal(0), "target_den": Decimal(0), "projects": set()
    })
    for plan in built:
        for kind, by_period in (("target", plan.targets), ("actual", plan.reports)):
            for period, chosen in by_period.items():
                if kind == "actual" and period not in plan.accepted:
                    continue
                for code, value in chosen.items():
                    priorities: list[str | None] = [*plan.priorities] or [None]
                    for qpv in plan.qpv_codes:
                        for priority in priorities:
                            cell = cells[(code, qpv, priority, plan.year_of(period))]
                            cell[kind].append(_decimal(value))
                            cell["projects"].add(plan.project["id"])
                            if code in DENOMINATOR:
                                cell[f"{kind}_den"] += _decimal(chosen[DENOMINATOR[code]])
    rows = []
    for (code, qpv, priority, year), cell in cells.items():
        ratio = AGGREGATION[code] == "ratio"

        def aggregated(kind: str, cell: dict[str, Any] = cell, code: str = code) -> Decimal | None:
            values = cell[kind]
            if not values:
                return None
            if AGGREGATION[code] == "average":
                return sum(values) / len(values)
            if AGGREGATION[code] == "ratio":
                return 100 * sum(values) / cell[f"{kind}_den"]
            return sum(values)

        rows.append({
            "indicator_code": code, "qpv_code": qpv, "priority_code": priority, "year": year,
            "aggregation": AGGREGATION[code],
            "actual": _text(aggregated("actual")), "target": _text(aggregated("target")),
            "actual_total": _text(sum(cell["actual"])) if cell["actual"] else None,
            "target_total": _text(sum(cell["target"])) if cell["target"] else None,
            "actual_count": len(cell["actual"]), "target_count": len(cell["target"]),
            "actual_denominator": _text(cell["actual_den"]) if ratio and cell["actual"] else None,
            "target_denominator": _text(cell["target_den"]) if ratio and cell["target"] else None,
            "projects": len(cell["projects"]), "suppressed": False,
        })
    return sorted(rows, key=lambda r: (r["indicator_code"], r["qpv_code"], r["priority_code"] or "", r["year"]))


FIGURES = ("actual", "target", "actual_total", "target_total", "actual_count", "target_count",
           "actual_denominator", "target_denominator", "projects")


def suppressed(rows: list[dict[str, Any]], min_projects: int) -> list[dict[str, Any]]:
    """The cells as an association or a council reads them: those of fewer projects keep their keys only."""
    return [
        row if row["projects"] >= min_projects else {**row, **dict.fromkeys(FIGURES), "suppressed": True}
        for row in rows
    ]


def served(world: World, email: str = DESK, **params: Any) -> list[dict[str, Any]]:
    rows = [row for page in calls.pages(world.as_("projects", email), AGGREGATES, **params) for row in page["items"]]
    for row in rows:
        row.pop("unit")
    return rows


@pytest.fixture
def built(world: World) -> list[Plan]:
    made = plans()
    for plan in made:
        build(world, plan)
    return made


class TestAggregates:
    def test_every_cell_adds_up_what_was_accepted_and_aimed_at(self, world: World, built: list[Plan]) -> None:
        assert served(world) == expected_rows(built)

    def test_worked_examples(self, world: World, built: list[Plan]) -> None:
        rows = {(r["indicator_code"], r["qpv_code"], r["priority_code"], r["year"]): r for r in served(world)}
        # The first and the fourth project share the Blosne and youth: 64 + 10 accepted, 60 + 15 aimed at.
        blosne_youth = rows[("qpv_residents_reached", "QN03505M", "youth", 2027)]
        assert (blosne_youth["actual"], blosne_youth["target"], blosne_youth["projects"]) == ("74", "75", 2)
        # The span report of the second project counts in 2028, in both its QPVs.
        for qpv in ("QN03505M", "QN03504M"):
            span = rows[("qpv_residents_reached", qpv, "social_cohesion", 2028)]
            assert (span["actual"], span["target"]) == ("120", "100")
        # Not accepted yet: the target counts, the value does not.
        waiting = rows[("qpv_residents_reached", "QN03504M", None, 2027)]
        assert (waiting["actual"], waiting["actual_count"], waiting["target"]) == (None, 0, "40")
        # A ratio: the rate over the reports' own denominators, 8 / 20.
        rate = rows[("positive_outcome_rate", "QN03505M", "social_cohesion", 2027)]
        assert (rate["actual"], rate["actual_total"], rate["actual_denominator"], rate["target"]) == (
            "40", "8", "20", "50"
        )
        # An average: the mean of 90.5 and 75 (Blosne, social cohesion).
        mean = rows[("participant_satisfaction", "QN03505M", "social_cohesion", 2027)]
        assert (mean["actual"], mean["actual_count"], mean["target"]) == ("82.75", 2, "75")

    @pytest.mark.parametrize(
        "params",
        [{"year": 2028}, {"year": 2027}, {"qpv": "QN03504M"}, {"priority": "youth"},
         {"indicator": "participant_satisfaction"}, {"year": 2027, "qpv": "QN03505M", "indicator": "women_reached"},
         {"year": 2030}],
    )
    def test_filters(self, world: World, built: list[Plan], params: dict[str, Any]) -> None:
        keys = {"year": "year", "qpv": "qpv_code", "priority": "priority_code", "indicator": "indicator_code"}
        wanted = [r for r in expected_rows(built) if all(r[keys[k]] == v for k, v in params.items())]
        assert served(world, **params) == wanted

    def test_several_qpvs_a_commune_or_a_contrat_de_ville(self, world: World, built: list[Plan]) -> None:
        wanted = [r for r in expected_rows(built) if r["qpv_code"] in {"QN03504M", "QN03505M"} and r["year"] == 2027]
        assert served(world, year=2027, qpv=["QN03505M", "QN03504M"]) == wanted
        assert {r["qpv_code"] for r in wanted} == {"QN03504M", "QN03505M"}
        too_many = world.as_("projects", DESK).get(AGGREGATES, params={"qpv": ["QN03504M"] * 201})
        assert too_many.status_code == 422

    def test_a_set_of_projects_a_funder_s_for_instance(self, world: World, built: list[Plan]) -> None:
        chosen = [built[0], built[3]]
        body = {"project_ids": [plan.project["id"] for plan in chosen]}
        rows, cursor = [], None
        while True:
            answer = world.as_("projects", CITY_MANAGER).post(
                f"{AGGREGATES}/search", json=body, params={"limit": 3, **({"cursor": cursor} if cursor else {})})
            assert answer.status_code == 200, answer.text
            rows += answer.json()["items"]
            cursor = answer.json()["next_cursor"]
            if cursor is None:
                break
        for row in rows:
            row.pop("unit")
        assert rows == expected_rows(chosen) != expected_rows(built)
        one_year = world.as_("projects", DESK).post(f"{AGGREGATES}/search", json={**body, "year": 2028})
        assert one_year.json()["items"] == []  # both end in 2027
        bad: dict[str, Any]
        for bad in ({"project_ids": []}, {"project_ids": ["x"]}, {**body, "qpv": "QN03505M"}, {**body, "year": 1}):
            refused = world.as_("projects", DESK).post(f"{AGGREGATES}/search", json=bad)
            assert refused.status_code == 422 and problem(refused)["code"] == "validation_failed", bad
        assert world.as_("projects", HOLDER).post(f"{AGGREGATES}/search", json=body).status_code == 403

    def test_pages_cover_every_cell_once(self, world: World, built: list[Plan]) -> None:
        pages = calls.pages(world.as_("projects", DESK), AGGREGATES, limit=4)
        assert len(pages) > 2
        rows = [row for page in pages for row in page["items"]]
        for row in rows:
            row.pop("unit")
        assert rows == expected_rows(built)

    def test_the_span_follows_the_project_end_date(self, world: World, built: list[Plan]) -> None:
        second = built[1]
        moved = world.as_("projects", HOLDER).patch(
            f"/api/v1/projects/{second.project['id']}", json={"end_date": "2029-01-31"},
            headers={"If-Match": f'"{second.project["version"]}"'},
        )
        assert moved.status_code == 200, moved.text
        second.end = "2029-01-31"
        rows = served(world, indicator="qpv_residents_reached", qpv="QN03504M", priority="social_cohesion")
        assert [(r["year"], r["actual"]) for r in rows] == [(2029, "120")]
        assert served(world) == expected_rows(built)

    def test_an_acceptance_shows_at_once(self, world: World, built: list[Plan]) -> None:
        desk = world.as_("projects", DESK)
        waiting = desk.get("/api/v1/reports", params={"state": "submitted"}).json()["items"]
        assert len(waiting) == 1
        accepted = desk.post(f"/api/v1/reports/{waiting[0]['id']}/accept", headers={"If-Match": '"2"'})
        assert accepted.status_code == 200
        built[2].accepted.add("2027")
        assert served(world) == expected_rows(built)

    def test_nothing_yet_is_an_empty_list(self, world: World) -> None:
        assert served(world) == []

    @pytest.mark.parametrize("email", [DESK, CITY_INSTRUCTOR, CITY_MANAGER, COMMITTEE_MEMBER])
    def test_the_desk_and_funders_read_them(self, world: World, built: list[Plan], email: str) -> None:
        assert served(world, email) == expected_rows(built)

    def test_a_service_reads_them(self, world: World, built: list[Plan]) -> None:
        response = world.stack.api("projects").get(AGGREGATES, params={"limit": 200}, token=service_token(world))
        assert response.status_code == 200
        assert len(response.json()["items"]) == len(expected_rows(built))

    @pytest.mark.parametrize("email", [HOLDER, CITIZEN])
    def test_associations_and_councils_read_them_without_the_cells_of_too_few_projects(
        self, world: World, built: list[Plan], email: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        expected = expected_rows(built)
        assert served(world, email) == suppressed(expected, 3)  # the default: every cell here has 1 or 2 projects
        assert all(row["suppressed"] for row in served(world, email))
        monkeypatch.setattr(world.stack.apps["projects"].state.settings, "small_cell_min_projects", 2)
        shown = served(world, email)
        assert shown == suppressed(expected, 2)
        assert {row["suppressed"] for row in shown} == {True, False}  # some of one project, some of two
        assert len(shown) == len(expected)  # a suppressed cell keeps its place: its absence would say as much

    @pytest.mark.parametrize("email", [HOLDER, CITIZEN])
    def test_associations_and_councils_cannot_name_projects_one_by_one(
        self, world: World, built: list[Plan], email: str
    ) -> None:
        body = {"project_ids": [built[0].project["id"]]}
        assert problem(world.as_("projects", email).post(f"{AGGREGATES}/search", json=body))["status"] == 403

    @pytest.mark.parametrize(
        "params", [{"year": 1800}, {"year": "2027a"}, {"qpv": "Blosne"}, {"priority": "Youth"}, {"indicator": "X"},
                   {"limit": 0}],
    )
    def test_bad_filters_are_422(self, world: World, params: dict[str, Any]) -> None:
        assert problem(world.as_("projects", DESK).get(AGGREGATES, params=params))["status"] == 422

    @pytest.mark.parametrize("cursor", ["not-a-cursor", "bm90LWEtY3Vyc29y", "WzEsMiwzLDRd", "WyJhIiwiYiIsImMiLCJkIl0"])
    def test_a_forged_cursor_is_400(self, world: World, cursor: str) -> None:
        response = world.as_("projects", DESK).get(AGGREGATES, params={"cursor": cursor})
        assert problem(response)["code"] == "invalid_cursor"
