"""POST /api/v1/auth/refresh (rotation, reuse detection, family revocation) and POST /api/v1/auth/logout."""

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlmodel import col

from common.db import utcnow
from services.identity.models import Person, RefreshToken
from services.identity.one_time import hash_secret
from services.identity.tests.helpers import (
    LOGOUT_URL,
    REFRESH_URL,
    claims,
    count_rows,
    fetch_rows,
    password_login,
    person_id,
    update_rows,
)
from tests.support.stack import Api, problem
from tests.support.world import HOLDER, HOLDER_MEMBER, World


def _login(api: Api, email: str = HOLDER) -> dict:
    response = password_login(api, email)
    assert response.status_code == 200, response.text
    return response.json()


def _refresh(api: Api, refresh_token: str) -> httpx.Response:
    return api.post(REFRESH_URL, token="", json={"refresh_token": refresh_token})


def _stored(world: World, refresh_token: str) -> RefreshToken:
    [row] = fetch_rows(world.stack, RefreshToken, col(RefreshToken.token_hash) == hash_secret(refresh_token))
    return row


def _assert_refused(response: httpx.Response, code: str = "invalid_grant") -> None:
    assert response.status_code == 400, response.text
    assert problem(response)["code"] == code
    assert "access_token" not in response.text


class TestRotation:
    def test_a_refresh_gives_a_new_access_token_and_a_new_refresh_token(self, anonymous: Api) -> None:
        first = _login(anonymous)
        response = _refresh(anonymous, first["refresh_token"])
        assert response.status_code == 200, response.text
        second = response.json()
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]
        token = claims(second["access_token"])
        assert token["sub"] == person_id(HOLDER)
        assert token["roles"] == claims(first["access_token"])["roles"]
        assert token["org"] == claims(first["access_token"])["org"]
        assert anonymous.get("/api/v1/me", token=second["access_token"]).status_code == 200

    def test_the_new_token_stays_in_the_same_family_and_the_old_is_marked_used(
        self, world: World, anonymous: Api
    ) -> None:
        first = _login(anonymous)
        second = _refresh(anonymous, first["refresh_token"]).json()
        old, new = _stored(world, first["refresh_token"]), _stored(world, second["refresh_token"])
        assert old.family_id == new.family_id
        assert old.used_at is not None and new.used_at is None
        assert old.revoked_at is None and new.revoked_at is None

    def test_refresh_tokens_are_stored_hashed(self, world: World, anonymous: Api) -> None:
        first = _login(anonymous)
        [row] = fetch_rows(world.stack, RefreshToken)
        assert row.token_hash != first["refresh_token"]
        assert first["refresh_token"] not in row.token_hash

    def test_a_chain_of_rotations_keeps_working(self, anonymous: Api) -> None:
        current = _login(anonymous)["refresh_token"]
        seen = {current}
        for _ in range(3):
            response = _refresh(anonymous, current)
            assert response.status_code == 200, response.text
            current = response.json()["refresh_token"]
            assert current not in seen
            seen.add(current)


class TestReuse:
    def test_a_used_token_presented_again_is_refused_as_reused(self, anonymous: Api) -> None:
        first = _login(anonymous)
        assert _refresh(anonymous, first["refresh_token"]).status_code == 200
        _assert_refused(_refresh(anonymous, first["refresh_token"]), "refresh_token_reused")

    def test_reuse_revokes_the_whole_family_including_the_newest_token(self, world: World, anonymous: Api) -> None:
        first = _login(anonymous)
        second = _refresh(anonymous, first["refresh_token"]).json()
        third = _refresh(anonymous, second["refresh_token"]).json()

        _assert_refused(_refresh(anonymous, first["refresh_token"]), "refresh_token_reused")

        # The thief's replay killed the legitimate holder's current token too.
        _assert_refused(_refresh(anonymous, third["refresh_token"]))
        family = _stored(world, first["refresh_token"]).family_id
        rows = fetch_rows(world.stack, RefreshToken, col(RefreshToken.family_id) == family)
        assert len(rows) == 3
        assert all(row.revoked_at is not None for row in rows)
        assert count_rows(world.stack, RefreshToken, col(RefreshToken.family_id) == family) == 3  # nothing new issued

    def test_reuse_of_a_middle_token_also_kills_the_family(self, anonymous: Api) -> None:
        first = _login(anonymous)
        second = _refresh(anonymous, first["refresh_token"]).json()
        third = _refresh(anonymous, second["refresh_token"]).json()
        _assert_refused(_refresh(anonymous, second["refresh_token"]), "refresh_token_reused")
        _assert_refused(_refresh(anonymous, third["refresh_token"]))

    def test_reuse_leaves_other_sessions_of_the_same_person_alone(self, world: World, anonymous: Api) -> None:
        laptop = _login(anonymous)
        phone = _login(anonymous)
        assert _refresh(anonymous, laptop["refresh_token"]).status_code == 200
        _assert_refused(_refresh(anonymous, laptop["refresh_token"]), "refresh_token_reused")
        assert _refresh(anonymous, phone["refresh_token"]).status_code == 200
        assert _stored(world, phone["refresh_token"]).revoked_at is None

    def test_two_concurrent_uses_of_one_token_cannot_both_win(self, world: World, anonymous: Api) -> None:
        first = _login(anonymous)

        async def race() -> list:
            return await asyncio.gather(
                *(anonymous.client.post(REFRESH_URL, json={"refresh_token": first["refresh_token"]}) for _ in range(2))
            )

        responses = world.stack.run(race)
        assert sorted(r.status_code for r in responses) == [200, 400]
        [winner] = [r for r in responses if r.status_code == 200]
        [loser] = [r for r in responses if r.status_code == 400]
        assert problem(loser)["code"] == "refresh_token_reused"
        # The race is treated as a theft: the winner's new token dies with its family.
        _assert_refused(_refresh(anonymous, winner.json()["refresh_token"]))


class TestRefusedRefresh:
    def test_an_unknown_token_is_refused(self, anonymous: Api) -> None:
        _login(anonymous)
        _assert_refused(_refresh(anonymous, "rt_" + "x" * 43))

    def test_an_access_token_is_not_a_refresh_token(self, anonymous: Api) -> None:
        tokens = _login(anonymous)
        response = anonymous.post(REFRESH_URL, token="", json={"refresh_token": tokens["access_token"][:200]})
        _assert_refused(response)

    def test_an_expired_token_is_refused(self, world: World, anonymous: Api) -> None:
        tokens = _login(anonymous)
        changed = update_rows(
            world.stack,
            RefreshToken,
            [col(RefreshToken.token_hash) == hash_secret(tokens["refresh_token"])],
            expires_at=utcnow() - timedelta(seconds=1),
        )
        assert changed == 1
        _assert_refused(_refresh(anonymous, tokens["refresh_token"]))

    def test_a_deactivated_person_cannot_refresh(self, world: World, anonymous: Api) -> None:
        tokens = _login(anonymous)
        assert update_rows(world.stack, Person, [col(Person.email) == HOLDER], is_active=False) == 1
        _assert_refused(_refresh(anonymous, tokens["refresh_token"]))

    @pytest.mark.parametrize(
        "body",
        [{}, {"refresh_token": ""}, {"refresh_token": "x" * 201}, {"refresh_token": "rt_x", "extra": 1}],
        ids=["missing", "empty", "too-long", "extra-field"],
    )
    def test_an_invalid_payload_is_422(self, anonymous: Api, body: dict) -> None:
        response = anonymous.post(REFRESH_URL, token="", json=body)
        assert response.status_code == 422
        assert problem(response)["errors"]


class TestLogout:
    def test_logout_revokes_the_refresh_token(self, world: World, anonymous: Api) -> None:
        tokens = _login(anonymous)
        response = anonymous.post(LOGOUT_URL, token="", json={"refresh_token": tokens["refresh_token"]})
        assert response.status_code == 204
        assert response.content == b""
        assert _stored(world, tokens["refresh_token"]).revoked_at is not None
        _assert_refused(_refresh(anonymous, tokens["refresh_token"]))

    def test_logout_with_a_rotated_token_revokes_its_descendants(self, anonymous: Api) -> None:
        first = _login(anonymous)
        second = _refresh(anonymous, first["refresh_token"]).json()
        assert anonymous.post(LOGOUT_URL, token="", json={"refresh_token": second["refresh_token"]}).status_code == 204
        _assert_refused(_refresh(anonymous, second["refresh_token"]))

    def test_logout_ends_only_that_session(self, anonymous: Api) -> None:
        laptop, phone = _login(anonymous), _login(anonymous)
        other_person = _login(anonymous, HOLDER_MEMBER)
        anonymous.post(LOGOUT_URL, token="", json={"refresh_token": laptop["refresh_token"]})
        assert _refresh(anonymous, phone["refresh_token"]).status_code == 200
        assert _refresh(anonymous, other_person["refresh_token"]).status_code == 200

    def test_logout_with_an_unknown_token_reveals_nothing(self, world: World, anonymous: Api) -> None:
        tokens = _login(anonymous)
        response = anonymous.post(LOGOUT_URL, token="", json={"refresh_token": "rt_unknown"})
        assert response.status_code == 204
        assert _stored(world, tokens["refresh_token"]).revoked_at is None

    def test_logging_out_twice_is_harmless(self, anonymous: Api) -> None:
        tokens = _login(anonymous)
        for _ in range(2):
            assert (
                anonymous.post(LOGOUT_URL, token="", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
            )
        _assert_refused(_refresh(anonymous, tokens["refresh_token"]))
