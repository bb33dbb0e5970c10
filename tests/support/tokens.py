"""Tokens made by hand: valid ones for any role, and the forgeries every door must refuse."""

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from services.identity.keys import KeyStore, generate_pem

ISSUER = "funding-desk-identity"
AUDIENCE = "funding-desk"


def claims_for(*, organisation_id: str | None, roles: list[str], kind: str = "user",
               org_kind: str | None = "association", subject: str | None = None, scope: str = "",
               **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": subject or str(uuid.uuid4()), "iat": now, "nbf": now,
        "exp": now + 300, "jti": uuid.uuid4().hex, "kind": kind, "org": organisation_id, "org_kind": org_kind,
        "roles": roles, "scope": scope,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())


def forgeries(keys: KeyStore, claims: dict[str, Any]) -> dict[str, Callable[[], str]]:
    """Each entry builds one token that must get a 401."""
    now = int(time.time())
    stranger = KeyStore.from_pem(generate_pem())
    public_pem = keys.public_pem()

    def alg_none() -> str:
        return _unsigned({"alg": "none", "kid": keys.kid, "typ": "at+jwt"}, claims) + "."

    def hs256_with_public_key() -> str:
        signing_input = _unsigned({"alg": "HS256", "kid": keys.kid, "typ": "at+jwt"}, claims)
        signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + _b64(signature)

    def tampered_signature() -> str:
        token = keys.sign(claims)
        body, signature = token.rsplit(".", 1)
        flipped = ("A" if signature[10] != "A" else "B")
        return body + "." + signature[:10] + flipped + signature[11:]

    def tampered_claims() -> str:
        token = keys.sign(claims)
        head, _, signature = token.split(".")
        return head + "." + _b64(json.dumps({**claims, "roles": ["platform_admin"]}).encode()) + "." + signature

    def signed_by(store: KeyStore, extra_headers: dict[str, Any] | None = None, **changes: Any) -> str:
        merged = {k: v for k, v in {**claims, **changes}.items() if v is not None}
        return store.sign(merged, headers=extra_headers)

    return {
        "alg_none": alg_none,
        "hs256_signed_with_public_key": hs256_with_public_key,
        "expired": lambda: signed_by(keys, exp=now - 60, iat=now - 700, nbf=now - 700),
        "not_yet_valid": lambda: signed_by(keys, nbf=now + 3600),
        "wrong_audience": lambda: signed_by(keys, aud="another-api"),
        "wrong_issuer": lambda: signed_by(keys, iss="https://evil.example"),
        "wrong_typ": lambda: signed_by(keys, extra_headers={"typ": "JWT"}),
        "unknown_kid": lambda: signed_by(stranger),
        "our_kid_another_key": lambda: stranger.sign(claims, headers={"kid": keys.kid}),
        "tampered_signature": tampered_signature,
        "tampered_claims": tampered_claims,
        "jku_header": lambda: signed_by(keys, extra_headers={"jku": "https://evil.example/jwks.json"}),
        "missing_exp": lambda: signed_by(keys, exp=None),
        "missing_sub": lambda: signed_by(keys, sub=None),
        "bad_kind": lambda: signed_by(keys, kind="superuser"),
    }
