"""A person's password: changed knowing the current one (POST /me/password), reset through a single-use link
mailed to the address (POST /auth/password-reset, /confirm). Either way every refresh token of the person dies."""

import pytest
from sqlmodel import col

from services.identity.models import AuditEvent, PasswordReset
from services.identity.one_time import hash_secret
from services.identity.tests.helpers import (
    REFRESH_URL,
    count_rows,
    fetch_rows,
    password_login,
    person_id,
)
from tests.support.stack import Api, problem
from tests.support.world import HOLDER, OTHER_HOLDER, World

CHANGE_URL = "/api/v1/me/password"
RESET_URL = "/api/v1/auth/password-reset"
CONFIRM_URL = "/api/v1/auth/password-reset/confirm"
DEMO = "demo-password-2026"
NEW = "un-nouveau-mot-de-passe"


def _refreshes(anonymous: Api, login: dict) -> int:
    return anonymous.post(REFRESH_URL, token="", json={"refresh_token": login["refresh_token"]}).status_code


class TestChangePassword:
    def test_the_current_password_opens_the_change_and_every_session_ends(self, world: World, anonymous: Api) -> None:
        elsewhere = password_login(anonymous, HOLDER).json()
        here = password_login(anonymous, HOLDER).json()
        response = anonymous.post(CHANGE_URL, token=here["access_token"],
                                  json={"current_password": DEMO, "new_password": NEW})
        assert response.status_code == 204, response.text
        assert _refreshes(anonymous, elsewhere) == 400 and _refreshes(anonymous, here) == 400
        assert password_login(anonymous, HOLDER).status_code == 400
        assert password_login(anonymous, HOLDER, NEW).status_code == 200
        assert [e.action for e in fetch_rows(world.stack, AuditEvent)] == ["password.changed"]

    def test_a_wrong_current_password_is_400_and_counts_as_a_failed_login(
        self, world: World, anonymous: Api
    ) -> None:
        token = world.login(HOLDER)
        for _ in range(world.stack.settings["identity"].login_max_failures):
            wrong = anonymous.post(CHANGE_URL, token=token,
                                   json={"current_password": "pas-le-bon", "new_password": NEW})
            assert wrong.status_code == 400 and problem(wrong)["code"] == "wrong_password"
        throttled = anonymous.post(CHANGE_URL, token=token, json={"current_password": DEMO, "new_password": NEW})
        assert throttled.status_code == 429 and "retry-after" in throttled.headers
        assert password_login(anonymous, HOLDER).status_code == 429  # the account is throttled, for logins too

    @pytest.mark.parametrize(("body", "field"), [
        ({"current_password": DEMO, "new_password": "court"}, "body.new_password"),
        ({"current_password": DEMO, "new_password": DEMO}, "body.new_password"),
        ({"new_password": NEW}, "body.current_password"),
    ], ids=["too-short", "unchanged", "no-current"])
    def test_a_bad_new_password_is_422(self, world: World, anonymous: Api, body: dict, field: str) -> None:
        response = anonymous.post(CHANGE_URL, token=world.login(HOLDER), json=body)
        assert response.status_code == 422 and field in [e["field"] for e in problem(response)["errors"]]
        assert password_login(anonymous, HOLDER).status_code == 200

    def test_anonymous_is_401(self, anonymous: Api) -> None:
        assert anonymous.post(CHANGE_URL, json={"current_password": DEMO, "new_password": NEW}).status_code == 401


class TestResetByMail:
    def test_the_same_answer_whether_the_address_has_an_account_or_not(self, world: World, anonymous: Api) -> None:
        known = anonymous.post(RESET_URL, json={"email": HOLDER})
        unknown = anonymous.post(RESET_URL, json={"email": "personne@nulle-part.example"})
        assert known.status_code == unknown.status_code == 202
        assert known.json() == unknown.json() and known.headers.keys() == unknown.headers.keys()
        assert len(world.stack.identity_mail.messages(HOLDER)) == 1
        assert world.stack.identity_mail.messages("personne@nulle-part.example") == []

    def test_the_mailed_link_sets_a_new_password_once_and_ends_every_session(
        self, world: World, anonymous: Api
    ) -> None:
        session = password_login(anonymous, HOLDER).json()
        anonymous.post(RESET_URL, json={"email": HOLDER})
        token = world.stack.identity_mail.token(HOLDER, "pwr_")
        [row] = fetch_rows(world.stack, PasswordReset)
        assert row.token_hash == hash_secret(token)
        done = anonymous.post(CONFIRM_URL, json={"token": token, "new_password": NEW})
        assert done.status_code == 204, done.text
        assert _refreshes(anonymous, session) == 400
        assert password_login(anonymous, HOLDER, NEW).status_code == 200
        again = anonymous.post(CONFIRM_URL, json={"token": token, "new_password": "encore-un-autre-mot"})
        assert again.status_code == 404 and problem(again)["code"] == "token_unknown"
        # In the trail's own order (a plain SELECT has none on PostgreSQL).
        trail = sorted(fetch_rows(world.stack, AuditEvent, col(AuditEvent.person_id).is_not(None)),
                       key=lambda e: (e.created_at, e.id))
        assert [e.action for e in trail] == ["password.reset_requested", "password.reset"]

    def test_the_link_expires_after_30_minutes(self, world: World, anonymous: Api) -> None:
        anonymous.post(RESET_URL, json={"email": HOLDER})
        token = world.stack.identity_mail.token(HOLDER, "pwr_")
        world.stack.apps["identity"].state.clock.advance(minutes=30, seconds=1)
        late = anonymous.post(CONFIRM_URL, json={"token": token, "new_password": NEW})
        assert late.status_code == 410 and problem(late)["code"] == "token_expired"
        assert password_login(anonymous, HOLDER).status_code == 200

    def test_a_newer_link_retires_the_older_and_a_flood_sends_one_mail_a_minute(
        self, world: World, anonymous: Api
    ) -> None:
        clock = world.stack.apps["identity"].state.clock
        for _ in range(5):
            assert anonymous.post(RESET_URL, json={"email": HOLDER}).status_code == 202
        assert len(world.stack.identity_mail.messages(HOLDER)) == 1
        first = world.stack.identity_mail.token(HOLDER, "pwr_")
        clock.advance(minutes=2)
        anonymous.post(RESET_URL, json={"email": HOLDER})
        second = world.stack.identity_mail.token(HOLDER, "pwr_")
        assert second != first and count_rows(world.stack, PasswordReset) == 2
        old = anonymous.post(CONFIRM_URL, json={"token": first, "new_password": NEW})
        assert old.status_code == 404
        assert anonymous.post(CONFIRM_URL, json={"token": second, "new_password": NEW}).status_code == 204

    def test_a_reset_token_opens_only_its_own_account(self, world: World, anonymous: Api) -> None:
        anonymous.post(RESET_URL, json={"email": HOLDER})
        token = world.stack.identity_mail.token(HOLDER, "pwr_")
        anonymous.post(CONFIRM_URL, json={"token": token, "new_password": NEW})
        assert password_login(anonymous, OTHER_HOLDER).status_code == 200
        [reset] = fetch_rows(world.stack, PasswordReset)
        assert str(reset.person_id) == person_id(HOLDER)

    @pytest.mark.parametrize("body", [{"email": "pas-une-adresse"}, {}, {"email": HOLDER, "role": "x"}])
    def test_a_bad_request_is_422_and_sends_nothing(self, world: World, anonymous: Api, body: dict) -> None:
        assert anonymous.post(RESET_URL, json=body).status_code == 422
        assert world.stack.identity_mail.messages() == []


def test_a_login_checked_against_the_old_password_while_a_reset_lands_gets_no_session(
    world: World, anonymous: Api
) -> None:
    """Someone who knows the old password logs in; while its hash is being checked, the owner resets it. The login
    must not give birth to a refresh family after the reset revoked them all (it would live for 30 days)."""
    import httpx

    from scripts import demo_data

    passwords = world.stack.apps["identity"].state.passwords
    real_verify, armed = passwords.verify, [True]
    owner = httpx.AsyncClient(transport=world.stack.transport, base_url=anonymous.client.base_url)

    async def verify_while_the_owner_resets(password_hash: str | None, password: str) -> bool:
        verified = await real_verify(password_hash, password)
        if armed and armed.pop():
            assert (await owner.post(RESET_URL, json={"email": HOLDER})).status_code == 202
            token = world.stack.identity_mail.token(HOLDER, "pwr_")
            confirmed = await owner.post(CONFIRM_URL, json={"token": token, "new_password": "le-nouveau-secret"})
            assert confirmed.status_code == 204, confirmed.text
        return verified

    passwords.verify = verify_while_the_owner_resets
    try:
        login = password_login(anonymous, HOLDER, demo_data.DEMO_PASSWORD)
    finally:
        passwords.verify = real_verify
    assert not armed  # the reset did land in between
    assert login.status_code == 400, login.text
    assert password_login(anonymous, HOLDER, "le-nouveau-secret").status_code == 200
