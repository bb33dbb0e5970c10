"""/api/v1/reports: a project's actual values for a period, `draft → submitted → accepted | changes_requested`."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.projects.models import Report, ReportHistory, ReportValue
from services.projects.tests.document_samples import pdf
from services.projects.tests.helpers import at_once
from services.projects.tests.test_indicator_targets import TARGETS, pick, service_token
from tests.support import calls
from tests.support.stack import problem
from tests.support.world import CITIZEN, CITY_INSTRUCTOR, DESK, HOLDER, HOLDER_MEMBER, OTHER_HOLDER, World

REPORTS = "/api/v1/reports"
COMPLETE_2027 = [
    {"indicator_code": "qpv_residents_reached", "value": 64},
    {"indicator_code": "women_reached", "value": 35},
    {"indicator_code": "young_people_16_25_reached", "value": "21"},
    {"indicator_code": "participant_satisfaction", "value": "87.5"},
]


def body(project: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "project_id": project["id"],
        "period": "2027",
        "values": COMPLETE_2027,
        "narrative": "Soixante-quatre collégiens accompagnés toute l'année.",
        **overrides,
    }


def planned_project(world: World, **overrides: Any) -> dict[str, Any]:
    """A project of the holder's that follows `TARGETS` (2027, and activity hours over the span)."""
    project = world.create_project(**overrides)
    pick(world, project, TARGETS)
    return project


def create(world: World, project: dict[str, Any], email: str = HOLDER, **overrides: Any) -> httpx.Response:
    return world.as_("projects", email).post(REPORTS, json=body(project, **overrides))


def created(world: World, project: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    response = create(world, project, **overrides)
    assert response.status_code == 201, response.text
    return response.json()


def url(report: dict[str, Any], action: str = "") -> str:
    return f"{REPORTS}/{report['id']}" + (f"/{action}" if action else "")


def act(world: World, report: dict[str, Any], action: str, email: str, *, version: int | None = None,
        **kwargs: Any) -> httpx.Response:
    headers = {"If-Match": f'"{report["version"] if version is None else version}"', **kwargs.pop("headers", {})}
    return world.as_("projects", email).post(url(report, action), headers=headers, **kwargs)


def submitted(world: World, project: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    response = act(world, created(world, project, **overrides), "submit", HOLDER)
    assert response.status_code == 200, response.text
    return response.json()


def stored(world: World, model: Any = Report) -> int:
    async def count() -> int:
        async with world.stack.apps["projects"].state.db.reader() as session:
            return (await session.execute(select(func.count()).select_from(model))).scalar_one()

    return world.stack.run(count)


def read(world: World, report: dict[str, Any], email: str = HOLDER) -> httpx.Response:
    return world.as_("projects", email).get(url(report))


def fields(response: httpx.Response) -> set[str]:
    return {error["field"] for error in problem(response).get("errors") or []}


class TestCreate:
    def test_the_holder_creates_a_draft(self, world: World) -> None:
        project = planned_project(world)
        response = create(world, project)
        assert response.status_code == 201, response.text
        report = response.json()
        assert response.headers["location"] == url(report) and response.headers["etag"] == '"1"'
        assert report["state"] == "draft" and report["period"] == "2027" and report["version"] == 1
        assert report["project_id"] == project["id"] and report["organisation_id"] == project["organisation_id"]
        assert report["values"] == [  # by indicator code, decimal strings
            {"indicator_code": "participant_satisfaction", "value": "87.50"},
            {"indicator_code": "qpv_residents_reached", "value": "64"},
            {"indicator_code": "women_reached", "value": "35"},
            {"indicator_code": "young_people_16_25_reached", "value": "21"},
        ]
        assert [(h["action"], h["from_state"], h["to_state"]) for h in report["history"]] == [
            ("created", None, "draft")
        ]
        assert report["submitted_at"] is None and report["evidence_version_ids"] == []
        assert read(world, report).json() == report

    def test_a_draft_may_be_partial(self, world: World) -> None:
        project = planned_project(world)
        report = created(world, project, values=COMPLETE_2027[:1], narrative="")
        assert len(report["values"]) == 1 and report["narrative"] == ""

    def test_the_span_has_its_own_report(self, world: World) -> None:
        project = planned_project(world)
        created(world, project)
        span = created(world, project, period="span", values=[{"indicator_code": "activity_hours", "value": "410"}])
        assert span["values"] == [{"indicator_code": "activity_hours", "value": "410"}]

    def test_a_second_report_for_the_period_is_409(self, world: World) -> None:
        project = planned_project(world)
        first = created(world, project)
        second = create(world, project, narrative="Autre")
        assert problem(second)["code"] == "report_exists" and problem(second)["report_id"] == first["id"]
        assert stored(world) == 1

    def test_two_at_the_same_moment_make_one(self, world: World) -> None:
        project = planned_project(world)
        answers = at_once(world.as_("projects", HOLDER), [("POST", REPORTS, {"json": body(project)})] * 3)
        assert sorted(a.status_code for a in answers) == [201, 409, 409]
        assert stored(world) == 1

    def test_the_same_idempotency_key_replays_the_answer(self, world: World) -> None:
        project = planned_project(world)
        api = world.as_("projects", HOLDER)
        key = {"Idempotency-Key": f"report-{uuid.uuid4()}"}
        first = api.post(REPORTS, json=body(project), headers=key)
        again = api.post(REPORTS, json=body(project), headers=key)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
        assert again.headers["location"] == first.headers["location"]
        other = api.post(REPORTS, json=body(project, narrative="autre"), headers=key)
        assert problem(other)["code"] == "idempotency_key_reused"
        assert stored(world) == 1

    @pytest.mark.parametrize(
        ("overrides", "code", "field"),
        [
            ({"values": [{"indicator_code": "volunteers_involved", "value": 3}]}, "inconsistent_values",
             "body.values.0.indicator_code"),
            ({"values": [{"indicator_code": "activity_hours", "value": 3}]}, "inconsistent_values",
             "body.values.0.indicator_code"),  # picked, but for the span
            ({"values": [{"indicator_code": "qpv_residents_reached", "value": 3},
                         {"indicator_code": "qpv_residents_reached", "value": 4}]}, "inconsistent_values",
             "body.values.1.indicator_code"),
            ({"values": [{"indicator_code": "qpv_residents_reached", "value": 30},
                         {"indicator_code": "women_reached", "value": 31}]}, "inconsistent_values",
             "body.values.1.value"),
            ({"values": [{"indicator_code": "qpv_residents_reached", "value": 30},
                         {"indicator_code": "young_people_16_25_reached", "value": 31}]}, "inconsistent_values",
             "body.values.1.value"),
            ({"values": [{"indicator_code": "participant_satisfaction", "value": 101}]}, "inconsistent_values",
             "body.values.0.value"),
            ({"values": [{"indicator_code": "qpv_residents_reached", "value": "64.5"}]}, "inconsistent_values",
             "body.values.0.value"),
            ({"period": "2028"}, "period_not_planned", "body.period"),
            ({"period": "span", "values": []}, None, None),  # the span is planned (activity_hours): accepted
            ({"values": [{"indicator_code": "qpv_residents_reached", "value": -1}]}, "validation_failed",
             "body.values.0.value"),
            ({"values": [{"indicator_code": "qpv_residents_reached", "value": 64.5}]}, "validation_failed",
             "body.values.0.value"),
            ({"values": [{"indicator_code": "qpv_residents_reached", "value": "6.405"}]}, "validation_failed",
             "body.values.0.value"),
            ({"period": "27"}, "validation_failed", "body.period"),
            ({"narrative": "a\x00b"}, "validation_failed", "body.narrative"),
            ({"state": "accepted"}, "validation_failed", "body.state"),
            ({"project_id": str(uuid.uuid4())}, "unknown_project", "body.project_id"),
            ({"evidence_version_ids": [str(uuid.uuid4())]}, "unknown_evidence", "body.evidence_version_ids"),
        ],
    )
    def test_bad_input_is_a_problem_naming_the_field_and_writes_nothing(
        self, world: World, overrides: dict[str, Any], code: str | None, field: str | None
    ) -> None:
        project = planned_project(world)
        response = create(world, project, **overrides)
        if code is None:
            assert response.status_code == 201, response.text
            return
        details = problem(response)
        assert details["status"] == 422 and details["code"] == code, details
        assert field in fields(response), details
        assert stored(world) == 0 and stored(world, ReportValue) == 0

    def test_a_period_without_picked_indicators_is_refused(self, world: World) -> None:
        project = world.create_project()  # nothing picked yet
        response = create(world, project, values=[])
        assert problem(response)["code"] == "period_not_planned" and stored(world) == 0

    def test_value_messages_in_english_on_request(self, world: World) -> None:
        project = planned_project(world)
        response = world.as_("projects", HOLDER).post(
            REPORTS, json=body(project, values=[{"indicator_code": "qpv_residents_reached", "value": 10},
                                                {"indicator_code": "women_reached", "value": 11}]),
            headers={"Accept-Language": "en"},
        )
        assert problem(response)["errors"] == [
            {"field": "body.values.1.value", "message": "'of whom': cannot exceed qpv_residents_reached (10)."}
        ]

    def test_the_project_of_another_association_is_unknown(self, world: World) -> None:
        project = planned_project(world)
        response = create(world, project, email=OTHER_HOLDER)
        assert problem(response)["code"] == "unknown_project" and stored(world) == 0

    @pytest.mark.parametrize("email", [DESK, CITY_INSTRUCTOR, CITIZEN])
    def test_only_holders_create(self, world: World, email: str) -> None:
        project = planned_project(world)
        assert problem(create(world, project, email=email))["status"] == 403
        assert stored(world) == 0

    def test_evidence_is_a_document_version_of_the_organisation(self, world: World) -> None:
        project = planned_project(world)

        def upload(email: str) -> str:
            response = world.as_("projects", email).post(
                "/api/v1/documents", data={"kind": "other"},
                files={"file": ("emargement.pdf", pdf(str(uuid.uuid4())), "application/pdf")},
            )
            assert response.status_code == 201, response.text
            return response.json()["current_version"]["id"]

        mine, theirs = upload(HOLDER), upload(OTHER_HOLDER)
        refused = create(world, project, evidence_version_ids=[mine, theirs])
        assert problem(refused)["code"] == "unknown_evidence" and theirs in problem(refused)["errors"][0]["message"]
        assert stored(world) == 0
        report = created(world, project, evidence_version_ids=[mine, mine])
        assert report["evidence_version_ids"] == [mine]


class TestRead:
    def test_the_holders_and_the_desk_read_it_with_its_etag(self, world: World) -> None:
        report = created(world, planned_project(world))
        for email in (HOLDER, HOLDER_MEMBER, DESK):
            response = read(world, report, email)
            assert response.status_code == 200 and response.headers["etag"] == '"1"'
            assert response.json() == report

    def test_a_service_of_the_desk_reads_it(self, world: World) -> None:
        report = created(world, planned_project(world))
        response = world.stack.api("projects").get(url(report), token=service_token(world))
        assert response.status_code == 200 and response.json() == report

    def test_another_association_gets_a_404_that_says_nothing(self, world: World) -> None:
        report = created(world, planned_project(world))
        response = read(world, report, OTHER_HOLDER)
        assert problem(response)["status"] == 404 and "collégiens" not in response.text
        assert problem(read(world, {"id": str(uuid.uuid4())}))["status"] == 404

    @pytest.mark.parametrize("email", [CITY_INSTRUCTOR, CITIZEN])
    def test_funders_and_citizens_get_403(self, world: World, email: str) -> None:
        report = created(world, planned_project(world))
        assert problem(read(world, report, email))["status"] == 403


class TestList:
    def test_each_caller_sees_what_is_theirs_and_filters_narrow(self, world: World) -> None:
        mine = planned_project(world)
        draft = created(world, mine)
        span = submitted(world, mine, period="span", values=[{"indicator_code": "activity_hours", "value": 400}])
        theirs = world.create_project(OTHER_HOLDER)
        put = world.as_("projects", OTHER_HOLDER).request(
            "PUT", f"/api/v1/projects/{theirs['id']}/indicators",
            json={"targets": [{"indicator_code": "events_held", "period": "2027", "target": 3}]},
        )
        assert put.status_code == 200
        other = created_by(world, OTHER_HOLDER, theirs)

        def ids(email: str, **params: Any) -> set[str]:
            return set(calls.listed_ids(world.as_("projects", email), REPORTS, **params))

        assert ids(HOLDER) == {draft["id"], span["id"]}
        assert ids(OTHER_HOLDER) == {other["id"]}
        assert ids(DESK) == {draft["id"], span["id"], other["id"]}
        assert ids(DESK, project_id=theirs["id"]) == {other["id"]}
        assert ids(HOLDER, state="submitted") == {span["id"]}
        assert ids(HOLDER, period="2027") == {draft["id"]}
        assert ids(HOLDER, updated_since=span["updated_at"]) == {span["id"]}
        assert ids(HOLDER, limit=1) == {draft["id"], span["id"]}  # page by page
        listed = world.stack.api("projects").get(REPORTS, token=service_token(world))
        assert {r["id"] for r in listed.json()["items"]} == {draft["id"], span["id"], other["id"]}

    @pytest.mark.parametrize(
        "params", [{"state": "lost"}, {"period": "x"}, {"project_id": "1"}, {"updated_since": "yesterday"}]
    )
    def test_bad_filters_are_422(self, world: World, params: dict[str, str]) -> None:
        assert problem(world.as_("projects", HOLDER).get(REPORTS, params=params))["status"] == 422

    def test_a_forged_cursor_is_400(self, world: World) -> None:
        response = world.as_("projects", HOLDER).get(REPORTS, params={"cursor": "bm90LWEtY3Vyc29y"})
        assert problem(response)["code"] == "invalid_cursor"

    @pytest.mark.parametrize("email", [CITY_INSTRUCTOR, CITIZEN])
    def test_funders_and_citizens_get_403(self, world: World, email: str) -> None:
        assert problem(world.as_("projects", email).get(REPORTS))["status"] == 403


def created_by(world: World, email: str, project: dict[str, Any]) -> dict[str, Any]:
    response = world.as_("projects", email).post(REPORTS, json=body(
        project, values=[{"indicator_code": "events_held", "value": 2}]
    ))
    assert response.status_code == 201, response.text
    return response.json()


class TestUpdate:
    def test_the_holder_changes_a_draft_with_if_match(self, world: World) -> None:
        report = created(world, planned_project(world), values=[], narrative="")
        api = world.as_("projects", HOLDER)
        change = {"values": COMPLETE_2027[:2], "narrative": "Bilan"}
        assert problem(api.patch(url(report), json=change))["status"] == 428
        assert problem(api.patch(url(report), json=change, headers={"If-Match": '"7"'}))["status"] == 412
        response = api.patch(url(report), json=change, headers={"If-Match": '"1"'})
        assert response.status_code == 200 and response.headers["etag"] == '"2"'
        assert response.json()["narrative"] == "Bilan"
        assert [v["indicator_code"] for v in response.json()["values"]] == ["qpv_residents_reached", "women_reached"]
        assert response.json()["history"][-1]["action"] == "updated"
        kept = api.patch(url(report), json={"narrative": "Bilan 2027"}, headers={"If-Match": '"2"'}).json()
        assert kept["narrative"] == "Bilan 2027" and len(kept["values"]) == 2  # left out: kept

    def test_an_unchanged_patch_keeps_the_version(self, world: World) -> None:
        report = created(world, planned_project(world))
        same = world.as_("projects", HOLDER).patch(
            url(report), json={"narrative": report["narrative"], "values": list(reversed(COMPLETE_2027))},
            headers={"If-Match": '"1"'},
        )
        assert same.status_code == 200 and same.headers["etag"] == '"1"'

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"values": [{"indicator_code": "events_held", "value": 1}]}, "body.values.0.indicator_code"),
            ({"values": [{"indicator_code": "participant_satisfaction", "value": "100.5"}]}, "body.values.0.value"),
            ({"narrative": None}, "body"),
            ({"period": "span"}, "body.period"),
        ],
    )
    def test_bad_changes_are_422_and_write_nothing(self, world: World, change: dict[str, Any], field: str) -> None:
        report = created(world, planned_project(world))
        response = world.as_("projects", HOLDER).patch(url(report), json=change, headers={"If-Match": '"1"'})
        assert problem(response)["status"] == 422 and field in fields(response)
        assert read(world, report).json() == report

    def test_a_submitted_report_cannot_change(self, world: World) -> None:
        report = submitted(world, planned_project(world))
        response = world.as_("projects", HOLDER).patch(
            url(report), json={"narrative": "x"}, headers={"If-Match": f'"{report["version"]}"'}
        )
        details = problem(response)
        assert details["code"] == "illegal_transition" and details["allowed_actions"] == ["accept", "request_changes"]
        assert read(world, report).json() == report

    def test_another_association_gets_404(self, world: World) -> None:
        report = created(world, planned_project(world))
        response = world.as_("projects", OTHER_HOLDER).patch(
            url(report), json={"narrative": "x"}, headers={"If-Match": '"1"'}
        )
        assert problem(response)["status"] == 404 and read(world, report).json() == report

    @pytest.mark.parametrize("email", [DESK, CITY_INSTRUCTOR])
    def test_only_holders_change_it(self, world: World, email: str) -> None:
        report = created(world, planned_project(world))
        response = world.as_("projects", email).patch(url(report), json={"narrative": "x"}, headers={"If-Match": '"1"'})
        assert problem(response)["status"] == 403


class TestSubmit:
    def test_a_complete_draft_is_submitted(self, world: World) -> None:
        report = created(world, planned_project(world))
        response = act(world, report, "submit", HOLDER)
        assert response.status_code == 200, response.text
        moved = response.json()
        assert moved["state"] == "submitted" and moved["version"] == 2 and moved["submitted_at"]
        assert response.headers["etag"] == '"2"' and response.headers["location"] == url(report)
        last = moved["history"][-1]
        assert (last["action"], last["from_state"], last["to_state"]) == ("submitted", "draft", "submitted")
        assert last["actor_organisation_id"] == report["organisation_id"] and last["at"]

    def test_an_incomplete_draft_is_409_listing_what_is_missing(self, world: World) -> None:
        report = created(world, planned_project(world), values=COMPLETE_2027[:2], narrative="  ")
        response = act(world, report, "submit", HOLDER)
        details = problem(response)
        assert details["status"] == 409 and details["code"] == "report_incomplete"
        assert details["missing_indicators"] == ["participant_satisfaction", "young_people_16_25_reached"]
        assert fields(response) == {"values", "narrative"}
        assert read(world, report).json() == report

    def test_values_that_no_longer_fit_the_targets_are_409(self, world: World) -> None:
        project = planned_project(world)
        report = created(world, project)
        without_satisfaction = [t for t in TARGETS if t["indicator_code"] != "participant_satisfaction"]
        pick(world, project, without_satisfaction)
        details = problem(act(world, report, "submit", HOLDER))
        assert details["code"] == "report_incomplete"
        assert [e["field"] for e in details["errors"]] == ["values.participant_satisfaction.indicator_code"]
        assert read(world, report).json()["state"] == "draft"

    def test_if_match_and_idempotency(self, world: World) -> None:
        report = created(world, planned_project(world))
        api = world.as_("projects", HOLDER)
        assert problem(api.post(url(report, "submit")))["status"] == 428
        assert problem(act(world, report, "submit", HOLDER, version=5))["status"] == 412
        key = {"Idempotency-Key": f"submit-{uuid.uuid4()}"}
        first = act(world, report, "submit", HOLDER, headers=key)
        again = act(world, report, "submit", HOLDER, headers=key)
        assert first.status_code == again.status_code == 200
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
        assert stored(world, ReportHistory) == 2  # created, submitted: once

    def test_submitting_twice_is_409_with_the_allowed_actions(self, world: World) -> None:
        report = submitted(world, planned_project(world))
        details = problem(act(world, report, "submit", HOLDER))
        assert details["code"] == "illegal_transition" and details["state"] == "submitted"
        assert details["allowed_actions"] == ["accept", "request_changes"]

    def test_another_association_gets_404_and_the_desk_403(self, world: World) -> None:
        report = created(world, planned_project(world))
        assert problem(act(world, report, "submit", OTHER_HOLDER))["status"] == 404
        assert problem(act(world, report, "submit", DESK))["status"] == 403
        assert read(world, report).json()["state"] == "draft"


class TestReview:
    def test_the_desk_accepts_a_submitted_report(self, world: World) -> None:
        report = submitted(world, planned_project(world))
        response = act(world, report, "accept", DESK, json={"comment": "Cohérent."})
        assert response.status_code == 200, response.text
        accepted = response.json()
        assert accepted["state"] == "accepted" and response.headers["etag"] == f'"{report["version"] + 1}"'
        last = accepted["history"][-1]
        assert (last["action"], last["from_state"], last["to_state"], last["comment"]) == (
            "accepted", "submitted", "accepted", "Cohérent."
        )
        assert read(world, report).json() == accepted
        # Accepted is final: nothing more, the holder included.
        details = problem(act(world, accepted, "request-changes", DESK, json={"comment": "x"}))
        assert details["code"] == "illegal_transition" and details["allowed_actions"] == []

    def test_accept_without_a_body(self, world: World) -> None:
        report = submitted(world, planned_project(world))
        response = act(world, report, "accept", DESK)
        assert response.status_code == 200 and response.json()["history"][-1]["comment"] is None

    def test_changes_requested_go_back_to_the_holder_and_round_again(self, world: World) -> None:
        report = submitted(world, planned_project(world))
        assert problem(act(world, report, "request-changes", DESK, json={}))["status"] == 422
        assert problem(act(world, report, "request-changes", DESK, json={"comment": "   "}))["status"] == 422
        assert read(world, report).json()["state"] == "submitted"
        back = act(world, report, "request-changes", DESK, json={"comment": "Joindre l'émargement."})
        assert back.status_code == 200 and back.json()["state"] == "changes_requested"
        assert back.json()["history"][-1]["comment"] == "Joindre l'émargement."
        changed = world.as_("projects", HOLDER).patch(
            url(report), json={"narrative": "Avec émargement."}, headers={"If-Match": back.headers["etag"]}
        )
        assert changed.status_code == 200 and changed.json()["state"] == "changes_requested"
        again = act(world, changed.json(), "submit", HOLDER)
        assert again.status_code == 200 and again.json()["state"] == "submitted"
        assert [h["to_state"] for h in again.json()["history"]] == [
            "draft", "submitted", "changes_requested", "changes_requested", "submitted"
        ]

    def test_a_draft_cannot_be_reviewed(self, world: World) -> None:
        report = created(world, planned_project(world))
        reviews: list[tuple[str, dict[str, Any]]] = [("accept", {}), ("request-changes", {"json": {"comment": "x"}})]
        for action, extra in reviews:
            details = problem(act(world, report, action, DESK, **extra))
            assert details["code"] == "illegal_transition" and details["allowed_actions"] == ["update", "submit"]
        assert read(world, report).json() == report

    @pytest.mark.parametrize("email", [HOLDER, CITY_INSTRUCTOR, CITIZEN])
    def test_only_the_desk_reviews(self, world: World, email: str) -> None:
        report = submitted(world, planned_project(world))
        assert problem(act(world, report, "accept", email))["status"] == 403
        assert problem(act(world, report, "request-changes", email, json={"comment": "x"}))["status"] == 403
        assert read(world, report).json()["state"] == "submitted"

    def test_review_needs_if_match_and_an_existing_report(self, world: World) -> None:
        report = submitted(world, planned_project(world))
        desk = world.as_("projects", DESK)
        assert problem(desk.post(url(report, "accept")))["status"] == 428
        assert problem(act(world, report, "accept", DESK, version=1))["status"] == 412
        assert problem(act(world, {"id": str(uuid.uuid4()), "version": 1}, "accept", DESK))["status"] == 404

    def test_two_reviews_from_one_read_one_wins(self, world: World) -> None:
        report = submitted(world, planned_project(world))
        headers = {"If-Match": f'"{report["version"]}"'}
        answers = at_once(world.as_("projects", DESK), [
            ("POST", url(report, "accept"), {"headers": headers}),
            ("POST", url(report, "request-changes"), {"headers": headers, "json": {"comment": "x"}}),
        ])
        assert sorted(a.status_code for a in answers) == [200, 412]


class TestTargetsInUse:
    def test_a_reported_indicator_cannot_be_dropped(self, world: World) -> None:
        project = planned_project(world)
        created(world, project)  # a draft holds nothing back
        pick(world, project, TARGETS)
        submitted(world, project, period="span", values=[{"indicator_code": "activity_hours", "value": 400}])
        without_hours = [t for t in TARGETS if t["indicator_code"] != "activity_hours"]
        current = world.as_("projects", HOLDER).get(f"/api/v1/projects/{project['id']}/indicators")
        response = world.as_("projects", HOLDER).request(
            "PUT", f"/api/v1/projects/{project['id']}/indicators", json={"targets": without_hours},
            headers={"If-Match": current.headers["etag"]},
        )
        details = problem(response)
        assert details["code"] == "targets_in_use"
        assert details["in_use"] == [{"indicator_code": "activity_hours", "period": "span"}]
        after = world.as_("projects", HOLDER).get(f"/api/v1/projects/{project['id']}/indicators")
        assert after.json() == current.json()
        # Dropping a yearly indicator only drafted for is fine.
        assert pick(world, project, [t for t in TARGETS if t["indicator_code"] != "participant_satisfaction"])
