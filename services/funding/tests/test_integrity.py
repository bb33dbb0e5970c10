"""The integrity check (GET /integrity): quiet on a funder's year as the desk keeps it, and it names each
difference when a fact is changed behind the desk's back (an envelope's balance, a grant's amount, an open-data
row); the desk's only."""

import uuid
from typing import Any

from sqlalchemy import text, update
from sqlmodel import col

from services.funding.models.agreement import Grant, GrantYear, Payment
from services.funding.tests.committee_helpers import decide, ok, open_session, plan_session, ready, session_url
from services.funding.tests.helpers import PREFECTURE, PROGRAMME_ID, VILLE
from services.funding.tests.test_agreements import STATE_MANAGER, agreements_of, decided
from services.funding.tests.test_exports import grant_year
from tests.support.stack import problem
from tests.support.world import CITY_MANAGER, DESK, HOLDER, World

INTEGRITY = "/api/v1/integrity"


def report(world: World, funder: str, year: int) -> dict[str, Any]:
    return ok(world.as_("funding", DESK).get(INTEGRITY, params={"funder_id": funder, "year": year}))


def behind_the_desk(world: World, statement: Any) -> None:
    """A fact changed in the database itself, as a faulty script or a hand in psql would."""

    async def change() -> None:
        async with world.stack.apps["funding"].state.db.transaction() as session:
            await session.execute(text(statement) if isinstance(statement, str) else statement)

    world.stack.run(change)


def checks(found: dict[str, Any]) -> set[str]:
    return {difference["check"] for difference in found["differences"]}


def test_a_year_kept_by_the_desk_has_nothing_to_say(world: World) -> None:
    dossier = decided(world)
    letter = agreements_of(world, dossier)[PREFECTURE]
    ok(world.as_("funding", STATE_MANAGER).post(f"/api/v1/agreements/{letter['id']}/send"))
    year = grant_year(world, dossier)
    for funder in (VILLE, PREFECTURE):
        found = report(world, funder, year)
        assert (found["ok"], found["differences"]) == (True, []), found
        assert found["grants"] == 1 and found["envelopes"] >= 1
    assert report(world, PREFECTURE, year)["open_data_rows"] == 1  # the State's letter, sent


def test_a_decision_in_a_session_still_open_is_committed_without_a_grant_yet(world: World) -> None:
    dossier = ready(world, plan=[{"funder_id": VILLE, "amount_cents": 500_000}])
    session = ok(open_session(world, plan_session(world, [dossier], [VILLE, PREFECTURE]), [VILLE, PREFECTURE]))
    ok(decide(world, session, dossier, VILLE, 400_000), 201)
    year = ok(world.as_("funding", DESK).get(f"/api/v1/programmes/{PROGRAMME_ID}"))["year"]
    found = report(world, VILLE, year)
    assert (found["ok"], found["grants"]) == (True, 0), found  # committed on the envelope, granted at the close
    ok(world.as_("funding", DESK).post(f"{session_url(session)}/close", json={}))
    found = report(world, VILLE, year)
    assert (found["ok"], found["grants"]) == (True, 1), found


def test_each_fact_changed_behind_the_desk_is_named(world: World) -> None:
    dossier = decided(world)
    letter = agreements_of(world, dossier)[PREFECTURE]
    ok(world.as_("funding", STATE_MANAGER).post(f"/api/v1/agreements/{letter['id']}/send"))
    year = grant_year(world, dossier)
    behind_the_desk(world, update(Grant).where(col(Grant.funder_id) == uuid.UUID(VILLE))
                    .values(amount_cents=col(Grant.amount_cents) + 100))
    city = report(world, VILLE, year)
    assert not city["ok"]
    # The envelope is recomputed from the grant's years, which no longer add up to the grant.
    assert checks(city) == {"grant_years", "decisions_grants", "payment_schedule"}, city
    [decision] = [d for d in city["differences"] if d["check"] == "decisions_grants"]
    assert (decision["expected"], decision["found"]) == (2_500_000, 2_500_100)
    behind_the_desk(world, "DELETE FROM open_data_rows")
    state = report(world, PREFECTURE, year)
    assert checks(state) == {"open_data_rows"}
    assert state["differences"][0]["expected"] == 1_000_000 and state["differences"][0]["found"] == "aucune ligne"


def test_a_grant_year_holding_more_than_its_envelope_committed_is_named(world: World) -> None:
    dossier = decided(world)
    year = grant_year(world, dossier)
    behind_the_desk(world, update(GrantYear).where(col(GrantYear.funder_id) == uuid.UUID(VILLE))
                    .values(committed_cents=col(GrantYear.committed_cents) + 1))
    city = report(world, VILLE, year)
    assert checks(city) == {"grant_years"}, city
    [difference] = city["differences"]
    assert (difference["expected"], difference["found"]) == (2_500_000, 2_500_001)


def test_a_payment_held_back_in_a_committed_year_is_named(world: World) -> None:
    dossier = decided(world)
    year = grant_year(world, dossier)
    behind_the_desk(world, update(Payment).where(col(Payment.funder_id) == uuid.UUID(VILLE))
                    .values(budget_pending=True))
    city = report(world, VILLE, year)
    assert checks(city) == {"grant_years"}, city
    assert city["differences"][0]["expected"] == f"{year} : committed"


def test_an_envelope_whose_balance_left_its_ledger_is_named(world: World) -> None:
    dossier = decided(world)
    year = grant_year(world, dossier)
    behind_the_desk(world, "UPDATE envelopes SET paid_cents = paid_cents + 1, committed_cents = committed_cents + 1")
    assert {"ledger_balances", "envelope_commitments", "envelope_payments"} <= checks(report(world, VILLE, year))


def test_only_the_desk_reads_it_and_a_bad_query_writes_nothing(world: World) -> None:
    for email in (CITY_MANAGER, HOLDER):
        refused = world.as_("funding", email).get(INTEGRITY, params={"funder_id": VILLE, "year": 2027})
        assert refused.status_code == 403 and problem(refused)["code"] == "forbidden"
    for params in ({"funder_id": VILLE}, {"funder_id": "x", "year": 2027}, {"funder_id": VILLE, "year": 1999}):
        answer = world.as_("funding", DESK).get(INTEGRITY, params=params)
        assert answer.status_code == 422 and problem(answer)["code"] == "validation_failed", params
