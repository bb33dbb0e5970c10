"""/api/v1/projects/{id}/indicators: the indicators a project follows, per period, with their targets."""

import uuid
from typing import Any

import httpx
import pytest

from services.identity.keys import KeyStore
from tests.support.stack import problem
from tests.support.tokens import claims_for
from tests.support.world import CITIZEN, CITY_INSTRUCTOR, DESK, HOLDER, HOLDER_MEMBER, OTHER_HOLDER, World

# The demo project runs from 2027-01-05 to 2027-12-18; these span two years.
TWO_YEARS = {"start_date": "2027-01-05", "end_date": "2028-06-30"}
TARGETS: list[dict[str, Any]] = [
    {"indicator_code": "qpv_residents_reached", "period": "2027", "target": 60},
    {"indicator_code": "women_reached", "period": "2027", "target": 30},
    {"indicator_code": "young_people_16_25_reached", "period": "2027", "target": 20},
    {"indicator_code": "participant_satisfaction", "period": "2027", "target": 80},
    {"indicator_code": "activity_hours", "period": "span", "target": "412.5"},
]


def indicators_url(project: dict[str, Any]) -> str:
    return f"/api/v1/projects/{project['id']}/indicators"


def put_targets(
    world: World, project: dict[str, Any], targets: list[dict[str, Any]], *, email: str = HOLDER,
    if_match: str | None = None, **headers: str,
) -> httpx.Response:
    sent = {**headers, **({"If-Match": if_match} if if_match is not None else {})}
    return world.as_("projects", email).request(
        "PUT", indicators_url(project), json={"targets": targets}, headers=sent
    )


def pick(world: World, project: dict[str, Any], targets: list[dict[str, Any]] = TARGETS) -> dict[str, Any]:
    """Replace the project's targets, whatever their version, and answer the new list."""
    current = world.as_("projects", HOLDER).get(indicators_url(project))
    response = put_targets(world, project, targets, if_match=current.headers["etag"])
    assert response.status_code == 200, response.text
    return response.json()


def read(world: World, project: dict[str, Any], email: str = HOLDER) -> httpx.Response:
    return world.as_("projects", email).get(indicators_url(project))


def service_token(world: World, scope: str = "projects:read") -> str:
    keys = KeyStore.from_pem(world.stack.signing_key_file.read_bytes())
    return keys.sign(claims_for(organisation_id=None, roles=[], kind="service", org_kind=None,
                                subject="service:funding", scope=scope))


def fields(response: httpx.Response) -> set[str]:
    return {error["field"] for error in problem(response).get("errors") or []}


class TestRead:
    def test_before_any_choice_the_list_is_empty_at_version_0(self, world: World) -> None:
        project = world.create_project()
        response = read(world, project)
        assert response.status_code == 200
        assert response.headers["etag"] == '"0"'
        assert response.json() == {"project_id": project["id"], "targets": [], "version": 0, "updated_at": None}

    @pytest.mark.parametrize("email", [HOLDER, HOLDER_MEMBER, DESK])
    def test_the_holders_and_the_desk_read_them(self, world: World, email: str) -> None:
        project = world.create_project()
        chosen = pick(world, project)
        response = read(world, project, email)
        assert response.status_code == 200
        assert response.json() == chosen and response.headers["etag"] == '"1"'

    def test_a_service_of_the_desk_reads_them(self, world: World) -> None:
        project = world.create_project()
        chosen = pick(world, project)
        response = world.stack.api("projects").get(indicators_url(project), token=service_token(world))
        assert response.status_code == 200, response.text
        assert response.json() == chosen

    def test_another_association_gets_a_404_that_says_nothing(self, world: World) -> None:
        project = world.create_project()
        pick(world, project)
        response = read(world, project, OTHER_HOLDER)
        assert problem(response)["status"] == 404
        assert "qpv_residents_reached" not in response.text and "etag" not in response.headers
        assert problem(read(world, {"id": str(uuid.uuid4())}))["status"] == 404

    @pytest.mark.parametrize("email", [CITY_INSTRUCTOR, CITIZEN])
    def test_funders_and_citizens_get_403(self, world: World, email: str) -> None:
        project = world.create_project()
        assert problem(read(world, project, email))["status"] == 403

    def test_without_a_token_401(self, world: World) -> None:
        project = world.create_project()
        assert world.stack.api("projects").get(indicators_url(project)).status_code == 401


class TestReplace:
    def test_the_holder_picks_indicators_with_targets(self, world: World) -> None:
        project = world.create_project()
        response = put_targets(world, project, TARGETS)
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == '"1"'
        body = response.json()
        assert body["version"] == 1 and body["updated_at"]
        # Sorted by period then code; decimals answered as strings, whole numbers without decimals.
        assert body["targets"] == [
            {"indicator_code": "participant_satisfaction", "period": "2027", "target": "80"},
            {"indicator_code": "qpv_residents_reached", "period": "2027", "target": "60"},
            {"indicator_code": "women_reached", "period": "2027", "target": "30"},
            {"indicator_code": "young_people_16_25_reached", "period": "2027", "target": "20"},
            {"indicator_code": "activity_hours", "period": "span", "target": "412.50"},
        ]
        assert read(world, project).json() == body

    @pytest.mark.parametrize(
        ("sent", "stored"), [(12, "12"), (12.0, "12"), ("12", "12"), ("12.5", "12.50"), ("0.05", "0.05"), (0, "0")]
    )
    def test_values_are_integers_or_decimal_strings(self, world: World, sent: Any, stored: str) -> None:
        project = world.create_project()
        response = put_targets(world, project, [{"indicator_code": "activity_hours", "period": "2027", "target": sent}])
        assert response.status_code == 200, response.text
        assert response.json()["targets"][0]["target"] == stored

    def test_if_match_is_required_once_the_list_exists(self, world: World) -> None:
        project = world.create_project()
        assert put_targets(world, project, TARGETS).status_code == 200
        smaller = TARGETS[:1]
        assert problem(put_targets(world, project, smaller))["status"] == 428
        stale = put_targets(world, project, smaller, if_match='"0"')
        assert problem(stale)["status"] == 412 and problem(stale)["current_etag"] == '"1"'
        assert len(read(world, project).json()["targets"]) == len(TARGETS)
        changed = put_targets(world, project, smaller, if_match='"1"')
        assert changed.status_code == 200 and changed.headers["etag"] == '"2"'
        assert [t["indicator_code"] for t in changed.json()["targets"]] == ["qpv_residents_reached"]

    def test_a_stale_etag_on_the_first_choice_is_412(self, world: World) -> None:
        project = world.create_project()
        assert problem(put_targets(world, project, TARGETS, if_match='"3"'))["status"] == 412
        assert read(world, project).json()["version"] == 0

    def test_the_same_list_again_keeps_the_version(self, world: World) -> None:
        project = world.create_project()
        put_targets(world, project, TARGETS)
        again = put_targets(world, project, list(reversed(TARGETS)), if_match='"1"')
        assert again.status_code == 200 and again.headers["etag"] == '"1"'

    def test_an_empty_list_stops_following_every_indicator(self, world: World) -> None:
        project = world.create_project()
        put_targets(world, project, TARGETS)
        emptied = put_targets(world, project, [], if_match='"1"')
        assert emptied.status_code == 200 and emptied.json()["targets"] == [] and emptied.json()["version"] == 2

    def test_a_period_is_any_year_of_the_project_or_span(self, world: World) -> None:
        project = world.create_project(**TWO_YEARS)
        targets = [
            {"indicator_code": "events_held", "period": "2027", "target": 4},
            {"indicator_code": "events_held", "period": "2028", "target": 2},
        ]
        assert put_targets(world, project, targets).status_code == 200

    @pytest.mark.parametrize(
        ("targets", "field", "words"),
        [
            ([{"indicator_code": "no_such_indicator", "period": "2027", "target": 1}],
             "body.targets.0.indicator_code", "catalogue"),
            ([{"indicator_code": "events_held", "period": "2026", "target": 1}], "body.targets.0.period", "2027"),
            ([{"indicator_code": "events_held", "period": "2028", "target": 1}], "body.targets.0.period", "2027"),
            ([{"indicator_code": "events_held", "period": "2027", "target": 1},
              {"indicator_code": "events_held", "period": "2027", "target": 2}], "body.targets.1", "déjà listés"),
            ([{"indicator_code": "events_held", "period": "2027", "target": 1},
              {"indicator_code": "events_held", "period": "span", "target": 2}], "body.targets.1.period", "span"),
            ([{"indicator_code": "positive_outcome_rate", "period": "2027", "target": 10}],
             "body.targets.0.indicator_code", "people_accompanied_to_employment"),
            ([{"indicator_code": "women_reached", "period": "2027", "target": 10}],
             "body.targets.0.indicator_code", "qpv_residents_reached"),
            ([{"indicator_code": "women_reached", "period": "2027", "target": 10},
              {"indicator_code": "qpv_residents_reached", "period": "span", "target": 10}],
             "body.targets.0.indicator_code", "qpv_residents_reached"),
            ([{"indicator_code": "participant_satisfaction", "period": "2027", "target": "100.01"}],
             "body.targets.0.target", "0 et 100"),
            ([{"indicator_code": "qpv_residents_reached", "period": "2027", "target": 10},
              {"indicator_code": "women_reached", "period": "2027", "target": 11}], "body.targets.1.target", "dont"),
            ([{"indicator_code": "people_accompanied_to_employment", "period": "2027", "target": 10},
              {"indicator_code": "positive_outcome_rate", "period": "2027", "target": 11}],
             "body.targets.1.target", "Numérateur"),
            ([{"indicator_code": "volunteers_involved", "period": "2027", "target": "2.5"}],
             "body.targets.0.target", "entier"),
        ],
        ids=[
            "unknown-indicator", "year-before", "year-after", "duplicate", "span-and-year", "ratio-alone",
            "part-alone", "part-and-whole-in-other-periods", "percent-over-100", "part-over-whole",
            "numerator-over-denominator", "half-a-volunteer",
        ],
    )
    def test_rules_beyond_the_schema_are_422_naming_the_field_and_write_nothing(
        self, world: World, targets: list[dict[str, Any]], field: str, words: str
    ) -> None:
        project = world.create_project()
        chosen = pick(world, project, TARGETS)
        response = put_targets(world, project, targets, if_match='"1"')
        details = problem(response)
        assert details["status"] == 422 and details["code"] == "invalid_targets"
        messages = {e["field"]: e["message"] for e in details["errors"]}
        assert field in messages and words in messages[field], messages
        assert read(world, project).json() == chosen

    @pytest.mark.parametrize(
        "target",
        [
            {"indicator_code": "events_held", "period": "2027", "target": -1},
            {"indicator_code": "events_held", "period": "2027", "target": 12.5},  # a decimal goes as a string
            {"indicator_code": "events_held", "period": "2027", "target": "1.234"},
            {"indicator_code": "events_held", "period": "2027", "target": "-3"},
            {"indicator_code": "events_held", "period": "2027", "target": "1e3"},
            {"indicator_code": "events_held", "period": "2027", "target": True},
            {"indicator_code": "events_held", "period": "2027", "target": 10_000_000_000},
            {"indicator_code": "events_held", "period": "27", "target": 1},
            {"indicator_code": "events_held", "period": "2027"},
            {"indicator_code": "Events", "period": "2027", "target": 1},
            {"indicator_code": "events_held", "period": "2027", "target": 1, "extra": 1},
        ],
    )
    def test_malformed_targets_are_422_and_write_nothing(self, world: World, target: dict[str, Any]) -> None:
        project = world.create_project()
        response = put_targets(world, project, [target])
        details = problem(response)
        assert details["status"] == 422 and details["code"] == "validation_failed"
        assert any(f.startswith("body.targets.0") for f in fields(response)), details
        assert read(world, project).json()["version"] == 0

    def test_a_retired_indicator_cannot_be_picked_but_stays_once_followed(self, world: World) -> None:
        desk = world.as_("projects", DESK)
        code = "ind_" + uuid.uuid4().hex[:12]
        created = desk.post("/api/v1/indicators", json={"code": code, "label": "Ateliers", "unit": "events",
                                                        "aggregation": "sum"}).json()
        followed, fresh = world.create_project(), world.create_project()
        pick(world, followed, [{"indicator_code": code, "period": "2027", "target": 3}])
        retired = desk.patch(f"/api/v1/indicators/{created['id']}", json={"active": False},
                             headers={"If-Match": '"1"'})
        assert retired.status_code == 200
        kept = put_targets(world, followed, [{"indicator_code": code, "period": "2027", "target": 4}], if_match='"1"')
        assert kept.status_code == 200, kept.text
        refused = put_targets(world, fresh, [{"indicator_code": code, "period": "2027", "target": 4}])
        assert problem(refused)["code"] == "invalid_targets"
        assert fields(refused) == {"body.targets.0.indicator_code"}

    def test_messages_in_english_on_request(self, world: World) -> None:
        project = world.create_project()
        response = put_targets(
            world, project, [{"indicator_code": "women_reached", "period": "2027", "target": 1}],
            **{"Accept-Language": "en"},
        )
        details = problem(response)
        assert details["title"] == "Invalid data"
        assert details["errors"][0]["message"] == (
            "Also pick qpv_residents_reached (the whole it is a part of) for the period 2027."
        )

    def test_another_association_gets_404_and_nothing_is_written(self, world: World) -> None:
        project = world.create_project()
        response = put_targets(world, project, TARGETS, email=OTHER_HOLDER)
        assert problem(response)["status"] == 404
        assert read(world, project).json()["version"] == 0

    @pytest.mark.parametrize("email", [DESK, CITY_INSTRUCTOR, CITIZEN])
    def test_only_holders_write(self, world: World, email: str) -> None:
        project = world.create_project()
        assert problem(put_targets(world, project, TARGETS, email=email))["status"] == 403
        assert read(world, project).json()["version"] == 0

    def test_a_service_token_cannot_write(self, world: World) -> None:
        project = world.create_project()
        response = world.stack.api("projects").request(
            "PUT", indicators_url(project), json={"targets": TARGETS}, token=service_token(world)
        )
        assert problem(response)["status"] == 403

    def test_concurrent_first_choices_one_wins(self, world: World) -> None:
        from services.projects.tests.helpers import at_once

        project = world.create_project()
        api = world.as_("projects", HOLDER)
        answers = at_once(
            api,
            [("PUT", indicators_url(project), {"json": {"targets": TARGETS}, "headers": {"If-Match": '"0"'}})] * 3,
        )
        assert sorted(a.status_code for a in answers) == [200, 412, 412]
        assert read(world, project).json()["version"] == 1


class TestOfWhomInTheCatalogue:
    """The "of whom" links are data: the seeded ones, and the ones the desk gives new indicators."""

    def test_the_seeded_parts_name_their_whole(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        served = {i["code"]: i for i in api.get("/api/v1/indicators", params={"limit": 200}).json()["items"]}
        assert served["women_reached"]["part_of_code"] == "qpv_residents_reached"
        assert served["young_people_16_25_reached"]["part_of_code"] == "qpv_residents_reached"
        assert served["people_into_work_or_training"]["part_of_code"] == "people_accompanied_to_employment"
        assert served["qpv_residents_reached"]["part_of_code"] is None

    def test_a_new_part_is_checked_against_its_whole(self, world: World) -> None:
        desk = world.as_("projects", DESK)
        code = "ind_" + uuid.uuid4().hex[:12]
        created = desk.post("/api/v1/indicators", json={
            "code": code, "label": "dont seniors", "unit": "people", "aggregation": "sum",
            "part_of_code": "qpv_residents_reached",
        })
        assert created.status_code == 201, created.text
        assert created.json()["part_of_code"] == "qpv_residents_reached"
        project = world.create_project()
        response = put_targets(world, project, [
            {"indicator_code": "qpv_residents_reached", "period": "2027", "target": 10},
            {"indicator_code": code, "period": "2027", "target": 12},
        ])
        assert fields(response) == {"body.targets.1.target"}

    @pytest.mark.parametrize(
        ("overrides", "code"),
        [
            ({"part_of_code": "no_such_indicator"}, "invalid_part_of"),
            ({"part_of_code": "activity_hours"}, "invalid_part_of"),  # hours are not people
            ({"part_of_code": "participant_satisfaction", "unit": "percent"}, "invalid_part_of"),  # an average
            ({"part_of_code": "qpv_residents_reached", "aggregation": "average"}, "validation_failed"),
        ],
    )
    def test_a_part_is_a_sum_of_the_unit_of_an_existing_sum(
        self, world: World, overrides: dict[str, Any], code: str
    ) -> None:
        body = {"code": "ind_" + uuid.uuid4().hex[:12], "label": "dont", "unit": "people", "aggregation": "sum",
                **overrides}
        response = world.as_("projects", DESK).post("/api/v1/indicators", json=body)
        assert problem(response)["status"] == 422 and problem(response)["code"] == code
        listed = world.as_("projects", DESK).get("/api/v1/indicators", params={"limit": 200}).json()["items"]
        assert body["code"] not in {i["code"] for i in listed}
