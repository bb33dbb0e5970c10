"""`GET /decisions`: the funders' decisions in committee for their systems. A funder reads its own, the desk every
funder's or one's; the association never (its answer comes whole, with the notification). Narrowed by dossier,
outcome and change time; final once the session closes."""

from datetime import datetime, timedelta
from typing import Any

from services.funding.tests.committee_helpers import (
    CITY_MEMBER,
    decide,
    decision_url,
    item_of,
    ok,
    open_session,
    plan_session,
    ready,
    session_url,
)
from services.funding.tests.helpers import CAF, PREFECTURE, PROGRAMME_ID, VILLE
from services.funding.tests.test_agreements import PLAN
from tests.support.stack import problem
from tests.support.world import CITY_INSTRUCTOR, CITY_MANAGER, DESK, HOLDER, World

DECISIONS = "/api/v1/decisions"


def listed(world: World, email: str = DESK, **params: Any) -> list[dict[str, Any]]:
    return ok(world.as_("funding", email).get(DECISIONS, params=params))["items"]


def in_session(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """A dossier decided in an open session: the city and the State grant in full, the CAF nothing."""
    dossier = ready(world, plan=PLAN)
    present = [VILLE, PREFECTURE, CAF]
    session = ok(open_session(world, plan_session(world, [dossier], present), present))
    ok(decide(world, session, dossier, VILLE, 2_500_000), 201)
    ok(decide(world, session, dossier, PREFECTURE, 1_000_000), 201)
    ok(decide(world, session, dossier, CAF, 0), 201)
    return dossier, session


def test_a_funder_reads_its_own_the_desk_all_the_association_none(world: World) -> None:
    dossier, session = in_session(world)

    every = listed(world)
    assert sorted((row["funder_id"], row["outcome"], row["granted_amount_cents"]) for row in every) == sorted([
        (VILLE, "granted", 2_500_000), (PREFECTURE, "granted", 1_000_000), (CAF, "refused", 0)])
    city = next(row for row in every if row["funder_id"] == VILLE)
    assert (city["dossier_id"], city["reference"], city["programme_id"], city["session_id"]) == (
        dossier["id"], dossier["reference"], PROGRAMME_ID, session["id"])
    assert city["decided_by"] and city["final"] is False
    assert [row["funder_id"] for row in listed(world, funder_id=CAF)] == [CAF]

    # Every person of the city reads the city's decisions, and only them.
    for email in (CITY_INSTRUCTOR, CITY_MANAGER, CITY_MEMBER):
        assert [row["id"] for row in listed(world, email)] == [city["id"]]
    assert [row["id"] for row in listed(world, CITY_MANAGER, funder_id=VILLE)] == [city["id"]]
    other = world.as_("funding", CITY_MANAGER).get(DECISIONS, params={"funder_id": PREFECTURE})
    assert other.status_code == 403 and problem(other)["code"] == "not_your_funder"

    refused = world.as_("funding", HOLDER).get(DECISIONS)
    assert refused.status_code == 403, refused.text


def test_narrowed_by_dossier_outcome_and_change_final_once_closed(world: World) -> None:
    dossier, session = in_session(world)
    other, _ = in_session(world)

    assert {row["dossier_id"] for row in listed(world, dossier_id=dossier["id"])} == {dossier["id"]}
    assert {(row["dossier_id"], row["funder_id"]) for row in listed(world, outcome="refused")} == {
        (dossier["id"], CAF), (other["id"], CAF)}
    assert {row["funder_id"] for row in listed(world, outcome="granted", dossier_id=other["id"])} == {
        VILLE, PREFECTURE}

    # The city lowers its grant while the session is open: only that decision changed since.
    latest = max(datetime.fromisoformat(row["updated_at"]) for row in listed(world, limit=200))
    since = (latest + timedelta(microseconds=1)).isoformat()
    ok(world.as_("funding", CITY_MEMBER).put(decision_url(session, item_of(session, dossier)), json={
        "granted_amount_cents": 2_000_000}, headers={"If-Match": '"1"'}))
    [changed] = listed(world, updated_since=since)
    assert (changed["funder_id"], changed["dossier_id"], changed["granted_amount_cents"], changed["version"]) == (
        VILLE, dossier["id"], 2_000_000, 2)

    ok(world.as_("funding", DESK).post(f"{session_url(session)}/close", json={}))
    assert all(row["final"] for row in listed(world, dossier_id=dossier["id"]))
    assert not any(row["final"] for row in listed(world, dossier_id=other["id"]))


def test_a_deferred_item_takes_its_decisions_away(world: World) -> None:
    dossier, session = in_session(world)
    ok(world.as_("funding", DESK).post(f"{session_url(session)}/items/{item_of(session, dossier)['id']}/defer",
                                       json={"reason": "Budget à revoir."}))
    assert listed(world, dossier_id=dossier["id"]) == []


def test_a_malformed_filter_is_a_422_and_a_forged_cursor_a_400(world: World) -> None:
    for params in ({"outcome": "accepted"}, {"funder_id": "ville"}, {"dossier_id": "GU-2026-000001"},
                   {"updated_since": "2026-01-01"}, {"limit": "0"}):
        answer = world.as_("funding", DESK).get(DECISIONS, params=params)
        assert answer.status_code == 422 and problem(answer)["code"] == "validation_failed", (params, answer.text)
    forged = world.as_("funding", DESK).get(DECISIONS, params={"cursor": "bm90IGEgY3Vyc29y"})
    assert forged.status_code == 400 and problem(forged)["code"] == "invalid_cursor"


def test_a_citizen_council_reads_the_final_decisions_of_the_dossiers_it_gave_its_opinion_on(world: World) -> None:
    from services.funding.tests.test_opinions import CITIZEN, COUNCIL_OPINION, council_of, give

    dossier = ready(world, plan=PLAN)
    assert give(world, CITIZEN, dossier, COUNCIL_OPINION).status_code == 201
    present = [VILLE, PREFECTURE, CAF]
    session = ok(open_session(world, plan_session(world, [dossier], present), present))
    ok(decide(world, session, dossier, VILLE, 2_500_000), 201)
    ok(decide(world, session, dossier, PREFECTURE, 1_000_000), 201)
    ok(decide(world, session, dossier, CAF, 0), 201)
    other, other_session = in_session(world)  # the same QPV, but no opinion of the council on it
    ok(world.as_("funding", DESK).post(f"{session_url(other_session)}/close", json={}))

    # While its session is open, a decision may still change: the council reads none of it.
    assert listed(world, CITIZEN) == []
    ok(world.as_("funding", DESK).post(f"{session_url(session)}/close", json={}))
    seen = listed(world, CITIZEN)
    assert sorted((row["dossier_id"], row["funder_id"], row["granted_amount_cents"], row["final"]) for row in seen) == (
        sorted([(dossier["id"], VILLE, 2_500_000, True), (dossier["id"], PREFECTURE, 1_000_000, True),
                (dossier["id"], CAF, 0, True)]))
    assert other["id"] in {row["dossier_id"] for row in listed(world, DESK) if row["final"]} - {
        row["dossier_id"] for row in seen}
    # Naming a funder only narrows what it reads; naming another dossier gives nothing.
    assert [row["funder_id"] for row in listed(world, CITIZEN, funder_id=VILLE)] == [VILLE]
    assert listed(world, CITIZEN, dossier_id=other["id"]) == []
    assert listed(world, CITIZEN, outcome="refused")[0]["funder_id"] == CAF

    # Another council, which gave no opinion, reads nothing, whatever it names.
    maurepas = council_of(world, ["QN03504M"], "conseil@conseil-maurepas.example")
    for params in ({}, {"funder_id": VILLE}, {"dossier_id": dossier["id"]}):
        assert ok(maurepas.get(DECISIONS, params=params))["items"] == [], params
