"""The routes that hash a password for a caller without an account (sign-up, invitation accepted, reset confirmed)
cannot be used to fill the hashing threads: a made-up token costs no hash, and one address has only a few hashes
running at once, as for logins."""

from collections.abc import Iterator

import pytest

from services.identity.models import PendingSignup
from services.identity.tests.helpers import ACCEPT_URL, SIGNUP_URL, count_rows, signup_body
from tests.support.stack import Api, problem
from tests.support.world import World

PASSWORD = "un-mot-de-passe-solide"
BOGUS = {
    "/api/v1/auth/password-reset/confirm": {"token": "pwr_" + "x" * 43, "new_password": PASSWORD},
    ACCEPT_URL: {"token": "inv_" + "x" * 43, "full_name": "Quelqu'un", "password": PASSWORD},
}


@pytest.fixture
def hashes(world: World) -> Iterator[list[str]]:
    """Every password the identity app hashes during the test."""
    passwords = world.stack.apps["identity"].state.passwords
    real, seen = passwords.hash, []

    async def counting(password: str) -> str:
        seen.append(password)
        return await real(password)

    passwords.hash = counting
    yield seen
    passwords.hash = real


@pytest.mark.parametrize("route", sorted(BOGUS))
def test_a_made_up_token_costs_no_hash(anonymous: Api, hashes: list[str], route: str) -> None:
    for _ in range(10):
        response = anonymous.post(route, token="", json=BOGUS[route])
        assert response.status_code == 404 and problem(response)["code"] == "token_unknown"
    assert hashes == []


def test_one_address_has_only_a_few_sign_up_hashes_at_once(world: World, anonymous: Api) -> None:
    gate = world.stack.apps["identity"].state.login_gate
    gate.running["127.0.0.1"] = gate.limit  # as many as allowed are running from this address
    try:
        refused = anonymous.post(SIGNUP_URL, json=signup_body(siret=None, rna="W751234567"))
    finally:
        gate.running.pop("127.0.0.1")
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert count_rows(world.stack, PendingSignup) == 0
    assert anonymous.post(SIGNUP_URL, json=signup_body(siret=None, rna="W751234567")).status_code == 202
