"""The client's address, on the live desk: a client cannot choose the address identity throttles its logins by,
nor the gateway's rate limits, by writing its own X-Forwarded-For."""

import os
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text

from common.db import sync_url
from scripts.live_stack import LiveStack


@pytest.fixture
def gateway(live: LiveStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url(), timeout=10) as client:
        yield client


def failure_addresses(live: LiveStack, backend: str, email: str) -> list[str | None]:
    """What identity recorded of a refused login: the address it counted the failure against."""
    if backend == "sqlite":
        url, table = f"sqlite:///{live.log_file.parent / 'identity.db'}", "login_failures"
    else:
        url, table = os.environ["TEST_POSTGRES_URL"], "live_identity.login_failures"
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(f"SELECT ip FROM {table} WHERE email = :email"), {"email": email})
            return [row[0] for row in rows]
    finally:
        engine.dispose()


def test_identity_counts_a_login_against_the_real_address_not_a_forged_one(gateway, live, backend):
    email = f"nobody-{uuid.uuid4().hex[:12]}@example.org"
    response = gateway.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": "wrong-password"},
        headers={"X-Forwarded-For": "203.0.113.77", "X-Real-IP": "203.0.113.78"},
    )
    assert response.status_code in (400, 401), response.text
    assert failure_addresses(live, backend, email) == ["127.0.0.1"]


def test_the_gateway_counts_a_forged_x_forwarded_for_in_the_caller_s_own_budget(gateway):
    def remaining(forged: str) -> tuple[int, int]:
        """What the call leaves of its window, and the window's quota."""
        response = gateway.get("/api/v1/openapi.json", headers={"X-Forwarded-For": forged})
        assert response.status_code == 200, response.text
        policy = response.headers["ratelimit-policy"]
        assert policy.startswith('"anonymous";')
        quota = int(policy.split("q=")[1].split(";")[0])
        return int(response.headers["ratelimit"].split("r=")[1].split(";")[0]), quota

    # Five calls, each with another written address. Counted per written address, each would be the first of its
    # own window: the quota less one. Counted per peer, they add up in one window: the last leaves the quota less
    # five, or less four when a minute began between them (the sliding window rounds its previous minute down).
    answers = [remaining(f"203.0.113.{n}") for n in range(1, 6)]
    left, quota = answers[-1]
    assert left <= quota - 4, answers
