"""Small projects (dossier simplifié, au fil de l'eau): an amount asked of the lead funder the programme names,
within its ceiling, a budget of ten lines at most; decided by that funder's manager alone, within a service clock
that stops while supplements are awaited; one payment due at once and a light report after the project's end."""

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from common.clock import FixedClock
from services.funding.tests.committee_helpers import ok, ok_list
from services.funding.tests.helpers import PREFECTURE, PROGRAMME_ID, VILLE, create_programme, programme_body, url_of
from services.funding.tests.test_agreements import STATE_MANAGER
from services.funding.tests.test_opinions import routed
from tests.support.clock import TODAY
from tests.support.stack import problem
from tests.support.world import CITY_INSTRUCTOR, CITY_MANAGER, DESK, HOLDER, OTHER_HOLDER, PROJECT, World, org_id

DOSSIERS = "/api/v1/dossiers"
ASKED = 180_000


@pytest.fixture
def small(world: World) -> dict[str, Any]:
    """The city's small-projects programme, open all year, and its envelope."""
    programme = create_programme(world, title="Petits projets", track="small", funder_ids=[VILLE, PREFECTURE],
                                 lead_funder_id=VILLE)
    ok(world.as_("funding", CITY_MANAGER).post("/api/v1/envelopes", json={
        "programme_id": programme["id"], "year": programme["year"], "total_cents": 1_000_000}), 201)
    world.provide_required_documents(track="small")
    return programme


def simplified(world: World, programme: dict[str, Any], amount: int = ASKED) -> dict[str, Any]:
    project = world.create_project(title="Fête de quartier au Blosne")
    world.budget_matching(project, [{"funder_id": VILLE, "amount_cents": amount}])
    return ok(world.as_("funding", HOLDER).post(DOSSIERS, json={
        "programme_id": programme["id"], "project_id": project["id"], "requested_amount_cents": amount}), 201)


def admitted(world: World, dossier: dict[str, Any]) -> dict[str, Any]:
    ok(world.as_("funding", HOLDER).post(f"{url_of(dossier)}/submit"))
    return ok(world.as_("funding", DESK).post(f"{url_of(dossier)}/admissibility", json={"decision": "admissible"}))


def decide(world: World, dossier: dict[str, Any], granted: int, email: str = CITY_MANAGER, **extra: Any):  # noqa: ANN201
    return world.as_("funding", email).post(f"{url_of(dossier)}/decide",
                                            json={"granted_amount_cents": granted, **extra})


class TestTheProgramme:
    def test_it_names_its_lead_funder_and_shows_its_rules(self, world: World, small: dict[str, Any]) -> None:
        rules = small["rules"]
        assert (rules["lead_funder_id"], rules["ceiling_cents"], rules["decision_target_days"],
                rules["light_report_months"]) == (VILLE, 500_000, 21, 3)
        desk = world.as_("funding", DESK)
        assert desk.post("/api/v1/programmes", json=programme_body(track="small")).status_code == 422
        assert desk.post("/api/v1/programmes", json=programme_body(track="annual", lead_funder_id=VILLE)
                         ).status_code == 422
        outside = programme_body(track="small", funder_ids=[VILLE], lead_funder_id=PREFECTURE)
        assert desk.post("/api/v1/programmes", json=outside).status_code == 422
        lowered = create_programme(world, track="small", funder_ids=[VILLE], lead_funder_id=VILLE,
                                   ceiling_cents=300_000)
        assert lowered["rules"]["ceiling_cents"] == 300_000


class TestTheSimplifiedDossier:
    def test_it_asks_an_amount_of_the_lead_funder_within_the_ceiling(self, world: World, small: dict) -> None:
        dossier = simplified(world, small)
        assert dossier["funding_plan"] == [{"funder_id": VILLE, "amount_cents": ASKED}]
        project = world.create_project()
        holder = world.as_("funding", HOLDER)
        with_plan = holder.post(DOSSIERS, json={"programme_id": small["id"], "project_id": project["id"],
                                                "funding_plan": [{"funder_id": VILLE, "amount_cents": 100}]})
        assert with_plan.status_code == 422 and problem(with_plan)["code"] == "simplified_dossier"
        above = holder.post(DOSSIERS, json={"programme_id": small["id"], "project_id": project["id"],
                                            "requested_amount_cents": 500_001})
        assert above.status_code == 422 and problem(above)["code"] == "above_ceiling"
        assert (problem(above)["rule"], problem(above)["limit_cents"]) == ("ceiling_cents", 500_000)
        raised = holder.patch(url_of(dossier), json={"requested_amount_cents": 600_000},
                              headers={"If-Match": f'"{dossier["version"]}"'})
        assert raised.status_code == 422 and problem(raised)["code"] == "above_ceiling"
        amended = ok(holder.patch(url_of(dossier), json={"requested_amount_cents": 200_000},
                                  headers={"If-Match": f'"{dossier["version"]}"'}))
        assert amended["funding_plan"] == [{"funder_id": VILLE, "amount_cents": 200_000}]

    def test_a_co_funded_programme_still_asks_for_its_plan(self, world: World) -> None:
        project = world.create_project()
        answer = world.as_("funding", HOLDER).post(DOSSIERS, json={
            "programme_id": PROGRAMME_ID, "project_id": project["id"], "requested_amount_cents": 1000})
        assert answer.status_code == 422 and problem(answer)["code"] == "funding_plan_required"

    def test_its_budget_fits_in_ten_lines(self, world: World, small: dict) -> None:
        project = world.create_project(title="Atelier vélo")
        lines = [{"account_group": "60", "label": f"Achat {n}", "amount_cents": 100_000} for n in range(9)]
        api = world.as_("projects", HOLDER)
        budget = api.put(f"/api/v1/projects/{project['id']}/budget", headers={"If-Match": '"0"'}, json={
            "charges": lines + [{"account_group": "64", "label": "Animation",
                                 "amount_cents": PROJECT["total_cost_cents"] - 900_000}],
            "income": [{"account_group": "74", "label": "Ville", "amount_cents": ASKED, "funder_id": VILLE},
                       {"account_group": "75", "label": "Fonds propres",
                        "amount_cents": PROJECT["total_cost_cents"] - ASKED}]})
        assert budget.status_code == 200, budget.text
        dossier = ok(world.as_("funding", HOLDER).post(DOSSIERS, json={
            "programme_id": small["id"], "project_id": project["id"], "requested_amount_cents": ASKED}), 201)
        refused = world.as_("funding", HOLDER).post(f"{url_of(dossier)}/submit")
        assert refused.status_code == 409 and problem(refused)["failed_rules"] == ["simplified_budget_too_long"]


class TestTheDelegatedDecision:
    def test_the_lead_funders_manager_decides_alone_and_the_money_follows(self, world: World, small: dict) -> None:
        dossier = admitted(world, simplified(world, small))
        assert dossier["state"] == "admissible"
        # Routed to the lead funder: its people see the dossier; the State's do not.
        assert world.as_("funding", CITY_INSTRUCTOR).get(url_of(dossier)).status_code == 200
        assert decide(world, dossier, ASKED, email=CITY_INSTRUCTOR).status_code == 403
        assert decide(world, dossier, ASKED, email=STATE_MANAGER).status_code == 404
        above = decide(world, dossier, ASKED + 1)
        assert above.status_code == 422 and problem(above)["code"] == "above_amount_asked"
        before = world.as_("funding", CITY_MANAGER).get("/api/v1/envelopes", params={
            "programme_id": small["id"]}).json()["items"][0]
        decided = ok(decide(world, dossier, 150_000, conditions="Photos de la fête pour le bilan."))
        assert (decided["state"], decided["outcome"]) == ("decided", "partially_accepted")
        assert decided["decision_due_at"] is None
        after = world.as_("funding", CITY_MANAGER).get(f"/api/v1/envelopes/{before['id']}").json()
        assert after["committed_cents"] == before["committed_cents"] + 150_000
        [letter] = world.as_("funding", HOLDER).get("/api/v1/agreements", params={
            "dossier_id": dossier["id"]}).json()["items"]
        assert (letter["kind"], letter["state"], letter["amount_cents"]) == ("decision_letter", "active", 150_000)
        [payment] = world.as_("funding", HOLDER).get("/api/v1/payments", params={
            "agreement_id": letter["id"]}).json()["items"]
        assert (payment["state"], payment["amount_cents"]) == ("due", 150_000)
        [report] = world.as_("funding", HOLDER).get("/api/v1/financial-reports", params={
            "dossier_id": dossier["id"]}).json()["items"]
        assert PROJECT["end_date"] == "2027-12-18"  # three months after the project's end:
        assert (report["kind"], report["due_on"]) == ("light", "2028-03-18")
        [notification] = world.as_("funding", HOLDER).get("/api/v1/notifications", params={
            "dossier_id": dossier["id"]}).json()["items"]
        assert notification["session_id"] is None
        assert notification["subject"].startswith(f"Dossier {dossier['reference']} : décision de Ville de Rennes")
        assert "Photos de la fête pour le bilan." in notification["body"]
        again = decide(world, dossier, 150_000)
        assert again.status_code == 409 and problem(again)["code"] == "illegal_transition"

    def test_from_23000_euros_a_year_from_the_funder_a_convention_still_waits_for_signatures(
        self, world: World
    ) -> None:
        large = create_programme(world, title="Petits projets (plafond relevé)", track="small", funder_ids=[VILLE],
                                 lead_funder_id=VILLE, ceiling_cents=3_000_000)
        ok(world.as_("funding", CITY_MANAGER).post("/api/v1/envelopes", json={
            "programme_id": large["id"], "year": large["year"], "total_cents": 5_000_000}), 201)
        world.provide_required_documents(track="small")
        first = admitted(world, simplified(world, large, amount=1_000_000))
        ok(decide(world, first, 1_000_000))
        second = admitted(world, simplified(world, large, amount=1_500_000))
        ok(decide(world, second, 1_500_000))
        kinds = {}
        for dossier in (first, second):
            [letter] = world.as_("funding", HOLDER).get("/api/v1/agreements", params={
                "dossier_id": dossier["id"]}).json()["items"]
            kinds[dossier["id"]] = (letter["kind"], letter["state"])
        # 10,000 € alone: a letter in force; 25,000 € from the city this year: a convention to sign.
        assert kinds == {first["id"]: ("decision_letter", "active"), second["id"]: ("convention", "drafted")}

    def test_nothing_granted_needs_a_reason_and_commits_nothing(self, world: World, small: dict) -> None:
        dossier = admitted(world, simplified(world, small))
        assert decide(world, dossier, 0).status_code == 422
        refused = ok(decide(world, dossier, 0, refusal_reason="Hors des priorités de l'année."))
        assert refused["outcome"] == "refused"
        assert world.as_("funding", HOLDER).get("/api/v1/agreements", params={
            "dossier_id": dossier["id"]}).json()["items"] == []

    def test_a_committee_dossier_is_not_decided_alone(self, world: World) -> None:
        dossier = routed(world)
        answer = decide(world, dossier, 100)
        assert answer.status_code == 409 and problem(answer)["code"] == "not_delegated"

    def test_the_light_report_says_what_happened_and_whom_it_reached(self, world: World, small: dict) -> None:
        dossier = admitted(world, simplified(world, small))
        ok(decide(world, dossier, ASKED))
        api = world.as_("funding", HOLDER)
        [report] = api.get("/api/v1/financial-reports", params={"dossier_id": dossier["id"]}).json()["items"]
        url = f"/api/v1/financial-reports/{report['id']}"
        lines = [{"actual_cents": report["lines"][0]["planned_cents"]}]
        ok(api.put(url, json={"lines": lines}, headers={"If-Match": '"1"'}))
        incomplete = api.post(f"{url}/submit", json={})
        assert incomplete.status_code == 409
        assert {gap["missing"] for gap in problem(incomplete)["lines"]} == {"comment", "people_reached"}
        ok(api.put(url, json={"lines": lines, "comment": "Deux cents voisins, un orchestre.", "people_reached": 200},
                   headers={"If-Match": '"2"'}))
        assert ok(api.post(f"{url}/submit", json={}))["state"] == "submitted"


class TestTheServiceClock:
    def test_it_runs_from_the_complete_file_and_stands_still_during_supplements(
        self, world: World, small: dict, clock: FixedClock
    ) -> None:
        start = clock.now()
        dossier = simplified(world, small)
        submitted = ok(world.as_("funding", HOLDER).post(f"{url_of(dossier)}/submit"))
        due = datetime.fromisoformat(submitted["decision_due_at"])
        assert due == start + timedelta(days=21)
        clock.advance(days=5)
        back = ok(world.as_("funding", DESK).post(f"{url_of(dossier)}/request-supplements", json={
            "message": "Le devis de la sono ?", "due_on": (TODAY + timedelta(days=30)).isoformat()}))
        assert back["decision_due_at"] is None
        assert back["clock_remaining_seconds"] == pytest.approx(16 * 86_400, abs=600)
        clock.advance(days=10)  # the clock stands still meanwhile
        again = ok(world.as_("funding", HOLDER).post(f"{url_of(dossier)}/submit"))
        resumed = datetime.fromisoformat(again["decision_due_at"])
        assert abs((resumed - (clock.now() + timedelta(days=16))).total_seconds()) < 600

    def test_a_late_decision_is_listed_for_the_desk_and_the_funder(
        self, world: World, small: dict, clock: FixedClock
    ) -> None:
        dossier = simplified(world, small)
        on_time = simplified(world, small)
        ok(world.as_("funding", HOLDER).post(f"{url_of(dossier)}/submit"))
        clock.advance(days=3)
        ok(world.as_("funding", HOLDER).post(f"{url_of(on_time)}/submit"))
        clock.advance(days=19)  # 22 days for the first, 19 for the second
        late = world.as_("funding", DESK).get(DOSSIERS, params={"decision_overdue": "true"}).json()["items"]
        assert [d["id"] for d in late] == [dossier["id"]]
        others = world.as_("funding", DESK).get(DOSSIERS, params={"decision_overdue": "false"}).json()["items"]
        assert on_time["id"] in [d["id"] for d in others] and dossier["id"] not in [d["id"] for d in others]
        ok(world.as_("funding", DESK).post(f"{url_of(dossier)}/admissibility", json={"decision": "admissible"}))
        listed = world.as_("funding", CITY_MANAGER).get(DOSSIERS, params={"decision_overdue": "true"}).json()
        assert [d["id"] for d in listed["items"]] == [dossier["id"]]
        ok(decide(world, dossier, ASKED))
        assert world.as_("funding", DESK).get(DOSSIERS, params={"decision_overdue": "true"}).json()["items"] == []


class TestAdministrativeSupport:
    def test_the_desks_helper_edits_the_draft_for_the_holder_until_it_ends(self, world: World) -> None:
        dossier = world.create_dossier()
        holder, desk = world.as_("funding", HOLDER), world.as_("funding", DESK)
        plan = [{"funder_id": VILLE, "amount_cents": 2_000_000}, {"funder_id": PREFECTURE, "amount_cents": 1_000_000}]
        early = desk.patch(url_of(dossier), json={"funding_plan": plan}, headers={"If-Match": '"1"'})
        assert early.status_code == 409 and problem(early)["code"] == "not_the_helper"
        asked = ok(holder.post(f"{url_of(dossier)}/support", json={"message": "Aide pour le plan, svp."}))
        assert (asked["support_state"], asked["support_message"]) == ("requested", "Aide pour le plan, svp.")
        twice = holder.post(f"{url_of(dossier)}/support", json={"message": "Encore."})
        assert twice.status_code == 409 and problem(twice)["code"] == "support_state"
        assert world.as_("funding", OTHER_HOLDER).post(f"{url_of(dossier)}/support",
                                                       json={"message": "x"}).status_code == 404
        taken = ok(desk.post(f"{url_of(dossier)}/support/take", json={}))
        assert taken["support_state"] == "active" and taken["support_helper"]
        edited = desk.patch(url_of(dossier), json={"funding_plan": plan},
                            headers={"If-Match": f'"{taken["version"]}"'})
        assert edited.status_code == 200, edited.text
        assert edited.json()["funding_plan"] == plan
        trail = ok_list(holder.get(f"{url_of(dossier)}/history"))
        [change] = [entry for entry in trail if entry["action"] == "plan_updated"]
        assert change["actor"] == taken["support_helper"]
        assert change["actor_organisation_id"] == org_id("desk")
        ended = ok(holder.post(f"{url_of(dossier)}/support/end", json={}))
        assert ended["support_state"] == "ended"
        late = desk.patch(url_of(dossier), json={"funding_plan": plan[:1]},
                          headers={"If-Match": f'"{ended["version"]}"'})
        assert late.status_code == 409 and problem(late)["code"] == "not_the_helper"
        assert desk.post(f"{url_of(dossier)}/support/take", json={}).status_code == 409


class TestTheDelegatedDecisionsListed:
    """`GET /decisions` and the decisions export list a small project's decision beside the committee's."""

    def test_beside_the_committees_with_the_same_filters_and_paging(self, world: World, small: dict) -> None:
        from services.funding.tests.test_decisions_list import in_session, listed

        committee, _ = in_session(world)
        latest = max(datetime.fromisoformat(row["updated_at"]) for row in listed(world, limit=200))
        since = (latest + timedelta(microseconds=1)).isoformat()
        granted = admitted(world, simplified(world, small))
        ok(decide(world, granted, 150_000, conditions="Photos de la fête.", decision_reference="DEL-2026-12"))
        refused = admitted(world, simplified(world, small))
        ok(decide(world, refused, 0, refusal_reason="Hors des priorités de l'année."))

        every = listed(world, limit=200)
        assert len(every) == 5
        delegated = {row["dossier_id"]: row for row in every if row["kind"] == "delegated"}
        assert set(delegated) == {granted["id"], refused["id"]}
        given, none = delegated[granted["id"]], delegated[refused["id"]]
        assert (given["funder_id"], given["item_id"], given["session_id"], given["final"], given["outcome"],
                given["granted_amount_cents"], given["conditions"], given["decision_reference"],
                given["programme_id"], given["reference"]) == (
            VILLE, None, None, True, "granted", 150_000, "Photos de la fête.", "DEL-2026-12", small["id"],
            granted["reference"])
        assert given["decided_by"]
        assert (none["outcome"], none["granted_amount_cents"], none["refusal_reason"]) == (
            "refused", 0, "Hors des priorités de l'année.")
        assert {row["kind"] for row in every if row["dossier_id"] == committee["id"]} == {"committee"}

        # The same filters for both kinds.
        city = [row["dossier_id"] for row in listed(world, CITY_MANAGER, limit=200)]
        assert sorted(city) == sorted([committee["id"], granted["id"], refused["id"]])
        assert all(row["kind"] == "committee" for row in listed(world, funder_id=PREFECTURE))
        assert [row["dossier_id"] for row in listed(world, dossier_id=refused["id"])] == [refused["id"]]
        assert sorted(row["dossier_id"] for row in listed(world, outcome="refused")) == sorted(
            [committee["id"], refused["id"]])
        assert {row["dossier_id"] for row in listed(world, track="small")} == {granted["id"], refused["id"]}
        assert {row["dossier_id"] for row in listed(world, programme_id=small["id"], outcome="granted")} == {
            granted["id"]}
        assert {row["dossier_id"] for row in listed(world, updated_since=since)} == {granted["id"], refused["id"]}
        assert listed(world, year=small["year"] + 1) == []

        # One keyset across both kinds: a page at a time, the same rows in the same order.
        walked, cursor = [], None
        while True:
            page = ok(world.as_("funding", DESK).get("/api/v1/decisions", params={
                "limit": 2, **({"cursor": cursor} if cursor else {})}))
            walked += [row["id"] for row in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert walked == [row["id"] for row in every]

        # The export lists them too, marked alike.
        exported = [json.loads(line) for line in world.as_("funding", CITY_MANAGER).get(
            "/api/v1/exports/decisions", params={"format": "jsonl"}).text.splitlines()]
        rows = {row["dossier_id"]: row for row in exported if row["kind"] == "delegated"}
        assert {(dossier_id, row["session_id"], row["final"], row["granted_amount_cents"])
                for dossier_id, row in rows.items()} == {(granted["id"], None, True, 150_000),
                                                         (refused["id"], None, True, 0)}
        assert {row["kind"] for row in exported if row["dossier_id"] == committee["id"]} == {"committee"}
