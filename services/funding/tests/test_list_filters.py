"""The lists after the committee (agreements, payments, financial reports, grants, the funders' decisions) narrowed
as a partner needs: the dossier's programme, its track and year, a QPV or a priority of the project as submitted;
each filter keeps what matches and only that, across pages of a cursor."""

import uuid
from typing import Any

import pytest

from services.funding.tests.committee_helpers import decide, ok, open_session, plan_session, ready, session_url
from services.funding.tests.helpers import CAF, PREFECTURE, PROGRAMME_ID, VILLE
from services.funding.tests.test_agreements import PLAN
from tests.support.clock import TODAY
from tests.support.stack import problem
from tests.support.world import DESK, World

# Each list, and what a row of it says of its dossier.
LISTS = {
    "agreements": "/api/v1/agreements",
    "payments": "/api/v1/payments",
    "financial-reports": "/api/v1/financial-reports",
    "grants": "/api/v1/grants",
    "decisions": "/api/v1/decisions",
}
# The second project: another QPV, another priority.
MAUREPAS: dict[str, Any] = {"qpv_codes": ["QN03504M"], "priorities": ["economic_development"]}


def decided_pair(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two dossiers of the demo programme through one closed session (the city and the State grant in full, the
    CAF nothing): the Blosne's (QN03505M; social cohesion, youth) and the Maurepas' (QN03504M; economic
    development)."""
    blosne = ready(world, plan=PLAN)
    maurepas = ready(world, plan=PLAN, documents=False, project=world.create_project(**MAUREPAS))
    present = [VILLE, PREFECTURE, CAF]
    session = ok(open_session(world, plan_session(world, [blosne, maurepas], present), present))
    for dossier in (blosne, maurepas):
        ok(decide(world, session, dossier, VILLE, 2_500_000), 201)
        ok(decide(world, session, dossier, PREFECTURE, 1_000_000), 201)
        ok(decide(world, session, dossier, CAF, 0), 201)
    ok(world.as_("funding", DESK).post(f"{session_url(session)}/close", json={}))
    return blosne, maurepas


def walk(world: World, url: str, email: str = DESK, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every row of the list, a page of one row at a time, and how many pages it took."""
    rows: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        page = ok(world.as_("funding", email).get(url, params={**params, "limit": 1,
                                                                **({"cursor": cursor} if cursor else {})}))
        rows += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return rows, pages
        assert pages < 50, "pagination does not end"


def dossiers_of(world: World, url: str, **params: Any) -> dict[str, int]:
    """How many rows of the list hang off each dossier."""
    counts: dict[str, int] = {}
    for row in walk(world, url, **params)[0]:
        counts[row["dossier_id"]] = counts.get(row["dossier_id"], 0) + 1
    return counts


@pytest.mark.parametrize("name", sorted(LISTS))
def test_each_dossier_filter_keeps_what_matches_across_pages(world: World, name: str) -> None:
    url = LISTS[name]
    blosne, maurepas = (dossier["id"] for dossier in decided_pair(world))
    everything = dossiers_of(world, url)
    assert set(everything) == {blosne, maurepas} and everything[blosne] >= 2, everything
    only_blosne, only_maurepas = {blosne: everything[blosne]}, {maurepas: everything[maurepas]}

    # Paged one row at a time, the filter holds on every page and nothing is lost between pages.
    rows, pages = walk(world, url, qpv="QN03505M")
    assert pages >= 2 and {row["dossier_id"] for row in rows} == {blosne}
    assert len(rows) == len({row["id"] for row in rows}) == everything[blosne]

    assert dossiers_of(world, url, qpv="QN03504M") == only_maurepas
    assert dossiers_of(world, url, qpv="QN03506I") == {}
    assert dossiers_of(world, url, priority="youth") == only_blosne
    assert dossiers_of(world, url, priority="economic_development") == only_maurepas
    assert dossiers_of(world, url, track="annual") == everything
    assert dossiers_of(world, url, track="seed") == {}
    assert dossiers_of(world, url, programme_id=PROGRAMME_ID) == everything
    assert dossiers_of(world, url, programme_id=str(uuid.uuid4())) == {}
    # The demo programme is this year's; so are the grants, their payments and reports (one year each).
    assert dossiers_of(world, url, year=TODAY.year) == everything
    assert dossiers_of(world, url, year=TODAY.year + 1) == {}
    assert dossiers_of(world, url, track="annual", priority="economic_development",
                       year=TODAY.year) == only_maurepas


@pytest.mark.parametrize("name", sorted(LISTS))
@pytest.mark.parametrize("params", [
    {"qpv": "QN0"}, {"qpv": "qn03505m"}, {"priority": "Not A Code"}, {"track": "other"}, {"year": "1990"},
    {"year": "deux-mille"}, {"programme_id": "GU-2026-000001"},
], ids=str)
def test_a_malformed_filter_is_a_422(world: World, name: str, params: dict[str, str]) -> None:
    answer = world.as_("funding", DESK).get(LISTS[name], params=params)
    assert answer.status_code == 422, answer.text
    details = problem(answer)
    assert details["code"] == "validation_failed"
    assert [error["field"] for error in details["errors"]] == [f"query.{next(iter(params))}"]
