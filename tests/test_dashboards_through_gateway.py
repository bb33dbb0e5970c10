"""The dashboards composed by the gateway — a funder's, a territory's, an association's home — from funding's
figures, projects' indicators and reference list, against the real processes on both databases."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy import create_engine, text

from common.db import connect_args_for, sync_url
from scripts.live_stack import LiveStack
from tests.support.world import CITY_MANAGER, DESK, HOLDER, org_id
from tests.test_committee_through_gateway import Desk, desk  # noqa: F401  (fixture)

TERRITORY = "/api/v1/dashboards/territory"
HOME = "/api/v1/dashboards/association"


def test_the_funder_dashboard_composes_funding_and_projects(desk: Desk, live: LiveStack) -> None:  # noqa: F811
    programmes = desk.json(CITY_MANAGER, "GET", "/api/v1/programmes", params={"track": "annual"})["items"]
    year = programmes[0]["year"]
    board = desk.json(CITY_MANAGER, "GET", "/api/v1/dashboards/funder", params={"year": year})
    assert board["year"] == year and board["figures"]["funder_id"] == org_id("ville")
    assert {line["programme_id"] for line in board["figures"]["envelopes"]} >= {programmes[0]["id"]}
    assert set(board["figures"]) >= {"dossiers_by_state", "decision_delays", "granted_by", "leverage"}
    # The indicators are those of the projects it granted money to that year.
    granted = desk.json(CITY_MANAGER, "GET", "/api/v1/stats/funder/projects", params={"year": year})["project_ids"]
    assert board["indicators"]["status"] == "ok", board["indicators"]
    if granted:  # the committee's story, when it ran before, granted the city money that year
        assert board["indicators"]["data"] == desk.json(
            CITY_MANAGER, "POST", "/api/v1/indicators/aggregates/search", params={"limit": 200},
            json={"project_ids": granted, "year": year})
    else:
        assert board["indicators"]["data"]["items"] == []
    # Funding's own refusal comes back as it said it; no token, no dashboard.
    unnamed = desk.call(DESK, "GET", "/api/v1/dashboards/funder", 422, params={"year": year})
    assert unnamed.headers["content-type"].startswith("application/problem+json")
    assert httpx.get(f"{live.url()}/api/v1/dashboards/funder", params={"year": year}).status_code == 401


def test_the_territory_dashboard_resolves_its_qpvs_then_composes(desk: Desk, live: LiveStack) -> None:  # noqa: F811
    year = desk.json(DESK, "GET", "/api/v1/programmes", params={"track": "annual"})["items"][0]["year"]
    rennes = sorted(q["code"] for q in desk.json(
        DESK, "GET", "/api/v1/referential/qpv", params={"insee_commune": "35238"})["items"])
    commune = desk.json(CITY_MANAGER, "GET", TERRITORY, params={"year": year, "insee_commune": "35238"})
    assert commune["scope"] == {"kind": "commune", "value": "35238", "qpv_codes": rennes} and rennes
    assert commune["figures"] == desk.json(CITY_MANAGER, "GET", "/api/v1/stats/territory",
                                           params={"year": year, "qpv": rennes})
    assert commune["indicators"]["status"] == "ok"
    metropole = desk.json(DESK, "GET", TERRITORY, params={"year": year, "epci": "Rennes Métropole"})
    assert set(metropole["scope"]["qpv_codes"]) >= set(rennes)
    everything = desk.json(DESK, "GET", TERRITORY, params={"year": year})
    assert everything["scope"] == {"kind": "all", "value": None, "qpv_codes": []}
    figures = everything["figures"]
    assert figures["granted_cents"] == sum(line["granted_cents"] for line in figures["granted_by"]["funder"])
    assert figures["granted_cents"] >= metropole["figures"]["granted_cents"] >= commune["figures"]["granted_cents"]
    one = desk.json(DESK, "GET", TERRITORY, params={"year": year, "qpv": "QN03505M"})
    assert one["scope"]["qpv_codes"] == ["QN03505M"] and one["figures"]["qpv_codes"] == ["QN03505M"]

    two = desk.call(DESK, "GET", TERRITORY, 422, params={"year": year, "qpv": "QN03505M", "epci": "Rennes Métropole"})
    assert two.headers["content-type"].startswith("application/problem+json")
    nowhere = desk.call(DESK, "GET", TERRITORY, 404, params={"year": year, "insee_commune": "75056"})
    assert nowhere.json()["code"] == "territory_not_found"
    # An association reads the same territory, without what rests on too few projects.
    shared = desk.json(HOLDER, "GET", TERRITORY, params={"year": year, "insee_commune": "35238"})
    assert shared["scope"] == commune["scope"]
    assert shared["indicators"]["status"] == "ok", shared["indicators"]
    assert all(row["suppressed"] or row["projects"] >= 3 for row in shared["indicators"]["data"]["items"])
    assert all(line["suppressed"] or line["projects"] >= 3 for line in shared["figures"]["granted_by"]["funder"])
    assert httpx.get(f"{live.url()}{TERRITORY}", params={"year": year}).status_code == 401


@contextmanager
def retired(live: LiveStack, backend: str, code: str) -> Iterator[None]:
    """A QPV retired in the live desk's projects database (as a re-import would), put back afterwards."""
    if backend == "sqlite":
        url, schema = f"sqlite:///{live.log_file.parent / 'projects.db'}", "projects"
    else:
        url, schema = os.environ["TEST_POSTGRES_URL"], "live_projects"
    engine = create_engine(sync_url(url), connect_args=connect_args_for(url, schema))
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE qpv SET retired_at = CURRENT_TIMESTAMP WHERE code = :code"), {"code": code})
        yield
    finally:
        with engine.begin() as connection:
            connection.execute(text("UPDATE qpv SET retired_at = NULL WHERE code = :code"), {"code": code})
        engine.dispose()


def test_a_territory_keeps_its_retired_qpvs(desk: Desk, live: LiveStack, backend: str) -> None:  # noqa: F811
    """A QPV a newer list dropped is no longer offered, but the money granted there is still the territory's."""
    year = desk.json(DESK, "GET", "/api/v1/programmes", params={"track": "annual"})["items"][0]["year"]
    before = desk.json(DESK, "GET", TERRITORY, params={"year": year, "insee_commune": "35238"})
    assert "QN03505M" in before["scope"]["qpv_codes"]
    with retired(live, backend, "QN03505M"):
        offered = desk.json(DESK, "GET", "/api/v1/referential/qpv", params={"insee_commune": "35238"})["items"]
        assert "QN03505M" not in {q["code"] for q in offered}
        commune = desk.json(DESK, "GET", TERRITORY, params={"year": year, "insee_commune": "35238"})
        assert commune["scope"] == before["scope"] and commune["figures"] == before["figures"]
        metropole = desk.json(DESK, "GET", TERRITORY, params={"year": year, "epci": "Rennes Métropole"})
        assert "QN03505M" in metropole["scope"]["qpv_codes"]


def test_the_association_home_composes_funding_and_projects(desk: Desk, live: LiveStack) -> None:  # noqa: F811
    board = desk.json(HOLDER, "GET", HOME)
    home = board["home"]
    assert home["organisation_id"] == org_id("blosne-avenir")
    mine = desk.json(HOLDER, "GET", "/api/v1/dossiers", params={"limit": 200})
    assert mine["next_cursor"] is None
    assert sum(home["dossiers_by_state"].values()) == len(mine["items"])
    assert set(home) >= {"due_next", "payments_expected"}
    assert board["projects"]["status"] == "ok"
    projects = desk.json(HOLDER, "GET", "/api/v1/projects", params={"limit": 20})["items"]
    assert [p["id"] for p in board["projects"]["data"]["items"]] == [p["id"] for p in projects]
    named = desk.json(DESK, "GET", HOME, params={"organisation_id": org_id("blosne-avenir")})
    assert named["home"]["dossiers_by_state"] == home["dossiers_by_state"]
    assert named["projects"]["status"] == "ok", named["projects"]  # the desk reads the association's projects
    assert named["projects"]["data"]["items"] == board["projects"]["data"]["items"]
    assert desk.call(DESK, "GET", HOME, 422).headers["content-type"].startswith("application/problem+json")
    assert desk.call(CITY_MANAGER, "GET", HOME, 403).json()["code"] == "forbidden"
    assert httpx.get(f"{live.url()}{HOME}").status_code == 401
