"""/api/v1/projects: create, read, list, change; tenancy, roles, bad input, ETags and races."""

import base64
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from services.identity.keys import KeyStore
from services.projects.tests.helpers import PROJECTS, at_once, listed_ids, listed_state, pages, stored_projects
from tests.support.stack import problem
from tests.support.tokens import claims_for
from tests.support.world import (
    CITIZEN,
    CITY_INSTRUCTOR,
    DESK,
    HOLDER,
    HOLDER_MEMBER,
    OTHER_HOLDER,
    PROJECT,
    World,
    org_id,
)

MIB = 1_048_576


def _url(project: dict[str, Any]) -> str:
    return f"{PROJECTS}/{project['id']}"


def _instant(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def _shifted(timestamp: str, hours: int) -> str:
    """The same instant written with another UTC offset (RFC 3339)."""
    return _instant(timestamp).astimezone(timezone(timedelta(hours=hours))).isoformat()


class TestCreateProject:
    def test_anonymous_caller_gets_401(self, world: World) -> None:
        response = world.projects.post(PROJECTS, json=PROJECT)
        assert response.status_code == 401
        assert problem(response)["code"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert stored_projects(world) == 0

    def test_a_garbage_token_gets_401(self, world: World) -> None:
        response = world.projects.post(PROJECTS, json=PROJECT, token="not-a-jwt")
        assert response.status_code == 401
        assert problem(response)["code"] == "invalid_token"

    @pytest.mark.parametrize("email", [CITY_INSTRUCTOR, DESK, CITIZEN])
    def test_callers_that_are_not_holders_get_403_and_nothing_is_written(self, world: World, email: str) -> None:
        response = world.as_("projects", email).post(PROJECTS, json=PROJECT)
        assert response.status_code == 403
        assert problem(response)["code"] == "forbidden"
        assert stored_projects(world) == 0

    def test_a_holder_token_without_an_organisation_gets_403(self, world: World) -> None:
        # Identity signs none such; one would have reached the INSERT with no organisation (a 500 on NOT NULL).
        keys = KeyStore.from_pem(world.stack.signing_key_file.read_bytes())
        token = keys.sign(claims_for(organisation_id=None, roles=["holder_admin"], org_kind=None))
        response = world.projects.post(PROJECTS, json=PROJECT, token=token)
        assert response.status_code == 403 and problem(response)["code"] == "forbidden"
        assert stored_projects(world) == 0
        assert world.projects.get(PROJECTS, token=token).status_code == 403

    def test_holder_creates_a_project_of_its_own_association(self, world: World) -> None:
        response = world.as_("projects", HOLDER).post(PROJECTS, json=PROJECT)
        assert response.status_code == 201, response.text
        created = response.json()
        assert re.fullmatch(r"[0-9a-f-]{36}", created["id"])
        assert response.headers["location"] == f"{PROJECTS}/{created['id']}"
        assert response.headers["etag"] == f'"{created["version"]}"'
        assert created["organisation_id"] == org_id("blosne-avenir")
        for field in ("title", "summary", "start_date", "end_date", "target_public", "total_cost_cents"):
            assert created[field] == PROJECT[field]
        assert created["qpv_codes"] == sorted(PROJECT["qpv_codes"])
        assert created["priorities"] == sorted(PROJECT["priorities"])
        assert "created_by" not in created

    def test_the_location_reads_back_the_same_project_with_the_same_etag(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        response = api.post(PROJECTS, json=PROJECT)
        read = api.get(response.headers["location"])
        assert read.status_code == 200
        assert read.json() == response.json()
        assert read.headers["etag"] == response.headers["etag"]

    def test_a_member_of_the_association_may_create_too(self, world: World) -> None:
        created = world.create_project(HOLDER_MEMBER, title="Fête de quartier")
        assert created["organisation_id"] == org_id("blosne-avenir")
        assert created["id"] in listed_ids(world.as_("projects", HOLDER))

    def test_duplicate_tags_are_stored_once(self, world: World) -> None:
        created = world.create_project(qpv_codes=["QN03505M", "QN03505M", "QN03504M"], priorities=["youth", "youth"])
        assert created["qpv_codes"] == ["QN03504M", "QN03505M"]
        assert created["priorities"] == ["youth"]

    def test_a_corsican_qpv_of_the_imported_list_tags_a_project(self, world: World) -> None:
        created = world.create_project(qpv_codes=["QN03505M", "QN02A02M"])
        assert created["qpv_codes"] == ["QN02A02M", "QN03505M"]
        read = world.as_("projects", HOLDER).get(_url(created))
        assert read.json()["qpv_codes"] == ["QN02A02M", "QN03505M"]

    def test_a_zero_cost_is_an_amount(self, world: World) -> None:
        assert world.create_project(total_cost_cents=0)["total_cost_cents"] == 0

    def test_the_same_idempotency_key_creates_one_project(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        headers = {"Idempotency-Key": "create-homework-help"}
        first = api.post(PROJECTS, json=PROJECT, headers=headers)
        second = api.post(PROJECTS, json=PROJECT, headers=headers)
        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert second.headers["idempotent-replayed"] == "true"
        assert second.headers["location"] == first.headers["location"]
        assert listed_ids(api) == [first.json()["id"]]


def _body(**changes: Any) -> dict[str, Any]:
    body = {**PROJECT, **changes}
    return {k: v for k, v in body.items() if v is not ...}


BAD_BODIES = {
    "unknown_qpv": (_body(qpv_codes=["QN09365N"]), 422, "unknown_reference", "body.qpv_codes"),
    "malformed_qpv": (_body(qpv_codes=["QPV-BLOSNE"]), 422, "validation_failed", None),
    "unknown_corsican_qpv": (_body(qpv_codes=["QN02B02M"]), 422, "unknown_reference", "body.qpv_codes"),
    "corsican_qpv_on_two_characters": (_body(qpv_codes=["QN2A091K"]), 422, "validation_failed", "body.qpv_codes.0"),
    "no_qpv": (_body(qpv_codes=[]), 422, "validation_failed", None),
    "unknown_priority": (_body(priorities=["world_peace"]), 422, "unknown_reference", "body.priorities"),
    "end_before_start": (_body(start_date="2027-06-01", end_date="2027-05-31"), 422, "validation_failed", None),
    "cost_false": (_body(total_cost_cents=False), 422, "validation_failed", "body.total_cost_cents"),
    "cost_string": (_body(total_cost_cents="12"), 422, "validation_failed", "body.total_cost_cents"),
    "cost_negative": (_body(total_cost_cents=-1), 422, "validation_failed", "body.total_cost_cents"),
    "cost_float": (_body(total_cost_cents=12.5), 422, "validation_failed", "body.total_cost_cents"),
    "cost_absurd": (_body(total_cost_cents=10**12), 422, "validation_failed", "body.total_cost_cents"),
    "title_blank": (_body(title="   "), 422, "validation_failed", "body.title"),
    "title_missing": (_body(title=...), 422, "validation_failed", "body.title"),
    "date_not_iso": (_body(start_date="05/01/2027"), 422, "validation_failed", "body.start_date"),
    "organisation_id": (
        _body(organisation_id=org_id("maurepas-solidaire")),
        422,
        "validation_failed",
        "body.organisation_id",
    ),
    "id": (_body(id="0b6e7f52-6c55-4d1e-9a59-6f0e3f3f2c11"), 422, "validation_failed", "body.id"),
    "version": (_body(version=7), 422, "validation_failed", "body.version"),
    "created_by": (_body(created_by="someone"), 422, "validation_failed", "body.created_by"),
    "array_body": ([PROJECT], 422, "validation_failed", None),
}


class TestCreateProjectRejectsBadInput:
    @pytest.fixture
    def existing(self, world: World) -> list[tuple[str, int]]:
        """One project already there, so that 'unchanged' compares something."""
        world.create_project()
        return listed_state(world.as_("projects", HOLDER))

    @pytest.mark.parametrize("case", BAD_BODIES.keys())
    def test_bad_body_is_a_problem_and_writes_nothing(self, world: World, existing: list, case: str) -> None:
        body, status, code, field = BAD_BODIES[case]
        api = world.as_("projects", HOLDER)
        response = api.post(PROJECTS, json=body)
        assert response.status_code == status, response.text
        details = problem(response)
        assert details["code"] == code
        if field is not None:
            assert field in [error["field"] for error in details["errors"]]
        assert listed_state(api) == existing
        assert stored_projects(world) == len(existing)

    def test_malformed_json_is_400_and_writes_nothing(self, world: World, existing: list) -> None:
        api = world.as_("projects", HOLDER)
        response = api.post(PROJECTS, content=b'{"title": "Aide", ', headers={"content-type": "application/json"})
        assert response.status_code == 400
        assert problem(response)["code"] == "malformed_json"
        assert listed_state(api) == existing

    def test_a_body_over_one_mebibyte_is_413_and_writes_nothing(self, world: World, existing: list) -> None:
        api = world.as_("projects", HOLDER)
        body = json.dumps(_body(summary="x" * (MIB + 1))).encode()
        response = api.post(PROJECTS, content=body, headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert problem(response)["code"] == "payload_too_large"
        assert listed_state(api) == existing

    def test_a_chunked_body_over_one_mebibyte_is_413(self, world: World, existing: list) -> None:
        api = world.as_("projects", HOLDER)
        body = json.dumps(_body(summary="x" * (MIB + 1))).encode()

        async def chunks():  # no Content-Length: the limit must hold while streaming
            for start in range(0, len(body), 64 * 1024):
                yield body[start : start + 64 * 1024]

        response = api.post(PROJECTS, content=chunks(), headers={"content-type": "application/json"})
        assert listed_state(api) == existing
        assert response.status_code == 413
        assert problem(response)["code"] == "payload_too_large"

    def test_unknown_codes_are_all_named_in_the_problem(self, world: World, existing: list) -> None:
        api = world.as_("projects", HOLDER)
        response = api.post(PROJECTS, json=_body(qpv_codes=["QN03505M", "QN09365N", "QN07718M"]))
        details = problem(response)
        assert details["code"] == "unknown_reference"
        message = next(e["message"] for e in details["errors"] if e["field"] == "body.qpv_codes")
        assert "QN09365N" in message and "QN07718M" in message and "QN03505M" not in message
        assert listed_state(api) == existing

    def test_the_problem_speaks_english_when_asked(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        french = problem(api.post(PROJECTS, json=_body(priorities=["world_peace"])))
        english = problem(api.post(PROJECTS, json=_body(priorities=["world_peace"]), headers={"Accept-Language": "en"}))
        assert english["code"] == french["code"] == "unknown_reference"
        assert english["title"] != french["title"]
        assert "Unknown priorities" in english["errors"][0]["message"]


class TestReadProject:
    def test_anonymous_caller_gets_401(self, world: World) -> None:
        project = world.create_project()
        assert world.projects.get(_url(project)).status_code == 401

    def test_owner_reads_it_with_its_etag(self, world: World) -> None:
        project = world.create_project()
        response = world.as_("projects", HOLDER).get(_url(project))
        assert response.status_code == 200
        assert response.json() == project
        assert response.headers["etag"] == f'"{project["version"]}"'

    def test_another_member_of_the_same_association_reads_it(self, world: World) -> None:
        project = world.create_project()
        assert world.as_("projects", HOLDER_MEMBER).get(_url(project)).json()["id"] == project["id"]

    def test_another_association_gets_404_like_an_unknown_id(self, world: World) -> None:
        project = world.create_project()
        other = world.as_("projects", OTHER_HOLDER)
        hidden = other.get(_url(project))
        missing = other.get(f"{PROJECTS}/00000000-0000-4000-8000-000000000000")
        assert hidden.status_code == missing.status_code == 404
        assert problem(hidden)["code"] == problem(missing)["code"] == "not_found"
        assert problem(hidden)["detail"] == problem(missing)["detail"]
        assert project["title"] not in hidden.text

    def test_a_funder_gets_403(self, world: World) -> None:
        project = world.create_project()
        assert world.as_("projects", CITY_INSTRUCTOR).get(_url(project)).status_code == 403

    def test_an_id_that_is_not_a_uuid_names_no_project(self, world: World) -> None:
        response = world.as_("projects", HOLDER).get(f"{PROJECTS}/not-a-uuid")
        assert response.status_code == 404
        assert problem(response)["code"] == "not_found"


class TestListProjects:
    def test_anonymous_caller_gets_401(self, world: World) -> None:
        assert world.projects.get(PROJECTS).status_code == 401

    @pytest.mark.parametrize("email", [CITY_INSTRUCTOR, CITIZEN])
    def test_callers_that_are_neither_holders_nor_the_desk_get_403(self, world: World, email: str) -> None:
        world.create_project()
        response = world.as_("projects", email).get(PROJECTS)
        assert response.status_code == 403
        assert problem(response)["code"] == "forbidden"

    def test_cursor_pages_give_every_project_exactly_once_in_creation_order(self, world: World) -> None:
        created = [world.create_project(title=f"Projet {n}")["id"] for n in range(5)]
        world.create_project(OTHER_HOLDER, title="Chez les voisins", qpv_codes=["QN03504M"])
        found = pages(world.as_("projects", HOLDER), PROJECTS, limit=2)
        assert [len(page["items"]) for page in found] == [2, 2, 1]
        assert all(page["next_cursor"] for page in found[:-1])
        assert found[-1]["next_cursor"] is None
        assert [item["id"] for page in found for item in page["items"]] == created

    def test_a_page_that_holds_the_last_project_exactly_has_no_next_cursor(self, world: World) -> None:
        created = [world.create_project(title=f"Projet {n}")["id"] for n in range(4)]
        response = world.as_("projects", HOLDER).get(PROJECTS, params={"limit": 4})
        assert [item["id"] for item in response.json()["items"]] == created
        assert response.json()["next_cursor"] is None

    def test_an_empty_list_is_an_empty_page(self, world: World) -> None:
        response = world.as_("projects", HOLDER).get(PROJECTS)
        assert response.status_code == 200
        assert response.json() == {"items": [], "next_cursor": None}

    def test_each_association_lists_only_its_own_projects(self, world: World) -> None:
        mine = [world.create_project()["id"], world.create_project(HOLDER_MEMBER)["id"]]
        theirs = [world.create_project(OTHER_HOLDER)["id"]]
        assert listed_ids(world.as_("projects", HOLDER)) == mine
        assert listed_ids(world.as_("projects", HOLDER_MEMBER)) == mine
        assert listed_ids(world.as_("projects", OTHER_HOLDER)) == theirs

    def test_the_desk_lists_every_association_or_the_one_it_names(self, world: World) -> None:
        mine = [world.create_project()["id"], world.create_project(HOLDER_MEMBER)["id"]]
        theirs = [world.create_project(OTHER_HOLDER)["id"]]
        desk = world.as_("projects", DESK)
        assert listed_ids(desk) == mine + theirs
        assert listed_ids(desk, organisation_id=org_id("blosne-avenir")) == mine
        assert listed_ids(desk, organisation_id=org_id("maurepas-solidaire")) == theirs
        assert listed_ids(desk, organisation_id="00000000-0000-4000-8000-000000000000") == []

    def test_an_association_naming_another_gets_403_and_naming_itself_its_own(self, world: World) -> None:
        mine = [world.create_project()["id"]]
        world.create_project(OTHER_HOLDER)
        holder = world.as_("projects", HOLDER)
        refused = holder.get(PROJECTS, params={"organisation_id": org_id("maurepas-solidaire")})
        assert refused.status_code == 403
        assert problem(refused)["code"] == "forbidden"
        assert listed_ids(holder, organisation_id=org_id("blosne-avenir")) == mine

    def test_filter_by_qpv(self, world: World) -> None:
        blosne = world.create_project(qpv_codes=["QN03505M"])["id"]
        both = world.create_project(qpv_codes=["QN03504M", "QN03505M"])["id"]
        maurepas = world.create_project(qpv_codes=["QN03504M"])["id"]
        world.create_project(OTHER_HOLDER, qpv_codes=["QN03504M"])
        api = world.as_("projects", HOLDER)
        assert listed_ids(api, qpv="QN03505M") == [blosne, both]
        assert listed_ids(api, qpv="QN03504M") == [both, maurepas]
        assert listed_ids(api, qpv="QN03506I") == []

    def test_filter_by_a_corsican_qpv(self, world: World) -> None:
        ajaccio = world.create_project(qpv_codes=["QN02A02M"])["id"]
        world.create_project(qpv_codes=["QN03505M"])
        api = world.as_("projects", HOLDER)
        assert listed_ids(api, qpv="QN02A02M") == [ajaccio]
        assert listed_ids(api, qpv="QN02B02M") == []

    def test_filter_by_priority(self, world: World) -> None:
        youth = world.create_project(priorities=["youth"])["id"]
        untagged = world.create_project(priorities=[])["id"]
        both = world.create_project(priorities=["youth", "citizenship"])["id"]
        api = world.as_("projects", HOLDER)
        assert listed_ids(api, priority="youth") == [youth, both]
        assert listed_ids(api, priority="citizenship") == [both]
        assert untagged in listed_ids(api)

    def test_filters_combine_with_pagination(self, world: World) -> None:
        wanted = [world.create_project(qpv_codes=["QN03502M"], priorities=["youth"])["id"] for _ in range(3)]
        world.create_project(qpv_codes=["QN03502M"], priorities=["citizenship"])
        world.create_project(qpv_codes=["QN03503I"], priorities=["youth"])
        api = world.as_("projects", HOLDER)
        assert listed_ids(api, qpv="QN03502M", priority="youth", limit=1) == wanted

    def test_filter_by_year_keeps_the_projects_running_that_year(self, world: World) -> None:
        this_year = world.create_project(start_date="2027-01-05", end_date="2027-12-18")["id"]
        across = world.create_project(start_date="2026-09-01", end_date="2027-01-01")["id"]
        next_year = world.create_project(start_date="2028-01-01", end_date="2028-06-30")["id"]
        world.create_project(OTHER_HOLDER, start_date="2027-03-01", end_date="2027-04-30")
        api = world.as_("projects", HOLDER)
        assert listed_ids(api, year=2027) == [this_year, across]
        assert listed_ids(api, year=2026) == [across]
        assert listed_ids(api, year=2028) == [next_year]
        assert listed_ids(api, year=2029) == []
        # Paged one at a time and with another filter, the year holds on every page.
        assert listed_ids(api, year=2027, limit=1) == [this_year, across]
        assert listed_ids(api, year=2027, priority="youth", limit=1) == [this_year, across]

    @pytest.mark.parametrize("year", ["1999", "2101", "deux-mille-vingt-sept", "2027.5"])
    def test_a_malformed_year_is_a_422_problem(self, world: World, year: str) -> None:
        response = world.as_("projects", HOLDER).get(PROJECTS, params={"year": year})
        assert response.status_code == 422
        details = problem(response)
        assert details["code"] == "validation_failed"
        assert [error["field"] for error in details["errors"]] == ["query.year"]

    def test_filter_by_updated_since(self, world: World) -> None:
        first = world.create_project(title="Premier")
        second = world.create_project(title="Deuxième")
        third = world.create_project(title="Troisième")
        api = world.as_("projects", HOLDER)
        since = second["updated_at"]
        assert listed_ids(api, updated_since=since) == [second["id"], third["id"]]
        # the same instant written with another offset is the same filter
        assert listed_ids(api, updated_since=_shifted(since, 2)) == [second["id"], third["id"]]
        changed = api.patch(_url(first), json={"title": "Premier, revu"}, headers={"If-Match": '"1"'})
        assert changed.status_code == 200
        assert listed_ids(api, updated_since=since) == [first["id"], second["id"], third["id"]]
        assert listed_ids(api, updated_since=changed.json()["updated_at"]) == [first["id"]]

    @pytest.mark.parametrize(
        "since",
        [
            pytest.param("2026-01-01T00:00:00", id="no_offset"),  # was a 500: naive timestamp bound to a UTC column
            pytest.param("2026-01-01", id="a_date"),
            pytest.param("0", id="unix_zero"),  # pydantic would read it as 1970-01-01T00:00:00Z
            pytest.param("1767225600", id="unix_seconds"),
        ],
    )
    def test_updated_since_must_be_an_rfc3339_timestamp(self, world: World, since: str) -> None:
        world.create_project()
        response = world.as_("projects", HOLDER).get(PROJECTS, params={"updated_since": since})
        assert response.status_code == 422
        details = problem(response)
        assert details["code"] == "validation_failed"
        assert "query.updated_since" in [error["field"] for error in details["errors"]]

    @pytest.mark.parametrize("limit", [0, 201, -1, "ten"])
    def test_a_limit_out_of_bounds_is_a_422_problem(self, world: World, limit: object) -> None:
        response = world.as_("projects", HOLDER).get(PROJECTS, params={"limit": limit})
        assert response.status_code == 422
        details = problem(response)
        assert details["code"] == "validation_failed"
        assert "query.limit" in [error["field"] for error in details["errors"]]

    def test_the_largest_limit_is_accepted(self, world: World) -> None:
        world.create_project()
        assert world.as_("projects", HOLDER).get(PROJECTS, params={"limit": 200}).status_code == 200

    @pytest.mark.parametrize(
        "cursor",
        [
            "not-a-cursor",
            "!!!",
            base64.urlsafe_b64encode(b'["yesterday", 1]').decode(),
            base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        ],
    )
    def test_a_bad_cursor_is_400_invalid_cursor(self, world: World, cursor: str) -> None:
        world.create_project()
        response = world.as_("projects", HOLDER).get(PROJECTS, params={"cursor": cursor})
        assert response.status_code == 400
        assert problem(response)["code"] == "invalid_cursor"

    def test_a_forged_cursor_with_a_naive_timestamp_is_400(self, world: World) -> None:
        project = world.create_project()
        forged = base64.urlsafe_b64encode(json.dumps(["2026-01-01T00:00:00", project["id"]]).encode()).decode()
        response = world.as_("projects", HOLDER).get(PROJECTS, params={"cursor": forged})
        assert response.status_code == 400
        assert problem(response)["code"] == "invalid_cursor"

    @pytest.mark.parametrize(
        "params", [{"qpv": "Blosne"}, {"qpv": "QN2A091K"}, {"priority": "Youth!"}, {"updated_since": "yesterday"}]
    )
    def test_malformed_filters_are_422(self, world: World, params: dict[str, str]) -> None:
        response = world.as_("projects", HOLDER).get(PROJECTS, params=params)
        assert response.status_code == 422
        assert problem(response)["code"] == "validation_failed"


class TestUpdateProject:
    def test_anonymous_caller_gets_401(self, world: World) -> None:
        project = world.create_project()
        response = world.projects.patch(_url(project), json={"title": "X"}, headers={"If-Match": '"1"'})
        assert response.status_code == 401

    def test_a_funder_gets_403(self, world: World) -> None:
        project = world.create_project()
        response = world.as_("projects", CITY_INSTRUCTOR).patch(
            _url(project), json={"title": "X"}, headers={"If-Match": '"1"'}
        )
        assert response.status_code == 403
        assert world.as_("projects", HOLDER).get(_url(project)).json() == project

    def test_without_if_match_is_428_and_nothing_changes(self, world: World) -> None:
        project = world.create_project()
        api = world.as_("projects", HOLDER)
        response = api.patch(_url(project), json={"title": "Nouveau titre"})
        assert response.status_code == 428
        assert problem(response)["code"] == "precondition_required"
        assert api.get(_url(project)).json() == project

    def test_a_stale_if_match_is_412_and_nothing_changes(self, world: World) -> None:
        project = world.create_project()
        api = world.as_("projects", HOLDER)
        first = api.patch(_url(project), json={"title": "Version 2"}, headers={"If-Match": '"1"'})
        assert first.status_code == 200
        stale = api.patch(_url(project), json={"title": "Version perdue"}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412
        details = problem(stale)
        assert details["code"] == "precondition_failed"
        assert details["current_etag"] == first.headers["etag"]
        assert api.get(_url(project)).json() == first.json()

    def test_the_right_if_match_changes_the_project_and_gives_a_new_etag(self, world: World) -> None:
        project = world.create_project()
        api = world.as_("projects", HOLDER)
        etag = api.get(_url(project)).headers["etag"]
        response = api.patch(
            _url(project),
            json={"title": "Aide aux devoirs, saison 2", "qpv_codes": ["QN03504M"], "total_cost_cents": 5_000_000},
            headers={"If-Match": etag},
        )
        assert response.status_code == 200, response.text
        assert response.headers["etag"] != etag
        assert response.headers["etag"] == f'"{response.json()["version"]}"'
        assert response.json()["version"] == project["version"] + 1
        read = api.get(_url(project))
        assert read.headers["etag"] == response.headers["etag"]
        body = read.json()
        assert body["title"] == "Aide aux devoirs, saison 2"
        assert body["qpv_codes"] == ["QN03504M"]
        assert body["total_cost_cents"] == 5_000_000
        assert body["priorities"] == project["priorities"]  # untouched fields stay
        assert body["summary"] == project["summary"]
        assert body["created_at"] == project["created_at"]
        assert _instant(body["updated_at"]) > _instant(project["updated_at"])
        assert listed_ids(api, qpv="QN03504M") == [project["id"]]
        assert listed_ids(api, qpv="QN03505M") == []

    def test_the_new_etag_is_the_one_to_send_next(self, world: World) -> None:
        project = world.create_project()
        api = world.as_("projects", HOLDER)
        first = api.patch(_url(project), json={"title": "Deux"}, headers={"If-Match": '"1"'})
        second = api.patch(_url(project), json={"title": "Trois"}, headers={"If-Match": first.headers["etag"]})
        assert second.status_code == 200
        assert second.json()["title"] == "Trois"

    def test_if_match_star_and_a_list_of_etags_are_accepted(self, world: World) -> None:
        project = world.create_project()
        api = world.as_("projects", HOLDER)
        assert api.patch(_url(project), json={"title": "Deux"}, headers={"If-Match": "*"}).status_code == 200
        listed = api.patch(_url(project), json={"title": "Trois"}, headers={"If-Match": '"9", "2"'})
        assert listed.status_code == 200

    def test_a_member_of_the_association_may_change_it(self, world: World) -> None:
        project = world.create_project()
        response = world.as_("projects", HOLDER_MEMBER).patch(
            _url(project), json={"target_public": "Lycéens"}, headers={"If-Match": '"1"'}
        )
        assert response.status_code == 200
        assert response.json()["target_public"] == "Lycéens"

    def test_another_association_gets_404_and_nothing_changes(self, world: World) -> None:
        project = world.create_project()
        response = world.as_("projects", OTHER_HOLDER).patch(
            _url(project), json={"title": "Pris"}, headers={"If-Match": '"1"'}
        )
        assert response.status_code == 404
        assert problem(response)["code"] == "not_found"
        assert world.as_("projects", HOLDER).get(_url(project)).json() == project
        assert listed_ids(world.as_("projects", OTHER_HOLDER)) == []

    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"qpv_codes": ["QN09365N"]}, "unknown_reference"),
            ({"priorities": ["world_peace"]}, "unknown_reference"),
            ({"end_date": "2026-12-31"}, "validation_failed"),  # before the stored start date
            ({"start_date": "2028-01-01"}, "validation_failed"),  # after the stored end date
            ({"start_date": "2027-06-01", "end_date": "2027-05-01"}, "validation_failed"),
            ({"title": None}, "validation_failed"),
            ({"qpv_codes": []}, "validation_failed"),
            ({"total_cost_cents": False}, "validation_failed"),
            ({"total_cost_cents": "12"}, "validation_failed"),
            ({"total_cost_cents": -1}, "validation_failed"),
            ({"organisation_id": org_id("maurepas-solidaire")}, "validation_failed"),
            ({"version": 5}, "validation_failed"),
            ({"id": "0b6e7f52-6c55-4d1e-9a59-6f0e3f3f2c11"}, "validation_failed"),
        ],
        ids=lambda value: json.dumps(value) if isinstance(value, dict) else value,
    )
    def test_bad_changes_are_refused_and_write_nothing(self, world: World, body: dict, code: str) -> None:
        project = world.create_project()
        api = world.as_("projects", HOLDER)
        response = api.patch(_url(project), json=body, headers={"If-Match": '"1"'})
        assert response.status_code == 422, response.text
        assert problem(response)["code"] == code
        read = api.get(_url(project))
        assert read.json() == project
        assert read.headers["etag"] == '"1"'

    def test_malformed_json_is_400_and_changes_nothing(self, world: World) -> None:
        project = world.create_project()
        api = world.as_("projects", HOLDER)
        response = api.patch(
            _url(project), content=b"{title: nope}", headers={"If-Match": '"1"', "content-type": "application/json"}
        )
        assert response.status_code == 400
        assert problem(response)["code"] == "malformed_json"
        assert api.get(_url(project)).json() == project

    def test_an_unknown_project_is_404(self, world: World) -> None:
        response = world.as_("projects", HOLDER).patch(
            f"{PROJECTS}/00000000-0000-4000-8000-000000000000", json={"title": "X"}, headers={"If-Match": '"1"'}
        )
        assert response.status_code == 404

    def test_concurrent_changes_with_the_same_if_match_let_exactly_one_through(self, world: World) -> None:
        project = world.create_project()
        api = world.as_("projects", HOLDER)
        answers = at_once(
            api,
            [
                ("PATCH", _url(project), {"json": {"title": f"Titre {n}"}, "headers": {"If-Match": '"1"'}})
                for n in range(8)
            ],
        )
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200] + [412] * 7, statuses
        winner = next(answer for answer in answers if answer.status_code == 200)
        read = api.get(_url(project)).json()
        assert read["version"] == 2
        assert read["title"] == winner.json()["title"]


class TestUnchangedPatch:
    def test_a_patch_that_changes_nothing_keeps_the_version_and_etag(self, world: World) -> None:
        project = world.create_project()
        api = world.as_("projects", HOLDER)
        read = api.get(f"{PROJECTS}/{project['id']}")
        same = api.patch(
            f"{PROJECTS}/{project['id']}",
            json={"title": project["title"], "qpv_codes": project["qpv_codes"]},
            headers={"If-Match": read.headers["etag"]},
        )
        assert same.status_code == 200
        assert same.headers["etag"] == read.headers["etag"]
        assert same.json()["version"] == project["version"]
        changed = api.patch(
            f"{PROJECTS}/{project['id']}", json={"title": "Nouveau titre"}, headers={"If-Match": read.headers["etag"]}
        )
        assert changed.json()["version"] == project["version"] + 1
