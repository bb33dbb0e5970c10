"""A CPO's year committed while its funders cancel instalments of that year, all at once, on both databases: the
year's commit locks the held payments before the years (the order a payment's cancel takes), so no request waits
on another in a cycle (a PostgreSQL deadlock would be a 500), and the money adds up after: the integrity check
finds nothing to say."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from common.clock import FixedClock
from services.funding.tests.helpers import CAF, PREFECTURE, VILLE, create_programme, url_of
from services.funding.tests.test_cpo import MANAGER_OF, YEARS, at, granted_cpo, open_envelopes, payments_of
from services.funding.tests.test_integrity import report
from tests.support.stack import Api
from tests.support.world import DESK, World


def test_a_year_committed_while_its_instalments_are_cancelled(world: World, clock: FixedClock) -> None:
    programme = create_programme(world, title="CPO 2027-2029", track="cpo", year=2027,
                                 funder_ids=[VILLE, CAF, PREFECTURE], convention_threshold_cents=0)
    open_envelopes(world, programme)
    dossier = granted_cpo(world, programme)
    at(clock, 2028, 2)
    balances = [p for p in payments_of(world, dossier) if p["year"] == 2028 and p["condition"] == "after_review"]
    assert {p["funder_id"] for p in balances} == {VILLE, CAF, PREFECTURE}
    # Every caller's client is ready before the calls start together.
    calls: list[tuple[Api, str, str, dict[str, Any]]] = [
        (world.as_("funding", DESK), "post", f"{url_of(dossier)}/cpo/years/2028/commit", {})]
    calls += [(world.as_("funding", MANAGER_OF[p["funder_id"]]), "post", f"/api/v1/payments/{p['id']}/cancel",
               {"reason": "Action réduite."}) for p in balances]
    with ThreadPoolExecutor(len(calls)) as pool:
        answers = list(pool.map(lambda call: getattr(call[0], call[1])(call[2], json=call[3]), calls))
    assert [a.status_code for a in answers] == [200] * len(calls), [a.text for a in answers]
    assert {p["state"] for p in payments_of(world, dossier) if p["id"] in {b["id"] for b in balances}} == {
        "cancelled"}
    for funder in (VILLE, CAF, PREFECTURE):
        for year in YEARS:
            found = report(world, funder, year)
            assert found["ok"], (funder, year, found["differences"])
