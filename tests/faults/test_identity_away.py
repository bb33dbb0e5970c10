"""Identity down while funding starts cold: a valid token is answered 503 `identity_unavailable` with Retry-After
(never 401, which would send the client to log in again, into a 502), until identity is back."""

from tests.faults.desk import FaultDesk, wait_until
from tests.faults.filings import Filer
from tests.support.world import HOLDER


def test_a_service_started_while_identity_is_down_answers_503_then_takes_the_token(healthy: FaultDesk) -> None:
    filer = Filer(healthy)
    headers = filer.headers(HOLDER)  # a valid token, taken while identity is up
    healthy.kill("identity")
    healthy.kill("funding")
    healthy.start("funding")  # cold: it has never seen identity's keys
    # Funding itself, not the gateway (whose keys are still cached): a client of funding's own address.
    away = filer.call(HOLDER, "GET", "/api/v1/dossiers", base=healthy.url("funding"))
    assert away.status_code == 503, away.text
    assert away.headers["content-type"].startswith("application/problem+json")
    assert away.json()["code"] == "identity_unavailable" and int(away.headers["retry-after"]) >= 1
    healthy.start("identity")
    statuses: list[int] = []

    def accepted() -> bool:
        statuses.append(filer.call(HOLDER, "GET", "/api/v1/dossiers", base=healthy.url("funding")).status_code)
        return statuses[-1] == 200

    wait_until(accepted, timeout=30, what="funding taking the token once identity is back")
    assert set(statuses) <= {503, 200}, statuses
    assert headers == filer.headers(HOLDER)  # the same token, never refused as invalid
