"""Forty committee decisions of 100 € at once against an envelope of 1,000 €, through the API, on both databases:
exactly ten go through, the thirty others get a clear 409, and the ledger adds up to what was granted."""

from collections import Counter

from services.funding.tests.committee_helpers import (
    CITY_MEMBER,
    decision_url,
    envelope_of,
    ok,
    open_session,
    plan_session,
    ready,
)
from services.funding.tests.helpers import PREFECTURE, VILLE, at_once
from tests.support.stack import problem
from tests.support.world import CITY_MANAGER, World

CALLS = 40
HUNDRED_EUROS = 10_000
THOUSAND_EUROS = 100_000


def test_forty_decisions_of_100_euros_on_1000_euros_grant_exactly_ten(world: World) -> None:
    world.provide_required_documents()
    dossiers = [ready(world, plan=[{"funder_id": VILLE, "amount_cents": HUNDRED_EUROS}], documents=False)
                for _ in range(CALLS)]
    envelope = envelope_of(world, CITY_MANAGER)
    manager = world.as_("funding", CITY_MANAGER)
    ok(manager.patch(f"/api/v1/envelopes/{envelope['id']}", json={"total_cents": THOUSAND_EUROS},
                     headers={"If-Match": f'"{envelope["version"]}"'}))
    session = ok(open_session(world, plan_session(world, dossiers, [VILLE, PREFECTURE]), [VILLE, PREFECTURE]))

    member = world.as_("funding", CITY_MEMBER)
    answers = at_once(member, [
        ("PUT", decision_url(session, item), {"json": {"granted_amount_cents": HUNDRED_EUROS}})
        for item in session["items"]
    ])

    assert Counter(answer.status_code for answer in answers) == {201: 10, 409: 30}, [a.text for a in answers]
    refusals = [problem(answer) for answer in answers if answer.status_code == 409]
    assert {p["code"] for p in refusals} == {"envelope_exceeded"}
    assert all(p["amount_cents"] == HUNDRED_EUROS and p["available_cents"] < HUNDRED_EUROS for p in refusals)
    after = envelope_of(world, CITY_MANAGER)
    assert (after["total_cents"], after["committed_cents"], after["available_cents"]) == (THOUSAND_EUROS,) * 2 + (0,)
    ledger = ok(manager.get(f"/api/v1/envelopes/{envelope['id']}/ledger", params={"limit": 100}))["items"]
    commitments = [m for m in ledger if m["kind"] in ("committed", "released")]
    assert [m["amount_cents"] for m in commitments] == [HUNDRED_EUROS] * 10
    assert sum(m["amount_cents"] for m in commitments) == after["committed_cents"]
    # Each decision that went through is the one its dossier's commitment belongs to; the others wrote nothing.
    granted = {answer.json()["dossier_id"] for answer in answers if answer.status_code == 201}
    assert {m["dossier_id"] for m in commitments} == granted
    decided = ok(member.get(f"/api/v1/sessions/{session['id']}"))["items"]
    assert sum(len(item["decisions"]) for item in decided) == 10
