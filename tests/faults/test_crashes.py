"""Funding killed (-9) in the middle of submissions, then the clients' retries with the same Idempotency-Key: every
dossier ends submitted exactly once — one snapshot, one trail line, one event — and holds confirmed pins only;
the clients saw answers they can act on (409 and 503 with Retry-After, 502/504), never 401 or 500."""

import time
from collections import Counter

import httpx

from tests.faults.desk import FaultDesk
from tests.faults.filings import Draft, Filer
from tests.faults.ledger import assert_submitted_once

PINS = b"POST /api/v1/documents/pins "
# What a client may see while funding is away or restarting, and then act on.
TRANSIENT = {409, 502, 503, 504}


def retry_until_submitted(filer: Filer, drafts: list[Draft], seen: Counter[int], *, timeout: float = 90) -> float:
    """Each draft's submission retried with its own key, as a client would (waiting what Retry-After says), until
    all are submitted; how long that took."""
    started = time.monotonic()
    waiting = list(drafts)
    while waiting:
        assert time.monotonic() - started < timeout, f"{len(waiting)} never submitted; statuses {dict(seen)}"
        answers = filer.submit_all(waiting)
        seen.update(answer.status_code for answer in answers)
        assert_actionable(answers)
        waiting = [draft for draft, answer in zip(waiting, answers, strict=True) if answer.status_code != 200]
        if waiting:
            time.sleep(min(max(float(a.headers.get("retry-after", 0.2)) for a in answers), 2.0))
    return time.monotonic() - started


def assert_actionable(answers: list[httpx.Response]) -> None:
    for answer in answers:
        assert answer.status_code in {200} | TRANSIENT, answer.text
        if answer.status_code in (409, 503):
            assert "retry-after" in answer.headers, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")


def test_killed_between_the_pins_and_its_commit_then_retried(healthy: FaultDesk) -> None:
    filer = Filer(healthy)
    [draft] = filer.drafts(1)
    healthy.projects_proxy.on_answer(PINS, lambda: healthy.kill("funding"))
    lost = filer.submit(draft)
    assert lost.status_code in TRANSIENT - {409}, lost.text
    healthy.start("funding")
    seen: Counter[int] = Counter()
    took = retry_until_submitted(filer, [draft], seen)
    assert_submitted_once(healthy, [draft])
    print(f"\nfaults: killed between pin and commit; submitted {took:.1f} s after the restart; retries {dict(seen)}")


def test_killed_during_fifty_submissions_then_every_client_retries_with_its_key(healthy: FaultDesk) -> None:
    filer = Filer(healthy)
    drafts = filer.drafts(50)
    healthy.projects_proxy.on_answer(PINS, lambda: healthy.kill("funding"), nth=20)
    first = filer.submit_all(drafts)
    seen = Counter(answer.status_code for answer in first)
    assert_actionable(first)
    assert seen[200] < len(drafts), "the kill came too late to cut anything"
    healthy.start("funding")
    took = retry_until_submitted(filer, [d for d, a in zip(drafts, first, strict=True) if a.status_code != 200], seen)
    assert_submitted_once(healthy, drafts)
    firsts = dict(Counter(answer.status_code for answer in first))
    print(f"\nfaults: 50 submissions, funding killed at the 20th pin: first answers {firsts}; "
          f"all submitted {took:.1f} s after the restart; every status seen {dict(seen)}")
