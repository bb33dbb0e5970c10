"""A peer that hangs (projects paused, as seen from funding) while submissions wait on it: funding's other writes and
reads go on, because no submission holds funding's write lock or a pooled connection across its calls."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from tests.faults.desk import FaultDesk, wait_until
from tests.faults.filings import Filer
from tests.faults.ledger import assert_submitted_once
from tests.support.clock import TODAY
from tests.support.world import DESK, HOLDER, org_id

# More submissions than funding's pool holds connections (2 + 1 in the live environment): on PostgreSQL, had each
# kept its connection while it waited, the read below would have found none.
HUNG = 10


def programme() -> dict[str, object]:
    return {"title": "Programme créé pendant la panne", "track": "small", "year": TODAY.year,
            "funder_ids": [org_id("ville")], "lead_funder_id": org_id("ville"),
            "opens_on": (TODAY - timedelta(days=1)).isoformat(), "closes_on": (TODAY + timedelta(days=90)).isoformat()}


def test_submissions_waiting_on_a_hung_peer_hold_up_no_other_write_or_read(healthy: FaultDesk) -> None:
    filer = Filer(healthy)
    drafts = filer.drafts(HUNG)
    read_url = f"/api/v1/dossiers/{drafts[0].id}"
    started = time.monotonic()
    assert filer.call(HOLDER, "GET", read_url).status_code == 200
    usual = time.monotonic() - started

    proxy = healthy.projects_proxy
    proxy.hold()
    with ThreadPoolExecutor(HUNG) as pool:
        submissions = [pool.submit(filer.submit, draft) for draft in drafts]
        wait_until(lambda: proxy.held_requests() >= HUNG, what="every submission waiting on projects")
        started = time.monotonic()
        written = filer.call(DESK, "POST", "/api/v1/programmes", json=programme())
        read = filer.call(HOLDER, "GET", read_url)
        during = time.monotonic() - started
        # Answered while every submission still waits on the hung peer: nothing of theirs stood in the way.
        still_waiting = [not submission.done() for submission in submissions]
        proxy.release()
        answers = [submission.result() for submission in submissions]
    assert (written.status_code, read.status_code) == (201, 200), (written.text, read.text)
    assert all(still_waiting)
    assert [answer.status_code for answer in answers] == [200] * HUNG, [a.text for a in answers if a.status_code != 200]
    assert_submitted_once(healthy, drafts)
    print(f"\nfaults: a read alone {usual * 1000:.0f} ms; a write and a read beside {HUNG} hung submissions "
          f"{during * 1000:.0f} ms")
