"""The funder's dashboard, composed by the gateway from funding's figures and projects' indicators, against the
real processes on both databases."""

import httpx

from scripts.live_stack import LiveStack
from tests.support.world import CITY_MANAGER, DESK, org_id
from tests.test_committee_through_gateway import Desk, desk  # noqa: F401  (fixture)


def test_the_funder_dashboard_composes_funding_and_projects(desk: Desk, live: LiveStack) -> None:  # noqa: F811
    programmes = desk.json(CITY_MANAGER, "GET", "/api/v1/programmes", params={"track": "annual"})["items"]
    year = programmes[0]["year"]
    board = desk.json(CITY_MANAGER, "GET", "/api/v1/dashboards/funder", params={"year": year})
    assert board["year"] == year and board["figures"]["funder_id"] == org_id("ville")
    assert {line["programme_id"] for line in board["figures"]["envelopes"]} >= {programmes[0]["id"]}
    assert set(board["figures"]) >= {"dossiers_by_state", "decision_delays", "granted_by", "leverage"}
    assert board["indicators"]["status"] == "ok" and "items" in board["indicators"]["data"]
    # Funding's own refusal comes back as it said it; no token, no dashboard.
    unnamed = desk.call(DESK, "GET", "/api/v1/dashboards/funder", 422, params={"year": year})
    assert unnamed.headers["content-type"].startswith("application/problem+json")
    assert httpx.get(f"{live.url()}/api/v1/dashboards/funder", params={"year": year}).status_code == 401
