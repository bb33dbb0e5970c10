"""/api/v1/programmes: the desk creates them with funders known to identity; everyone reads them."""

from datetime import timedelta

import pytest

from services.funding.tests.helpers import (
    BLOSNE_AVENIR,
    CAF,
    PREFECTURE,
    PROGRAMME_ID,
    PROGRAMMES,
    VILLE,
    create_programme,
    listed_ids,
    programme_body,
)
from tests.support.clock import TODAY
from tests.support.stack import problem
from tests.support.world import (
    CITIZEN,
    CITY_INSTRUCTOR,
    CITY_MANAGER,
    DESK,
    HOLDER,
    PLATFORM,
    World,
    org_id,
)


def _programmes(world: World) -> list[str]:
    return listed_ids(world.as_("funding", DESK), PROGRAMMES, limit=200)


class TestCreateProgramme:
    def test_anonymous_caller_gets_401(self, world: World) -> None:
        response = world.funding.post(PROGRAMMES, json=programme_body())
        assert response.status_code == 401
        assert problem(response)["code"] == "unauthorized"

    @pytest.mark.parametrize("email", [HOLDER, CITY_INSTRUCTOR, CITY_MANAGER, CITIZEN, PLATFORM])
    def test_callers_other_than_the_desk_get_403_and_nothing_is_written(self, world: World, email: str) -> None:
        before = _programmes(world)
        response = world.as_("funding", email).post(PROGRAMMES, json=programme_body())
        assert response.status_code == 403
        assert problem(response)["code"] == "forbidden"
        assert _programmes(world) == before

    def test_the_desk_creates_a_programme_with_demo_funders(self, world: World) -> None:
        body = programme_body(funder_ids=[VILLE, PREFECTURE, CAF])
        response = world.as_("funding", DESK).post(PROGRAMMES, json=body)
        assert response.status_code == 201, response.text
        created = response.json()
        assert response.headers["location"] == f"{PROGRAMMES}/{created['id']}"
        assert response.headers["etag"]
        assert sorted(created["funder_ids"]) == sorted(body["funder_ids"])
        for field in ("title", "track", "year", "opens_on", "closes_on"):
            assert created[field] == body[field]
        assert created["is_open"] is True
        assert created["id"] in _programmes(world)

    def test_the_location_reads_back_the_programme(self, world: World) -> None:
        response = world.as_("funding", DESK).post(PROGRAMMES, json=programme_body())
        read = world.as_("funding", HOLDER).get(response.headers["location"])
        assert read.status_code == 200
        assert read.json() == response.json()
        assert read.headers["etag"] == response.headers["etag"]

    def test_a_programme_whose_dates_are_past_is_not_open(self, world: World) -> None:
        created = create_programme(world, year=2024, opens_on="2024-01-01", closes_on="2024-12-31")
        assert created["is_open"] is False

    def test_a_programme_that_opens_later_is_not_open_yet(self, world: World) -> None:
        later = TODAY + timedelta(days=10)
        created = create_programme(world, opens_on=later.isoformat(), closes_on=(later + timedelta(days=5)).isoformat())
        assert created["is_open"] is False

    @pytest.mark.parametrize(
        "stranger",
        [
            pytest.param(BLOSNE_AVENIR, id="an_association"),
            pytest.param(org_id("desk"), id="the_desk"),
            pytest.param(org_id("conseil-blosne"), id="a_citizen_council"),
            pytest.param("6a1f9a0e-2b8c-4d47-9e0e-3c2f1b0a9d88", id="nobody"),
        ],
    )
    def test_an_organisation_that_is_not_a_funder_is_422_unknown_funder(self, world: World, stranger: str) -> None:
        before = _programmes(world)
        response = world.as_("funding", DESK).post(PROGRAMMES, json=programme_body(funder_ids=[VILLE, stranger]))
        assert response.status_code == 422
        details = problem(response)
        assert details["code"] == "unknown_funder"
        named = " ".join(error["message"] for error in details["errors"] if error["field"] == "body.funder_ids")
        assert stranger in named and VILLE not in named
        assert _programmes(world) == before

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            pytest.param({"closes_on": "2026-01-01", "opens_on": "2026-06-01"}, None, id="closes_before_opens"),
            pytest.param({"funder_ids": [VILLE, VILLE]}, None, id="duplicate_funder"),
            pytest.param({"funder_ids": []}, "body.funder_ids", id="no_funder"),
            pytest.param({"funder_ids": ["ville"]}, None, id="funder_not_a_uuid"),
            pytest.param({"track": "lottery"}, "body.track", id="unknown_track"),
            pytest.param({"year": 2023}, "body.year", id="year_too_early"),
            pytest.param({"year": "2027"}, "body.year", id="year_as_string"),
            pytest.param({"title": " "}, "body.title", id="blank_title"),
            pytest.param({"id": PROGRAMME_ID}, "body.id", id="id_given"),
            pytest.param({"is_open": True}, "body.is_open", id="is_open_given"),
        ],
    )
    def test_bad_input_is_422_and_writes_nothing(self, world: World, changes: dict, field: str | None) -> None:
        before = _programmes(world)
        response = world.as_("funding", DESK).post(PROGRAMMES, json=programme_body(**changes))
        assert response.status_code == 422, response.text
        details = problem(response)
        assert details["code"] == "validation_failed"
        if field:
            assert field in [error["field"] for error in details["errors"]]
        assert _programmes(world) == before

    def test_malformed_json_is_400(self, world: World) -> None:
        response = world.as_("funding", DESK).post(
            PROGRAMMES, content=b'{"title": ', headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert problem(response)["code"] == "malformed_json"


class TestReadProgrammes:
    def test_anonymous_caller_gets_401(self, world: World) -> None:
        assert world.funding.get(PROGRAMMES).status_code == 401

    @pytest.mark.parametrize("email", [HOLDER, CITY_INSTRUCTOR, DESK, CITIZEN])
    def test_every_role_sees_the_demo_programme(self, world: World, email: str) -> None:
        api = world.as_("funding", email)
        assert PROGRAMME_ID in listed_ids(api, PROGRAMMES)
        read = api.get(f"{PROGRAMMES}/{PROGRAMME_ID}")
        assert read.status_code == 200
        assert read.json()["is_open"] is True
        assert read.headers["etag"]

    def test_an_unknown_programme_is_404(self, world: World) -> None:
        response = world.as_("funding", HOLDER).get(f"{PROGRAMMES}/6a1f9a0e-2b8c-4d47-9e0e-3c2f1b0a9d88")
        assert response.status_code == 404
        assert problem(response)["code"] == "not_found"

    def test_filters_and_pages(self, world: World) -> None:
        seeds = [create_programme(world, title=f"Amorçage {n}")["id"] for n in range(3)]
        cpo = create_programme(world, track="cpo", year=2030)["id"]
        api = world.as_("funding", HOLDER)
        assert listed_ids(api, PROGRAMMES, track="seed", limit=2) == seeds
        assert listed_ids(api, PROGRAMMES, year=2030) == [cpo]
        assert set(listed_ids(api, PROGRAMMES, limit=1)) == {PROGRAMME_ID, *seeds, cpo}

    @pytest.mark.parametrize("params", [{"limit": 201}, {"track": "lottery"}, {"year": 1999}])
    def test_bad_query_is_422(self, world: World, params: dict) -> None:
        response = world.as_("funding", HOLDER).get(PROGRAMMES, params=params)
        assert response.status_code == 422
        assert problem(response)["code"] == "validation_failed"

    def test_a_bad_cursor_is_400(self, world: World) -> None:
        response = world.as_("funding", HOLDER).get(PROGRAMMES, params={"cursor": "nope"})
        assert response.status_code == 400
        assert problem(response)["code"] == "invalid_cursor"
