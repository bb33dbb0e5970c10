"""Signing keys: kid = RFC 7638 thumbprint, and a key rotation that keeps the previous key's tokens valid."""

import base64
import hashlib
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt

from common.problems import Unauthorized
from common.tokens import JwksKeySource, TokenVerifier
from services.identity.keys import KeyStore, generate_pem
from services.identity.settings import IdentitySettings

ISSUER, AUDIENCE = "funding-desk-identity", "funding-desk"


def _folder(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return folder


def _settings(tmp_path: Path, signing: bytes, previous: tuple[bytes, ...] | list[bytes] = ()) -> IdentitySettings:
    signing_file = tmp_path / "signing.pem"
    signing_file.write_bytes(signing)
    previous_files = []
    for index, pem in enumerate(previous):
        path = tmp_path / f"previous-{index}.pem"
        path.write_bytes(pem)
        previous_files.append(str(path))
    return IdentitySettings(
        environment="test",
        service_clients={"funding": "a-test-secret"},
        signing_key_file=str(signing_file),
        previous_key_files=" , ".join(previous_files),
        token_issuer=ISSUER,
        token_audience=AUDIENCE,
    )


def _rfc7638_thumbprint(pem: bytes) -> str:
    private = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    numbers = private.public_key().public_numbers()

    def b64(number: int) -> str:
        return base64.urlsafe_b64encode(number.to_bytes((number.bit_length() + 7) // 8, "big")).decode().rstrip("=")

    # RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace.
    canonical = '{"e":"' + b64(numbers.e) + '","kty":"RSA","n":"' + b64(numbers.n) + '"}'
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).decode().rstrip("=")


def _claims() -> dict:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "someone",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": f"jti-{now}",
        "kind": "user",
        "org": None,
        "roles": [],
        "scope": "",
    }


def _verifier(store: KeyStore) -> TokenVerifier:
    async def fetch() -> dict:
        return store.jwks()

    return TokenVerifier(JwksKeySource(fetch), issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture(scope="module")
def pems() -> tuple[bytes, bytes]:
    return generate_pem(), generate_pem()


class TestKid:
    def test_the_kid_is_the_rfc_7638_thumbprint_of_the_public_key(self, tmp_path: Path, pems) -> None:
        store = KeyStore.from_settings(_settings(tmp_path, pems[0]))
        assert store.kid == _rfc7638_thumbprint(pems[0])
        assert store.jwks()["keys"][0]["kid"] == store.kid
        assert jwt.get_unverified_header(store.sign(_claims()))["kid"] == store.kid

    def test_two_keys_have_two_kids(self, tmp_path: Path, pems) -> None:
        first = KeyStore.from_settings(_settings(_folder(tmp_path, "a"), pems[0]))
        second = KeyStore.from_settings(_settings(_folder(tmp_path, "b"), pems[1]))
        assert first.kid != second.kid


class TestRotation:
    def test_the_previous_key_stays_published_after_the_signing_key(self, tmp_path: Path, pems) -> None:
        old, new = pems
        store = KeyStore.from_settings(_settings(tmp_path, new, [old]))
        assert [key["kid"] for key in store.jwks()["keys"]] == [_rfc7638_thumbprint(new), _rfc7638_thumbprint(old)]
        assert jwt.get_unverified_header(store.sign(_claims()))["kid"] == _rfc7638_thumbprint(new)
        assert not any("d" in key for key in store.jwks()["keys"])

    def test_tokens_signed_before_the_rotation_still_verify(self, tmp_path: Path, pems, portal) -> None:
        old, new = pems
        before = KeyStore.from_settings(_settings(_folder(tmp_path, "before"), old))
        after = KeyStore.from_settings(_settings(_folder(tmp_path, "after"), new, [old]))
        token_before = before.sign(_claims())
        token_after = after.sign(_claims())
        verifier = _verifier(after)
        assert portal.call(verifier.verify, token_before).subject == "someone"
        assert portal.call(verifier.verify, token_after).subject == "someone"

    def test_once_the_previous_key_is_dropped_its_tokens_are_refused(self, tmp_path: Path, pems, portal) -> None:
        old, new = pems
        token_before = KeyStore.from_settings(_settings(_folder(tmp_path, "before"), old)).sign(_claims())
        verifier = _verifier(KeyStore.from_settings(_settings(_folder(tmp_path, "after"), new)))
        with pytest.raises(Unauthorized):
            portal.call(verifier.verify, token_before)

    def test_a_previous_key_file_that_is_missing_stops_the_start(self, tmp_path: Path, pems) -> None:
        settings = _settings(tmp_path, pems[0]).model_copy(update={"previous_key_files": str(tmp_path / "nope.pem")})
        with pytest.raises(FileNotFoundError):
            KeyStore.from_settings(settings)
