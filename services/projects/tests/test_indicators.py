"""The shared indicators' catalogue: seeded by a migration, kept by the desk, read by everyone."""

import json
import uuid
from pathlib import Path

import pytest

from services.projects.tests.helpers import at_once
from tests.support import calls
from tests.support.stack import problem
from tests.support.world import CITIZEN, CITY_INSTRUCTOR, DESK, HOLDER, World

INDICATORS = "/api/v1/indicators"
SEED = json.loads(
    (Path(__file__).resolve().parents[3] / "migrations/projects/data/indicators_2026.json").read_text(encoding="utf-8")
)["indicators"]


def new_code() -> str:
    return "ind_" + uuid.uuid4().hex[:12]


def body(**overrides) -> dict:
    return {
        "code": new_code(),
        "label": "Habitants formés",
        "unit": "people",
        "aggregation": "sum",
        "priorities": ["citizenship"],
        **overrides,
    }


def catalogue(world: World) -> dict[str, dict]:
    api = world.as_("projects", HOLDER)
    return {item["code"]: item for page in calls.pages(api, INDICATORS, limit=200) for item in page["items"]}


class TestTheSeededCatalogue:
    def test_every_seeded_indicator_is_served_as_written(self, world: World) -> None:
        served = catalogue(world)
        assert len(SEED) >= 12
        for row in SEED:
            item = served[row["code"]]
            assert (item["label"], item["unit"], item["aggregation"]) == (row["label"], row["unit"], row["aggregation"])
            assert item["denominator_code"] == row.get("denominator_code")
            assert item["priorities"] == sorted(row["priorities"])

    @pytest.mark.parametrize("email", [HOLDER, CITY_INSTRUCTOR, CITIZEN, DESK])
    def test_everyone_signed_in_reads_it(self, world: World, email: str) -> None:
        assert world.as_("projects", email).get(INDICATORS).status_code == 200

    def test_filters(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        youth = api.get(INDICATORS, params={"priority": "youth", "limit": 200}).json()["items"]
        assert {i["code"] for i in youth} >= {"young_people_16_25_reached"}
        assert all("youth" in i["priorities"] for i in youth)
        hours = api.get(INDICATORS, params={"unit": "hours", "limit": 200}).json()["items"]
        assert hours and all(i["unit"] == "hours" for i in hours)
        assert api.get(INDICATORS, params={"unit": "kilos"}).status_code == 422

    def test_without_a_token_401(self, world: World) -> None:
        assert problem(world.stack.api("projects").get(INDICATORS))["status"] == 401


class TestCreate:
    def test_the_desk_adds_an_indicator(self, world: World) -> None:
        response = world.as_("projects", DESK).post(INDICATORS, json=body(priorities=["youth", "citizenship"]))
        assert response.status_code == 201, response.text
        created = response.json()
        assert response.headers["location"] == f"{INDICATORS}/{created['id']}"
        assert created["priorities"] == ["citizenship", "youth"] and created["active"] is True
        read = world.as_("projects", HOLDER).get(response.headers["location"])
        assert read.json() == created and read.headers["etag"] == '"1"'

    def test_a_ratio_names_an_existing_denominator(self, world: World) -> None:
        desk = world.as_("projects", DESK)
        ratio = desk.post(
            INDICATORS, json=body(unit="percent", aggregation="ratio", denominator_code="qpv_residents_reached")
        )
        assert ratio.status_code == 201, ratio.text
        unknown = desk.post(INDICATORS, json=body(aggregation="ratio", denominator_code="no_such_indicator"))
        assert problem(unknown)["code"] == "invalid_denominator"
        of_a_ratio = desk.post(INDICATORS, json=body(aggregation="ratio", denominator_code="positive_outcome_rate"))
        assert problem(of_a_ratio)["code"] == "invalid_denominator"

    @pytest.mark.parametrize(
        "overrides",
        [
            {"aggregation": "ratio"},  # a ratio without denominator
            {"aggregation": "sum", "denominator_code": "qpv_residents_reached"},
            {"unit": "kilos"},
            {"code": "Bad Code"},
            {"label": "   "},
            {"priorities": ["not_a_priority"]},
            {"id": str(uuid.uuid4())},  # privileged
            {"version": 7},
        ],
    )
    def test_bad_input_is_422_and_writes_nothing(self, world: World, overrides: dict) -> None:
        before = catalogue(world)
        response = world.as_("projects", DESK).post(INDICATORS, json=body(**overrides))
        assert problem(response)["status"] == 422
        assert catalogue(world) == before

    def test_a_taken_code_is_409(self, world: World) -> None:
        response = world.as_("projects", DESK).post(INDICATORS, json=body(code="qpv_residents_reached"))
        assert problem(response)["code"] == "indicator_code_taken"

    def test_the_same_code_at_the_same_moment_is_created_once(self, world: World) -> None:
        code = new_code()
        answers = at_once(world.as_("projects", DESK), [("POST", INDICATORS, {"json": body(code=code)})] * 4)
        assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
        assert sum(1 for c in catalogue(world) if c == code) == 1

    @pytest.mark.parametrize("email", [HOLDER, CITY_INSTRUCTOR, CITIZEN])
    def test_only_the_desk_adds(self, world: World, email: str) -> None:
        response = world.as_("projects", email).post(INDICATORS, json=body())
        assert problem(response)["status"] == 403


class TestUpdate:
    def test_if_match_guards_every_change(self, world: World) -> None:
        desk = world.as_("projects", DESK)
        created = desk.post(INDICATORS, json=body()).json()
        url = f"{INDICATORS}/{created['id']}"
        assert problem(desk.patch(url, json={"label": "Autre"}))["status"] == 428
        assert problem(desk.patch(url, json={"label": "Autre"}, headers={"If-Match": '"9"'}))["status"] == 412
        changed = desk.patch(url, json={"label": "Autre", "active": False}, headers={"If-Match": '"1"'})
        assert changed.status_code == 200 and changed.headers["etag"] == '"2"'
        assert changed.json()["label"] == "Autre" and changed.json()["active"] is False
        retired = world.as_("projects", HOLDER).get(INDICATORS, params={"active": "false", "limit": 200})
        assert created["id"] in [i["id"] for i in retired.json()["items"]]

    def test_unit_and_aggregation_never_change(self, world: World) -> None:
        desk = world.as_("projects", DESK)
        created = desk.post(INDICATORS, json=body()).json()
        for change in ({"unit": "hours"}, {"aggregation": "average"}, {"code": new_code()}):
            response = desk.patch(f"{INDICATORS}/{created['id']}", json=change, headers={"If-Match": '"1"'})
            assert problem(response)["status"] == 422
        assert desk.get(f"{INDICATORS}/{created['id']}").json() == created

    def test_an_unchanged_patch_keeps_the_version(self, world: World) -> None:
        desk = world.as_("projects", DESK)
        created = desk.post(INDICATORS, json=body()).json()
        same = desk.patch(
            f"{INDICATORS}/{created['id']}", json={"label": created["label"]}, headers={"If-Match": '"1"'}
        )
        assert same.headers["etag"] == '"1"'

    def test_concurrent_changes_from_one_read_one_wins(self, world: World) -> None:
        desk = world.as_("projects", DESK)
        created = desk.post(INDICATORS, json=body()).json()
        url = f"{INDICATORS}/{created['id']}"
        answers = at_once(
            desk, [("PATCH", url, {"json": {"label": f"L{i}"}, "headers": {"If-Match": '"1"'}}) for i in range(4)]
        )
        assert sorted(a.status_code for a in answers) == [200, 412, 412, 412]

    def test_a_holder_cannot_change_the_catalogue_and_an_unknown_id_is_404(self, world: World) -> None:
        assert (
            problem(
                world.as_("projects", HOLDER).patch(
                    f"{INDICATORS}/{uuid.uuid4()}", json={"label": "x"}, headers={"If-Match": '"1"'}
                )
            )["status"]
            == 403
        )
        assert (
            problem(
                world.as_("projects", DESK).patch(
                    f"{INDICATORS}/{uuid.uuid4()}", json={"label": "x"}, headers={"If-Match": '"1"'}
                )
            )["status"]
            == 404
        )
