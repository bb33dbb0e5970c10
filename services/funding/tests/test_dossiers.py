"""/api/v1/dossiers: creation under an open programme, who sees what, the plan's changes, submission."""

import re
from datetime import datetime
from typing import Any

import httpx
import pytest

from services.funding.tests.helpers import (
    BLOSNE_AVENIR,
    CAF,
    DEPARTEMENT,
    DOSSIERS,
    MAUREPAS_SOLIDAIRE,
    PREFECTURE,
    PROGRAMME_ID,
    VILLE,
    create_programme,
    dossier_body,
    history_count,
    listed_ids,
    listed_state,
    pages,
    url_of,
)
from tests.support.stack import problem
from tests.support.world import (
    CITIZEN,
    CITY_INSTRUCTOR,
    CITY_MANAGER,
    COMMITTEE_MEMBER,
    DESK,
    HOLDER,
    HOLDER_MEMBER,
    OTHER_HOLDER,
    STATE_INSTRUCTOR,
    World,
)

REFERENCE = re.compile(r"^GU-(\d{4})-(\d{6})$")
NOBODY = "6a1f9a0e-2b8c-4d47-9e0e-3c2f1b0a9d88"
PLAN: list[dict[str, Any]] = [
    {"funder_id": VILLE, "amount_cents": 1_500_000},
    {"funder_id": PREFECTURE, "amount_cents": 1_000_000},
    {"funder_id": None, "amount_cents": 500_000},
]


def _number(dossier: dict[str, Any]) -> int:
    match = REFERENCE.fullmatch(dossier["reference"])
    assert match, dossier["reference"]
    return int(match.group(2))


def _everything(world: World) -> list[tuple[str, int]]:
    """Every dossier, as the desk lists them: what 'nothing was written' compares."""
    return listed_state(world.as_("funding", DESK))


class TestCreateDossier:
    def test_anonymous_caller_gets_401(self, world: World) -> None:
        project = world.create_project()
        response = world.funding.post(DOSSIERS, json=dossier_body(project))
        assert response.status_code == 401
        assert problem(response)["code"] == "unauthorized"

    @pytest.mark.parametrize("email", [CITY_INSTRUCTOR, CITY_MANAGER, DESK, CITIZEN])
    def test_callers_that_are_not_holders_get_403_and_nothing_is_written(self, world: World, email: str) -> None:
        project = world.create_project()
        response = world.as_("funding", email).post(DOSSIERS, json=dossier_body(project))
        assert response.status_code == 403
        assert problem(response)["code"] == "forbidden"
        assert _everything(world) == []

    def test_holder_creates_a_draft_with_its_plan(self, world: World) -> None:
        project = world.create_project()
        response = world.as_("funding", HOLDER).post(DOSSIERS, json=dossier_body(project, PLAN))
        assert response.status_code == 201, response.text
        dossier = response.json()
        assert response.headers["location"] == f"{DOSSIERS}/{dossier['id']}"
        assert response.headers["etag"] == f'"{dossier["version"]}"'
        assert dossier["state"] == "draft"
        assert dossier["programme_id"] == PROGRAMME_ID
        assert dossier["project_id"] == project["id"]
        assert dossier["organisation_id"] == BLOSNE_AVENIR
        assert dossier["funding_plan"] == PLAN  # in the holder's order
        assert dossier["requested_total_cents"] == sum(line["amount_cents"] for line in PLAN)
        assert dossier["project_snapshot"] is None
        assert dossier["submitted_at"] is None
        assert "created_by" not in dossier

    def test_the_location_reads_back_the_same_dossier_and_etag(self, world: World) -> None:
        project = world.create_project()
        api = world.as_("funding", HOLDER)
        response = api.post(DOSSIERS, json=dossier_body(project, PLAN))
        read = api.get(response.headers["location"])
        assert read.status_code == 200
        assert read.json() == response.json()
        assert read.headers["etag"] == response.headers["etag"]

    def test_the_reference_has_the_desk_format_and_the_year_of_creation(self, world: World) -> None:
        dossier = world.create_dossier()
        match = REFERENCE.fullmatch(dossier["reference"])
        assert match
        created = datetime.fromisoformat(dossier["created_at"].replace("Z", "+00:00"))
        assert int(match.group(1)) == created.year

    def test_references_are_unique_and_increasing(self, world: World) -> None:
        project = world.create_project()
        other_project = world.create_project(OTHER_HOLDER)
        dossiers = [
            world.create_dossier(project=project),
            world.create_dossier(OTHER_HOLDER, project=other_project),
            world.create_dossier(project=project),
            world.create_dossier(HOLDER_MEMBER, project=project),
        ]
        numbers = [_number(d) for d in dossiers]
        assert numbers == sorted(set(numbers)), numbers
        assert len({d["reference"] for d in dossiers}) == len(dossiers)

    def test_a_member_of_the_association_may_create_one(self, world: World) -> None:
        project = world.create_project()
        dossier = world.create_dossier(HOLDER_MEMBER, project=project)
        assert dossier["organisation_id"] == BLOSNE_AVENIR

    def test_a_plan_may_leave_everything_to_the_desk(self, world: World) -> None:
        dossier = world.create_dossier(plan=[{"funder_id": None, "amount_cents": 180_000}])
        assert dossier["funding_plan"] == [{"funder_id": None, "amount_cents": 180_000}]
        assert dossier["requested_total_cents"] == 180_000

    def test_a_programme_created_by_the_desk_takes_dossiers_for_its_funders(self, world: World) -> None:
        programme = create_programme(world, funder_ids=[CAF])
        project = world.create_project()
        response = world.as_("funding", HOLDER).post(
            DOSSIERS, json=dossier_body(project, [{"funder_id": CAF, "amount_cents": 800_000}], programme["id"])
        )
        assert response.status_code == 201, response.text
        assert response.json()["programme_id"] == programme["id"]

    def test_the_same_idempotency_key_creates_one_dossier(self, world: World) -> None:
        project = world.create_project()
        api = world.as_("funding", HOLDER)
        headers = {"Idempotency-Key": "dossier-aide-aux-devoirs"}
        first = api.post(DOSSIERS, json=dossier_body(project, PLAN), headers=headers)
        second = api.post(DOSSIERS, json=dossier_body(project, PLAN), headers=headers)
        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert second.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert second.headers["location"] == first.headers["location"]
        assert _everything(world) == [(first.json()["id"], 1)]


class TestCreateDossierRejectsBadInput:
    @pytest.fixture
    def project(self, world: World) -> dict[str, Any]:
        """The holder's project, with one dossier already there so that 'unchanged' compares something."""
        project = world.create_project()
        world.create_dossier(project=project)
        return project

    def _refused(self, world: World, body: Any, status: int, code: str, field: str | None = None,
                 email: str = HOLDER) -> dict[str, Any]:
        before = _everything(world)
        response = world.as_("funding", email).post(DOSSIERS, json=body)
        assert response.status_code == status, response.text
        details = problem(response)
        assert details["code"] == code
        if field is not None:
            assert field in [error["field"] for error in details.get("errors", [])], details
        assert _everything(world) == before
        return details

    def test_a_funder_outside_the_programme_is_422(self, world: World, project: dict) -> None:
        programme = create_programme(world, funder_ids=[VILLE])
        plan = [{"funder_id": VILLE, "amount_cents": 100_000}, {"funder_id": PREFECTURE, "amount_cents": 100_000}]
        details = self._refused(world, dossier_body(project, plan, programme["id"]), 422, "funder_not_in_programme",
                                "body.funding_plan")
        message = details["errors"][0]["message"]
        assert PREFECTURE in message and VILLE not in message

    @pytest.mark.parametrize("stranger", [BLOSNE_AVENIR, NOBODY], ids=["an_association", "nobody"])
    def test_an_organisation_that_is_no_funder_of_the_programme_is_422(
        self, world: World, project: dict, stranger: str
    ) -> None:
        plan = [{"funder_id": stranger, "amount_cents": 100_000}]
        self._refused(world, dossier_body(project, plan), 422, "funder_not_in_programme")

    @pytest.mark.parametrize(
        "plan",
        [
            pytest.param([{"funder_id": VILLE, "amount_cents": 1}, {"funder_id": VILLE, "amount_cents": 2}],
                         id="same_funder_twice"),
            pytest.param([{"funder_id": None, "amount_cents": 1}, {"funder_id": None, "amount_cents": 2}],
                         id="two_lines_to_allocate"),
            pytest.param([{"funder_id": VILLE, "amount_cents": -100}], id="negative_amount"),
            pytest.param([{"funder_id": VILLE, "amount_cents": 0}], id="zero_amount"),
            pytest.param([{"funder_id": VILLE, "amount_cents": False}], id="false_amount"),
            pytest.param([{"funder_id": VILLE, "amount_cents": True}], id="true_amount"),
            pytest.param([{"funder_id": VILLE, "amount_cents": "1500"}], id="string_amount"),
            pytest.param([{"funder_id": VILLE, "amount_cents": 15.5}], id="float_amount"),
            pytest.param([{"funder_id": VILLE, "amount_cents": 10**12}], id="absurd_amount"),
            pytest.param([{"funder_id": VILLE}], id="missing_amount"),
            pytest.param([{"amount_cents": 100}], id="missing_funder_key"),
            pytest.param([{"funder_id": VILLE, "amount_cents": 100, "granted_cents": 100}], id="extra_line_field"),
            pytest.param([], id="empty_plan"),
        ],
    )
    def test_a_bad_plan_is_422(self, world: World, project: dict, plan: list) -> None:
        self._refused(world, dossier_body(project, plan), 422, "validation_failed")

    def test_the_project_of_another_association_is_422_unknown_project(self, world: World, project: dict) -> None:
        self._refused(world, dossier_body(project), 422, "unknown_project", "body.project_id", email=OTHER_HOLDER)

    def test_a_project_that_does_not_exist_is_422_unknown_project(self, world: World, project: dict) -> None:
        self._refused(world, dossier_body({"id": NOBODY}), 422, "unknown_project", "body.project_id")

    def test_an_unknown_programme_is_422(self, world: World, project: dict) -> None:
        self._refused(world, dossier_body(project, programme_id=NOBODY), 422, "validation_failed",
                      "body.programme_id")

    def test_a_closed_programme_is_409_programme_closed(self, world: World, project: dict) -> None:
        closed = create_programme(world, year=2024, opens_on="2024-01-01", closes_on="2024-12-31")
        details = self._refused(world, dossier_body(project, programme_id=closed["id"]), 409, "programme_closed")
        assert details["opens_on"] == "2024-01-01"
        assert details["closes_on"] == "2024-12-31"
        assert details["detail"] == "La date limite de dépôt de ce programme était le 2024-12-31."

    def test_a_programme_not_open_yet_is_409_programme_closed(self, world: World, project: dict) -> None:
        future = create_programme(world, year=2099, opens_on="2099-01-01", closes_on="2099-12-31")
        self._refused(world, dossier_body(project, programme_id=future["id"]), 409, "programme_closed")

    @pytest.mark.parametrize(
        "extra",
        [
            pytest.param({"state": "submitted"}, id="state"),
            pytest.param({"reference": "GU-2020-000001"}, id="reference"),
            pytest.param({"organisation_id": MAUREPAS_SOLIDAIRE}, id="organisation_id"),
            pytest.param({"requested_total_cents": 1}, id="requested_total_cents"),
            pytest.param({"project_snapshot": {"title": "Faux"}}, id="project_snapshot"),
            pytest.param({"id": NOBODY}, id="id"),
            pytest.param({"version": 9}, id="version"),
        ],
    )
    def test_privileged_fields_are_422(self, world: World, project: dict, extra: dict) -> None:
        field = f"body.{next(iter(extra))}"
        self._refused(world, dossier_body(project, **extra), 422, "validation_failed", field)

    def test_malformed_json_is_400(self, world: World, project: dict) -> None:
        before = _everything(world)
        response = world.as_("funding", HOLDER).post(
            DOSSIERS, content=b'{"programme_id": ', headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert problem(response)["code"] == "malformed_json"
        assert _everything(world) == before

    def test_a_refused_call_with_an_idempotency_key_can_be_retried(self, world: World, project: dict) -> None:
        """On SQLite this once hung 30 s then failed: the key's release waited for the request's own write lock."""
        api = world.as_("funding", HOLDER)
        headers = {"Idempotency-Key": "retry-after-fix"}
        bad = api.post(DOSSIERS, json=dossier_body(project, [{"funder_id": NOBODY, "amount_cents": 1}]),
                       headers=headers)
        assert bad.status_code == 422
        again = api.post(DOSSIERS, json=dossier_body(project, [{"funder_id": NOBODY, "amount_cents": 1}]),
                         headers=headers)
        assert again.status_code == 422  # the key was not kept by a failed call: no 409, no replay
        assert problem(again)["code"] == "funder_not_in_programme"
        fixed = api.post(DOSSIERS, json=dossier_body(project, PLAN), headers={"Idempotency-Key": "retry-after-fix"})
        assert fixed.status_code == 201


class TestDossierVisibility:
    @pytest.fixture
    def draft(self, world: World) -> dict[str, Any]:
        """A draft of the Blosne association asking the city and the State."""
        return world.create_dossier(plan=[
            {"funder_id": VILLE, "amount_cents": 1_500_000},
            {"funder_id": PREFECTURE, "amount_cents": 1_000_000},
        ])

    def _sees(self, world: World, email: str, dossier: dict[str, Any]) -> bool:
        api = world.as_("funding", email)
        read = api.get(url_of(dossier))
        listed = dossier["id"] in listed_ids(api)
        assert read.status_code in (200, 404), read.text
        assert (read.status_code == 200) == listed, f"GET says {read.status_code}, list says {listed}"
        if read.status_code == 404:
            assert problem(read)["code"] == "not_found"
            assert dossier["reference"] not in read.text
        return listed

    def test_the_holder_and_its_members_see_their_draft(self, world: World, draft: dict) -> None:
        assert self._sees(world, HOLDER, draft)
        assert self._sees(world, HOLDER_MEMBER, draft)
        read = world.as_("funding", HOLDER).get(url_of(draft))
        assert read.json() == draft
        assert read.headers["etag"] == f'"{draft["version"]}"'

    def test_a_funder_named_in_the_plan_does_not_see_a_draft(self, world: World, draft: dict) -> None:
        for email in (CITY_INSTRUCTOR, CITY_MANAGER, STATE_INSTRUCTOR, COMMITTEE_MEMBER):
            assert not self._sees(world, email, draft), email

    def test_a_funder_named_in_the_plan_sees_it_once_routed_to_it(self, world: World, draft: dict) -> None:
        world.submit(draft)
        for email in (CITY_INSTRUCTOR, CITY_MANAGER, STATE_INSTRUCTOR, COMMITTEE_MEMBER):
            assert not self._sees(world, email, draft), email
        routed = world.route(draft)
        for email in (CITY_INSTRUCTOR, CITY_MANAGER, STATE_INSTRUCTOR, COMMITTEE_MEMBER):
            assert self._sees(world, email, draft), email
        assert world.as_("funding", CITY_INSTRUCTOR).get(url_of(draft)).json() == routed

    def test_a_funder_not_named_in_the_plan_never_sees_it(self, world: World) -> None:
        city_only = world.create_dossier(plan=[
            {"funder_id": VILLE, "amount_cents": 1_500_000}, {"funder_id": None, "amount_cents": 200_000},
        ])
        assert not self._sees(world, STATE_INSTRUCTOR, city_only)
        world.route(world.submit(city_only))
        assert self._sees(world, CITY_INSTRUCTOR, city_only)
        assert not self._sees(world, STATE_INSTRUCTOR, city_only)
        assert not self._sees(world, COMMITTEE_MEMBER, city_only)

    def test_the_desk_sees_every_dossier_drafts_included(self, world: World, draft: dict) -> None:
        theirs = world.create_dossier(OTHER_HOLDER)
        submitted = world.submit(world.create_dossier())
        assert set(listed_ids(world.as_("funding", DESK))) == {draft["id"], theirs["id"], submitted["id"]}
        for dossier in (draft, theirs, submitted):
            assert self._sees(world, DESK, dossier)

    def test_another_association_never_sees_it(self, world: World, draft: dict) -> None:
        assert not self._sees(world, OTHER_HOLDER, draft)
        world.submit(draft)
        assert not self._sees(world, OTHER_HOLDER, draft)

    def test_an_unknown_dossier_looks_like_a_hidden_one(self, world: World, draft: dict) -> None:
        api = world.as_("funding", OTHER_HOLDER)
        hidden = problem(api.get(url_of(draft)))
        missing = problem(api.get(f"{DOSSIERS}/{NOBODY}"))
        assert hidden["status"] == missing["status"] == 404
        assert hidden["detail"] == missing["detail"]

    def test_a_citizen_council_lists_no_draft_of_its_qpvs(self, world: World, draft: dict) -> None:
        response = world.as_("funding", CITIZEN).get(DOSSIERS)
        assert response.status_code == 200
        assert response.json()["items"] == []
        # It reads the dossiers of its QPVs once in instruction (test_opinions.py), never a draft.
        assert world.as_("funding", CITIZEN).get(url_of(draft)).status_code == 404

    def test_anonymous_caller_gets_401(self, world: World, draft: dict) -> None:
        assert world.funding.get(DOSSIERS).status_code == 401
        assert world.funding.get(url_of(draft)).status_code == 401


class TestListDossiers:
    def test_cursor_pages_give_every_dossier_exactly_once(self, world: World) -> None:
        project = world.create_project()
        created = [world.create_dossier(project=project)["id"] for _ in range(5)]
        world.create_dossier(OTHER_HOLDER)
        found = pages(world.as_("funding", HOLDER), DOSSIERS, limit=2)
        assert [len(page["items"]) for page in found] == [2, 2, 1]
        assert found[-1]["next_cursor"] is None
        assert [item["id"] for page in found for item in page["items"]] == created

    def test_filter_by_state_and_programme(self, world: World) -> None:
        project = world.create_project()
        draft = world.create_dossier(project=project)
        submitted = world.submit(world.create_dossier(project=project))
        programme = create_programme(world, funder_ids=[DEPARTEMENT])
        elsewhere = world.as_("funding", HOLDER).post(
            DOSSIERS, json=dossier_body(project, [{"funder_id": DEPARTEMENT, "amount_cents": 1}], programme["id"])
        ).json()
        api = world.as_("funding", HOLDER)
        assert listed_ids(api, state="draft") == [draft["id"], elsewhere["id"]]
        assert listed_ids(api, state="submitted") == [submitted["id"]]
        assert listed_ids(api, programme_id=programme["id"]) == [elsewhere["id"]]
        assert listed_ids(api, programme_id=PROGRAMME_ID, state="draft") == [draft["id"]]

    def test_filter_by_updated_since(self, world: World) -> None:
        project = world.create_project()
        first = world.create_dossier(project=project)
        second = world.create_dossier(project=project)
        api = world.as_("funding", HOLDER)
        assert listed_ids(api, updated_since=second["updated_at"]) == [second["id"]]
        submitted = world.submit(first)
        assert listed_ids(api, updated_since=second["updated_at"]) == [first["id"], second["id"]]
        assert listed_ids(api, updated_since=submitted["updated_at"]) == [first["id"]]

    @pytest.mark.parametrize("since", ["2026-01-01T00:00:00", "2026-01-01", "0", "1767225600"],
                             ids=["no_offset", "a_date", "unix_zero", "unix_seconds"])
    def test_updated_since_must_be_an_rfc3339_timestamp(self, world: World, since: str) -> None:
        world.create_dossier()
        response = world.as_("funding", HOLDER).get(DOSSIERS, params={"updated_since": since})
        assert response.status_code == 422
        details = problem(response)
        assert details["code"] == "validation_failed"
        assert "query.updated_since" in [error["field"] for error in details["errors"]]

    @pytest.mark.parametrize("params", [{"limit": 201}, {"limit": 0}, {"state": "approved"}, {"programme_id": "x"}])
    def test_bad_query_is_422(self, world: World, params: dict) -> None:
        response = world.as_("funding", HOLDER).get(DOSSIERS, params=params)
        assert response.status_code == 422
        assert problem(response)["code"] == "validation_failed"

    def test_a_bad_cursor_is_400(self, world: World) -> None:
        world.create_dossier()
        response = world.as_("funding", HOLDER).get(DOSSIERS, params={"cursor": "not-a-cursor"})
        assert response.status_code == 400
        assert problem(response)["code"] == "invalid_cursor"


class TestUpdatePlan:
    @pytest.fixture
    def draft(self, world: World) -> dict[str, Any]:
        return world.create_dossier(plan=PLAN)

    def _plan(self) -> list[dict[str, Any]]:
        return [{"funder_id": CAF, "amount_cents": 800_000}, {"funder_id": VILLE, "amount_cents": 1_200_000}]

    def test_anonymous_caller_gets_401(self, world: World, draft: dict) -> None:
        response = world.funding.patch(url_of(draft), json={"funding_plan": self._plan()}, headers={"If-Match": '"1"'})
        assert response.status_code == 401

    @pytest.mark.parametrize(("email", "status"), [(CITY_INSTRUCTOR, 403), (DESK, 409)])
    def test_callers_that_are_not_holders_change_nothing(
        self, world: World, draft: dict, email: str, status: int
    ) -> None:
        """A funder is refused by role; the desk edits only as the helper of an active support (409 otherwise)."""
        response = world.as_("funding", email).patch(
            url_of(draft), json={"funding_plan": self._plan()}, headers={"If-Match": '"1"'}
        )
        assert response.status_code == status
        assert world.as_("funding", HOLDER).get(url_of(draft)).json() == draft

    def test_without_if_match_is_428_and_nothing_changes(self, world: World, draft: dict) -> None:
        api = world.as_("funding", HOLDER)
        response = api.patch(url_of(draft), json={"funding_plan": self._plan()})
        assert response.status_code == 428
        assert problem(response)["code"] == "precondition_required"
        assert api.get(url_of(draft)).json() == draft

    def test_a_stale_if_match_is_412_and_nothing_changes(self, world: World, draft: dict) -> None:
        api = world.as_("funding", HOLDER)
        first = api.patch(url_of(draft), json={"funding_plan": self._plan()}, headers={"If-Match": '"1"'})
        assert first.status_code == 200
        stale = api.patch(url_of(draft), json={"funding_plan": PLAN}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412
        assert problem(stale)["current_etag"] == first.headers["etag"]
        assert api.get(url_of(draft)).json() == first.json()

    def test_the_right_if_match_replaces_the_plan_with_a_new_etag(self, world: World, draft: dict) -> None:
        api = world.as_("funding", HOLDER)
        etag = api.get(url_of(draft)).headers["etag"]
        response = api.patch(url_of(draft), json={"funding_plan": self._plan()}, headers={"If-Match": etag})
        assert response.status_code == 200, response.text
        assert response.headers["etag"] != etag
        body = response.json()
        assert body["funding_plan"] == self._plan()
        assert body["requested_total_cents"] == 2_000_000
        assert body["version"] == draft["version"] + 1
        assert body["reference"] == draft["reference"]
        assert body["state"] == "draft"
        read = api.get(url_of(draft))
        assert read.json() == body
        assert read.headers["etag"] == response.headers["etag"]
        assert history_count(world, draft["id"], "plan_updated") == 1

    def test_a_funder_outside_the_programme_is_refused_and_nothing_changes(self, world: World) -> None:
        programme = create_programme(world, funder_ids=[VILLE])
        project = world.create_project()
        api = world.as_("funding", HOLDER)
        draft = api.post(
            DOSSIERS, json=dossier_body(project, [{"funder_id": VILLE, "amount_cents": 1}], programme["id"])
        ).json()
        response = api.patch(url_of(draft), json={"funding_plan": [{"funder_id": CAF, "amount_cents": 1}]},
                             headers={"If-Match": '"1"'})
        assert response.status_code == 422
        assert problem(response)["code"] == "funder_not_in_programme"
        assert api.get(url_of(draft)).json() == draft

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param({"funding_plan": []}, id="empty_plan"),
            pytest.param({"funding_plan": [{"funder_id": VILLE, "amount_cents": 0}]}, id="zero_amount"),
            pytest.param({"funding_plan": [{"funder_id": VILLE, "amount_cents": False}]}, id="false_amount"),
            pytest.param({"funding_plan": [{"funder_id": VILLE, "amount_cents": 1},
                                           {"funder_id": VILLE, "amount_cents": 2}]}, id="duplicate_funder"),
            pytest.param({"funding_plan": PLAN, "state": "submitted"}, id="state"),
            pytest.param({"funding_plan": PLAN, "requested_total_cents": 1}, id="requested_total_cents"),
            pytest.param({"funding_plan": PLAN, "project_id": NOBODY}, id="project_id"),
            pytest.param({"funding_plan": None}, id="null_plan"),
            pytest.param({"document_version_ids": None}, id="null_documents"),
            pytest.param({"document_version_ids": [NOBODY, NOBODY]}, id="document_twice"),
            pytest.param({"document_version_ids": ["not-a-uuid"]}, id="document_not_a_uuid"),
        ],
    )
    def test_bad_input_is_422_and_nothing_changes(self, world: World, draft: dict, body: dict) -> None:
        api = world.as_("funding", HOLDER)
        response = api.patch(url_of(draft), json=body, headers={"If-Match": '"1"'})
        assert response.status_code == 422, response.text
        assert problem(response)["code"] == "validation_failed"
        assert api.get(url_of(draft)).json() == draft

    @pytest.mark.parametrize("body", [{}, {"funding_plan": PLAN}], ids=["nothing", "the_same_plan"])
    def test_a_change_that_changes_nothing_keeps_the_version(self, world: World, draft: dict, body: dict) -> None:
        api = world.as_("funding", HOLDER)
        response = api.patch(url_of(draft), json=body, headers={"If-Match": '"1"'})
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == '"1"' and response.json() == draft
        assert history_count(world, draft["id"], "plan_updated") == 0

    def test_another_association_gets_404(self, world: World, draft: dict) -> None:
        response = world.as_("funding", OTHER_HOLDER).patch(
            url_of(draft), json={"funding_plan": self._plan()}, headers={"If-Match": '"1"'}
        )
        assert response.status_code == 404
        assert world.as_("funding", HOLDER).get(url_of(draft)).json() == draft

    def test_after_submission_the_plan_is_frozen_409_illegal_transition(self, world: World, draft: dict) -> None:
        submitted = world.submit(draft)
        api = world.as_("funding", HOLDER)
        etag = api.get(url_of(draft)).headers["etag"]
        response = api.patch(url_of(draft), json={"funding_plan": self._plan()}, headers={"If-Match": etag})
        assert response.status_code == 409
        details = problem(response)
        assert details["code"] == "illegal_transition"
        assert details["state"] == "submitted"
        assert isinstance(details["allowed_actions"], list)
        assert "update" not in details["allowed_actions"]
        assert api.get(url_of(draft)).json() == submitted


class TestSubmitDossier:
    def _submit(self, world: World, dossier: dict, email: str = HOLDER, **kwargs: Any) -> httpx.Response:
        return world.as_("funding", email).post(f"{url_of(dossier)}/submit", **kwargs)

    def test_anonymous_caller_gets_401(self, world: World) -> None:
        dossier = world.create_dossier()
        assert world.funding.post(f"{url_of(dossier)}/submit").status_code == 401

    @pytest.mark.parametrize("email", [CITY_INSTRUCTOR, DESK])
    def test_callers_that_are_not_holders_get_403(self, world: World, email: str) -> None:
        dossier = world.create_dossier()
        assert self._submit(world, dossier, email).status_code == 403
        assert world.as_("funding", HOLDER).get(url_of(dossier)).json()["state"] == "draft"

    def test_another_association_gets_404_and_the_dossier_stays_a_draft(self, world: World) -> None:
        dossier = world.create_dossier()
        response = self._submit(world, dossier, OTHER_HOLDER)
        assert response.status_code == 404
        assert world.as_("funding", HOLDER).get(url_of(dossier)).json() == dossier

    def test_submission_freezes_the_project_as_it_stands(self, world: World) -> None:
        project = world.create_project()
        dossier = world.create_dossier(project=project)
        projects = world.as_("projects", HOLDER)
        # changed after the dossier was created, before it was submitted: the snapshot has the change
        changed = projects.patch(f"/api/v1/projects/{project['id']}", json={"title": "Aide aux devoirs, 2e version"},
                                 headers={"If-Match": '"1"'})
        assert changed.status_code == 200
        response = self._submit(world, dossier)
        assert response.status_code == 200, response.text
        submitted = response.json()
        assert submitted["state"] == "submitted"
        assert submitted["project_snapshot"] == changed.json()
        assert submitted["submitted_at"] is not None
        assert submitted["version"] == dossier["version"] + 1
        assert submitted["reference"] == dossier["reference"]
        assert submitted["funding_plan"] == dossier["funding_plan"]
        assert response.headers["etag"] == f'"{submitted["version"]}"'
        assert world.as_("funding", HOLDER).get(url_of(dossier)).json() == submitted
        assert history_count(world, dossier["id"], "submitted") == 1

    def test_later_changes_to_the_project_do_not_touch_the_snapshot(self, world: World) -> None:
        project = world.create_project()
        submitted = world.submit(world.create_dossier(project=project))
        projects = world.as_("projects", HOLDER)
        later = projects.patch(
            f"/api/v1/projects/{project['id']}",
            json={"title": "Tout autre chose", "total_cost_cents": 1, "qpv_codes": ["QN03506I"]},
            headers={"If-Match": '"1"'},
        )
        assert later.status_code == 200
        assert projects.get(f"/api/v1/projects/{project['id']}").json()["title"] == "Tout autre chose"
        read = world.as_("funding", HOLDER).get(url_of(submitted)).json()
        assert read["project_snapshot"] == submitted["project_snapshot"]
        assert read["project_snapshot"]["title"] == project["title"]
        assert read["project_snapshot"]["qpv_codes"] == project["qpv_codes"]

    def test_submitting_twice_is_409_illegal_transition(self, world: World) -> None:
        dossier = world.create_dossier()
        first = self._submit(world, dossier)
        assert first.status_code == 200
        second = self._submit(world, dossier)
        assert second.status_code == 409
        details = problem(second)
        assert details["code"] == "illegal_transition"
        assert details["state"] == "submitted"
        assert "submit" not in details["allowed_actions"]
        assert world.as_("funding", HOLDER).get(url_of(dossier)).json() == first.json()
        assert history_count(world, dossier["id"], "submitted") == 1

    def test_a_stale_if_match_is_412_and_a_fresh_one_passes(self, world: World) -> None:
        dossier = world.create_dossier()
        api = world.as_("funding", HOLDER)
        moved = api.patch(url_of(dossier), json={"funding_plan": PLAN[:2]}, headers={"If-Match": '"1"'})
        assert moved.status_code == 200 and moved.headers["etag"] == '"2"'
        project = world.as_("projects", HOLDER).get(f"/api/v1/projects/{dossier['project_id']}").json()
        world.budget_matching(project, PLAN[:2])
        stale = self._submit(world, dossier, headers={"If-Match": '"1"'})
        assert stale.status_code == 412
        assert api.get(url_of(dossier)).json()["state"] == "draft"
        fresh = self._submit(world, dossier, headers={"If-Match": moved.headers["etag"]})
        assert fresh.status_code == 200

    def test_a_member_of_the_association_may_submit(self, world: World) -> None:
        dossier = world.create_dossier()
        assert self._submit(world, dossier, HOLDER_MEMBER).status_code == 200


class TestSubmitIdempotency:
    def _submit(self, world: World, dossier: dict, key: str, email: str = HOLDER) -> httpx.Response:
        return world.as_("funding", email).post(f"{url_of(dossier)}/submit", headers={"Idempotency-Key": key})

    def test_the_same_key_twice_replays_the_first_answer(self, world: World) -> None:
        dossier = world.create_dossier()
        first = self._submit(world, dossier, "submit-blosne-1")
        second = self._submit(world, dossier, "submit-blosne-1")
        assert first.status_code == second.status_code == 200
        assert second.json() == first.json()
        assert second.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert second.headers["etag"] == first.headers["etag"]
        assert second.headers["location"] == first.headers["location"]
        assert second.headers["content-type"].startswith("application/json")
        assert history_count(world, dossier["id"], "submitted") == 1

    def test_a_replay_is_the_first_answer_even_after_the_dossier_changed(self, world: World) -> None:
        dossier = world.create_dossier()
        first = self._submit(world, dossier, "submit-then-look")
        world.as_("projects", HOLDER).patch(
            f"/api/v1/projects/{dossier['project_id']}", json={"title": "Changé"}, headers={"If-Match": '"1"'}
        )
        replay = self._submit(world, dossier, "submit-then-look")
        assert replay.json() == first.json()

    def test_the_same_key_on_another_dossier_is_422_idempotency_key_reused(self, world: World) -> None:
        project = world.create_project()
        one = world.create_dossier(project=project)
        other = world.create_dossier(project=project)
        assert self._submit(world, one, "one-key").status_code == 200
        reused = self._submit(world, other, "one-key")
        assert reused.status_code == 422
        assert problem(reused)["code"] == "idempotency_key_reused"
        assert world.as_("funding", HOLDER).get(url_of(other)).json() == other

    def test_the_same_key_with_another_body_is_422_idempotency_key_reused(self, world: World) -> None:
        project = world.create_project()
        api = world.as_("funding", HOLDER)
        headers = {"Idempotency-Key": "create-once"}
        first = api.post(DOSSIERS, json=dossier_body(project, PLAN), headers=headers)
        assert first.status_code == 201
        reused = api.post(DOSSIERS, json=dossier_body(project, PLAN[:1]), headers=headers)
        assert reused.status_code == 422
        assert problem(reused)["code"] == "idempotency_key_reused"
        assert _everything(world) == [(first.json()["id"], 1)]

    def test_keys_belong_to_their_caller(self, world: World) -> None:
        mine = world.create_dossier()
        theirs = world.create_dossier(OTHER_HOLDER)
        assert self._submit(world, mine, "shared-key").status_code == 200
        response = self._submit(world, theirs, "shared-key", OTHER_HOLDER)
        assert response.status_code == 200
        assert "idempotent-replayed" not in response.headers
        assert response.json()["id"] == theirs["id"]

    def test_a_refused_submit_does_not_keep_the_key(self, world: World) -> None:
        dossier = world.submit(world.create_dossier())
        refused = self._submit(world, dossier, "late-key")
        assert refused.status_code == 409
        assert problem(refused)["code"] == "illegal_transition"
        again = self._submit(world, dossier, "late-key")
        assert again.status_code == 409
        assert problem(again)["code"] == "illegal_transition"
