"""/api/v1/referential/qpv and /api/v1/referential/priorities: the lists the migrations loaded."""

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support.stack import QPV_SAMPLE, REPO, problem
from tests.support.world import CITIZEN, CITY_INSTRUCTOR, DESK, HOLDER, PLATFORM, PROJECT, World

QPV = "/api/v1/referential/qpv"
PRIORITIES = "/api/v1/referential/priorities"
# The frozen sample the reference migration loads: what the API must give back, field for field.
SAMPLE = json.loads(Path(REPO / "migrations" / "projects" / "data" / "reference_sample_2024.json").read_text("utf-8"))
# The QPV sample the test stack imports after the migrations (Rennes' five again, and other cities'), read with csv.
with QPV_SAMPLE.open(encoding="utf-8-sig", newline="") as _handle:
    SAMPLE_QPV_CODES = {row["code_qp"] for row in csv.DictReader(_handle, delimiter=";")}


class TestListQpv:
    def test_anonymous_caller_gets_401(self, world: World) -> None:
        response = world.projects.get(QPV)
        assert response.status_code == 401
        assert problem(response)["code"] == "unauthorized"

    def test_gives_the_sample_qpvs_sorted_by_code(self, world: World) -> None:
        response = world.as_("projects", HOLDER).get(QPV)
        assert response.status_code == 200
        body = response.json()
        assert body["next_cursor"] is None
        codes = [item["code"] for item in body["items"]]
        assert codes == sorted(SAMPLE_QPV_CODES)
        rennes = [item for item in body["items"] if item["code"] in {q["code"] for q in SAMPLE["qpv"]}]
        assert rennes == [
            {**q, "communes": [{"insee_code": "35238", "name": "Rennes"}], "retired": False, "retired_at": None}
            for q in sorted(SAMPLE["qpv"], key=lambda qpv: qpv["code"])
        ]

    @pytest.mark.parametrize("email", [CITY_INSTRUCTOR, DESK, CITIZEN, PLATFORM])
    def test_every_role_reads_it(self, world: World, email: str) -> None:
        response = world.as_("projects", email).get(QPV)
        assert response.status_code == 200
        assert {qpv["code"] for qpv in response.json()["items"]} == SAMPLE_QPV_CODES

    def test_department_filter(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        ille_et_vilaine = api.get(QPV, params={"department": "035"})
        assert ille_et_vilaine.status_code == 200
        assert [q["code"] for q in ille_et_vilaine.json()["items"]] == sorted(
            q["code"] for q in SAMPLE["qpv"] if q["department"] == "035"
        )
        paris = api.get(QPV, params={"department": "075"})
        assert paris.status_code == 200
        assert paris.json()["items"] == []

    def test_a_commune_s_or_an_epci_s_qpvs(self, world: World) -> None:
        api = world.as_("projects", DESK)
        for params, wanted in (({"insee_commune": "35238"}, {"insee_commune": "35238"}),
                               ({"epci": "rennes métropole"}, {"epci": "Rennes Métropole"})):
            response = api.get(QPV, params=params)
            assert response.status_code == 200, response.text
            expected = sorted(q["code"] for q in SAMPLE["qpv"] if all(q[k] == v for k, v in wanted.items()))
            assert expected and [q["code"] for q in response.json()["items"]] == expected
        assert api.get(QPV, params={"insee_commune": "75056"}).json()["items"] == []
        for params in ({"insee_commune": "3523"}, {"insee_commune": "99123"}, {"epci": "Rennes\x00"}):
            response = api.get(QPV, params=params)
            assert response.status_code == 422 and problem(response)["code"] == "validation_failed", params

    def test_department_filter_for_corsica_takes_the_code_s_three_characters(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        corse_du_sud = api.get(QPV, params={"department": "02A"})
        assert corse_du_sud.status_code == 200, corse_du_sud.text
        items = corse_du_sud.json()["items"]
        assert [(q["code"], q["department"], q["insee_commune"], q["commune"]) for q in items] == [
            ("QN02A02M", "02A", "2A004", "Ajaccio")
        ]
        haute_corse = api.get(QPV, params={"department": "02B"})
        assert haute_corse.status_code == 200
        assert [(q["code"], q["insee_commune"], q["commune"]) for q in haute_corse.json()["items"]] == [
            ("QN02B01M", "2B033", "Bastia")
        ]

    @pytest.mark.parametrize("department", ["35", "0355", "2A", "02a", "02C", "2AB", "abc", "\u0660\u0663\u0665"])
    def test_a_malformed_department_is_422(self, world: World, department: str) -> None:
        response = world.as_("projects", HOLDER).get(QPV, params={"department": department})
        assert response.status_code == 422
        assert problem(response)["code"] == "validation_failed"

    def test_the_listed_codes_are_the_ones_projects_accept(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        codes = [q["code"] for q in api.get(QPV).json()["items"]]
        project = world.create_project(qpv_codes=codes)
        assert project["qpv_codes"] == codes


RETIRED = "QN03506I"  # Cleunay, as if a newer national list no longer had it
RETIRED_AT = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def retired_cleunay(world: World) -> Iterator[str]:
    """Cleunay retired as a re-import would (the import's own tests cover how), put back afterwards."""
    engine = world.stack.reset_engines["projects"]
    stamp = RETIRED_AT if engine.dialect.name != "sqlite" else RETIRED_AT.replace(tzinfo=None)
    with engine.begin() as connection:
        connection.execute(text("UPDATE qpv SET retired_at = :at WHERE code = :code"), {"at": stamp, "code": RETIRED})
    yield RETIRED
    with engine.begin() as connection:
        connection.execute(text("UPDATE qpv SET retired_at = NULL WHERE code = :code"), {"code": RETIRED})


class TestRetiredQpv:
    def test_the_list_leaves_it_out_unless_asked_and_then_flags_it(self, world: World, retired_cleunay: str) -> None:
        api = world.as_("projects", DESK)
        assert retired_cleunay not in {q["code"] for q in api.get(QPV).json()["items"]}
        assert api.get(QPV, params={"q": "cleunay"}).json()["items"] == []
        everything = api.get(QPV, params={"include_retired": "true"}).json()["items"]
        assert {q["code"] for q in everything} == SAMPLE_QPV_CODES
        flagged = [(q["code"], q["retired"], q["retired_at"]) for q in everything if q["retired"]]
        assert flagged == [(retired_cleunay, True, "2027-02-01T08:00:00Z")]

    def test_a_new_project_cannot_choose_it(self, world: World, retired_cleunay: str) -> None:
        response = world.as_("projects", HOLDER).post(
            "/api/v1/projects", json={**PROJECT, "qpv_codes": ["QN03505M", retired_cleunay]}
        )
        assert response.status_code == 422, response.text
        details = problem(response)
        assert details["code"] == "retired_reference"
        assert details["errors"] == [
            {"field": "body.qpv_codes", "message": f"QPV retiré(s) de la liste nationale : {retired_cleunay}."}
        ]
        assert world.as_("projects", HOLDER).get("/api/v1/projects", params={"qpv": "QN03505M"}).json()[
            "items"] == []

    def test_a_project_that_had_it_keeps_it_but_none_adds_it(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        had_it = world.create_project(qpv_codes=[RETIRED])
        other = world.create_project(qpv_codes=["QN03505M"])
        engine = world.stack.reset_engines["projects"]
        stamp = RETIRED_AT if engine.dialect.name != "sqlite" else RETIRED_AT.replace(tzinfo=None)
        with engine.begin() as connection:
            connection.execute(text("UPDATE qpv SET retired_at = :at WHERE code = :code"),
                               {"at": stamp, "code": RETIRED})
        try:
            read = api.get(f"/api/v1/projects/{had_it['id']}")
            assert read.json()["qpv_codes"] == [RETIRED]
            kept = api.patch(f"/api/v1/projects/{had_it['id']}", headers={"If-Match": read.headers["etag"]},
                             json={"title": "Toujours à Cleunay", "qpv_codes": [RETIRED, "QN03505M"]})
            assert kept.status_code == 200, kept.text
            assert kept.json()["qpv_codes"] == ["QN03505M", RETIRED]
            etag = api.get(f"/api/v1/projects/{other['id']}").headers["etag"]
            added = api.patch(f"/api/v1/projects/{other['id']}", headers={"If-Match": etag},
                              json={"qpv_codes": ["QN03505M", RETIRED]})
            assert added.status_code == 422 and problem(added)["code"] == "retired_reference"
            assert api.get(f"/api/v1/projects/{other['id']}").json()["qpv_codes"] == ["QN03505M"]
        finally:
            with engine.begin() as connection:
                connection.execute(text("UPDATE qpv SET retired_at = NULL WHERE code = :code"), {"code": RETIRED})


class TestListPriorities:
    def test_anonymous_caller_gets_401(self, world: World) -> None:
        assert world.projects.get(PRIORITIES).status_code == 401

    def test_gives_the_seven_priorities_pillars_first(self, world: World) -> None:
        response = world.as_("projects", HOLDER).get(PRIORITIES)
        assert response.status_code == 200
        body = response.json()
        assert body["next_cursor"] is None
        items = body["items"]
        assert len(items) == 7
        assert sorted(items, key=lambda p: p["code"]) == sorted(SAMPLE["priorities"], key=lambda p: p["code"])
        kinds = [p["kind"] for p in items]
        assert kinds == ["pillar"] * 3 + ["cross_cutting"] * 4
        for kind in ("pillar", "cross_cutting"):
            codes = [p["code"] for p in items if p["kind"] == kind]
            assert codes == sorted(codes)

    def test_labels_come_in_french_and_english(self, world: World) -> None:
        items = world.as_("projects", CITY_INSTRUCTOR).get(PRIORITIES).json()["items"]
        youth = next(p for p in items if p["code"] == "youth")
        assert youth["label_fr"] == "Jeunesse"
        assert youth["label_en"] == "Youth"

    def test_the_listed_codes_are_the_ones_projects_accept(self, world: World) -> None:
        codes = [p["code"] for p in world.as_("projects", HOLDER).get(PRIORITIES).json()["items"]]
        assert world.create_project(priorities=codes)["priorities"] == sorted(codes)


class TestQpvSearch:
    @pytest.mark.parametrize(
        ("q", "codes"),
        [
            ("blosne", {"QN03505M"}),  # by name, any case
            ("QN02A", {"QN02A02M"}),  # a Corsican code
            ("ajaccio", {"QN02A02M"}),
            ("QN0350", {"QN03504M", "QN03505M", "QN03502M", "QN03503I", "QN03506I"}),  # by code
            ("rennes", {"QN03504M", "QN03505M", "QN03502M", "QN03503I", "QN03506I"}),  # commune and EPCI
            ("Rennes Métropole", {"QN03504M", "QN03505M", "QN03502M", "QN03503I", "QN03506I"}),  # by EPCI
            ("zz", set()),
            ("%_", set()),  # wildcards are taken literally
        ],
    )
    def test_search_by_code_name_commune_or_epci(self, world: World, q: str, codes: set[str]) -> None:
        response = world.as_("projects", HOLDER).get("/api/v1/referential/qpv", params={"q": q})
        assert response.status_code == 200, response.text
        assert {item["code"] for item in response.json()["items"]} == codes

    @pytest.mark.parametrize("q", ["x", "y" * 101])
    def test_a_search_too_short_or_too_long_is_422(self, world: World, q: str) -> None:
        response = world.as_("projects", HOLDER).get("/api/v1/referential/qpv", params={"q": q})
        assert problem(response)["status"] == 422
