"""Financial reports (CERFA 15059): one owed per grant, due six months after the end of its year; filled in and
submitted by the association (each gap over 15 % explained), accepted or sent back by the funder. Past its date
it is listed as overdue and blocks the association's new requests to that funder — time moved by the clock."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from common.clock import PARIS, FixedClock
from services.funding.financial_reports.service import owed_report
from services.funding.models.agreement import Grant
from services.funding.models.dossier import Dossier
from services.funding.models.programme import Programme
from services.funding.programmes.track_rules import TrackRules
from services.funding.tests.helpers import (
    PREFECTURE,
    PROGRAMME_ID,
    REPORT_FORM,
    VILLE,
    create_programme,
    programme_body,
    url_of,
)
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
    return api.put(f"{REPORTS}/{report['id']}", json={"lines": lines, **REPORT_FORM, **kwargs},
                   headers={"If-Match": etag})


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


def set_programme_rules(world: World, rules: dict[str, Any]) -> None:
    """Arrange the demo programme's rules (the API sets them at creation only), straight in the database."""

    async def run() -> None:
        async with world.stack.apps["funding"].state.db.writer() as session:
            programme = col(Programme.id) == uuid.UUID(PROGRAMME_ID)
            await session.execute(update(Programme).where(programme).values(rules=rules))
            await session.commit()

    world.stack.run(run)


UNPLANNED = {"side": "charge", "account_group": "62", "label": "Location d'un minibus", "actual_cents": 180_000,
             "explanation": "Une sortie ajoutée à la demande des familles."}


class TestTheWholeForm:
    """CERFA 15059 beyond the planned lines: what was not planned, the annex, the qualitative account, the
    signatory, and the programme's own gap threshold."""

    def test_money_spent_on_a_line_not_planned_is_reported_and_explained(self, world: World) -> None:
        report = reports_of(world, decided(world))[VILLE]
        planned = len(report["lines"])
        response = put(world, report, actuals(report), unplanned_lines=[UNPLANNED])
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["lines"]) == planned + 1
        extra = body["lines"][-1]
        assert (extra["planned"], extra["account_group"], extra["planned_cents"], extra["actual_cents"]) == (
            False, "62", 0, 180_000
        )
        assert extra["needs_explanation"] is True and extra["explanation"] == UNPLANNED["explanation"]
        assert all(line["planned"] for line in body["lines"][:-1])
        assert body["totals"]["actual_charges_cents"] == body["totals"]["planned_charges_cents"] + 180_000
        # The planned lines are still the ones the next entry answers, one for one.
        again = put(world, report, actuals(report))
        assert again.status_code == 200 and len(again.json()["lines"]) == planned
        submitted = act(world, HOLDER, report, "submit")
        assert submitted.status_code == 200, submitted.text

    @pytest.mark.parametrize(
        ("line", "field"),
        [
            ({**UNPLANNED, "account_group": "70"}, "body.unplanned_lines.0"),
            ({**UNPLANNED, "side": "income"}, "body.unplanned_lines.0"),
            ({**UNPLANNED, "account_group": "surplus"}, "body.unplanned_lines.0.account_group"),
            ({**UNPLANNED, "account_group": "641"}, "body.unplanned_lines.0.account_group"),
            ({key: value for key, value in UNPLANNED.items() if key != "explanation"},
             "body.unplanned_lines.0.explanation"),
            ({**UNPLANNED, "actual_cents": 0}, "body.unplanned_lines.0.actual_cents"),
        ],
        ids=["income-account-as-charge", "charge-account-as-income", "result-line", "not-on-the-form",
             "unexplained", "nothing-spent"],
    )
    def test_a_bad_unplanned_line_is_422_and_nothing_is_written(
        self, world: World, line: dict[str, Any], field: str
    ) -> None:
        report = reports_of(world, decided(world))[VILLE]
        response = put(world, report, actuals(report), unplanned_lines=[line])
        assert response.status_code == 422, response.text
        assert field in [error["field"] for error in problem(response)["errors"]]
        stored = world.as_("funding", HOLDER).get(f"{REPORTS}/{report['id']}").json()
        assert (stored["state"], stored["version"]) == ("expected", report["version"])

    def test_without_its_qualitative_account_and_signatory_it_cannot_be_submitted(self, world: World) -> None:
        report = reports_of(world, decided(world))[VILLE]
        api = world.as_("funding", HOLDER)
        etag = api.get(f"{REPORTS}/{report['id']}").headers["etag"]
        assert api.put(f"{REPORTS}/{report['id']}", json={"lines": actuals(report)},
                       headers={"If-Match": etag}).status_code == 200
        refused = act(world, HOLDER, report, "submit")
        assert refused.status_code == 409 and problem(refused)["code"] == "report_incomplete"
        assert [gap["missing"] for gap in problem(refused)["lines"]] == ["qualitative", "signatory"]
        assert api.get(f"{REPORTS}/{report['id']}").json()["state"] == "draft"
        filled = put(world, report, actuals(report), qualitative={
            "summary": "Aide aux devoirs quatre soirs par semaine.", "beneficiaries": "42 collégiens du Blosne.",
            "dates_and_places": "D'octobre à juin, à la maison de quartier.",
            "evaluation": "30 élèves visés, 42 venus au moins dix fois.",
        })
        assert filled.status_code == 200, filled.text
        assert filled.json()["qualitative"]["beneficiaries"] == "42 collégiens du Blosne."
        assert filled.json()["signatory"] == REPORT_FORM["signatory"]
        assert act(world, HOLDER, report, "submit").status_code == 200

    def test_indirect_charges_and_in_kind_help_spent_need_their_annex(self, world: World) -> None:
        report = reports_of(world, decided(world))[VILLE]
        spent = [
            {"side": "charge", "account_group": "indirect_fixed", "label": "Quote-part du loyer",
             "actual_cents": 300_000, "explanation": "Le local partagé, réparti au prorata des heures."},
            {"side": "charge", "account_group": "864", "label": "Bénévolat", "actual_cents": 240_000,
             "explanation": "Des parents venus encadrer."},
            {"side": "income", "account_group": "870", "label": "Bénévolat", "actual_cents": 240_000,
             "explanation": "Des parents venus encadrer."},
        ]
        put(world, report, actuals(report), unplanned_lines=spent)
        refused = act(world, HOLDER, report, "submit")
        assert refused.status_code == 409
        assert [gap["missing"] for gap in problem(refused)["lines"]] == [
            "annex.indirect_costs_method", "annex.in_kind_contributions"
        ]
        annex = {"indirect_costs_method": "Au prorata des heures d'occupation du local.",
                 "in_kind_contributions": "200 heures de bénévolat à 12 € de l'heure.",
                 "gaps_explanation": "Une année plus chargée que prévu."}
        filled = put(world, report, actuals(report), unplanned_lines=spent, annex=annex)
        assert filled.status_code == 200 and filled.json()["annex"] == annex
        assert act(world, HOLDER, report, "submit").status_code == 200

    @pytest.mark.parametrize(
        ("signatory", "field"),
        [
            ({"signed_on": (TODAY + timedelta(days=1)).isoformat()}, "body.signatory.signed_on"),
            ({"capacity": "treasurer"}, "body.signatory.capacity"),
            ({"name": " "}, "body.signatory.name"),
            ({"signed_on": "15/06/2026"}, "body.signatory.signed_on"),
        ],
        ids=["signed-tomorrow", "unknown-capacity", "blank-name", "not-an-iso-date"],
    )
    def test_a_bad_signatory_is_422_and_nothing_is_written(
        self, world: World, signatory: dict[str, Any], field: str
    ) -> None:
        report = reports_of(world, decided(world))[VILLE]
        response = put(world, report, actuals(report), signatory={**REPORT_FORM["signatory"], **signatory})
        assert response.status_code == 422, response.text
        assert [error["field"] for error in problem(response)["errors"]] == [field]
        stored = world.as_("funding", HOLDER).get(f"{REPORTS}/{report['id']}").json()
        assert (stored["version"], stored["signatory"]) == (report["version"], None)

    def test_the_gap_to_explain_is_the_programmes_setting(self, world: World) -> None:
        set_programme_rules(world, {"explained_gap_bp": 2_000})
        report = reports_of(world, decided(world))[VILLE]
        assert report["explained_gap_bp"] == 2_000
        first = report["lines"][0]
        over = {first["label"]: first["planned_cents"] * 118 // 100}  # 18 %: within the programme's 20 %
        assert put(world, report, actuals(report, **over)).json()["lines"][0]["needs_explanation"] is False
        over = {first["label"]: first["planned_cents"] * 121 // 100}
        assert put(world, report, actuals(report, **over)).json()["lines"][0]["needs_explanation"] is True
        refused = world.as_("funding", HOLDER).post(f"{REPORTS}/{report['id']}/submit", json={},
                                                     headers={"Accept-Language": "en"})
        assert refused.status_code == 409 and "a gap over 20% unexplained" in problem(refused)["detail"]

    def test_by_default_the_gap_to_explain_is_15_percent(self, world: World) -> None:
        report = reports_of(world, decided(world))[VILLE]
        assert report["explained_gap_bp"] == 1_500


class TestTheProgrammeSetsItsGapThreshold:
    def test_a_programme_says_its_threshold_and_shows_it_in_its_rules(self, world: World) -> None:
        assert create_programme(world, explained_gap_bp=1_000)["rules"]["explained_gap_bp"] == 1_000
        assert create_programme(world)["rules"]["explained_gap_bp"] == 1_500

    @pytest.mark.parametrize("value", [-1, 10_001, "15 %", 15.5, True])
    def test_a_bad_threshold_is_422(self, world: World, value: Any) -> None:
        before = world.as_("funding", DESK).get("/api/v1/programmes").json()["items"]
        response = world.as_("funding", DESK).post("/api/v1/programmes", json=programme_body(explained_gap_bp=value))
        assert response.status_code == 422, response.text
        assert [error["field"] for error in problem(response)["errors"]] == ["body.explained_gap_bp"]
        assert world.as_("funding", DESK).get("/api/v1/programmes").json()["items"] == before


class TestARunningCostsRequestReportsOnTheYearlyBudget:
    def test_its_lines_are_those_of_the_associations_budget(self) -> None:
        yearly = {"charges": [{"account_group": "64", "label": "Salaires", "amount_cents": 19_000_000}],
                  "income": [{"account_group": "74", "label": "Ville", "amount_cents": 12_000_000}],
                  "totals": {"charges_cents": 19_000_000}}
        project = {"charges": [{"account_group": "60", "label": "Fournitures", "amount_cents": 300_000}],
                   "income": [], "totals": {"charges_cents": 300_000}}
        dossier = Dossier(reference="GU-2026-000001", programme_id=uuid.uuid4(), project_id=uuid.uuid4(),
                          organisation_id=uuid.uuid4(), created_by="test", request_object="operating",
                          budget_snapshot=project, association_budget_snapshot=yearly)
        grant = Grant(dossier_id=uuid.uuid4(), funder_id=uuid.uuid4(), organisation_id=uuid.uuid4(),
                      programme_id=uuid.uuid4(), amount_cents=1, year=TODAY.year, decided_at=datetime.now(UTC))
        owed = owed_report(grant, dossier, TrackRules(explained_gap_bp=500), TODAY.year)
        assert [(line["side"], line["label"]) for line in owed.lines] == [("charge", "Salaires"), ("income", "Ville")]
        assert owed.explained_gap_bp == 500
        dossier.request_object = "project"
        assert [line["label"] for line in owed_report(grant, dossier, TrackRules(), TODAY.year).lines] == [
            "Fournitures"
        ]
