"""What a request asks (CERFA 12156, « objet de la demande »): a project or the association's overall running
costs, a first request or a renewal, cash or in kind; one year or several (a CPO)."""

from typing import Any

import pytest

from services.funding.tests.helpers import (
    DOSSIERS,
    PREFECTURE,
    VILLE,
    create_programme,
    dossier_body,
    listed_state,
    url_of,
)
from tests.support.clock import TODAY
from tests.support.stack import problem
from tests.support.world import DESK, HOLDER, World, org_id

# What the demo association's yearly budget asks of the desk's funders (scripts/demo_data.py, account 74).
YEARLY_PLAN: list[dict[str, Any]] = [
    {"funder_id": VILLE, "amount_cents": 12_000_000},
    {"funder_id": PREFECTURE, "amount_cents": 5_000_000},
]


def everything(world: World) -> list[tuple[str, int]]:
    return listed_state(world.as_("funding", DESK))


class TestWhatARequestAsks:
    def test_by_default_a_first_request_of_cash_for_a_project_for_one_year(self, world: World) -> None:
        dossier = world.create_dossier()
        assert (dossier["request_object"], dossier["request_kind"], dossier["aid_nature"]) == (
            "project", "first", ["cash"]
        )
        assert dossier["request_period"] == "annual"

    def test_the_holder_says_it_asks_running_costs_in_cash_and_kind_as_a_renewal(self, world: World) -> None:
        project = world.create_project()
        api = world.as_("funding", HOLDER)
        response = api.post(DOSSIERS, json=dossier_body(
            project, YEARLY_PLAN, request_object="operating", request_kind="renewal",
            aid_nature=["cash", "in_kind"],
        ))
        assert response.status_code == 201, response.text
        created = response.json()
        assert (created["request_object"], created["request_kind"], created["aid_nature"]) == (
            "operating", "renewal", ["cash", "in_kind"]
        )
        assert api.get(url_of(created)).json() == created
        summary = next(item for item in api.get(DOSSIERS).json()["items"] if item["id"] == created["id"])
        assert (summary["request_object"], summary["request_kind"], summary["request_period"]) == (
            "operating", "renewal", "annual"
        )

    def test_a_draft_changes_what_it_asks_and_the_same_again_keeps_the_version(self, world: World) -> None:
        draft = world.create_dossier()
        api = world.as_("funding", HOLDER)
        changed = api.patch(url_of(draft), json={"request_kind": "renewal", "aid_nature": ["in_kind"]},
                            headers={"If-Match": f'"{draft["version"]}"'})
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert (body["request_kind"], body["aid_nature"], body["request_object"]) == ("renewal", ["in_kind"], "project")
        assert body["version"] == draft["version"] + 1
        again = api.patch(url_of(draft), json={"request_kind": "renewal"}, headers={"If-Match": f'"{body["version"]}"'})
        assert again.status_code == 200 and again.json()["version"] == body["version"]
        history = api.get(f"{url_of(draft)}/history").json()
        assert [entry["action"] for entry in history].count("request_updated") == 1

    @pytest.mark.parametrize(
        ("extra", "field"),
        [
            ({"request_object": "association"}, "body.request_object"),
            ({"request_kind": "second"}, "body.request_kind"),
            ({"aid_nature": []}, "body.aid_nature"),
            ({"aid_nature": ["cash", "cash"]}, "body"),
            ({"aid_nature": ["loan"]}, "body.aid_nature.0"),
        ],
        ids=["unknown-object", "unknown-kind", "no-nature", "nature-twice", "unknown-nature"],
    )
    def test_bad_values_are_422_and_nothing_is_written(self, world: World, extra: dict, field: str) -> None:
        project = world.create_project()
        response = world.as_("funding", HOLDER).post(DOSSIERS, json=dossier_body(project, **extra))
        assert response.status_code == 422, response.text
        assert field in [error["field"] for error in problem(response)["errors"]]
        assert everything(world) == []

    def test_a_null_in_a_change_is_422(self, world: World) -> None:
        draft = world.create_dossier()
        response = world.as_("funding", HOLDER).patch(
            url_of(draft), json={"aid_nature": None}, headers={"If-Match": f'"{draft["version"]}"'}
        )
        assert response.status_code == 422
        assert world.as_("funding", HOLDER).get(url_of(draft)).json()["version"] == draft["version"]

    def test_running_costs_are_not_asked_of_the_seed_fund(self, world: World) -> None:
        seed = create_programme(world)
        project = world.create_project()
        response = world.as_("funding", HOLDER).post(DOSSIERS, json=dossier_body(
            project, programme_id=seed["id"], request_object="operating",
        ))
        assert response.status_code == 422, response.text
        details = problem(response)
        assert details["code"] == "operating_not_on_track"
        assert [error["field"] for error in details["errors"]] == ["body.request_object"]
        assert everything(world) == []
        draft = world.create_dossier()
        assert world.as_("funding", HOLDER).patch(
            url_of(draft), json={"request_object": "operating"}, headers={"If-Match": f'"{draft["version"]}"'}
        ).status_code == 200  # the demo programme is an annual call


class TestARequestForRunningCostsIsJudgedOnTheYearlyBudget:
    def test_its_plan_is_checked_against_the_associations_budget_not_a_projects(self, world: World) -> None:
        project = world.create_project()  # its budget is empty: no matter, the request is not about it
        api = world.as_("funding", HOLDER)
        wrong = api.post(DOSSIERS, json=dossier_body(project, [{"funder_id": VILLE, "amount_cents": 1_500_000}],
                                                     request_object="operating")).json()
        refused = api.post(f"{url_of(wrong)}/submit")
        assert refused.status_code == 409, refused.text
        details = problem(refused)
        assert details["failed_rules"] == ["budget_plan_mismatch"]
        fields = sorted(error["field"] for error in details["errors"])
        assert fields == [f"funding_plan.{PREFECTURE}", f"funding_plan.{VILLE}"]
        assert any("budget annuel de l'association" in error["message"] for error in details["errors"])
        right = api.post(DOSSIERS, json=dossier_body(world.create_project(), YEARLY_PLAN,
                                                     request_object="operating")).json()
        submitted = api.post(f"{url_of(right)}/submit")
        assert submitted.status_code == 200, submitted.text
        frozen = submitted.json()["association_budget_snapshot"]
        assert frozen["year"] == TODAY.year and frozen["organisation_id"] == org_id("blosne-avenir")
        rules = {rule["rule"]: rule for rule in world.as_("funding", DESK).get(
            f"{url_of(right)}/admissibility", headers={"Accept-Language": "en"}).json()["rules"]}
        assert rules["plan_coherent_with_budget"] == {
            "rule": "plan_coherent_with_budget", "satisfied": True, "detail": "Plan and budget ask €170,000.00.",
        }

    def test_a_project_request_is_still_judged_on_the_projects_budget(self, world: World) -> None:
        project = world.create_project()
        api = world.as_("funding", HOLDER)
        dossier = api.post(DOSSIERS, json=dossier_body(project, YEARLY_PLAN)).json()
        details = problem(api.post(f"{url_of(dossier)}/submit"))
        assert "project_budget_empty" in details["failed_rules"]
