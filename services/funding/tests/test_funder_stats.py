"""A funder's year in figures, each computed by the database: envelopes, dossiers by state, the delay from a
complete file to the decision (median and 90th percentile by track), where the money goes, the leverage."""

from datetime import timedelta

from common.clock import FixedClock
from services.funding.tests.committee_helpers import (
    CITY_MEMBER,
    COMMITTEE_MEMBER,
    decide,
    ok,
    open_session,
    plan_session,
    ready,
    session_url,
)
from services.funding.tests.helpers import PREFECTURE, PROGRAMME_ID, VILLE
from tests.support.stack import problem
from tests.support.world import CITY_MANAGER, DESK, World

STATS = "/api/v1/stats/funder"
PLAN = [{"funder_id": VILLE, "amount_cents": 1_000_000}, {"funder_id": PREFECTURE, "amount_cents": 500_000}]


def test_a_funder_s_year(world: World, clock: FixedClock) -> None:
    start = clock.now()
    first = ready(world, plan=PLAN)
    clock.at = start + timedelta(days=20)
    second = ready(world, plan=PLAN, documents=False)
    clock.at = start + timedelta(days=25)
    third = ready(world, plan=PLAN, documents=False)
    clock.at = start + timedelta(days=30)
    both = [VILLE, PREFECTURE]
    session = ok(open_session(world, plan_session(world, [first, second, third], both), both))
    for dossier in (first, second, third):
        ok(decide(world, session, dossier, VILLE, 1_000_000, email=CITY_MEMBER), 201)
        ok(decide(world, session, dossier, PREFECTURE, 400_000, email=COMMITTEE_MEMBER), 201)
    ok(world.as_("funding", DESK).post(f"{session_url(session)}/close", json={}))
    year = ok(world.as_("funding", CITY_MANAGER).get(f"/api/v1/programmes/{PROGRAMME_ID}"))["year"]

    figures = ok(world.as_("funding", CITY_MANAGER).get(STATS, params={"year": year}))
    [envelope] = figures["envelopes"]
    assert (envelope["committed_cents"], envelope["available_cents"]) == (
        3_000_000, envelope["total_cents"] - 3_000_000)
    assert figures["dossiers_by_state"] == {"decided": 3}
    # Delays of 30, 10 and 5 days: the median is 10, the 90th percentile 30.
    assert figures["decision_delays"] == [{"track": "annual", "decided": 3, "median_days": 10.0, "p90_days": 30.0}]
    assert figures["granted_by"]["qpv"] == [{"value": "QN03505M", "grants": 3, "granted_cents": 3_000_000}]
    assert {line["value"] for line in figures["granted_by"]["priority"]} == {"social_cohesion", "youth"}
    assert figures["granted_by"]["track"] == [{"value": "annual", "grants": 3, "granted_cents": 3_000_000}]
    assert sum(line["grants"] for line in figures["granted_by"]["association_size"]) == 3
    assert figures["leverage"] == {"granted_cents": 3_000_000, "others_granted_cents": 1_200_000, "per_euro": 0.4}
    assert ok(world.as_("funding", CITY_MANAGER).get(STATS, params={"year": year + 1}))["dossiers_by_state"] == {}
    # Whose indicators its dashboard shows: the projects it granted money to that year, each once.
    projects = ok(world.as_("funding", CITY_MANAGER).get(f"{STATS}/projects", params={"year": year}))
    assert projects["project_ids"] == sorted({d["project_id"] for d in (first, second, third)})
    assert ok(world.as_("funding", DESK).get(f"{STATS}/projects", params={"year": year + 1, "funder_id": VILLE}))[
        "project_ids"] == []


def test_a_funder_sees_its_own_the_desk_names_one(world: World) -> None:
    mine = world.as_("funding", CITY_MANAGER).get(STATS, params={"year": 2027, "funder_id": PREFECTURE})
    assert mine.status_code == 403 and problem(mine)["code"] == "not_your_funder"
    unnamed = world.as_("funding", DESK).get(STATS, params={"year": 2027})
    assert unnamed.status_code == 422
    assert ok(world.as_("funding", DESK).get(STATS, params={"year": 2027, "funder_id": VILLE}))["funder_id"] == VILLE
    assert world.as_("funding", "presidence@blosne-avenir.example").get(STATS, params={"year": 2027}).status_code == 403
    theirs = world.as_("funding", CITY_MANAGER).get(f"{STATS}/projects", params={"year": 2027, "funder_id": PREFECTURE})
    assert theirs.status_code == 403 and problem(theirs)["code"] == "not_your_funder"
    assert world.as_("funding", DESK).get(f"{STATS}/projects", params={"year": 2027}).status_code == 422
