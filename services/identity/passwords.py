"""argon2id password hashing."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.identity.settings import IdentitySettings


class Passwords:
    def __init__(self, settings: IdentitySettings):
        self._hasher = PasswordHasher(
            time_cost=settings.password_time_cost, memory_cost=settings.password_memory_kib, parallelism=1
        )
        # Verified against when the email is unknown, so both paths cost the same.
        self._decoy = self._hasher.hash("decoy-password-for-timing")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._decoy, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False
