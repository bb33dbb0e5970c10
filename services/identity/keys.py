"""Signing keys: one that signs, older ones still published during a rotation; kid = RFC 7638 thumbprint."""

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt

from common.tokens import ACCESS_TOKEN_TYP
from services.identity.settings import IdentitySettings


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def public_jwk(private_key: rsa.RSAPrivateKey) -> dict[str, str]:
    numbers = private_key.public_key().public_numbers()
    fields = {"e": _b64(numbers.e), "kty": "RSA", "n": _b64(numbers.n)}
    thumbprint = hashlib.sha256(json.dumps(fields, separators=(",", ":"), sort_keys=True).encode()).digest()
    kid = base64.urlsafe_b64encode(thumbprint).decode().rstrip("=")
    return {**fields, "kid": kid, "alg": "RS256", "use": "sig"}


def generate_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA private key")
    return key


class KeyStore:
    def __init__(self, signing: rsa.RSAPrivateKey, previous: list[rsa.RSAPrivateKey]):
        self._signing_jwk = public_jwk(signing)
        self.kid = self._signing_jwk["kid"]
        pem = signing.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self._signer = jwk.construct(pem.decode(), "RS256")  # parsed once, not per token
        self._published = [self._signing_jwk] + [public_jwk(k) for k in previous]

    @classmethod
    def from_pem(cls, pem: bytes) -> "KeyStore":
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("not an RSA private key")
        return cls(key, [])

    @classmethod
    def from_settings(cls, settings: IdentitySettings) -> "KeyStore":
        path = Path(settings.signing_key_file)
        if not path.exists():
            if settings.environment != "development":
                raise RuntimeError(f"signing key {path} missing (generated automatically in development only)")
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(generate_pem())
        previous = [_load(Path(p.strip())) for p in settings.previous_key_files.split(",") if p.strip()]
        return cls(_load(path), previous)

    def jwks(self) -> dict[str, Any]:
        return {"keys": list(self._published)}

    def sign(self, claims: dict[str, Any], *, headers: dict[str, Any] | None = None) -> str:
        """`headers` exists for tests that forge tokens; the desk itself never overrides them."""
        base = {"kid": self.kid, "typ": ACCESS_TOKEN_TYP}
        return jwt.encode(claims, self._signer, algorithm="RS256", headers={**base, **(headers or {})})

    def public_pem(self) -> bytes:
        return self._signer.public_key().to_pem()
