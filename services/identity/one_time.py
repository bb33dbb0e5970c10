"""Secrets the desk draws itself (refresh tokens, client secrets, the single-use tokens sent by mail): 256 bits of
entropy, stored only as their SHA-256, so that a copy of the database opens nothing."""

import hashlib
import secrets


def hash_secret(value: str) -> str:
    # A fast hash is enough for secrets of this entropy, unlike passwords.
    return hashlib.sha256(value.encode()).hexdigest()


def new_token(prefix: str) -> tuple[str, str]:
    """A fresh token and the hash to store; the prefix says what it opens (`inv_`, `sgn_`, `pwr_`, `rt_`)."""
    value = prefix + secrets.token_urlsafe(32)
    return value, hash_secret(value)
