"""POST /api/v1/auth/token with the password grant, the tokens it signs, and GET /.well-known/jwks.json."""

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import JWTError, jwk, jwt
from sqlmodel import col

from scripts import demo_data
from services.identity.models import LoginFailure, Person, RefreshToken
from services.identity.settings import IdentitySettings
from services.identity.tests.helpers import (
    TOKEN_URL,
    claims,
    count_rows,
    demo_org,
    form_post,
    password_login,
    person_id,
    update_rows,
)
from tests.support.stack import Api, problem
from tests.support.world import CITY_INSTRUCTOR, EMAIL_BY_ROLE, HOLDER, World

MAX_ACCESS_TOKEN_SECONDS = 15 * 60
HOLDER_MEMBER_EMAIL = EMAIL_BY_ROLE["holder_member"]


def _jwks(api: Api) -> dict[str, Any]:
    response = api.get("/.well-known/jwks.json", token="")
    assert response.status_code == 200
    return response.json()


def _verify_with_jwks(api: Api, token: str, settings: IdentitySettings) -> dict[str, Any]:
    """Verify a token the way a relying party would: key by kid from the published JWKS, RS256 only."""
    kid = jwt.get_unverified_header(token)["kid"]
    [entry] = [key for key in _jwks(api)["keys"] if key["kid"] == kid]
    return jwt.decode(
        token,
        jwk.construct(entry, "RS256"),
        algorithms=["RS256"],
        audience=settings.token_audience,
        issuer=settings.token_issuer,
    )


class TestPasswordGrant:
    def test_json_login_returns_bearer_access_and_refresh_tokens(self, anonymous: Api) -> None:
        response = password_login(anonymous, HOLDER)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["refresh_token"].startswith("rt_")
        assert body["access_token"] != body["refresh_token"]
        token = claims(body["access_token"])
        assert body["expires_in"] == token["exp"] - token["iat"]

    def test_form_encoded_login_works_like_json(self, anonymous: Api) -> None:
        response = form_post(
            anonymous,
            TOKEN_URL,
            {"grant_type": "password", "username": HOLDER, "password": demo_data.DEMO_PASSWORD},
        )
        assert response.status_code == 200, response.text
        token = claims(response.json()["access_token"])
        assert token["sub"] == person_id(HOLDER)
        assert token["roles"] == ["holder_admin"]
        assert response.json()["refresh_token"]

    def test_the_email_is_matched_whatever_its_case(self, anonymous: Api) -> None:
        response = password_login(anonymous, HOLDER.upper())
        assert response.status_code == 200, response.text
        assert claims(response.json()["access_token"])["sub"] == person_id(HOLDER)

    @pytest.mark.parametrize("role", sorted(EMAIL_BY_ROLE))
    def test_the_token_carries_the_person_their_organisation_and_roles(self, anonymous: Api, role: str) -> None:
        email = EMAIL_BY_ROLE[role]
        user = next(u for u in demo_data.USERS if u.email == email)
        token = claims(password_login(anonymous, email).json()["access_token"])
        assert token["sub"] == str(user.id)
        assert token["kind"] == "user"
        assert token["org"] == demo_org(user.organisation)
        assert token["org_kind"] == demo_data.organisation(user.organisation).kind
        assert token["roles"] == sorted(user.roles)

    def test_each_login_opens_a_new_refresh_token(self, world: World, anonymous: Api) -> None:
        first = password_login(anonymous, HOLDER).json()
        second = password_login(anonymous, HOLDER).json()
        assert first["refresh_token"] != second["refresh_token"]
        assert claims(first["access_token"])["jti"] != claims(second["access_token"])["jti"]
        assert count_rows(world.stack, RefreshToken) == 2

    def test_the_access_token_opens_the_api(self, anonymous: Api) -> None:
        token = password_login(anonymous, CITY_INSTRUCTOR).json()["access_token"]
        me = anonymous.get("/api/v1/me", token=token)
        assert me.status_code == 200
        assert me.json()["person"]["email"] == CITY_INSTRUCTOR


class TestAccessTokenFormat:
    def test_is_an_rs256_at_jwt_whose_kid_is_published(self, anonymous: Api) -> None:
        token = password_login(anonymous, HOLDER).json()["access_token"]
        header = jwt.get_unverified_header(token)
        assert header["alg"] == "RS256"
        assert header["typ"] == "at+jwt"
        assert header["kid"] in [key["kid"] for key in _jwks(anonymous)["keys"]]

    def test_verifies_with_the_published_key_for_our_issuer_and_audience(
        self, anonymous: Api, identity_settings: IdentitySettings
    ) -> None:
        token = password_login(anonymous, HOLDER).json()["access_token"]
        verified = _verify_with_jwks(anonymous, token, identity_settings)
        assert verified["iss"] == identity_settings.token_issuer
        assert verified["aud"] == identity_settings.token_audience
        assert verified["sub"] == person_id(HOLDER)
        assert verified["jti"]

    def test_lives_at_most_fifteen_minutes_from_now(self, anonymous: Api) -> None:
        before = int(time.time())
        token = claims(password_login(anonymous, HOLDER).json()["access_token"])
        after = int(time.time())
        assert 0 < token["exp"] - token["iat"] <= MAX_ACCESS_TOKEN_SECONDS
        assert before - 1 <= token["iat"] <= after + 1
        assert token["nbf"] <= token["iat"] + 1

    def test_a_tampered_payload_no_longer_verifies(self, anonymous: Api, identity_settings: IdentitySettings) -> None:
        token = password_login(anonymous, HOLDER_MEMBER_EMAIL).json()["access_token"]
        header, payload, signature = token.split(".")
        forged_claims = {**claims(token), "roles": ["platform_admin"]}
        forged_payload = base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).decode().rstrip("=")
        forged = ".".join([header, forged_payload, signature])
        with pytest.raises(JWTError):
            _verify_with_jwks(anonymous, forged, identity_settings)
        assert anonymous.get("/api/v1/me", token=forged).status_code == 401


class TestJwks:
    def test_publishes_public_rsa_keys_only(self, anonymous: Api) -> None:
        response = anonymous.get("/.well-known/jwks.json", token="")
        assert response.status_code == 200
        assert "max-age" in response.headers["cache-control"]
        keys = response.json()["keys"]
        assert keys
        for key in keys:
            assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
            assert key["n"] and key["e"] and key["kid"]
            assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), "private parts must never be published"

    def test_the_published_key_is_the_public_half_of_the_signing_key(self, world: World, anonymous: Api) -> None:
        private = serialization.load_pem_private_key(world.stack.signing_key_file.read_bytes(), password=None)
        assert isinstance(private, rsa.RSAPrivateKey)
        numbers = private.public_key().public_numbers()
        [key] = [
            k
            for k in _jwks(anonymous)["keys"]
            if k["kid"] == jwt.get_unverified_header(password_login(anonymous, HOLDER).json()["access_token"])["kid"]
        ]

        def as_int(value: str) -> int:
            return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")

        assert as_int(key["n"]) == numbers.n
        assert as_int(key["e"]) == numbers.e


class TestRefusedLogins:
    def test_a_wrong_password_is_400_invalid_grant_without_tokens(self, world: World, anonymous: Api) -> None:
        response = password_login(anonymous, HOLDER, "not-the-password")
        assert response.status_code == 400
        refused = problem(response)
        assert refused["code"] == "invalid_grant"
        assert "access_token" not in response.text
        assert count_rows(world.stack, RefreshToken) == 0
        assert count_rows(world.stack, LoginFailure, col(LoginFailure.email) == HOLDER) == 1

    def test_an_unknown_email_gets_exactly_the_same_answer(self, anonymous: Api) -> None:
        wrong_password = problem(password_login(anonymous, HOLDER, "not-the-password"))
        unknown_email = problem(password_login(anonymous, "personne@inconnu.example", "not-the-password"))
        for volatile in ("instance", "request_id"):
            wrong_password.pop(volatile, None)
            unknown_email.pop(volatile, None)
        assert unknown_email == wrong_password

    def test_an_unknown_email_with_a_real_password_is_refused(self, anonymous: Api) -> None:
        # Every demo account shares the demo password; an email without an account must still be refused.
        response = password_login(anonymous, "presidence@blosne-avenir.example.org")
        assert response.status_code == 400
        assert problem(response)["code"] == "invalid_grant"

    def test_a_deactivated_person_cannot_log_in(self, world: World, anonymous: Api) -> None:
        assert update_rows(world.stack, Person, [col(Person.email) == HOLDER], is_active=False) == 1
        response = password_login(anonymous, HOLDER)
        assert response.status_code == 400
        assert problem(response)["code"] == "invalid_grant"

    def test_an_organisation_the_person_does_not_belong_to_is_refused(self, world: World, anonymous: Api) -> None:
        response = password_login(anonymous, HOLDER, organisation_id=demo_org("maurepas-solidaire"))
        assert response.status_code == 400
        assert problem(response)["code"] == "invalid_grant"
        assert count_rows(world.stack, RefreshToken) == 0

    def test_malformed_json_is_400(self, anonymous: Api) -> None:
        response = anonymous.post(
            TOKEN_URL,
            token="",
            content=b'{"grant_type": "password", "username":',
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 400
        assert problem(response)["code"] == "malformed_json"

    @pytest.mark.parametrize(
        ("content_type", "content"),
        [("text/plain", b"grant_type=password"), ("application/xml", b"<grant/>"), (None, b"")],
        ids=["text-plain", "xml", "no-content-type"],
    )
    def test_an_unsupported_content_type_is_415(self, anonymous: Api, content_type: str | None, content: bytes) -> None:
        headers = {"Content-Type": content_type} if content_type else {}
        response = anonymous.post(TOKEN_URL, token="", content=content, headers=headers)
        assert response.status_code == 415
        assert problem(response)["code"] == "unsupported_media_type"

    @pytest.mark.parametrize(
        "body",
        [
            {"username": HOLDER, "password": demo_data.DEMO_PASSWORD},
            {"grant_type": "implicit", "username": HOLDER, "password": demo_data.DEMO_PASSWORD},
            {"grant_type": "password", "username": HOLDER},
            {"grant_type": "password", "username": "pas-une-adresse", "password": demo_data.DEMO_PASSWORD},
            {"grant_type": "password", "username": HOLDER, "password": demo_data.DEMO_PASSWORD, "roles": ["x"]},
            [],
        ],
        ids=["no-grant-type", "unknown-grant-type", "no-password", "bad-email", "extra-field", "not-an-object"],
    )
    def test_an_invalid_grant_payload_is_422(self, world: World, anonymous: Api, body: Any) -> None:
        response = anonymous.post(TOKEN_URL, token="", json=body)
        assert response.status_code == 422, response.text
        assert problem(response)["errors"]
        assert count_rows(world.stack, RefreshToken) == 0

    def test_a_form_with_a_wrong_password_is_refused_like_json(self, anonymous: Api) -> None:
        response = form_post(anonymous, TOKEN_URL, {"grant_type": "password", "username": HOLDER, "password": "x"})
        assert response.status_code == 400
        assert problem(response)["code"] == "invalid_grant"


def _sign(world: World, claims_: dict[str, Any], *, headers: dict[str, Any] | None = None) -> str:
    pem = world.stack.signing_key_file.read_bytes().decode()
    return jwt.encode(claims_, pem, algorithm="RS256", headers=headers)


class TestForgedTokens:
    """Tokens identity never issued, presented to one of its protected routes."""

    @pytest.fixture
    def genuine(self, anonymous: Api) -> str:
        return password_login(anonymous, HOLDER).json()["access_token"]

    def _refused(self, anonymous: Api, token: str) -> None:
        response = anonymous.get("/api/v1/me", token=token)
        assert response.status_code == 401, response.text
        assert problem(response)["code"] in {"invalid_token", "unauthorized"}

    def test_the_genuine_token_is_accepted(self, anonymous: Api, genuine: str) -> None:
        assert anonymous.get("/api/v1/me", token=genuine).status_code == 200

    def test_alg_none(self, anonymous: Api, genuine: str) -> None:
        header = (
            base64.urlsafe_b64encode(
                json.dumps({"alg": "none", "typ": "at+jwt", "kid": jwt.get_unverified_header(genuine)["kid"]}).encode()
            )
            .decode()
            .rstrip("=")
        )
        self._refused(anonymous, f"{header}.{genuine.split('.')[1]}.")

    def test_hs256_signed_with_the_public_key(self, world: World, anonymous: Api, genuine: str) -> None:
        private = serialization.load_pem_private_key(world.stack.signing_key_file.read_bytes(), password=None)
        public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header = jwt.get_unverified_header(genuine)
        segments = [
            base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
            for part in ({"alg": "HS256", "typ": "at+jwt", "kid": header["kid"]}, claims(genuine))
        ]
        signature = hmac.new(public_pem, ".".join(segments).encode(), hashlib.sha256).digest()
        forged = ".".join([*segments, base64.urlsafe_b64encode(signature).decode().rstrip("=")])
        self._refused(anonymous, forged)

    @pytest.mark.parametrize(
        ("change", "header_change"),
        [
            ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 4000, "nbf": int(time.time()) - 4000}, {}),
            ({"aud": "someone-else"}, {}),
            ({"iss": "https://evil.example"}, {}),
            ({}, {"typ": "JWT"}),
            ({}, {"kid": "unknown-kid"}),
            ({}, {"jku": "https://evil.example/jwks.json"}),
        ],
        ids=["expired", "wrong-aud", "wrong-iss", "wrong-typ", "unknown-kid", "jku-header"],
    )
    def test_well_signed_but_wrong(
        self, world: World, anonymous: Api, genuine: str, change: dict[str, Any], header_change: dict[str, Any]
    ) -> None:
        header = {**jwt.get_unverified_header(genuine), **header_change}
        header.pop("alg", None)
        self._refused(anonymous, _sign(world, {**claims(genuine), **change}, headers=header))

    def test_a_tampered_signature(self, anonymous: Api, genuine: str) -> None:
        header, payload, signature = genuine.split(".")
        flipped = "A" if signature[10] != "A" else "B"
        self._refused(anonymous, ".".join([header, payload, signature[:10] + flipped + signature[11:]]))

    def test_a_token_re_signed_with_our_key_and_valid_claims_is_accepted(
        self, world: World, anonymous: Api, genuine: str
    ) -> None:
        # Guards the table above: the re-signing helper makes acceptable tokens, so each refusal is meaningful.
        header = jwt.get_unverified_header(genuine)
        header.pop("alg", None)
        resigned = _sign(world, {**claims(genuine), "jti": "re-signed-for-the-test"}, headers=header)
        assert resigned != genuine
        assert anonymous.get("/api/v1/me", token=resigned).status_code == 200
