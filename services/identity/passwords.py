"""argon2id password hashing, off the event loop: one hash costs tens of milliseconds of CPU, which on the loop
would stall every other request of the process (argon2's C code lets go of the GIL, so threads run it truly in
parallel); at most `password_workers` run at once, the others wait their turn."""

from anyio import CapacityLimiter, to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.identity.settings import IdentitySettings


class Passwords:
    def __init__(self, settings: IdentitySettings):
        self._hasher = PasswordHasher(
            time_cost=settings.password_time_cost, memory_cost=settings.password_memory_kib, parallelism=1
        )
        self._workers = settings.password_workers
        self._limiter: CapacityLimiter | None = None
        # Verified against when the email is unknown, so both paths cost the same.
        self._decoy = self._hasher.hash("decoy-password-for-timing")

    @property
    def limiter(self) -> CapacityLimiter:
        # Made on first use: a CapacityLimiter belongs to the event loop that runs it.
        if self._limiter is None:
            self._limiter = CapacityLimiter(self._workers)
        return self._limiter

    def hash_now(self, password: str) -> str:
        """On the calling thread: for scripts (the demo's seed), never in a request."""
        return self._hasher.hash(password)

    async def hash(self, password: str) -> str:
        return await to_thread.run_sync(self._hasher.hash, password, limiter=self.limiter)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await to_thread.run_sync(self._verify, password_hash, password, limiter=self.limiter)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._decoy, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False
