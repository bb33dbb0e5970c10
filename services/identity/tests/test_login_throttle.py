"""Login throttling: after IDENTITY_LOGIN_MAX_FAILURES failures for one email within the window,
every attempt for that email gets 429 with Retry-After, even with the right password."""

from datetime import timedelta

import httpx
import pytest
from sqlmodel import col

from common.db import utcnow
from services.identity.models import LoginFailure
from services.identity.settings import IdentitySettings
from services.identity.tests.helpers import count_rows, insert_rows, password_login
from tests.support.stack import Api, problem
from tests.support.world import HOLDER, HOLDER_MEMBER, OTHER_HOLDER, World

WRONG = "certainly-not-the-password"


def _fail(api: Api, email: str, times: int) -> None:
    for attempt in range(times):
        response = password_login(api, email, WRONG)
        assert response.status_code == 400, f"attempt {attempt + 1}: {response.status_code} {response.text}"
        assert problem(response)["code"] == "invalid_grant"


def _retry_after(response: httpx.Response) -> int:
    value = response.headers["retry-after"]
    assert value.isascii() and value.isdigit(), value
    return int(value)


class TestLockout:
    def test_every_failure_up_to_the_limit_is_an_ordinary_400(
        self, world: World, anonymous: Api, identity_settings: IdentitySettings
    ) -> None:
        _fail(anonymous, HOLDER, identity_settings.login_max_failures)
        assert (
            count_rows(world.stack, LoginFailure, col(LoginFailure.email) == HOLDER)
            == identity_settings.login_max_failures
        )

    def test_after_the_limit_even_the_right_password_gets_429_with_retry_after(
        self, anonymous: Api, identity_settings: IdentitySettings
    ) -> None:
        _fail(anonymous, HOLDER, identity_settings.login_max_failures)
        response = password_login(anonymous, HOLDER)
        assert response.status_code == 429, response.text
        assert problem(response)["code"] == "too_many_requests"
        assert "access_token" not in response.text
        assert 0 < _retry_after(response) <= identity_settings.login_failure_window_seconds

    def test_one_failure_short_of_the_limit_the_right_password_still_works(
        self, anonymous: Api, identity_settings: IdentitySettings
    ) -> None:
        _fail(anonymous, HOLDER, identity_settings.login_max_failures - 1)
        assert password_login(anonymous, HOLDER).status_code == 200

    def test_the_lockout_holds_for_further_wrong_passwords_too(
        self, world: World, anonymous: Api, identity_settings: IdentitySettings
    ) -> None:
        _fail(anonymous, HOLDER, identity_settings.login_max_failures)
        for _ in range(2):
            response = password_login(anonymous, HOLDER, WRONG)
            assert response.status_code == 429
            assert _retry_after(response) > 0
        # Refused before the password is checked: no more failures pile up while locked.
        assert (
            count_rows(world.stack, LoginFailure, col(LoginFailure.email) == HOLDER)
            == identity_settings.login_max_failures
        )

    def test_the_lockout_covers_every_spelling_of_the_email(
        self, anonymous: Api, identity_settings: IdentitySettings
    ) -> None:
        spellings = [HOLDER, HOLDER.upper(), HOLDER.capitalize()]
        for attempt in range(identity_settings.login_max_failures):
            assert password_login(anonymous, spellings[attempt % len(spellings)], WRONG).status_code == 400
        assert password_login(anonymous, HOLDER).status_code == 429
        assert password_login(anonymous, HOLDER.upper()).status_code == 429

    def test_unknown_emails_are_throttled_the_same_way(
        self, anonymous: Api, identity_settings: IdentitySettings
    ) -> None:
        # Otherwise the 429 itself would tell which emails have an account.
        _fail(anonymous, "personne@inconnu.example", identity_settings.login_max_failures)
        assert password_login(anonymous, "personne@inconnu.example", WRONG).status_code == 429


class TestOtherAccountsAreNotAffected:
    def test_failures_for_one_email_do_not_lock_another(
        self, anonymous: Api, identity_settings: IdentitySettings
    ) -> None:
        _fail(anonymous, HOLDER, identity_settings.login_max_failures)
        assert password_login(anonymous, HOLDER).status_code == 429
        for email in (HOLDER_MEMBER, OTHER_HOLDER):
            assert password_login(anonymous, email).status_code == 200

    def test_failures_spread_over_several_emails_lock_none(
        self, anonymous: Api, identity_settings: IdentitySettings
    ) -> None:
        for email in (HOLDER, HOLDER_MEMBER):
            _fail(anonymous, email, identity_settings.login_max_failures - 1)
        assert password_login(anonymous, HOLDER).status_code == 200
        assert password_login(anonymous, HOLDER_MEMBER).status_code == 200


class TestCounting:
    def test_a_successful_login_resets_the_count(
        self, world: World, anonymous: Api, identity_settings: IdentitySettings
    ) -> None:
        _fail(anonymous, HOLDER, identity_settings.login_max_failures - 1)
        assert password_login(anonymous, HOLDER).status_code == 200
        assert count_rows(world.stack, LoginFailure, col(LoginFailure.email) == HOLDER) == 0
        _fail(anonymous, HOLDER, identity_settings.login_max_failures - 1)
        assert password_login(anonymous, HOLDER).status_code == 200

    def test_failures_older_than_the_window_do_not_count(
        self, world: World, anonymous: Api, identity_settings: IdentitySettings
    ) -> None:
        long_ago = utcnow() - timedelta(seconds=identity_settings.login_failure_window_seconds + 60)
        insert_rows(
            world.stack,
            [LoginFailure(email=HOLDER, failed_at=long_ago) for _ in range(identity_settings.login_max_failures)],
        )
        assert password_login(anonymous, HOLDER).status_code == 200

    @pytest.mark.parametrize("age_seconds", [60, 600])
    def test_retry_after_counts_down_from_the_oldest_failure_in_the_window(
        self, world: World, anonymous: Api, identity_settings: IdentitySettings, age_seconds: int
    ) -> None:
        window = identity_settings.login_failure_window_seconds
        if age_seconds >= window:
            pytest.skip("the configured window is shorter than this age")
        oldest = utcnow() - timedelta(seconds=age_seconds)
        rows = [LoginFailure(email=HOLDER, failed_at=oldest)]
        rows += [
            LoginFailure(email=HOLDER, failed_at=utcnow()) for _ in range(identity_settings.login_max_failures - 1)
        ]
        insert_rows(world.stack, rows)
        response = password_login(anonymous, HOLDER)
        assert response.status_code == 429
        expected = window - age_seconds
        assert expected - 5 <= _retry_after(response) <= expected + 1


def _from(api: Api, address: str, email: str, password: str = WRONG) -> httpx.Response:
    """A login through the gateway for a caller at that address (the gateway's X-Forwarded-For)."""
    return api.post("/api/v1/auth/token", token="", headers={"X-Forwarded-For": address},
                    json={"grant_type": "password", "username": email, "password": password})


class TestPerAddress:
    def test_failures_from_one_address_over_many_accounts_close_that_address_only(
        self, world: World, anonymous: Api, identity_settings: IdentitySettings
    ) -> None:
        flood = "203.0.113.7"
        for n in range(identity_settings.login_max_failures_per_ip):
            assert _from(anonymous, flood, f"inconnu{n}@exemple.example").status_code == 400
        assert count_rows(world.stack, LoginFailure, col(LoginFailure.ip) == flood) == (
            identity_settings.login_max_failures_per_ip)
        refused = _from(anonymous, flood, HOLDER, "demo-password-2026")
        assert refused.status_code == 429 and _retry_after(refused) > 0
        # Anyone else, the same account included, still logs in.
        assert _from(anonymous, "198.51.100.20", HOLDER, "demo-password-2026").status_code == 200

    @pytest.mark.parametrize(("peer", "forwarded", "seen"), [
        ("127.0.0.1", ["203.0.113.7"], "203.0.113.7"),  # the gateway names its caller
        ("127.0.0.1", ["10.0.0.1, 203.0.113.7"], "203.0.113.7"),  # what the caller wrote on the left is not believed
        ("127.0.0.1", ["6.6.6.6", "203.0.113.7"], "203.0.113.7"),  # nor a header line of its own before the gateway's
        ("127.0.0.1", ["203.0.113.7, 127.0.0.5"], "203.0.113.7"),  # a chain of trusted proxies is walked through
        ("192.0.2.50", ["203.0.113.7"], "192.0.2.50"),  # a peer that is no proxy of ours names nobody
        ("127.0.0.1", ["not-an-address"], "127.0.0.1"),  # a malformed hop stops at the proxy that sent it
        ("127.0.0.1", ["203.0.113.7, garbage"], "127.0.0.1"),
        ("127.0.0.1", ["fe80::1%" + "a" * 200], "127.0.0.1"),  # zone ids would make one host countless keys
        ("127.0.0.1", ["::ffff:203.0.113.7"], "203.0.113.7"),  # one address, one spelling
        ("127.0.0.1", ["2001:DB8::0:1"], "2001:db8::1"),
        ("127.0.0.1", [], "127.0.0.1"),
    ])
    def test_the_address_is_the_first_hop_no_proxy_of_ours_names(
        self, world: World, peer: str, forwarded: list[str], seen: str
    ) -> None:
        from starlette.requests import Request

        from services.identity.throttle import client_address

        request = Request({"type": "http", "method": "POST", "path": "/", "client": (peer, 4242),
                           "app": world.stack.apps["identity"],
                           "headers": [(b"x-forwarded-for", line.encode()) for line in forwarded]})
        assert client_address(request) == seen

    def test_a_forged_zone_id_is_one_address_and_no_500(
        self, world: World, anonymous: Api, identity_settings: IdentitySettings
    ) -> None:
        """The failure is recorded under the proxy's address (an ip column of 45 characters takes it)."""
        response = _from(anonymous, "fe80::1%" + "x" * 200, "inconnu@exemple.example")
        assert response.status_code == 400
        assert count_rows(world.stack, LoginFailure, col(LoginFailure.ip) == "127.0.0.1") == 1


def test_password_checks_at_once_from_one_address_are_capped() -> None:
    import anyio

    from common.problems import TooManyRequests
    from services.identity.throttle import AddressGate

    async def run() -> None:
        gate = AddressGate(2)
        async with gate.enter("203.0.113.7"), gate.enter("203.0.113.7"):
            with pytest.raises(TooManyRequests) as refused:
                async with gate.enter("203.0.113.7"):
                    pass
            assert refused.value.headers["Retry-After"] == "1"
            async with gate.enter("198.51.100.20"):  # another address is not held back
                pass
        async with gate.enter("203.0.113.7"):
            assert gate.running == {"203.0.113.7": 1}
        assert gate.running == {}

    anyio.run(run)
