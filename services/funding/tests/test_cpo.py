"""The CPO track: a 3-year agreement with the city (60,000 € a year), the CAF (30,000 €) and the State (20,000 €);
an advance before 31 March and the balance after each yearly review, which needs the reports of the year before;
an amendment, a suspension, a termination; the final evaluation and the renewal on the same thread."""

from datetime import UTC, datetime
from typing import Any

import pytest

from common.clock import FixedClock
from services.funding.tests.committee_helpers import (
    INSTRUCTOR_OF,
    MEMBER_OF,
    decide,
    decision_url,
    item_of,
    ok,
    open_session,
    plan_session,
)
from services.funding.tests.helpers import (
    BLOSNE_AVENIR,
    CAF,
    DOSSIERS,
    PREFECTURE,
    PROGRAMME_ID,
    REPORT_FORM,
    VILLE,
    create_programme,
    url_of,
)
from tests.support.clock import TEST_NOW
from tests.support.stack import problem
from tests.support.world import CITY_MANAGER, DESK, HOLDER, World

CAF_MANAGER = "direction@caf35.example"
STATE_MANAGER = "direction@prefecture35.example"
MANAGER_OF = {VILLE: CITY_MANAGER, CAF: CAF_MANAGER, PREFECTURE: STATE_MANAGER}
YEARS = [2027, 2028, 2029]
YEARLY = {VILLE: 6_000_000, CAF: 3_000_000, PREFECTURE: 2_000_000}
PLAN: list[dict[str, Any]] = [{"funder_id": funder, "amount_cents": amount * 3, "yearly_amounts_cents": [amount] * 3}
        for funder, amount in YEARLY.items()]
OBJECTIVES = ["Ouvrir le centre social six jours sur sept.", "Accueillir 300 familles du Blosne chaque année."]
INDICATOR = "qpv_residents_reached"
REPORTS = "/api/v1/financial-reports"


def open_envelopes(world: World, programme: dict[str, Any], years: list[int] = YEARS) -> None:
    """Each funder's envelope of each year: its yearly amount and 10,000 € more."""
    for funder, amount in YEARLY.items():
        for year in years:
            ok(world.as_("funding", MANAGER_OF[funder]).post("/api/v1/envelopes", json={
                "programme_id": programme["id"], "year": year, "total_cents": amount + 1_000_000}), 201)


@pytest.fixture
def cpo_programme(world: World) -> dict[str, Any]:
    """Year 2027, every funder under a convention whatever its amount, the three funders' envelopes of each year."""
    programme = create_programme(world, title="CPO 2027-2029", track="cpo", year=2027,
                                 funder_ids=[VILLE, CAF, PREFECTURE], convention_threshold_cents=0)
    open_envelopes(world, programme)
    return programme


def cpo_project(world: World, years: list[int] = YEARS, plan: list[dict[str, Any]] = PLAN) -> dict[str, Any]:
    """The social centre's project over the CPO's years, with a target for each year."""
    project = world.create_project(title="Centre social du Blosne", start_date=f"{years[0]}-01-01",
                                   end_date=f"{years[-1]}-12-31", total_cost_cents=60_000_000)
    world.budget_matching(project, plan)
    api = world.as_("projects", HOLDER)
    url = f"/api/v1/projects/{project['id']}/indicators"
    targets = [{"indicator_code": INDICATOR, "period": str(year), "target": 300} for year in years]
    ok(api.put(url, json={"targets": targets}, headers={"If-Match": api.get(url).headers["etag"]}))
    return project


def cpo_draft(world: World, programme: dict[str, Any], **extra: Any) -> dict[str, Any]:
    project = extra.pop("project", None) or cpo_project(world)
    body = {"programme_id": programme["id"], "project_id": project["id"], "funding_plan": PLAN,
            "objectives": OBJECTIVES, **extra}
    return ok(world.as_("funding", HOLDER).post(DOSSIERS, json=body), 201)


def granted_cpo(world: World, programme: dict[str, Any]) -> dict[str, Any]:
    """Submitted, admissible, routed, favourable, granted in full by the committee; each agreement signed by both
    sides and in force."""
    dossier = decided_cpo(world, programme)
    for agreement in agreements_of(world, dossier).values():
        url = f"/api/v1/agreements/{agreement['id']}"
        manager = world.as_("funding", MANAGER_OF[agreement["funder_id"]])
        ok(manager.post(f"{url}/send"))
        ok(manager.post(f"{url}/sign"))
        ok(world.as_("funding", HOLDER).post(f"{url}/sign"))
        ok(manager.post(f"{url}/activate"))
    return ok(world.as_("funding", DESK).get(url_of(dossier)))


def in_session(world: World, programme: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Submitted, admissible, routed, favourable, on the agenda of an open session: the dossier and the session."""
    dossier = world.submit(cpo_draft(world, programme))
    world.provide_required_documents(track="cpo")
    desk = world.as_("funding", DESK)
    ok(desk.post(f"{url_of(dossier)}/admissibility", json={"decision": "admissible"}))
    ok(desk.post(f"{url_of(dossier)}/route", json={}))
    for line in PLAN:
        ok(world.as_("funding", INSTRUCTOR_OF[line["funder_id"]]).put(f"{url_of(dossier)}/opinions/mine", json={
            "opinion": "favourable", "proposed_amount_cents": line["amount_cents"]}), 201)
    funders = list(YEARLY)
    return dossier, ok(open_session(world, plan_session(world, [dossier], funders, programme_ids=[programme["id"]]),
                                    funders))


def decided_cpo(world: World, programme: dict[str, Any]) -> dict[str, Any]:
    """Submitted, admissible, routed, favourable, granted in full by the committee."""
    dossier, session = in_session(world, programme)
    desk = world.as_("funding", DESK)
    for line in PLAN:
        ok(decide(world, session, dossier, line["funder_id"], line["amount_cents"]), 201)
    ok(desk.post(f"/api/v1/sessions/{session['id']}/close", json={}))
    return dossier


def agreements_of(world: World, dossier: dict[str, Any]) -> dict[str, dict[str, Any]]:
    listed = ok(world.as_("funding", DESK).get("/api/v1/agreements", params={"dossier_id": dossier["id"]}))
    return {agreement["funder_id"]: agreement for agreement in listed["items"]}


def payments_of(world: World, dossier: dict[str, Any], funder: str | None = None) -> list[dict[str, Any]]:
    params = {"dossier_id": dossier["id"], **({"funder_id": funder} if funder else {}), "limit": 100}
    listed = ok(world.as_("funding", DESK).get("/api/v1/payments", params=params))["items"]
    return sorted(listed, key=lambda p: (p["funder_id"], p["sequence"]))


def of_year(payments: list[dict[str, Any]], year: int) -> list[dict[str, Any]]:
    return [payment for payment in payments if payment["year"] == year]


def pay_due(world: World, dossier: dict[str, Any]) -> int:
    """Every due payment paid by its funder's manager; how many."""
    due = [p for p in payments_of(world, dossier) if p["state"] == "due"]
    for payment in due:
        ok(world.as_("funding", MANAGER_OF[payment["funder_id"]]).post(f"/api/v1/payments/{payment['id']}/pay"))
    return len(due)


def file_financial_reports(world: World, dossier: dict[str, Any], year: int, funders: list[str] | None = None) -> None:
    api = world.as_("funding", HOLDER)
    listed = ok(api.get(REPORTS, params={"dossier_id": dossier["id"], "limit": 100}))["items"]
    for report in listed:
        if report["year"] != year or (funders is not None and report["funder_id"] not in funders):
            continue
        url = f"{REPORTS}/{report['id']}"
        lines = [{"actual_cents": line["planned_cents"]} for line in report["lines"]]
        ok(api.put(url, json={"lines": lines, **REPORT_FORM}, headers={"If-Match": api.get(url).headers["etag"]}))
        ok(api.post(f"{url}/submit", json={}))


def file_activity_report(world: World, dossier: dict[str, Any], year: int) -> None:
    api = world.as_("projects", HOLDER)
    report = ok(api.post("/api/v1/reports", json={
        "project_id": dossier["project_id"], "period": str(year), "narrative": "Une année au centre social.",
        "values": [{"indicator_code": INDICATOR, "value": 310}]}), 201)
    ok(api.post(f"/api/v1/reports/{report['id']}/submit", json={}, headers={"If-Match": f'"{report["version"]}"'}))


def review(world: World, dossier: dict[str, Any], year: int, outcome: str, **body: Any):  # noqa: ANN201
    return world.as_("funding", DESK).post(f"{url_of(dossier)}/cpo/reviews",
                                           json={"year": year, "outcome": outcome, **body})


def commit_year(world: World, dossier: dict[str, Any], year: int, email: str = DESK, **body: Any):  # noqa: ANN201
    return world.as_("funding", email).post(f"{url_of(dossier)}/cpo/years/{year}/commit", json=body)


def commitments(cpo: dict[str, Any]) -> dict[tuple[str, int], tuple[str, int]]:
    """(funder, year) → (state, committed cents), as the CPO shows them."""
    return {(c["funder_id"], c["year"]): (c["state"], c["committed_cents"]) for c in cpo["commitments"]}


def at(clock: FixedClock, year: int, month: int, day: int = 15) -> None:
    clock.at = datetime(year, month, day, 10, 0, tzinfo=UTC)


class TestTheCpoFile:
    def test_amounts_per_funder_per_year_objectives_and_targets_frozen_at_submission(
        self, world: World, cpo_programme: dict
    ) -> None:
        assert cpo_programme["rules"]["default_years"] == 3
        assert (cpo_programme["rules"]["min_years"], cpo_programme["rules"]["max_years"]) == (2, 4)
        dossier = cpo_draft(world, cpo_programme)
        assert dossier["cpo_years"] == 3 and dossier["objectives"] == OBJECTIVES
        assert [line["yearly_amounts_cents"] for line in dossier["funding_plan"]] == [[6_000_000] * 3,
                                                                                     [3_000_000] * 3,
                                                                                     [2_000_000] * 3]
        submitted = world.submit(dossier)
        assert submitted["cpo_targets"] == {str(year): [{"indicator_code": INDICATOR, "target": "300"}]
                                            for year in YEARS}

    def test_without_yearly_amounts_the_default_three_years_share_the_amount(
        self, world: World, cpo_programme: dict
    ) -> None:
        dossier = cpo_draft(world, cpo_programme, funding_plan=[{"funder_id": VILLE, "amount_cents": 10_000}])
        assert dossier["cpo_years"] == 3
        assert dossier["funding_plan"][0]["yearly_amounts_cents"] == [3_334, 3_333, 3_333]

    def test_two_to_four_years_and_yearly_amounts_adding_up(self, world: World, cpo_programme: dict) -> None:
        project = cpo_project(world)
        api = world.as_("funding", HOLDER)
        body = {"programme_id": cpo_programme["id"], "project_id": project["id"]}
        five = api.post(DOSSIERS, json={**body, "funding_plan": [
            {"funder_id": VILLE, "amount_cents": 500, "yearly_amounts_cents": [100] * 5}]})
        assert five.status_code == 422 and problem(five)["code"] == "cpo_duration"
        assert problem(five)["max_years"] == 4
        one = api.post(DOSSIERS, json={**body, "cpo_years": 1, "funding_plan": [{"funder_id": VILLE,
                                                                                  "amount_cents": 500}]})
        assert one.status_code == 422 and problem(one)["code"] == "cpo_duration"
        wrong_sum = api.post(DOSSIERS, json={**body, "funding_plan": [
            {"funder_id": VILLE, "amount_cents": 500, "yearly_amounts_cents": [100, 100]}]})
        assert wrong_sum.status_code == 422
        uneven = api.post(DOSSIERS, json={**body, "funding_plan": [
            {"funder_id": VILLE, "amount_cents": 200, "yearly_amounts_cents": [100, 100]},
            {"funder_id": CAF, "amount_cents": 300, "yearly_amounts_cents": [100, 100, 100]}]})
        assert uneven.status_code == 422 and problem(uneven)["code"] == "cpo_years_mismatch"

    def test_yearly_amounts_and_objectives_belong_to_the_cpo_track(self, world: World) -> None:
        project = world.create_project()
        api = world.as_("funding", HOLDER)
        annual = api.post(DOSSIERS, json={"programme_id": PROGRAMME_ID, "project_id": project["id"],
                                          "funding_plan": [{"funder_id": VILLE, "amount_cents": 200,
                                                            "yearly_amounts_cents": [100, 100]}]})
        assert annual.status_code == 422 and problem(annual)["code"] == "not_a_cpo"
        with_objectives = api.post(DOSSIERS, json={
            "programme_id": PROGRAMME_ID, "project_id": project["id"], "objectives": ["Un objectif."],
            "funding_plan": [{"funder_id": VILLE, "amount_cents": 200}]})
        assert with_objectives.status_code == 422 and problem(with_objectives)["code"] == "not_a_cpo"

    def test_submission_needs_objectives_and_a_target_for_each_year(self, world: World, cpo_programme: dict) -> None:
        project = world.create_project(title="Sans cibles", start_date="2027-01-01", end_date="2029-12-31",
                                       total_cost_cents=60_000_000)
        world.budget_matching(project, PLAN)
        dossier = cpo_draft(world, cpo_programme, project=project, objectives=[])
        refused = world.as_("funding", HOLDER).post(f"{url_of(dossier)}/submit")
        assert refused.status_code == 409
        assert {"cpo_objectives_missing", "cpo_targets_missing"} <= set(problem(refused)["failed_rules"])


class TestTheGrant:
    def test_one_convention_per_funder_with_its_years_and_an_advance_and_balance_each_year(
        self, world: World, cpo_programme: dict
    ) -> None:
        dossier = granted_cpo(world, cpo_programme)
        assert dossier["cpo_state"] == "running"
        agreements = agreements_of(world, dossier)
        assert {a["kind"] for a in agreements.values()} == {"convention"}  # the State's 20,000 € too
        state = agreements[PREFECTURE]
        assert state["amount_cents"] == 6_000_000
        assert state["terms"]["years"] == [{"year": year, "amount_cents": 2_000_000} for year in YEARS]
        payments = payments_of(world, dossier, PREFECTURE)
        assert [(p["year"], p["amount_cents"], p["condition"]) for p in payments] == [
            (year, 1_000_000, condition) for year in YEARS for condition in ("on_activation", "after_review")]
        assert sum(p["amount_cents"] for p in payments_of(world, dossier)) == 33_000_000
        advances = [p for p in payments if p["condition"] == "on_activation"]
        assert [(p["due_on"], p["pay_by"]) for p in advances] == [
            (None, "2027-03-31"), ("2028-01-01", "2028-03-31"), ("2029-01-01", "2029-03-31")]
        # The first advance is due once in force; the later ones from 1 January; balances after the review.
        assert [p["state"] for p in payments] == ["due"] + ["scheduled"] * 5
        cpo = ok(world.as_("funding", HOLDER).get(f"{url_of(dossier)}/cpo"))
        assert (cpo["years"], cpo["state"], cpo["current"]["number"]) == (YEARS, "running", 1)
        assert cpo["current"]["objectives"] == OBJECTIVES
        assert {(a["funder_id"], a["year"], a["amount_cents"]) for a in cpo["current"]["amounts"]} == {
            (funder, year, amount) for funder, amount in YEARLY.items() for year in YEARS}
        # Each year owes its financial report to each funder, due 30 June of the next year.
        listed = ok(world.as_("funding", HOLDER).get(REPORTS, params={"dossier_id": dossier["id"], "limit": 100}))
        assert sorted((r["year"], r["due_on"]) for r in listed["items"] if r["funder_id"] == VILLE) == [
            (year, f"{year + 1}-06-30") for year in YEARS]
        # A year counts its own share towards the 153,000 € flag.
        totals = ok(world.as_("funding", HOLDER).get("/api/v1/grants/totals", params={"year": 2028}))
        assert totals["granted_cents"] == 11_000_000

    def test_a_smaller_grant_keeps_the_shape_of_what_was_asked_each_year(
        self, world: World, cpo_programme: dict
    ) -> None:
        plan = [{"funder_id": VILLE, "amount_cents": 6_000_000, "yearly_amounts_cents": [3_000_000, 2_000_000,
                                                                                        1_000_000]}]
        project = world.create_project(title="Maison de quartier", start_date="2027-01-01", end_date="2029-12-31",
                                       total_cost_cents=60_000_000)
        world.budget_matching(project, plan)
        api = world.as_("projects", HOLDER)
        url = f"/api/v1/projects/{project['id']}/indicators"
        ok(api.put(url, json={"targets": [{"indicator_code": INDICATOR, "period": str(y), "target": 50}
                                          for y in YEARS]}, headers={"If-Match": api.get(url).headers["etag"]}))
        dossier = world.submit(cpo_draft(world, cpo_programme, project=project, funding_plan=plan))
        world.provide_required_documents(track="cpo")
        desk = world.as_("funding", DESK)
        ok(desk.post(f"{url_of(dossier)}/admissibility", json={"decision": "admissible"}))
        ok(desk.post(f"{url_of(dossier)}/route", json={}))
        ok(world.as_("funding", INSTRUCTOR_OF[VILLE]).put(f"{url_of(dossier)}/opinions/mine", json={
            "opinion": "favourable", "proposed_amount_cents": 3_000_000}), 201)
        session = ok(open_session(world, plan_session(world, [dossier], [VILLE, CAF, PREFECTURE],
                                                      programme_ids=[cpo_programme["id"]]), [VILLE, PREFECTURE]))
        ok(decide(world, session, dossier, VILLE, 3_000_000, email=MEMBER_OF[VILLE]), 201)
        ok(desk.post(f"/api/v1/sessions/{session['id']}/close", json={}))
        [agreement] = agreements_of(world, dossier).values()
        assert agreement["terms"]["years"] == [{"year": 2027, "amount_cents": 1_500_000},
                                               {"year": 2028, "amount_cents": 1_000_000},
                                               {"year": 2029, "amount_cents": 500_000}]


class TestEachYearOnItsOwnEnvelope:
    """Each later year is subject to that year's budget vote: the decision commits the first, each later one is
    committed on that year's envelope when its year opens."""

    def test_a_three_year_grant_fits_three_yearly_envelopes(self, world: World, cpo_programme: dict) -> None:
        # The CAF's envelopes hold 40,000 € a year: 90,000 € over three years fit, year by year.
        dossier = decided_cpo(world, cpo_programme)
        caf = world.as_("funding", CAF_MANAGER)
        envelopes = {e["year"]: e for e in ok(caf.get("/api/v1/envelopes", params={
            "programme_id": cpo_programme["id"]}))["items"]}
        assert {year: e["committed_cents"] for year, e in envelopes.items()} == {2027: 3_000_000, 2028: 0, 2029: 0}
        [decision] = ok(caf.get("/api/v1/decisions", params={"dossier_id": dossier["id"]}))["items"]
        assert decision["yearly_amounts"] == [{"year": year, "amount_cents": 3_000_000} for year in YEARS]
        cpo = ok(world.as_("funding", HOLDER).get(f"{url_of(dossier)}/cpo"))
        assert commitments(cpo)[(CAF, 2028)] == ("awaiting", 0)

    def test_the_committee_may_shape_the_years_itself(self, world: World, cpo_programme: dict) -> None:
        dossier, session = in_session(world, cpo_programme)
        desk = world.as_("funding", DESK)
        not_three = decide(world, session, dossier, VILLE, 9_000_000, yearly_amounts_cents=[4_500_000,
                                                                                        4_500_000])
        assert not_three.status_code == 422 and problem(not_three)["code"] == "cpo_years_mismatch"
        wrong_sum = decide(world, session, dossier, VILLE, 9_000_000, yearly_amounts_cents=[1, 2, 3])
        assert wrong_sum.status_code == 422
        shaped = decide(world, session, dossier, VILLE, 9_000_000,
                        yearly_amounts_cents=[5_000_000, 3_000_000, 1_000_000])
        assert shaped.status_code == 201, shaped.text
        city = world.as_("funding", CITY_MANAGER)
        [envelope] = [e for e in ok(city.get("/api/v1/envelopes", params={"programme_id": cpo_programme["id"]}))[
            "items"] if e["year"] == 2027]
        assert envelope["committed_cents"] == 5_000_000  # the first year only
        # A second answer moves the first year by the difference; a deferral gives it back.
        member = world.as_("funding", MEMBER_OF[VILLE])
        url = decision_url(session, item_of(session, dossier))
        ok(member.put(url, json={"granted_amount_cents": 9_000_000, "yearly_amounts_cents": [3_000_000] * 3},
                      headers={"If-Match": f'"{shaped.json()["version"]}"'}))
        assert self.committed(world, cpo_programme, 2027) == 3_000_000
        [item] = session["items"]
        ok(desk.post(f"/api/v1/sessions/{session['id']}/items/{item['id']}/defer", json={"reason": "Budget."}))
        assert self.committed(world, cpo_programme, 2027) == 0

    def test_a_year_opens_on_1_january_and_each_funder_commits_its_own(
        self, world: World, cpo_programme: dict, clock: FixedClock
    ) -> None:
        dossier = granted_cpo(world, cpo_programme)
        at(clock, 2027, 12, 31)
        early = commit_year(world, dossier, 2028, CAF_MANAGER)
        assert early.status_code == 409 and problem(early)["code"] == "year_not_open"
        at(clock, 2028, 1, 2)
        assert commit_year(world, dossier, 2031).status_code == 422
        foreign = commit_year(world, dossier, 2028, CAF_MANAGER, funder_id=VILLE)
        assert foreign.status_code == 422 and problem(foreign)["code"] == "not_your_share"
        stranger = commit_year(world, dossier, 2028, funder_id=BLOSNE_AVENIR)
        assert stranger.status_code == 422 and problem(stranger)["code"] == "not_a_cpo_funder"
        for email in (HOLDER, INSTRUCTOR_OF[PREFECTURE]):
            assert commit_year(world, dossier, 2028, email).status_code in (403, 404), email
        assert commit_year(world, dossier, 2028, "direction@rennes-metropole.example").status_code in (403, 404)
        assert commitments(ok(world.as_("funding", DESK).get(f"{url_of(dossier)}/cpo")))[(CAF, 2028)] == (
            "awaiting", 0)  # nothing written by the refusals
        own = commit_year(world, dossier, 2028, CAF_MANAGER)
        assert own.status_code == 200, own.text
        assert {f: state for (f, year), (state, _) in commitments(own.json()).items() if year == 2028} == {
            CAF: "committed", VILLE: "awaiting", PREFECTURE: "awaiting"}
        again = commit_year(world, dossier, 2028, CAF_MANAGER)
        assert again.status_code == 200 and self.committed(world, cpo_programme, 2028, CAF_MANAGER) == 3_000_000

    def test_an_envelope_short_or_missing_commits_nothing(
        self, world: World, cpo_programme: dict, clock: FixedClock
    ) -> None:
        dossier = granted_cpo(world, cpo_programme)
        at(clock, 2028, 2)
        state = world.as_("funding", STATE_MANAGER)
        [envelope] = [e for e in ok(state.get("/api/v1/envelopes", params={"programme_id": cpo_programme["id"]}))[
            "items"] if e["year"] == 2028]
        url = f"/api/v1/envelopes/{envelope['id']}"
        ok(state.patch(url, json={"total_cents": 1_500_000}, headers={"If-Match": state.get(url).headers["etag"]}))
        short = commit_year(world, dossier, 2028)
        assert short.status_code == 409 and problem(short)["code"] == "envelope_exceeded"
        assert (problem(short)["year"], problem(short)["funder_id"]) == (2028, PREFECTURE)
        assert problem(short)["available_cents"] == 1_500_000
        assert self.committed(world, cpo_programme, 2028) == 0  # the city's year was not committed either
        english = world.as_("funding", DESK).post(f"{url_of(dossier)}/cpo/years/2028/commit", json={},
                                                  headers={"Accept-Language": "en"})
        assert problem(english)["detail"].startswith("Year 2028 of this CPO")
        # The review of the year needs it committed: refused the same way, nothing written.
        file_financial_reports(world, dossier, 2027)
        file_activity_report(world, dossier, 2027)
        at(clock, 2027, 6)
        ok(review(world, dossier, 2027, "continue"), 201)
        at(clock, 2028, 6)
        refused = review(world, dossier, 2028, "continue")
        assert refused.status_code == 409 and problem(refused)["code"] == "envelope_exceeded"
        assert len(ok(world.as_("funding", DESK).get(f"{url_of(dossier)}/cpo"))["reviews"]) == 1
        ok(state.patch(url, json={"total_cents": 2_000_000}, headers={"If-Match": state.get(url).headers["etag"]}))
        passed = review(world, dossier, 2028, "continue")
        assert passed.status_code == 201, passed.text
        assert {state for (_, year), (state, _) in commitments(passed.json()).items() if year == 2028} == {
            "committed"}

    def test_a_year_without_its_envelope_says_so(self, world: World, clock: FixedClock) -> None:
        programme = create_programme(world, title="CPO sans 2029", track="cpo", year=2027,
                                     funder_ids=[VILLE, CAF, PREFECTURE], convention_threshold_cents=0)
        open_envelopes(world, programme, [2027, 2028])
        dossier = granted_cpo(world, programme)
        at(clock, 2029, 1, 5)
        missing = commit_year(world, dossier, 2029, CITY_MANAGER)
        assert missing.status_code == 409 and problem(missing)["code"] == "envelope_missing"
        assert problem(missing)["year"] == 2029

    def test_a_termination_cancels_the_years_not_committed(
        self, world: World, cpo_programme: dict, clock: FixedClock
    ) -> None:
        dossier = granted_cpo(world, cpo_programme)
        at(clock, 2027, 9)
        ended = review(world, dossier, 2027, "terminate", comment="Le centre social ferme.")
        assert ended.status_code == 201
        years = commitments(ended.json())
        assert {years[(f, year)][0] for f in YEARLY for year in (2028, 2029)} == {"cancelled"}
        assert self.committed(world, cpo_programme, 2028) == 0
        at(clock, 2028, 2)
        after = commit_year(world, dossier, 2028)
        assert after.status_code == 409 and problem(after)["code"] == "cpo_not_running"

    @staticmethod
    def committed(world: World, programme: dict[str, Any], year: int, email: str = CITY_MANAGER) -> int:
        listed = ok(world.as_("funding", email).get("/api/v1/envelopes", params={"programme_id": programme["id"]}))
        return next(e["committed_cents"] for e in listed["items"] if e["year"] == year)


class TestAMultiPartyAgreement:
    def test_one_convention_for_every_funder_each_signing_for_its_share(self, world: World, clock: FixedClock
                                                                         ) -> None:
        programme = create_programme(world, title="CPO commune", track="cpo", year=2027,
                                     funder_ids=[VILLE, CAF, PREFECTURE], multi_party_agreement=True)
        assert programme["rules"]["multi_party_agreement"] is True
        open_envelopes(world, programme)
        dossier = decided_cpo(world, programme)
        [agreement] = agreements_of(world, dossier).values()
        number = dossier["reference"].removeprefix("GU-")
        assert (agreement["kind"], agreement["number"], agreement["funder_id"]) == ("convention", f"CONV-{number}",
                                                                                    VILLE)
        assert agreement["amount_cents"] == 33_000_000
        assert [(p["funder_id"], p["amount_cents"], p["signed_at"]) for p in agreement["parties"]] == [
            (VILLE, 18_000_000, None), (CAF, 9_000_000, None), (PREFECTURE, 6_000_000, None)]
        assert agreement["terms"]["years"] == [{"year": year, "amount_cents": 11_000_000} for year in YEARS]
        # Each funder party reads it, and sees its own payments; the lead sends, the others only sign.
        url = f"/api/v1/agreements/{agreement['id']}"
        caf = world.as_("funding", CAF_MANAGER)
        assert ok(caf.get(url))["allowed_actions"] == []
        assert [a["id"] for a in ok(caf.get("/api/v1/agreements", params={"funder_id": CAF}))["items"]] == [
            agreement["id"]]
        assert caf.post(f"{url}/send").status_code == 409
        ok(world.as_("funding", CITY_MANAGER).post(f"{url}/send"))
        assert ok(caf.get(url))["allowed_actions"] == ["sign"]
        for email in (CITY_MANAGER, CAF_MANAGER, HOLDER):
            assert ok(world.as_("funding", email).post(f"{url}/sign"))["state"] == "sent"
        assert caf.post(f"{url}/sign").status_code == 409  # once
        signed = ok(world.as_("funding", STATE_MANAGER).post(f"{url}/sign"))
        assert signed["state"] == "signed" and all(p["signed_at"] for p in signed["parties"])
        assert caf.post(f"{url}/activate").status_code == 409  # the lead's move
        ok(world.as_("funding", CITY_MANAGER).post(f"{url}/activate"))
        due = [p for p in payments_of(world, dossier) if p["state"] == "due"]
        assert sorted((p["funder_id"], p["amount_cents"]) for p in due) == sorted(
            (funder, amount // 2) for funder, amount in YEARLY.items())
        assert {p["agreement_id"] for p in payments_of(world, dossier)} == {agreement["id"]}
        document = world.as_("funding", HOLDER).get(f"{url}/document")
        assert "Ville de Rennes, CAF d&#39;Ille-et-Vilaine, Préfecture d&#39;Ille-et-Vilaine" in document.text
        assert world.as_("funding", "direction@rennes-metropole.example").get(url).status_code == 404

        # An amendment restates the CAF's share within the one agreement.
        at(clock, 2027, 6)
        amended = review(world, dossier, 2027, "amend", comment="La CAF augmente 2028.", amendment={
            "amounts": [{"funder_id": CAF, "year": 2028, "amount_cents": 3_500_000}]})
        assert amended.status_code == 201, amended.text
        terms = ok(world.as_("funding", DESK).get(url))["terms"]
        [caf_entry] = [party for party in terms["parties"] if party["funder_id"] == CAF]
        assert caf_entry["amount_cents"] == 9_500_000
        assert caf_entry["years"][1] == {"year": 2028, "amount_cents": 3_500_000}
        assert terms["years"][1] == {"year": 2028, "amount_cents": 11_500_000}
        assert ok(world.as_("funding", DESK).get(url))["amount_cents"] == 33_500_000


class TestTheYearlyReviews:
    def test_three_years_with_an_amendment_in_year_2_and_a_suspension_in_year_3(
        self, world: World, cpo_programme: dict, clock: FixedClock
    ) -> None:
        dossier = granted_cpo(world, cpo_programme)
        url = f"{url_of(dossier)}/cpo"
        at(clock, 2027, 2)
        assert pay_due(world, dossier) == 3  # the three 2027 advances
        early = review(world, dossier, 2028, "continue")
        assert early.status_code == 409 and problem(early)["code"] == "review_too_early"

        # 2027: the first review needs no report; the balances fall due.
        at(clock, 2027, 6)
        first = review(world, dossier, 2027, "continue")
        assert first.status_code == 201, first.text
        assert [r["outcome"] for r in first.json()["reviews"]] == ["continue"]
        assert review(world, dossier, 2027, "continue").status_code == 409
        assert [p["state"] for p in of_year(payments_of(world, dossier, VILLE), 2027)] == ["paid", "due"]
        assert pay_due(world, dossier) == 3

        # 2028: the year opens; once the desk commits it on the 2028 envelopes, the advances are paid; the review
        # waits for the reports of 2027.
        at(clock, 2028, 2)
        # Its advances are not due while the year waits for its budget, whatever their date.
        waiting = [p for p in payments_of(world, dossier) if p["year"] == 2028 and p["condition"] == "on_activation"]
        assert {p["state"] for p in waiting} == {"scheduled"}
        refused = world.as_("funding", MANAGER_OF[waiting[0]["funder_id"]]).post(
            f"/api/v1/payments/{waiting[0]['id']}/pay")
        assert refused.status_code == 409 and problem(refused)["code"] == "year_not_committed"
        opened = commit_year(world, dossier, 2028)
        assert opened.status_code == 200, opened.text
        assert {key: value for key, value in commitments(opened.json()).items() if key[1] == 2028} == {
            (funder, 2028): ("committed", amount) for funder, amount in YEARLY.items()}
        assert pay_due(world, dossier) == 3
        missing = review(world, dossier, 2028, "continue")
        assert missing.status_code == 409 and problem(missing)["code"] == "reports_missing"
        kinds = sorted(item["kind"] for item in problem(missing)["missing"])
        assert kinds == ["activity_report"] + ["financial_report"] * 3
        file_financial_reports(world, dossier, 2027)
        file_activity_report(world, dossier, 2027)
        at(clock, 2028, 5)
        amended = review(world, dossier, 2028, "amend", comment="Baisse de la dotation de l'État en 2029.",
                         amendment={"amounts": [{"funder_id": PREFECTURE, "year": 2029, "amount_cents": 1_500_000}]})
        assert amended.status_code == 201, amended.text
        cpo = amended.json()
        assert [v["number"] for v in cpo["versions"]] == [1, 2] and cpo["current"]["number"] == 2
        assert cpo["current"]["reason"] == "Baisse de la dotation de l'État en 2029."
        current = {(a["funder_id"], a["year"]): a["amount_cents"] for a in cpo["current"]["amounts"]}
        first_version = {(a["funder_id"], a["year"]): a["amount_cents"] for a in cpo["versions"][0]["amounts"]}
        assert (current[(PREFECTURE, 2029)], first_version[(PREFECTURE, 2029)]) == (1_500_000, 2_000_000)
        state = agreements_of(world, dossier)[PREFECTURE]
        assert state["amount_cents"] == 5_500_000 and state["version"] > 1
        assert state["terms"]["years"][-1] == {"year": 2029, "amount_cents": 1_500_000}
        state_payments = payments_of(world, dossier, PREFECTURE)
        assert [p["amount_cents"] for p in of_year(state_payments, 2029)] == [750_000, 750_000]
        assert sum(p["amount_cents"] for p in state_payments) == 5_500_000
        # 2029 waits for its budget: the amendment changes what it will commit, no envelope yet.
        assert commitments(cpo)[(PREFECTURE, 2029)] == ("awaiting", 0)
        assert next(c for c in cpo["commitments"] if c["funder_id"] == PREFECTURE and c["year"] == 2029)[
            "amount_cents"] == 1_500_000
        assert self.state_envelope(world, cpo_programme, 2029)["committed_cents"] == 0
        assert pay_due(world, dossier) == 3  # the 2028 balances
        paid_year = review(world, dossier, 2029, "amend", comment="Trop tôt.", amendment={
            "amounts": [{"funder_id": VILLE, "year": 2028, "amount_cents": 1}]})
        assert paid_year.status_code == 409  # 2029's review comes in 2029

        # 2029: the city's report of 2028 is late; the balance waits, the desk suspends, then lifts it.
        at(clock, 2029, 7)
        file_financial_reports(world, dossier, 2028, funders=[CAF, PREFECTURE])
        file_activity_report(world, dossier, 2028)
        late = review(world, dossier, 2029, "continue")
        assert late.status_code == 409
        [report] = problem(late)["missing"]
        assert (report["kind"], report["funder_id"], report["due_on"]) == ("financial_report", VILLE, "2029-06-30")
        suspended = review(world, dossier, 2029, "suspend", comment="Compte rendu 2028 de la ville en retard.")
        assert suspended.status_code == 201 and suspended.json()["state"] == "suspended"
        advance = of_year(payments_of(world, dossier, VILLE), 2029)[0]
        assert advance["state"] == "scheduled"  # no longer due
        stopped = world.as_("funding", CITY_MANAGER).post(f"/api/v1/payments/{advance['id']}/pay")
        assert stopped.status_code == 409 and problem(stopped)["code"] == "cpo_suspended"
        assert agreements_of(world, dossier)[VILLE]["suspended_at"] is not None
        file_financial_reports(world, dossier, 2028, funders=[VILLE])
        resumed = review(world, dossier, 2029, "continue")
        assert resumed.status_code == 201 and resumed.json()["state"] == "running"
        # The review committed 2029 on the 2029 envelopes, the State's as amended.
        assert commitments(resumed.json())[(PREFECTURE, 2029)] == ("committed", 1_500_000)
        assert self.state_envelope(world, cpo_programme, 2029)["committed_cents"] == 1_500_000
        assert [r["outcome"] for r in resumed.json()["reviews"]] == ["continue", "amend", "suspend", "continue"]
        assert pay_due(world, dossier) == 6  # 2029's advances and balances
        assert all(p["state"] == "paid" for p in payments_of(world, dossier))

        # 2030: the final evaluation on the reports of 2029; the agreements end; the renewal keeps the thread.
        too_soon = world.as_("funding", DESK).post(f"{url}/renewal", json={"programme_id": cpo_programme["id"]})
        assert too_soon.status_code == 409 and problem(too_soon)["code"] == "not_evaluated"
        at(clock, 2030, 3)
        evaluation = {"outcome": "achieved", "comment": "Objectifs atteints."}
        unreported = world.as_("funding", DESK).post(f"{url}/final-evaluation", json=evaluation)
        assert unreported.status_code == 409 and problem(unreported)["code"] == "reports_missing"
        file_financial_reports(world, dossier, 2029)
        file_activity_report(world, dossier, 2029)
        evaluated = world.as_("funding", DESK).post(f"{url}/final-evaluation", json=evaluation)
        assert evaluated.status_code == 201, evaluated.text
        assert evaluated.json()["state"] == "completed"
        assert evaluated.json()["reviews"][-1]["kind"] == "final"
        assert {a["state"] for a in agreements_of(world, dossier).values()} == {"ended"}

        clock.at = TEST_NOW  # back when the next call is open
        renewal = create_programme(world, title="CPO 2030-2032", track="cpo", year=2030,
                                   funder_ids=[VILLE, CAF, PREFECTURE])
        # The next CPO runs on a project of its own years (the first one's have passed), the association's only.
        foreign = world.create_project(email="presidence@maurepas-solidaire.example", title="Ailleurs")
        refused = world.as_("funding", HOLDER).post(f"{url}/renewal", json={"programme_id": renewal["id"],
                                                                             "project_id": foreign["id"]})
        assert refused.status_code == 422 and problem(refused)["code"] == "unknown_project"
        next_years = cpo_project(world, years=[2030, 2031, 2032], plan=[
            {"funder_id": VILLE, "amount_cents": 18_000_000}, {"funder_id": CAF, "amount_cents": 9_000_000},
            {"funder_id": PREFECTURE, "amount_cents": 4_500_000}])
        renewed = world.as_("funding", HOLDER).post(f"{url}/renewal", json={"programme_id": renewal["id"],
                                                                             "project_id": next_years["id"]})
        assert renewed.status_code == 201, renewed.text
        assert renewed.json()["project_id"] == next_years["id"]
        draft = renewed.json()
        assert renewed.headers["location"] == f"/api/v1/dossiers/{draft['id']}"
        assert (draft["state"], draft["thread_reference"], draft["previous_dossier_id"]) == (
            "draft", dossier["reference"], dossier["id"])
        assert draft["objectives"] == OBJECTIVES and draft["cpo_years"] == 3
        assert (draft["request_kind"], draft["request_period"]) == ("renewal", "multi_year")
        asked = {line["funder_id"]: line["yearly_amounts_cents"] for line in draft["funding_plan"]}
        assert asked == {VILLE: [6_000_000] * 3, CAF: [3_000_000] * 3, PREFECTURE: [1_500_000] * 3}
        again = world.as_("funding", HOLDER).post(f"{url}/renewal", json={"programme_id": renewal["id"]})
        assert again.status_code == 409 and problem(again)["code"] == "follow_on_exists"
        # … and can be filed: its targets are those of its own years.
        submitted = world.submit(draft)
        assert submitted["state"] == "submitted" and sorted(submitted["cpo_targets"]) == ["2030", "2031", "2032"]

    @staticmethod
    def state_envelope(world: World, programme: dict[str, Any], year: int = 2027) -> dict[str, Any]:
        listed = ok(world.as_("funding", STATE_MANAGER).get("/api/v1/envelopes",
                                                            params={"programme_id": programme["id"]}))
        [envelope] = [e for e in listed["items"] if e["year"] == year]
        return envelope

    def test_a_termination_cancels_what_is_left_and_ends_the_agreements(
        self, world: World, cpo_programme: dict, clock: FixedClock
    ) -> None:
        dossier = granted_cpo(world, cpo_programme)
        at(clock, 2027, 2)
        pay_due(world, dossier)
        at(clock, 2027, 9)
        ended = review(world, dossier, 2027, "terminate", comment="Le centre social ferme.")
        assert ended.status_code == 201 and ended.json()["state"] == "terminated"
        payments = payments_of(world, dossier)
        assert {p["state"] for p in payments if p["condition"] == "on_activation" and p["year"] == 2027} == {"paid"}
        assert {p["state"] for p in payments if p["year"] > 2027 or p["condition"] == "after_review"} == {
            "cancelled"}
        assert {a["state"] for a in agreements_of(world, dossier).values()} == {"ended"}
        listed = ok(world.as_("funding", HOLDER).get(REPORTS, params={"dossier_id": dossier["id"], "limit": 100}))
        assert {r["year"] for r in listed["items"]} == {2027}  # the years no longer funded owe no report
        envelope = self.state_envelope(world, cpo_programme)
        assert envelope["committed_cents"] == envelope["paid_cents"] == 1_000_000
        after = review(world, dossier, 2027, "continue")
        assert after.status_code == 409 and problem(after)["code"] == "cpo_not_running"

    def test_what_a_review_may_say(self, world: World, cpo_programme: dict, clock: FixedClock) -> None:
        dossier = granted_cpo(world, cpo_programme)
        at(clock, 2028, 3)
        out_of_order = review(world, dossier, 2028, "suspend", comment="Sans la revue de 2027.")
        assert out_of_order.status_code == 409 and problem(out_of_order)["code"] == "review_out_of_order"
        not_a_year = review(world, dossier, 2031, "continue")
        assert not_a_year.status_code == 422 and problem(not_a_year)["code"] == "not_a_cpo_year"
        assert review(world, dossier, 2027, "amend", comment="Sans avenant.").status_code == 422
        assert review(world, dossier, 2027, "suspend").status_code == 422  # a suspension gives its reason
        past = review(world, dossier, 2027, "amend", comment="Une année passée.", amendment={
            "amounts": [{"funder_id": VILLE, "year": 2027, "amount_cents": 100}]})
        assert past.status_code == 422 and problem(past)["code"] == "not_a_later_year"
        stranger = review(world, dossier, 2027, "amend", comment="Un financeur de plus.", amendment={
            "amounts": [{"funder_id": BLOSNE_AVENIR, "year": 2028, "amount_cents": 100}]})
        assert stranger.status_code == 422 and problem(stranger)["code"] == "not_a_cpo_funder"
        cpo = ok(world.as_("funding", DESK).get(f"{url_of(dossier)}/cpo"))
        assert cpo["reviews"] == [] and cpo["current"]["number"] == 1  # nothing written by the refusals
        assert world.as_("funding", HOLDER).post(f"{url_of(dossier)}/cpo/reviews",
                                                 json={"year": 2027, "outcome": "continue"}).status_code == 403

    def test_an_amended_grant_is_listed_again_by_updated_since(
        self, world: World, cpo_programme: dict, clock: FixedClock
    ) -> None:
        dossier = granted_cpo(world, cpo_programme)
        desk = world.as_("funding", DESK)
        before = ok(desk.get("/api/v1/grants", params={"dossier_id": dossier["id"]}))["items"]
        assert len(before) == 3 and all(g["updated_at"] >= g["created_at"] for g in before)
        at(clock, 2027, 6)
        amended = review(world, dossier, 2027, "amend", comment="La CAF augmente 2028.", amendment={
            "amounts": [{"funder_id": CAF, "year": 2028, "amount_cents": 3_500_000}]})
        assert amended.status_code == 201, amended.text
        after = {g["funder_id"]: g for g in ok(desk.get("/api/v1/grants", params={"dossier_id": dossier["id"]}))[
            "items"]}
        caf = after[CAF]
        assert caf["amount_cents"] == 9_500_000 and caf["updated_at"] > caf["created_at"]
        changed = datetime.fromisoformat(caf["updated_at"])
        assert all(datetime.fromisoformat(g["updated_at"]) < changed for f, g in after.items() if f != CAF)
        # T between the untouched grants' last change and the amendment (the server's times, no wall clock here):
        # the amended grant is listed, the untouched ones are not.
        untouched = max(datetime.fromisoformat(g["updated_at"]) for f, g in after.items() if f != CAF)
        between = (untouched + (changed - untouched) / 2).isoformat()
        listed = ok(desk.get("/api/v1/grants", params={"dossier_id": dossier["id"], "updated_since": between}))
        assert [g["funder_id"] for g in listed["items"]] == [CAF]

    def test_who_reads_a_cpo(self, world: World, cpo_programme: dict) -> None:
        dossier = granted_cpo(world, cpo_programme)
        url = f"{url_of(dossier)}/cpo"
        for email in (HOLDER, DESK, CITY_MANAGER):
            assert world.as_("funding", email).get(url).status_code == 200
        assert world.as_("funding", "presidence@maurepas-solidaire.example").get(url).status_code == 404
        assert world.as_("funding", "direction@rennes-metropole.example").get(url).status_code == 404
        annual = world.create_dossier()
        assert world.as_("funding", HOLDER).get(f"{url_of(annual)}/cpo").status_code == 404
