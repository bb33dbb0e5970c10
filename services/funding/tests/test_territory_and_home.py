"""A territory's year in figures (a QPV, several, or everything the desk covers) and an association's home: what
it has filed, what it must do next, the money it can expect."""

from datetime import timedelta
from typing import Any

import pytest

from services.funding.tests.committee_helpers import (
    CAF_MANAGER,
    decide,
    ok,
    open_session,
    plan_session,
    ready,
    session_url,
)
from services.funding.tests.helpers import BLOSNE_AVENIR, CAF, PREFECTURE, PROGRAMME_ID, VILLE, url_of
from services.funding.tests.test_agreements import STATE_MANAGER, agreements_of, decided, move, payments_of
from tests.support.clock import TODAY
from tests.support.stack import REPO, problem
from tests.support.world import CITIZEN, CITY_MANAGER, DESK, HOLDER, OTHER_HOLDER, World

TERRITORY = "/api/v1/stats/territory"
HOME = "/api/v1/stats/association"
BLOSNE_QPV, MAUREPAS_QPV = "QN03505M", "QN03504M"


def line(value: str, grants: int, granted_cents: int, projects: int = 1) -> dict[str, Any]:
    return {"value": value, "grants": grants, "granted_cents": granted_cents, "projects": projects,
            "suppressed": False}


def territory(world: World, email: str = DESK, **params: Any) -> dict[str, Any]:
    return ok(world.as_("funding", email).get(TERRITORY, params=params))


class TestTerritory:
    def test_money_by_funder_track_priority_and_who_it_reached(self, world: World) -> None:
        blosne = ready(world, plan=[{"funder_id": VILLE, "amount_cents": 1_000_000},
                                    {"funder_id": PREFECTURE, "amount_cents": 400_000}])
        project = world.create_project(qpv_codes=[MAUREPAS_QPV], priorities=["economic_development"])
        maurepas = ready(world, plan=[{"funder_id": CAF, "amount_cents": 500_000}], project=project, documents=False)
        present = [VILLE, PREFECTURE, CAF]
        session = ok(open_session(world, plan_session(world, [blosne, maurepas], present), present))
        ok(decide(world, session, blosne, VILLE, 1_000_000), 201)
        ok(decide(world, session, blosne, PREFECTURE, 400_000), 201)
        ok(decide(world, session, maurepas, CAF, 500_000, email=CAF_MANAGER), 201)
        ok(world.as_("funding", DESK).post(f"{session_url(session)}/close", json={}))
        year = ok(world.as_("funding", DESK).get(f"/api/v1/programmes/{PROGRAMME_ID}"))["year"]

        one = territory(world, year=year, qpv=BLOSNE_QPV)
        assert (one["qpv_codes"], one["grants"], one["granted_cents"]) == ([BLOSNE_QPV], 2, 1_400_000)
        assert (one["projects"], one["associations"], one["funders"]) == (1, 1, 2)
        assert one["granted_by"]["funder"] == [line(VILLE, 1, 1_000_000),
                                               line(PREFECTURE, 1, 400_000)]
        assert one["granted_by"]["track"] == [line("annual", 2, 1_400_000)]
        # A grant counts under each of its dossier's priorities.
        assert one["granted_by"]["priority"] == [line("social_cohesion", 2, 1_400_000),
                                                 line("youth", 2, 1_400_000)]
        assert one["dossiers_by_state"] == {"decided": 1}
        assert territory(world, year=year, qpv=MAUREPAS_QPV)["granted_by"]["funder"] == [
            line(CAF, 1, 500_000)]

        # A commune or a contrat de ville: its QPVs together, each dossier once.
        both = territory(world, year=year, qpv=[MAUREPAS_QPV, BLOSNE_QPV, MAUREPAS_QPV])
        assert (both["qpv_codes"], both["grants"], both["granted_cents"]) == (
            [MAUREPAS_QPV, BLOSNE_QPV], 3, 1_900_000)
        assert (both["projects"], both["associations"], both["funders"]) == (2, 1, 3)
        everything = territory(world, CITY_MANAGER, year=year)  # a funder reads the territory's, all funders'
        assert (everything["qpv_codes"], everything["granted_cents"]) == ([], 1_900_000)
        assert everything["dossiers_by_state"] == {"decided": 2}
        assert territory(world, year=year + 1)["grants"] == 0

    def test_associations_and_councils_read_it_without_what_rests_on_too_few_projects(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        blosne = ready(world, plan=[{"funder_id": VILLE, "amount_cents": 1_000_000},
                                    {"funder_id": PREFECTURE, "amount_cents": 400_000}])
        project = world.create_project(qpv_codes=[MAUREPAS_QPV], priorities=["economic_development"])
        maurepas = ready(world, plan=[{"funder_id": VILLE, "amount_cents": 500_000}], project=project, documents=False)
        present = [VILLE, PREFECTURE]
        session = ok(open_session(world, plan_session(world, [blosne, maurepas], present), present))
        ok(decide(world, session, blosne, VILLE, 1_000_000), 201)
        ok(decide(world, session, blosne, PREFECTURE, 400_000), 201)
        ok(decide(world, session, maurepas, VILLE, 500_000), 201)
        ok(world.as_("funding", DESK).post(f"{session_url(session)}/close", json={}))
        year = ok(world.as_("funding", DESK).get(f"/api/v1/programmes/{PROGRAMME_ID}"))["year"]
        full = territory(world, year=year)
        hidden = {"grants": None, "granted_cents": None, "projects": None, "suppressed": True}
        for email in (HOLDER, CITIZEN):
            # Two projects in all, under the default of three: only the keys are left.
            shown = territory(world, email, year=year)
            assert shown["suppressed"] is True
            assert {name: shown[name] for name in ("grants", "granted_cents", "projects", "associations",
                                                    "funders")} == dict.fromkeys(
                ("grants", "granted_cents", "projects", "associations", "funders"))
            assert shown["dossiers_by_state"] == {"decided": None}
            assert shown["granted_by"]["funder"] == [{"value": VILLE, **hidden}, {"value": PREFECTURE, **hidden}]
        monkeypatch.setattr(world.stack.apps["funding"].state.settings, "small_cell_min_projects", 2)
        shown = territory(world, HOLDER, year=year)
        assert (shown["suppressed"], shown["granted_cents"], shown["projects"]) == (False, 1_900_000, 2)
        assert shown["dossiers_by_state"] == {"decided": 2}
        # The city's line rests on both projects; the State's on one.
        assert shown["granted_by"]["funder"] == [line(VILLE, 2, 1_500_000, 2), {"value": PREFECTURE, **hidden}]
        assert territory(world, CITY_MANAGER, year=year) == full  # a funder reads every line as it is

    def test_who_reads_it_and_bad_scopes(self, world: World) -> None:
        for params in ({"year": 2027, "qpv": "QN0"}, {"year": 1990}, {}):
            answer = world.as_("funding", DESK).get(TERRITORY, params=params)
            assert answer.status_code == 422 and problem(answer)["code"] == "validation_failed", params
        national = (REPO / "migrations/projects/data/qpv_2024_codes.csv").read_text("utf-8").splitlines()[1:]
        too_many = [row.split(";")[0] for row in national[:201]]  # 201 real codes, one over the limit
        assert world.as_("funding", DESK).get(TERRITORY, params={"year": 2027, "qpv": too_many}).status_code == 422


class TestAssociationHome:
    def test_what_is_due_next_and_the_money_expected(self, world: World) -> None:
        dossier = decided(world)  # the city 25,000 € (a convention), the State 10,000 € (a letter)
        agreements = agreements_of(world, dossier)
        home = ok(world.as_("funding", HOLDER).get(HOME))
        assert home["organisation_id"] == BLOSNE_AVENIR and home["dossiers_by_state"] == {"decided": 1}
        assert home["due_next"] == []
        expected = home["payments_expected"]
        assert expected["amount_cents"] == 3_500_000 and expected["count"] == len(expected["next"])
        assert {p["state"] for p in expected["next"]} == {"scheduled"}

        ok(move(world, STATE_MANAGER, agreements[PREFECTURE], "send"))  # a letter: in force at once, its payment due
        ok(move(world, CITY_MANAGER, agreements[VILLE], "send"))  # a convention: the association signs first
        supplements_due = (TODAY + timedelta(days=30)).isoformat()
        other = world.submit(world.create_dossier(plan=[{"funder_id": VILLE, "amount_cents": 800_000}]))
        ok(world.as_("funding", DESK).post(f"{url_of(other)}/request-supplements",
                                           json={"message": "Le RIB, s'il vous plaît.", "due_on": supplements_due}))
        home = ok(world.as_("funding", HOLDER).get(HOME))
        assert home["dossiers_by_state"] == {"decided": 1, "supplements_requested": 1}
        assert [(item["kind"], item["item_id"], item["due_on"]) for item in home["due_next"]] == [
            ("supplements", other["id"], supplements_due), ("signature", agreements[VILLE]["id"], None)]
        [letter_payment] = payments_of(world, agreements[PREFECTURE])
        first = home["payments_expected"]["next"][0]
        assert (first["id"], first["state"], first["funder_id"]) == (letter_payment["id"], "due", PREFECTURE)

        ok(world.as_("funding", STATE_MANAGER).post(f"/api/v1/payments/{letter_payment['id']}/pay", json={}))
        home = ok(world.as_("funding", HOLDER).get(HOME))
        assert home["payments_expected"]["amount_cents"] == 2_500_000
        report = next(item for item in home["due_next"] if item["kind"] == "financial_report")
        assert (report["funder_id"], report["dossier_id"], report["overdue"]) == (PREFECTURE, dossier["id"], False)
        assert [item["kind"] for item in home["due_next"]][-1] == "signature"  # undated, after the dated ones

    def test_each_reads_its_own_the_desk_names_one(self, world: World) -> None:
        decided(world)
        assert ok(world.as_("funding", OTHER_HOLDER).get(HOME))["dossiers_by_state"] == {}
        theirs = world.as_("funding", OTHER_HOLDER).get(HOME, params={"organisation_id": BLOSNE_AVENIR})
        assert theirs.status_code == 403 and problem(theirs)["code"] == "not_your_association"
        assert world.as_("funding", DESK).get(HOME).status_code == 422
        named = ok(world.as_("funding", DESK).get(HOME, params={"organisation_id": BLOSNE_AVENIR}))
        assert named["dossiers_by_state"] == {"decided": 1}
        assert world.as_("funding", CITY_MANAGER).get(HOME).status_code == 403
