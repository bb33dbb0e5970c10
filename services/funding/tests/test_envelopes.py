"""/api/v1/envelopes: funders' envelopes per programme and year, who sees and changes them, their ledger, and the
rules that commit, release and pay money on them."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from common.problems import Conflict, Problem
from scripts import demo_data
from scripts.seed_demo import seed_funding
from services.funding.envelopes import money
from services.funding.tests.helpers import (
    CAF,
    DEPARTEMENT,
    METROPOLE,
    PREFECTURE,
    PROGRAMME_ID,
    VILLE,
    create_programme,
    pages,
)
from tests.support.calls import listed_state
from tests.support.clock import TODAY
from tests.support.stack import problem
from tests.support.world import (
    CITIZEN,
    CITY_INSTRUCTOR,
    CITY_MANAGER,
    COMMITTEE_MEMBER,
    DESK,
    HOLDER,
    PLATFORM,
    STATE_INSTRUCTOR,
    World,
)

ENVELOPES = "/api/v1/envelopes"
THIS_YEAR = TODAY.year
NEXT_YEAR = THIS_YEAR + 1
NOBODY = "6a1f9a0e-2b8c-4d47-9e0e-3c2f1b0a9d88"
CITY_MANAGER_ID = str(demo_data.demo_id(f"person:{CITY_MANAGER}"))
DEMO_TOTALS = {VILLE: 20_000_000, PREFECTURE: 15_000_000, METROPOLE: 12_000_000, DEPARTEMENT: 8_000_000,
               CAF: 5_000_000}


def _at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def _url(envelope: dict[str, Any]) -> str:
    return f"{ENVELOPES}/{envelope['id']}"


def _body(**overrides: Any) -> dict[str, Any]:
    return {"programme_id": PROGRAMME_ID, "year": NEXT_YEAR, "total_cents": 10_000_000, **overrides}


def _open(world: World, **overrides: Any) -> dict[str, Any]:
    response = world.as_("funding", CITY_MANAGER).post(ENVELOPES, json=_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


def _everything(world: World) -> list[tuple[str, int]]:
    """Every envelope with its version, as the desk lists them: what 'nothing was written' compares."""
    return listed_state(world.as_("funding", DESK), ENVELOPES)


def _demo(world: World, funder_id: str) -> dict[str, Any]:
    """This year's demo envelope of a funder of the demo programme."""
    items = world.as_("funding", DESK).get(
        ENVELOPES, params={"funder_id": funder_id, "programme_id": PROGRAMME_ID, "year": THIS_YEAR}
    ).json()["items"]
    assert len(items) == 1, items
    return items[0]


def _ledger(world: World, envelope: dict[str, Any], email: str = CITY_MANAGER) -> list[dict[str, Any]]:
    return [m for page in pages(world.as_("funding", email), f"{_url(envelope)}/ledger") for m in page["items"]]


def _read(world: World, envelope: dict[str, Any]) -> dict[str, Any]:
    response = world.as_("funding", DESK).get(_url(envelope))
    assert response.status_code == 200, response.text
    return response.json()


def _rule(world: World, rule: Any, **arguments: Any) -> Any:
    """Run `money.commit`, `money.release` or `money.pay` in a writer session of funding's database,
    committed when it succeeds; a problem it raises is returned, not raised."""

    async def run() -> Any:
        async with world.stack.apps["funding"].state.db.writer() as session:
            try:
                movement = await rule(session, **arguments)
            except Problem as refused:
                await session.rollback()
                return refused
            await session.commit()
            return movement

    return world.stack.run(run)


def _money(envelope: dict[str, Any], amount_cents: int, dossier_id: Any = None, rule: Any = None) -> dict[str, Any]:
    return {
        "funder_id": uuid.UUID(envelope["funder_id"]), "programme_id": uuid.UUID(envelope["programme_id"]),
        "year": envelope["year"], "amount_cents": amount_cents,
        "dossier_id": uuid.UUID(dossier_id) if dossier_id else None, "actor": "committee",
    }


class TestDemoEnvelopes:
    def test_each_funder_of_the_demo_programme_has_this_years_envelope(self, world: World) -> None:
        listed = {e["funder_id"]: e for e in world.as_("funding", DESK).get(ENVELOPES).json()["items"]}
        assert {funder: e["total_cents"] for funder, e in listed.items()} == DEMO_TOTALS
        for envelope in listed.values():
            assert envelope["programme_id"] == PROGRAMME_ID
            assert envelope["year"] == THIS_YEAR
            assert envelope["committed_cents"] == envelope["paid_cents"] == 0
            assert envelope["available_cents"] == envelope["total_cents"]

    def test_seeding_again_adds_nothing(self, world: World) -> None:
        before = _everything(world)

        async def again() -> int:
            async with world.stack.apps["funding"].state.db.writer() as session:
                added = await seed_funding(session, TODAY)
                await session.commit()
                return added

        assert world.stack.run(again) == 0
        assert _everything(world) == before


class TestCreateEnvelope:
    def test_anonymous_caller_gets_401(self, world: World) -> None:
        response = world.funding.post(ENVELOPES, json=_body())
        assert response.status_code == 401
        assert problem(response)["code"] == "unauthorized"

    @pytest.mark.parametrize("email", [CITY_INSTRUCTOR, COMMITTEE_MEMBER, DESK, HOLDER, CITIZEN, PLATFORM])
    def test_callers_that_are_not_funder_managers_get_403_and_nothing_is_written(
        self, world: World, email: str
    ) -> None:
        before = _everything(world)
        response = world.as_("funding", email).post(ENVELOPES, json=_body())
        assert response.status_code == 403
        assert problem(response)["code"] == "forbidden"
        assert _everything(world) == before

    def test_a_manager_opens_an_envelope_of_its_own_organisation(self, world: World) -> None:
        response = world.as_("funding", CITY_MANAGER).post(ENVELOPES, json=_body(total_cents=12_345_600))
        assert response.status_code == 201, response.text
        envelope = response.json()
        assert response.headers["location"] == _url(envelope)
        assert response.headers["etag"] == '"1"'
        assert envelope["funder_id"] == VILLE
        assert envelope["programme_id"] == PROGRAMME_ID
        assert envelope["year"] == NEXT_YEAR
        assert envelope["total_cents"] == envelope["available_cents"] == 12_345_600
        assert envelope["committed_cents"] == envelope["paid_cents"] == 0
        assert envelope["version"] == 1
        assert "created_by" not in envelope

    def test_the_location_reads_back_the_same_envelope_and_etag(self, world: World) -> None:
        api = world.as_("funding", CITY_MANAGER)
        response = api.post(ENVELOPES, json=_body())
        read = api.get(response.headers["location"])
        assert read.status_code == 200
        assert read.json() == response.json()
        assert read.headers["etag"] == response.headers["etag"]

    def test_the_opening_is_the_first_line_of_the_ledger(self, world: World) -> None:
        envelope = _open(world, total_cents=7_000_000)
        [opened] = _ledger(world, envelope)
        assert opened["kind"] == "opened"
        assert opened["envelope_id"] == envelope["id"]
        assert opened["sequence"] == 1
        assert opened["amount_cents"] == opened["total_cents"] == opened["available_cents"] == 7_000_000
        assert opened["committed_cents"] == opened["paid_cents"] == 0
        assert opened["dossier_id"] is None
        assert opened["actor"] == CITY_MANAGER_ID

    def test_an_empty_envelope_may_be_opened(self, world: World) -> None:
        assert _open(world, total_cents=0)["available_cents"] == 0

    def test_a_second_envelope_for_the_same_programme_and_year_is_409_and_nothing_is_written(
        self, world: World
    ) -> None:
        _open(world)
        before = _everything(world)
        response = world.as_("funding", CITY_MANAGER).post(ENVELOPES, json=_body(total_cents=1))
        assert response.status_code == 409
        body = problem(response)
        assert body["code"] == "envelope_exists"
        assert body["year"] == NEXT_YEAR
        assert _everything(world) == before

    def test_the_demo_envelope_of_this_year_exists_already(self, world: World) -> None:
        response = world.as_("funding", CITY_MANAGER).post(
            ENVELOPES, json=_body(year=THIS_YEAR), headers={"Accept-Language": "en"}
        )
        assert response.status_code == 409
        assert problem(response)["code"] == "envelope_exists"
        assert "already has an envelope" in problem(response)["detail"]

    def test_the_same_programme_another_year_is_another_envelope(self, world: World) -> None:
        first, second = _open(world, year=NEXT_YEAR), _open(world, year=NEXT_YEAR + 1)
        assert first["id"] != second["id"]

    def test_an_unknown_programme_is_422_and_nothing_is_written(self, world: World) -> None:
        before = _everything(world)
        response = world.as_("funding", CITY_MANAGER).post(ENVELOPES, json=_body(programme_id=NOBODY))
        assert response.status_code == 422
        body = problem(response)
        assert body["code"] == "validation_failed"
        assert [e["field"] for e in body["errors"]] == ["body.programme_id"]
        assert _everything(world) == before

    def test_a_programme_the_funder_does_not_take_part_in_is_422(self, world: World) -> None:
        state_only = create_programme(world, funder_ids=[PREFECTURE])
        before = _everything(world)
        response = world.as_("funding", CITY_MANAGER).post(ENVELOPES, json=_body(programme_id=state_only["id"]))
        assert response.status_code == 422
        body = problem(response)
        assert body["code"] == "funder_not_in_programme"
        assert [e["field"] for e in body["errors"]] == ["body.programme_id"]
        assert _everything(world) == before

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"total_cents": -1}, "body.total_cents"),
            ({"total_cents": 100_000_000_001}, "body.total_cents"),
            ({"total_cents": "1500"}, "body.total_cents"),
            ({"total_cents": 15.5}, "body.total_cents"),
            ({"total_cents": True}, "body.total_cents"),
            ({"total_cents": None}, "body.total_cents"),
            ({"year": 2023}, "body.year"),
            ({"year": 2101}, "body.year"),
            ({"year": "2027"}, "body.year"),
            ({"programme_id": "not-a-uuid"}, "body.programme_id"),
            ({"funder_id": VILLE}, "body.funder_id"),
            ({"committed_cents": 10}, "body.committed_cents"),
        ],
    )
    def test_bad_input_is_422_and_writes_nothing(self, world: World, changes: dict, field: str) -> None:
        before = _everything(world)
        response = world.as_("funding", CITY_MANAGER).post(ENVELOPES, json=_body(**changes))
        assert response.status_code == 422, response.text
        body = problem(response)
        assert body["code"] == "validation_failed"
        assert field in [e["field"] for e in body["errors"]]
        assert _everything(world) == before

    @pytest.mark.parametrize("missing", ["programme_id", "year", "total_cents"])
    def test_a_missing_field_is_422(self, world: World, missing: str) -> None:
        body = _body()
        del body[missing]
        response = world.as_("funding", CITY_MANAGER).post(ENVELOPES, json=body)
        assert response.status_code == 422
        assert [e["field"] for e in problem(response)["errors"]] == [f"body.{missing}"]

    def test_an_amount_written_with_a_decimal_point_is_refused(self, world: World) -> None:
        # Money is integer cents, never a float: 1500.0 is refused where another integer field would take it.
        before = _everything(world)
        response = world.as_("funding", CITY_MANAGER).post(ENVELOPES, json=_body(total_cents=1500.0))
        assert response.status_code == 422
        assert [e["field"] for e in problem(response)["errors"]] == ["body.total_cents"]
        assert _everything(world) == before

    def test_malformed_json_is_400(self, world: World) -> None:
        response = world.as_("funding", CITY_MANAGER).post(
            ENVELOPES, content=b"{", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert problem(response)["code"] == "malformed_json"

    def test_an_idempotency_key_replays_the_same_answer(self, world: World) -> None:
        api = world.as_("funding", CITY_MANAGER)
        first = api.post(ENVELOPES, json=_body(), headers={"Idempotency-Key": "open-2027"})
        again = api.post(ENVELOPES, json=_body(), headers={"Idempotency-Key": "open-2027"})
        assert first.status_code == again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
        assert again.headers["location"] == first.headers["location"]
        other = api.post(ENVELOPES, json=_body(total_cents=1), headers={"Idempotency-Key": "open-2027"})
        assert other.status_code == 422
        assert problem(other)["code"] == "idempotency_key_reused"
        assert [e["id"] for e in api.get(ENVELOPES, params={"year": NEXT_YEAR}).json()["items"]] == [first.json()["id"]]


class TestListEnvelopes:
    def test_anonymous_caller_gets_401(self, world: World) -> None:
        assert world.funding.get(ENVELOPES).status_code == 401

    @pytest.mark.parametrize("email", [HOLDER, CITIZEN, PLATFORM])
    def test_holders_citizens_and_the_platform_get_403(self, world: World, email: str) -> None:
        response = world.as_("funding", email).get(ENVELOPES)
        assert response.status_code == 403
        assert problem(response)["code"] == "forbidden"

    @pytest.mark.parametrize("email", [CITY_MANAGER, CITY_INSTRUCTOR])
    def test_a_funders_people_see_their_organisations_envelopes_only(self, world: World, email: str) -> None:
        mine = _open(world)
        listed = world.as_("funding", email).get(ENVELOPES).json()["items"]
        assert sorted(e["id"] for e in listed) == sorted([mine["id"], _demo(world, VILLE)["id"]])
        assert {e["funder_id"] for e in listed} == {VILLE}

    def test_another_funder_sees_its_own(self, world: World) -> None:
        _open(world)
        for email in (STATE_INSTRUCTOR, COMMITTEE_MEMBER):
            listed = world.as_("funding", email).get(ENVELOPES).json()["items"]
            assert [e["id"] for e in listed] == [_demo(world, PREFECTURE)["id"]]

    def test_asking_for_another_funder_shows_nothing(self, world: World) -> None:
        response = world.as_("funding", CITY_MANAGER).get(ENVELOPES, params={"funder_id": PREFECTURE})
        assert response.status_code == 200
        assert response.json() == {"items": [], "next_cursor": None}

    def test_the_desk_sees_every_funder_and_filters(self, world: World) -> None:
        mine = _open(world)
        desk = world.as_("funding", DESK)
        assert len(desk.get(ENVELOPES).json()["items"]) == 6
        assert [e["id"] for e in desk.get(ENVELOPES, params={"year": NEXT_YEAR}).json()["items"]] == [mine["id"]]
        by_funder = desk.get(ENVELOPES, params={"funder_id": VILLE}).json()["items"]
        assert sorted(e["id"] for e in by_funder) == sorted([mine["id"], _demo(world, VILLE)["id"]])
        other = create_programme(world, funder_ids=[VILLE])
        in_other = _open(world, programme_id=other["id"])
        listed = desk.get(ENVELOPES, params={"programme_id": other["id"]}).json()["items"]
        assert [e["id"] for e in listed] == [in_other["id"]]

    def test_updated_since_shows_what_changed(self, world: World) -> None:
        api = world.as_("funding", CITY_MANAGER)
        envelope = _demo(world, VILLE)
        moment = _at(envelope["updated_at"]) + timedelta(microseconds=1)
        since = {"updated_since": moment.isoformat()}
        assert api.get(ENVELOPES, params=since).json()["items"] == []
        changed = api.patch(_url(envelope), json={"total_cents": 30_000_000}, headers={"If-Match": '"1"'})
        assert changed.status_code == 200, changed.text
        assert [e["id"] for e in api.get(ENVELOPES, params=since).json()["items"]] == [envelope["id"]]

    def test_pages_walk_every_envelope_once(self, world: World) -> None:
        walked = pages(world.as_("funding", DESK), ENVELOPES, limit=2)
        assert [len(page["items"]) for page in walked] == [2, 2, 1]
        ids = [e["id"] for page in walked for e in page["items"]]
        assert len(set(ids)) == 5

    @pytest.mark.parametrize(
        "params",
        [{"limit": 0}, {"limit": 201}, {"year": 1999}, {"funder_id": "x"}, {"programme_id": "x"},
         {"updated_since": "yesterday"}, {"updated_since": "2026-01-01T00:00:00"}],
    )
    def test_bad_query_is_422(self, world: World, params: dict) -> None:
        response = world.as_("funding", DESK).get(ENVELOPES, params=params)
        assert response.status_code == 422
        assert problem(response)["code"] == "validation_failed"

    def test_a_bad_cursor_is_400(self, world: World) -> None:
        response = world.as_("funding", DESK).get(ENVELOPES, params={"cursor": "nonsense"})
        assert response.status_code == 400
        assert problem(response)["code"] == "invalid_cursor"


class TestGetEnvelope:
    def test_a_funders_people_read_their_own_with_its_etag(self, world: World) -> None:
        envelope = _demo(world, VILLE)
        for email in (CITY_MANAGER, CITY_INSTRUCTOR, DESK):
            response = world.as_("funding", email).get(_url(envelope))
            assert response.status_code == 200
            assert response.json() == envelope
            assert response.headers["etag"] == '"1"'

    def test_another_funders_envelope_is_404_and_shows_nothing(self, world: World) -> None:
        envelope = _demo(world, PREFECTURE)
        for email in (CITY_MANAGER, CITY_INSTRUCTOR):
            response = world.as_("funding", email).get(_url(envelope))
            assert response.status_code == 404
            body = problem(response)
            assert body["code"] == "not_found"
            assert "15000000" not in response.text and "total_cents" not in body

    def test_an_unknown_envelope_is_404(self, world: World) -> None:
        response = world.as_("funding", DESK).get(f"{ENVELOPES}/{NOBODY}")
        assert response.status_code == 404
        assert problem(response)["code"] == "not_found"

    @pytest.mark.parametrize("email", [HOLDER, CITIZEN, PLATFORM])
    def test_holders_citizens_and_the_platform_get_403(self, world: World, email: str) -> None:
        response = world.as_("funding", email).get(_url(_demo(world, VILLE)))
        assert response.status_code == 403

    def test_an_id_that_is_not_a_uuid_names_no_envelope(self, world: World) -> None:
        assert world.as_("funding", DESK).get(f"{ENVELOPES}/abc").status_code == 404


class TestUpdateEnvelope:
    def test_a_manager_raises_its_envelope(self, world: World) -> None:
        envelope = _demo(world, VILLE)
        api = world.as_("funding", CITY_MANAGER)
        response = api.patch(_url(envelope), json={"total_cents": 25_000_000}, headers={"If-Match": '"1"'})
        assert response.status_code == 200, response.text
        changed = response.json()
        assert response.headers["etag"] == '"2"'
        assert changed["version"] == 2
        assert changed["total_cents"] == changed["available_cents"] == 25_000_000
        assert changed == _read(world, envelope)
        assert _at(changed["updated_at"]) > _at(envelope["updated_at"])
        line = _ledger(world, envelope)[-1]
        assert (line["kind"], line["sequence"], line["amount_cents"], line["total_cents"]) == (
            "total_changed", 2, 5_000_000, 25_000_000,
        )
        assert line["actor"] == CITY_MANAGER_ID

    def test_lowering_is_a_negative_movement(self, world: World) -> None:
        envelope = _demo(world, VILLE)
        response = world.as_("funding", CITY_MANAGER).patch(
            _url(envelope), json={"total_cents": 18_000_000}, headers={"If-Match": '"1"'}
        )
        assert response.status_code == 200
        assert _ledger(world, envelope)[-1]["amount_cents"] == -2_000_000

    @pytest.mark.parametrize("body", [{"total_cents": 20_000_000}, {}])
    def test_the_same_total_keeps_the_version_and_the_ledger(self, world: World, body: dict) -> None:
        envelope = _demo(world, VILLE)
        response = world.as_("funding", CITY_MANAGER).patch(_url(envelope), json=body, headers={"If-Match": '"1"'})
        assert response.status_code == 200
        assert response.headers["etag"] == '"1"'
        assert response.json() == envelope
        assert len(_ledger(world, envelope)) == 1

    def test_below_what_is_committed_is_409_and_nothing_changes(self, world: World) -> None:
        envelope = _demo(world, VILLE)
        assert not isinstance(_rule(world, money.commit, **_money(envelope, 6_000_000)), Problem)
        before = _read(world, envelope)
        response = world.as_("funding", CITY_MANAGER).patch(
            _url(envelope), json={"total_cents": 5_999_999}, headers={"If-Match": f'"{before["version"]}"'}
        )
        assert response.status_code == 409
        body = problem(response)
        assert body["code"] == "envelope_below_committed"
        assert (body["committed_cents"], body["total_cents"], body["requested_total_cents"]) == (
            6_000_000, 20_000_000, 5_999_999,
        )
        assert "60" in body["detail"] and "000,00 €" in body["detail"]
        assert _read(world, envelope) == before
        assert len(_ledger(world, envelope)) == 2

    def test_down_to_exactly_what_is_committed_leaves_nothing_available(self, world: World) -> None:
        envelope = _demo(world, VILLE)
        _rule(world, money.commit, **_money(envelope, 6_000_000))
        response = world.as_("funding", CITY_MANAGER).patch(
            _url(envelope), json={"total_cents": 6_000_000}, headers={"If-Match": '"2"'}
        )
        assert response.status_code == 200, response.text
        assert response.json()["available_cents"] == 0

    def test_a_stale_if_match_is_412_and_a_missing_one_428(self, world: World) -> None:
        envelope = _demo(world, VILLE)
        api = world.as_("funding", CITY_MANAGER)
        stale = api.patch(_url(envelope), json={"total_cents": 1}, headers={"If-Match": '"7"'})
        assert stale.status_code == 412
        assert problem(stale)["code"] == "precondition_failed"
        assert problem(stale)["current_etag"] == '"1"'
        missing = api.patch(_url(envelope), json={"total_cents": 1})
        assert missing.status_code == 428
        assert problem(missing)["code"] == "precondition_required"
        assert _read(world, envelope) == envelope

    def test_a_commitment_makes_the_etag_read_before_it_stale(self, world: World) -> None:
        envelope = _demo(world, VILLE)
        _rule(world, money.commit, **_money(envelope, 100))
        response = world.as_("funding", CITY_MANAGER).patch(
            _url(envelope), json={"total_cents": 1_000}, headers={"If-Match": '"1"'}
        )
        assert response.status_code == 412

    def test_another_funders_envelope_is_404_and_unchanged(self, world: World) -> None:
        envelope = _demo(world, PREFECTURE)
        response = world.as_("funding", CITY_MANAGER).patch(
            _url(envelope), json={"total_cents": 1}, headers={"If-Match": '"1"'}
        )
        assert response.status_code == 404
        assert _read(world, envelope) == envelope

    @pytest.mark.parametrize("email", [CITY_INSTRUCTOR, COMMITTEE_MEMBER, DESK, HOLDER, CITIZEN, PLATFORM])
    def test_callers_that_are_not_funder_managers_get_403(self, world: World, email: str) -> None:
        envelope = _demo(world, VILLE)
        api = world.as_("funding", email)
        response = api.patch(_url(envelope), json={"total_cents": 1}, headers={"If-Match": '"1"'})
        assert response.status_code == 403
        assert _read(world, envelope) == envelope

    @pytest.mark.parametrize(
        "body",
        [{"total_cents": None}, {"total_cents": -5}, {"total_cents": "5"}, {"total_cents": 1.5},
         {"committed_cents": 0}, {"year": 2030}],
    )
    def test_bad_input_is_422_and_nothing_changes(self, world: World, body: dict) -> None:
        envelope = _demo(world, VILLE)
        response = world.as_("funding", CITY_MANAGER).patch(_url(envelope), json=body, headers={"If-Match": '"1"'})
        assert response.status_code == 422, response.text
        assert problem(response)["code"] == "validation_failed"
        assert _read(world, envelope) == envelope


class TestLedger:
    def test_commitments_and_releases_add_up_to_what_is_committed(self, world: World) -> None:
        envelope = _demo(world, VILLE)
        dossier = world.create_dossier()
        for amount in (1_000_000, 2_500_000):
            _rule(world, money.commit, **_money(envelope, amount, dossier["id"]))
        _rule(world, money.release, **_money(envelope, 500_000, dossier["id"]))
        ledger = _ledger(world, envelope)
        assert [(m["kind"], m["amount_cents"], m["sequence"]) for m in ledger] == [
            ("opened", 20_000_000, 1), ("committed", 1_000_000, 2), ("committed", 2_500_000, 3),
            ("released", -500_000, 4),
        ]
        assert [m["dossier_id"] for m in ledger[1:]] == [dossier["id"]] * 3
        read = _read(world, envelope)
        assert read["committed_cents"] == 3_000_000 == sum(
            m["amount_cents"] for m in ledger if m["kind"] in ("committed", "released")
        )
        assert ledger[-1]["committed_cents"] == 3_000_000 and ledger[-1]["available_cents"] == 17_000_000
        assert read["version"] == ledger[-1]["sequence"]

    def test_pages_follow_the_envelopes_versions(self, world: World) -> None:
        envelope = _demo(world, VILLE)
        for _ in range(4):
            _rule(world, money.commit, **_money(envelope, 100))
        walked = pages(world.as_("funding", CITY_INSTRUCTOR), f"{_url(envelope)}/ledger", limit=2)
        assert [[m["sequence"] for m in page["items"]] for page in walked] == [[1, 2], [3, 4], [5]]

    def test_the_desk_reads_any_ledger(self, world: World) -> None:
        assert [m["kind"] for m in _ledger(world, _demo(world, CAF), DESK)] == ["opened"]

    def test_another_funders_ledger_is_404(self, world: World) -> None:
        response = world.as_("funding", CITY_MANAGER).get(f"{_url(_demo(world, PREFECTURE))}/ledger")
        assert response.status_code == 404
        assert problem(response)["code"] == "not_found"
        assert world.as_("funding", DESK).get(f"{ENVELOPES}/{NOBODY}/ledger").status_code == 404

    @pytest.mark.parametrize("email", [HOLDER, CITIZEN, PLATFORM])
    def test_holders_citizens_and_the_platform_get_403(self, world: World, email: str) -> None:
        assert world.as_("funding", email).get(f"{_url(_demo(world, VILLE))}/ledger").status_code == 403

    @pytest.mark.parametrize("cursor", ["nonsense", "c2VxOi0x", "c2VxOjk5OTk5OTk5OTk5OTk5OTk5OTk5", "c2VxOu+8kQ"])
    def test_a_bad_cursor_is_400(self, world: World, cursor: str) -> None:
        # seq:-1, seq:99999999999999999999 and seq:１ (a fullwidth digit) included
        response = world.as_("funding", DESK).get(f"{_url(_demo(world, VILLE))}/ledger", params={"cursor": cursor})
        assert response.status_code == 400
        assert problem(response)["code"] == "invalid_cursor"


class TestCommit:
    def test_a_commitment_moves_the_envelope_and_writes_its_ledger_line(self, world: World) -> None:
        envelope = _demo(world, VILLE)
        dossier = world.create_dossier()
        movement = _rule(world, money.commit, **_money(envelope, 1_500_000, dossier["id"]))
        assert (movement.kind, movement.amount_cents, movement.sequence) == ("committed", 1_500_000, 2)
        assert (movement.total_cents, movement.committed_cents, movement.paid_cents) == (20_000_000, 1_500_000, 0)
        assert str(movement.dossier_id) == dossier["id"] and movement.actor == "committee"
        read = _read(world, envelope)
        assert (read["committed_cents"], read["available_cents"], read["version"]) == (1_500_000, 18_500_000, 2)
        assert _at(read["updated_at"]) > _at(envelope["updated_at"])

    def test_exactly_what_is_available_passes_and_a_cent_more_is_409(self, world: World) -> None:
        envelope = _demo(world, CAF)
        _rule(world, money.commit, **_money(envelope, 4_000_000))
        refused = _rule(world, money.commit, **_money(envelope, 1_000_001))
        assert isinstance(refused, Conflict)
        assert refused.code == "envelope_exceeded"
        assert refused.extra == {
            "envelope_id": envelope["id"], "total_cents": 5_000_000, "committed_cents": 4_000_000,
            "paid_cents": 0, "available_cents": 1_000_000, "amount_cents": 1_000_001,
        }
        assert refused.detail is not None
        assert refused.detail.fr == (
            "L'enveloppe ne peut couvrir 10\u202f000,01 € : total 50\u202f000,00 €, déjà engagé 40\u202f000,00 €, "
            "disponible 10\u202f000,00 €."
        )
        assert refused.detail.en.startswith("The envelope cannot cover €10,000.01: total €50,000.00")
        assert _read(world, envelope)["committed_cents"] == 4_000_000
        taken = _rule(world, money.commit, **_money(envelope, 1_000_000))
        assert taken.committed_cents == 5_000_000 and taken.total_cents - taken.committed_cents == 0
        assert [m["kind"] for m in _ledger(world, envelope, DESK)] == ["opened", "committed", "committed"]

    def test_no_envelope_for_that_year_is_409_envelope_missing(self, world: World) -> None:
        envelope = {**_demo(world, VILLE), "year": NEXT_YEAR}
        refused = _rule(world, money.commit, **_money(envelope, 100))
        assert isinstance(refused, Conflict) and refused.code == "envelope_missing"
        assert refused.extra == {"funder_id": VILLE, "programme_id": PROGRAMME_ID, "year": NEXT_YEAR}

    def test_a_funder_without_an_envelope_in_the_programme_is_409_envelope_missing(self, world: World) -> None:
        other = create_programme(world, funder_ids=[VILLE])
        refused = _rule(world, money.commit, **_money({**_demo(world, VILLE), "programme_id": other["id"]}, 1))
        assert isinstance(refused, Conflict) and refused.code == "envelope_missing"

    @pytest.mark.parametrize("amount", [0, -100])
    def test_a_commitment_is_a_positive_amount(self, world: World, amount: int) -> None:
        with pytest.raises(ValueError):
            _rule(world, money.commit, **_money(_demo(world, VILLE), amount))


class TestRelease:
    def test_a_release_gives_the_money_back(self, world: World) -> None:
        envelope = _demo(world, VILLE)
        _rule(world, money.commit, **_money(envelope, 3_000_000))
        movement = _rule(world, money.release, **_money(envelope, 1_000_000))
        assert (movement.kind, movement.amount_cents, movement.committed_cents) == ("released", -1_000_000, 2_000_000)
        assert _read(world, envelope)["available_cents"] == 18_000_000

    def test_never_below_zero(self, world: World) -> None:
        envelope = _demo(world, VILLE)
        _rule(world, money.commit, **_money(envelope, 100))
        refused = _rule(world, money.release, **_money(envelope, 101))
        assert isinstance(refused, Conflict) and refused.code == "envelope_release_exceeded"
        assert refused.extra["committed_cents"] == 100 and refused.extra["amount_cents"] == 101
        read = _read(world, envelope)
        assert (read["committed_cents"], read["version"]) == (100, 2)
        assert _rule(world, money.release, **_money(envelope, 100)).committed_cents == 0

    def test_a_dossier_releases_no_more_than_it_committed(self, world: World) -> None:
        envelope = _demo(world, VILLE)
        first, second = world.create_dossier(), world.create_dossier()
        _rule(world, money.commit, **_money(envelope, 1_000, first["id"]))
        _rule(world, money.commit, **_money(envelope, 5_000, second["id"]))
        refused = _rule(world, money.release, **_money(envelope, 1_001, first["id"]))
        assert isinstance(refused, Conflict) and refused.code == "envelope_release_exceeded"
        assert refused.extra["dossier_committed_cents"] == 1_000
        assert _read(world, envelope)["committed_cents"] == 6_000
        assert _rule(world, money.release, **_money(envelope, 1_000, first["id"])).committed_cents == 5_000
        again = _rule(world, money.release, **_money(envelope, 1, first["id"]))
        assert isinstance(again, Conflict) and again.extra["dossier_committed_cents"] == 0

    def test_no_envelope_is_409_envelope_missing(self, world: World) -> None:
        refused = _rule(world, money.release, **_money({**_demo(world, VILLE), "year": NEXT_YEAR}, 1))
        assert isinstance(refused, Conflict) and refused.code == "envelope_missing"

    def test_a_dossier_never_releases_what_it_was_paid(self, world: World) -> None:
        envelope = _demo(world, VILLE)
        dossier = world.create_dossier()
        _rule(world, money.commit, **_money(envelope, 1_000_000, dossier["id"]))
        _rule(world, money.pay, **_money(envelope, 700_000, dossier["id"]))
        before = _read(world, envelope)
        refused = _rule(world, money.release, **_money(envelope, 300_001, dossier["id"]))
        assert isinstance(refused, Conflict) and refused.code == "envelope_release_exceeded"
        assert (refused.extra["dossier_committed_cents"], refused.extra["dossier_paid_cents"]) == (1_000_000, 700_000)
        assert refused.detail is not None
        assert refused.detail.fr == "Le dossier n'a que 3\u202f000,00 € engagés et non versés sur cette enveloppe."
        assert refused.detail.en == "The dossier only has €3,000.00 committed and not paid on this envelope."
        assert _read(world, envelope) == before
        movement = _rule(world, money.release, **_money(envelope, 300_000, dossier["id"]))
        assert (movement.committed_cents, movement.paid_cents) == (700_000, 700_000)

    def test_a_release_for_no_dossier_never_goes_below_what_is_paid(self, world: World) -> None:
        envelope = _demo(world, VILLE)
        dossier = world.create_dossier()
        _rule(world, money.commit, **_money(envelope, 1_000, dossier["id"]))
        _rule(world, money.pay, **_money(envelope, 600, dossier["id"]))
        before = _read(world, envelope)
        # the conditional UPDATE refuses it with its 409 before the CHECK paid <= committed would fail
        refused = _rule(world, money.release, **_money(envelope, 401))
        assert isinstance(refused, Conflict) and refused.code == "envelope_release_exceeded"
        assert (refused.extra["committed_cents"], refused.extra["paid_cents"]) == (1_000, 600)
        assert "dossier_committed_cents" not in refused.extra
        assert refused.detail is not None
        assert refused.detail.en == "Only €4.00 committed and not paid can be released."
        assert _read(world, envelope) == before
        assert _rule(world, money.release, **_money(envelope, 400)).committed_cents == 600


class TestPay:
    def test_a_payment_moves_what_is_paid_and_writes_its_ledger_line(self, world: World) -> None:
        envelope = _demo(world, VILLE)
        dossier = world.create_dossier()
        _rule(world, money.commit, **_money(envelope, 1_200_000, dossier["id"]))
        movement = _rule(world, money.pay, **_money(envelope, 840_000, dossier["id"]))
        assert (movement.kind, movement.amount_cents, movement.sequence) == ("paid", 840_000, 3)
        assert (movement.total_cents, movement.committed_cents, movement.paid_cents) == (20_000_000, 1_200_000, 840_000)
        assert str(movement.dossier_id) == dossier["id"] and movement.actor == "committee"
        read = _read(world, envelope)
        # paying spends committed money: what is left to commit stays total − committed
        assert (read["committed_cents"], read["paid_cents"], read["available_cents"], read["version"]) == (
            1_200_000, 840_000, 18_800_000, 3,
        )
        assert _at(read["updated_at"]) > _at(envelope["updated_at"])
        ledger = _ledger(world, envelope)
        assert [(m["kind"], m["amount_cents"]) for m in ledger] == [
            ("opened", 20_000_000), ("committed", 1_200_000), ("paid", 840_000),
        ]
        last = ledger[-1]
        assert (last["sequence"], last["dossier_id"], last["actor"]) == (3, dossier["id"], "committee")
        assert (last["total_cents"], last["committed_cents"], last["paid_cents"], last["available_cents"]) == (
            20_000_000, 1_200_000, 840_000, 18_800_000,
        )
        assert read["paid_cents"] == sum(m["amount_cents"] for m in ledger if m["kind"] == "paid")
        commitments = [m["amount_cents"] for m in ledger if m["kind"] in ("committed", "released")]
        assert read["committed_cents"] == sum(commitments)

    def test_exactly_what_the_dossier_has_unpaid_passes_and_a_cent_more_is_409(self, world: World) -> None:
        envelope = _demo(world, CAF)
        dossier = world.create_dossier()
        _rule(world, money.commit, **_money(envelope, 1_000_000, dossier["id"]))
        _rule(world, money.pay, **_money(envelope, 700_000, dossier["id"]))
        before = _read(world, envelope)
        refused = _rule(world, money.pay, **_money(envelope, 300_001, dossier["id"]))
        assert isinstance(refused, Conflict) and refused.status == 409
        assert refused.code == "envelope_paid_exceeded"
        assert refused.extra == {
            "envelope_id": envelope["id"], "total_cents": 5_000_000, "committed_cents": 1_000_000,
            "paid_cents": 700_000, "available_cents": 4_000_000, "amount_cents": 300_001,
            "dossier_committed_cents": 1_000_000, "dossier_paid_cents": 700_000,
        }
        assert refused.detail is not None
        assert refused.detail.fr == (
            "Le dossier ne peut recevoir 3\u202f000,01 € : engagé pour lui 10\u202f000,00 €, déjà versé "
            "7\u202f000,00 €, reste à verser 3\u202f000,00 €."
        )
        assert refused.detail.en == (
            "The dossier cannot be paid €3,000.01: committed for it €10,000.00, already paid €7,000.00, "
            "left to pay €3,000.00."
        )
        assert _read(world, envelope) == before
        assert len(_ledger(world, envelope, DESK)) == 3
        taken = _rule(world, money.pay, **_money(envelope, 300_000, dossier["id"]))
        assert taken.paid_cents == taken.committed_cents == 1_000_000

    def test_a_dossier_is_paid_no_more_than_was_committed_for_it_whatever_the_envelope_holds(
        self, world: World
    ) -> None:
        envelope = _demo(world, VILLE)
        first, second, third = world.create_dossier(), world.create_dossier(), world.create_dossier()
        _rule(world, money.commit, **_money(envelope, 1_000, first["id"]))
        _rule(world, money.commit, **_money(envelope, 5_000, second["id"]))
        refused = _rule(world, money.pay, **_money(envelope, 1_001, first["id"]))
        assert isinstance(refused, Conflict) and refused.code == "envelope_paid_exceeded"
        assert (refused.extra["dossier_committed_cents"], refused.extra["dossier_paid_cents"]) == (1_000, 0)
        nothing = _rule(world, money.pay, **_money(envelope, 1, third["id"]))
        assert isinstance(nothing, Conflict) and nothing.code == "envelope_paid_exceeded"
        assert nothing.extra["dossier_committed_cents"] == 0
        read = _read(world, envelope)
        assert (read["paid_cents"], read["version"]) == (0, 3)
        assert _rule(world, money.pay, **_money(envelope, 5_000, second["id"])).paid_cents == 5_000
        assert _rule(world, money.pay, **_money(envelope, 1_000, first["id"])).paid_cents == 6_000

    def test_what_a_dossier_released_can_no_longer_be_paid(self, world: World) -> None:
        envelope = _demo(world, VILLE)
        dossier = world.create_dossier()
        _rule(world, money.commit, **_money(envelope, 1_000, dossier["id"]))
        _rule(world, money.release, **_money(envelope, 400, dossier["id"]))
        refused = _rule(world, money.pay, **_money(envelope, 601, dossier["id"]))
        assert isinstance(refused, Conflict) and refused.extra["dossier_committed_cents"] == 600
        assert _rule(world, money.pay, **_money(envelope, 600, dossier["id"])).paid_cents == 600

    def test_the_envelope_pays_no_more_than_it_has_committed(self, world: World) -> None:
        envelope = _demo(world, VILLE)
        dossier = world.create_dossier()
        _rule(world, money.commit, **_money(envelope, 1_000, dossier["id"]))
        # given back for no dossier: the dossier's ledger still shows 10 €, the envelope only 4 € committed
        _rule(world, money.release, **_money(envelope, 600))
        refused = _rule(world, money.pay, **_money(envelope, 500, dossier["id"]))
        assert isinstance(refused, Conflict) and refused.code == "envelope_paid_exceeded"
        assert (refused.extra["committed_cents"], refused.extra["paid_cents"], refused.extra["amount_cents"]) == (
            400, 0, 500,
        )
        assert "dossier_committed_cents" not in refused.extra
        assert refused.detail is not None
        assert refused.detail.fr == (
            "L'enveloppe ne peut verser 5,00 € : engagé 4,00 €, déjà versé 0,00 €, reste à verser 4,00 €."
        )
        assert refused.detail.en == (
            "The envelope cannot pay €5.00: committed €4.00, already paid €0.00, left to pay €4.00."
        )
        assert _read(world, envelope)["paid_cents"] == 0
        assert _rule(world, money.pay, **_money(envelope, 400, dossier["id"])).paid_cents == 400

    def test_no_envelope_is_409_envelope_missing(self, world: World) -> None:
        dossier = world.create_dossier()
        refused = _rule(world, money.pay, **_money({**_demo(world, VILLE), "year": NEXT_YEAR}, 1, dossier["id"]))
        assert isinstance(refused, Conflict) and refused.code == "envelope_missing"
        assert refused.extra == {"funder_id": VILLE, "programme_id": PROGRAMME_ID, "year": NEXT_YEAR}

    @pytest.mark.parametrize("amount", [0, -100])
    def test_a_payment_is_a_positive_amount(self, world: World, amount: int) -> None:
        envelope = _demo(world, VILLE)
        dossier = world.create_dossier()
        _rule(world, money.commit, **_money(envelope, 1_000, dossier["id"]))
        with pytest.raises(ValueError):
            _rule(world, money.pay, **_money(envelope, amount, dossier["id"]))
        assert _read(world, envelope)["paid_cents"] == 0
