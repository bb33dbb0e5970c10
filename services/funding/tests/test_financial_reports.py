"""Financial reports (CERFA 15059): one owed per grant, due six months after the end of its year; filled in and
submitted by the association (each gap over 15 % explained), accepted or sent back by the funder. Past its date
it is listed as overdue and blocks the association's new requests to that funder — time moved by the clock."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from common.clock import PARIS, FixedClock
from services.funding.tests.helpers import PREFECTURE, VILLE, url_of
from services.funding.tests.test_agreements import STATE_MANAGER, decided
from tests.support.clock import TODAY
from tests.support.stack import problem
from tests.support.world import CITY_INSTRUCTOR, CITY_MANAGER, DESK, HOLDER, OTHER_HOLDER, World

REPORTS = "/api/v1/financial-reports"


def reports_of(world: World, dossier: dict[str, Any], email: str = HOLDER) -> dict[str, dict[str, Any]]:
    listed = world.as_("funding", email).get(REPORTS, params={"dossier_id": dossier["id"]})
    assert listed.status_code == 200, listed.text
    return {report["funder_id"]: report for report in listed.json()["items"]}


def actuals(report: dict[str, Any], **by_label: int) -> list[dict[str, Any]]:
    """What was spent and received: as planned, except the lines named."""
    return [{"actual_cents": by_label.get(line["label"], line["planned_cents"])} for line in report["lines"]]


def put(world: World, report: dict[str, Any], lines: list[dict[str, Any]], **kwargs: Any):  # noqa: ANN201
    api = world.as_("funding", HOLDER)
    etag = api.get(f"{REPORTS}/{report['id']}").headers["etag"]
    return api.put(f"{REPORTS}/{report['id']}", json={"lines": lines, **kwargs}, headers={"If-Match": etag})


def act(world: World, email: str, report: dict[str, Any], action: str, body: dict[str, Any] | None = None):  # noqa: ANN201
    return world.as_("funding", email).post(f"{REPORTS}/{report['id']}/{action}", json=body or {})


class TestOwedByEachGrant:
    def test_one_report_per_grant_due_six_months_after_its_year(self, world: World) -> None:
        dossier = decided(world)
        reports = reports_of(world, dossier)
        assert set(reports) == {VILLE, PREFECTURE}
        city = reports[VILLE]
        assert city["due_on"] == date(TODAY.year + 1, 6, 30).isoformat()
        assert (city["state"], city["overdue"], city["allowed_actions"]) == ("expected", False, ["update"])
        budget = dossier["budget_snapshot"]
        assert [(line["side"], line["label"], line["planned_cents"]) for line in city["lines"]] == [
            ("charge", line["label"], line["amount_cents"]) for line in budget["charges"]
        ] + [("income", line["label"], line["amount_cents"]) for line in budget["income"]]
        assert city["totals"]["planned_charges_cents"] == budget["totals"]["charges_cents"]


class TestTheAssociationFillsItIn:
    def test_gaps_over_15_percent_are_explained_then_the_funder_reviews(self, world: World) -> None:
        dossier = decided(world)
        report = reports_of(world, dossier)[VILLE]
        first = report["lines"][0]
        blind = world.as_("funding", HOLDER).put(f"{REPORTS}/{report['id']}", json={"lines": actuals(report)})
        assert blind.status_code == 428
        short = put(world, report, actuals(report)[:-1])
        assert short.status_code == 422 and problem(short)["code"] == "report_lines_mismatch"
        # 16 % more than planned on the first line: it needs its explanation.
        over = first["planned_cents"] * 116 // 100
        draft = put(world, report, actuals(report, **{first["label"]: over}), comment="Bilan de l'année.")
        assert draft.status_code == 200, draft.text
        assert draft.json()["state"] == "draft" and draft.json()["lines"][0]["needs_explanation"] is True
        assert draft.json()["lines"][0]["gap_basis_points"] == 1_600
        refused = act(world, HOLDER, report, "submit")
        assert refused.status_code == 409 and problem(refused)["code"] == "report_incomplete"
        assert problem(refused)["lines"] == [{"line": 0, "label": first["label"], "missing": "explanation"}]
        lines = actuals(report, **{first["label"]: over})
        lines[0]["explanation"] = "Un animateur de plus au second semestre."
        assert put(world, report, lines).status_code == 200
        submitted = act(world, HOLDER, report, "submit")
        assert submitted.status_code == 200 and submitted.json()["state"] == "submitted"
        assert act(world, HOLDER, report, "submit").status_code == 409
        assert act(world, STATE_MANAGER, report, "accept").status_code == 404  # not the State's report
        sent_back = act(world, CITY_INSTRUCTOR, report, "request-changes", {"comment": "Détaillez les achats."})
        assert sent_back.status_code == 200 and sent_back.json()["state"] == "changes_requested"
        assert sent_back.json()["review_comment"] == "Détaillez les achats."
        assert put(world, report, lines, comment="Achats détaillés en annexe.").status_code == 200
        assert act(world, HOLDER, report, "submit").json()["state"] == "submitted"
        accepted = act(world, CITY_MANAGER, report, "accept")
        assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
        assert accepted.json()["allowed_actions"] == []

    def test_a_gap_of_exactly_15_percent_needs_no_explanation_a_cent_more_does(self, world: World) -> None:
        dossier = decided(world)
        report = reports_of(world, dossier)[PREFECTURE]
        planned = report["lines"][0]["planned_cents"]
        assert planned * 15 % 100 == 0  # the demo line: 15 % of it is a whole number of cents
        lines = actuals(report)
        lines[0]["actual_cents"] = planned + planned * 15 // 100
        assert put(world, report, lines).json()["lines"][0]["needs_explanation"] is False
        lines[0]["actual_cents"] += 1
        assert put(world, report, lines).json()["lines"][0]["needs_explanation"] is True
        assert act(world, HOLDER, report, "submit").status_code == 409
        lines[0]["actual_cents"] = planned - planned * 15 // 100
        assert put(world, report, lines).json()["lines"][0]["needs_explanation"] is False
        assert act(world, HOLDER, report, "submit").status_code == 200


def paid_state_letter(world: World, dossier: dict[str, Any]) -> None:
    """The State's decision letter sent (in force) and its payment made: the report now accounts for money."""
    letter = next(a for a in world.as_("funding", HOLDER).get("/api/v1/agreements", params={
        "dossier_id": dossier["id"]}).json()["items"] if a["funder_id"] == PREFECTURE)
    assert world.as_("funding", STATE_MANAGER).post(f"/api/v1/agreements/{letter['id']}/send").status_code == 200
    [payment] = world.as_("funding", HOLDER).get("/api/v1/payments", params={
        "agreement_id": letter["id"]}).json()["items"]
    paid = world.as_("funding", STATE_MANAGER).post(f"/api/v1/payments/{payment['id']}/pay")
    assert paid.status_code == 200, paid.text


class TestOverdue:
    def test_past_its_date_it_is_listed_and_blocks_new_requests_to_that_funder(
        self, world: World, clock: FixedClock
    ) -> None:
        dossier = decided(world)
        paid_state_letter(world, dossier)
        waiting = world.submit(world.create_dossier(plan=[{"funder_id": PREFECTURE, "amount_cents": 1_000_000}]))
        report = reports_of(world, dossier)[PREFECTURE]
        clock.at = datetime(TODAY.year + 1, 7, 1, 9, tzinfo=UTC)
        late = world.as_("funding", STATE_MANAGER).get(REPORTS, params={"overdue": "true"}).json()["items"]
        assert [r["id"] for r in late] == [report["id"]] and late[0]["overdue"] is True
        # The city paid nothing: its report accounts for no money, and is not late.
        desk_list = world.as_("funding", DESK).get(REPORTS, params={"overdue": "true"}).json()["items"]
        assert [r["id"] for r in desk_list] == [report["id"]]
        assert reports_of(world, dossier)[VILLE]["overdue"] is False
        check = world.as_("funding", DESK).get(f"{url_of(waiting)}/admissibility").json()
        rule = next(r for r in check["rules"] if r["rule"] == "no_overdue_financial_report")
        assert rule["satisfied"] is False and PREFECTURE in rule["detail"]
        another = world.create_dossier(plan=[{"funder_id": PREFECTURE, "amount_cents": 500_000}])
        refused = world.as_("funding", HOLDER).post(f"{url_of(another)}/submit")
        assert refused.status_code == 409 and "financial_report_overdue" in problem(refused)["failed_rules"]
        # Another association owes nothing: its requests go on.
        assert world.as_("funding", OTHER_HOLDER).get(REPORTS, params={"overdue": "true"}).json()["items"] == []

        put(world, report, actuals(report))
        act(world, HOLDER, report, "submit")
        check = world.as_("funding", DESK).get(f"{url_of(waiting)}/admissibility").json()
        assert next(r for r in check["rules"] if r["rule"] == "no_overdue_financial_report")["satisfied"] is True
        again = world.as_("funding", HOLDER).post(f"{url_of(another)}/submit")
        assert "financial_report_overdue" not in (problem(again).get("failed_rules") or [])

    def test_the_day_it_is_due_it_is_not_yet_overdue(self, world: World, clock: FixedClock) -> None:
        dossier = decided(world)
        paid_state_letter(world, dossier)
        report = reports_of(world, dossier)[PREFECTURE]
        # The due day ends at midnight in Paris, not in UTC: a minute before, the report is still on time.
        due_on = date.fromisoformat(report["due_on"])
        paris_midnight = datetime.combine(due_on + timedelta(days=1), time(0), tzinfo=PARIS)
        clock.at = (paris_midnight - timedelta(minutes=1)).astimezone(UTC)
        assert world.as_("funding", HOLDER).get(f"{REPORTS}/{report['id']}").json()["overdue"] is False
        clock.advance(minutes=1)
        assert world.as_("funding", HOLDER).get(f"{REPORTS}/{report['id']}").json()["overdue"] is True
        assert clock.today() == due_on + timedelta(days=1)
        assert clock.now().date() == due_on  # still the due day in UTC


class TestWhoSees:
    def test_the_association_its_funder_and_the_desk(self, world: World) -> None:
        dossier = decided(world)
        report = reports_of(world, dossier)[VILLE]
        for email in (HOLDER, CITY_MANAGER, CITY_INSTRUCTOR, DESK):
            assert world.as_("funding", email).get(f"{REPORTS}/{report['id']}").status_code == 200, email
        for email in (OTHER_HOLDER, STATE_MANAGER):
            assert world.as_("funding", email).get(f"{REPORTS}/{report['id']}").status_code == 404, email
        assert reports_of(world, dossier, STATE_MANAGER).keys() == {PREFECTURE}
