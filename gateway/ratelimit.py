"""Rate limits at the door: a sliding window per caller (token subject or machine client), per address for
anonymous calls, and a stricter one per address for the anonymous writes to identity (logins, sign-ups, resets,
invitations, verifications).

The counting is the `limits` library's (its sliding window counter: two counters per key, O(1) in memory, one
small Lua script in Redis) rather than ours: the window arithmetic, the key expiry and the Redis scripts are
where hand-made counters go wrong. Answers carry the IETF draft headers (draft-ietf-httpapi-ratelimit-headers,
structured-fields form): `RateLimit-Policy: "caller";q=600;w=60` and `RateLimit: "caller";r=599;t=42`.
"""

import logging
import math
import time
from dataclasses import dataclass
from typing import cast

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage, Storage
from limits.aio.storage.redis.redispy import RedispyBridge
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string
from limits.util import WindowStats
from redis.asyncio import Redis, RedisCluster
from redis.exceptions import NoScriptError

from common.problems import Text, TooManyRequests
from gateway.settings import GatewaySettings

log = logging.getLogger("gateway.ratelimit")
# After a storage failure the limiter stands aside this long before trying again: while Redis is away each
# request would otherwise pay a connection attempt (and its timeout) for nothing.
STORAGE_RETRY_SECONDS = 1.0
# At most one warning per this many seconds while the storage is away: a flood must not become a log flood.
LOG_EVERY_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    item: RateLimitItem
    header: bytes  # RateLimit-Policy, built once

    @classmethod
    def of(cls, name: str, notation: str) -> "Policy":
        item = parse(notation)
        return cls(name, item, f'"{name}";q={item.amount};w={item.get_expiry()}'.encode())


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    headers: list[tuple[bytes, bytes]]
    retry_after: int


def storage_uri(url: str) -> str:
    """`redis://…` as an operator writes it is limits' `async+redis://…`; memory:// likewise."""
    return url if url.startswith("async+") else "async+" + url


class RateLimiter:
    def __init__(self, settings: GatewaySettings):
        self.policies = {
            "caller": Policy.of("caller", settings.rate_limit_caller),
            "anonymous": Policy.of("anonymous", settings.rate_limit_anonymous),
            "auth": Policy.of("auth", settings.rate_limit_auth),
        }
        uri = storage_uri(settings.rate_limit_storage_url)
        options: dict[str, float | str] = {}
        if uri.startswith("async+redis"):
            # redis-py (already the desk's Redis client) rather than limits' default coredis; short timeouts so
            # that a Redis gone silent costs a request at most this long before the limiter stands aside.
            options = {
                "implementation": "redispy",
                "key_prefix": settings.rate_limit_key_prefix,
                "socket_timeout": settings.rate_limit_storage_timeout_seconds,
                "socket_connect_timeout": settings.rate_limit_storage_timeout_seconds,
            }
        self.storage: Storage = storage_from_string(uri, **options)  # type: ignore[assignment]
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        self.failed_until = 0.0
        self.last_warning = 0.0

    async def check(self, policy_name: str, identifier: str) -> Verdict | None:
        """One hit on the policy's window for this identifier; None while the storage is away (fail open)."""
        now = time.time()
        if now < self.failed_until:
            return None
        policy = self.policies[policy_name]
        try:
            if isinstance(self.storage, RedisStorage):
                allowed, stats = await self._hit_redis(self.storage, policy.item, policy_name, identifier)
            else:
                allowed = await self.strategy.hit(policy.item, policy_name, identifier)
                stats = await self.strategy.get_window_stats(policy.item, policy_name, identifier)
        except Exception as exc:  # noqa: BLE001 - any storage failure: see below
            # Fail open: the gateway is the desk's only door, and a Redis outage must not close it for everyone.
            # What stands behind it still holds: identity throttles failed logins per account and per address in
            # its own database, and every service checks tokens and roles itself.
            self.failed_until = now + STORAGE_RETRY_SECONDS
            if now - self.last_warning >= LOG_EVERY_SECONDS:
                self.last_warning = now
                log.warning("rate limit storage unreachable, requests pass unlimited: %r", exc)
            return None
        reset = max(0, math.ceil(stats.reset_time - now))
        headers = [
            (b"ratelimit-policy", policy.header),
            (b"ratelimit", f'"{policy_name}";r={stats.remaining};t={reset}'.encode()),
        ]
        if allowed:
            return Verdict(True, headers, 0)
        retry_after = max(1, reset)
        headers.append((b"retry-after", str(retry_after).encode()))
        return Verdict(False, headers, retry_after)

    async def _hit_redis(
        self, storage: RedisStorage, item: RateLimitItem, *identifiers: str
    ) -> tuple[bool, WindowStats]:
        """The hit and the window's state in one round trip: limits' own two Lua scripts (acquire, then read the
        window) pipelined on one connection, where its public API (hit, then get_window_stats) costs two. The
        keys and scripts are limits' (a pinned version; tests/test_ratelimit.py checks that its public API reads
        the same counts). When Redis has lost the scripts (restarted, flushed), the public API loads them again."""
        bridge = storage.bridge
        if not isinstance(bridge, RedispyBridge):  # the constructor asks for redis-py (never coredis)
            raise TypeError(f"rate limit storage: redis-py expected, found {type(bridge).__name__}")
        key = item.key_for(*identifiers)
        previous = bridge.prefixed_key(storage._previous_window_key(key))
        current = bridge.prefixed_key(storage._current_window_key(key))
        expiry = item.get_expiry()
        # evalsha straight on the pipeline: redis-py's Script objects would add a SCRIPT EXISTS round trip.
        # redis-py's client, which limits types by a narrower protocol (without pipeline()).
        connection = cast(Redis | RedisCluster, bridge.get_connection())
        pipe = connection.pipeline(transaction=False)
        pipe.evalsha(bridge.lua_acquire_sliding_window.sha, 2, previous, current, item.amount, expiry, 1)
        pipe.evalsha(bridge.lua_sliding_window.sha, 2, previous, current, expiry)
        try:
            acquired, window = await pipe.execute()
        except NoScriptError:
            allowed = await self.strategy.hit(item, *identifiers)
            return allowed, await self.strategy.get_window_stats(item, *identifiers)
        previous_count = int(window[0] or 0)
        previous_ttl = max(0.0, float(window[1] or 0)) / 1000
        current_count = int(window[2] or 0)
        current_ttl = max(0.0, float(window[3] or 0)) / 1000
        return bool(acquired), sliding_window_stats(item, previous_count, previous_ttl, current_count, current_ttl)

    async def close(self) -> None:
        if isinstance(self.storage, RedisStorage):
            await self.storage.bridge.get_connection().aclose()  # type: ignore[attr-defined]


def sliding_window_stats(
    item: RateLimitItem, previous_count: int, previous_ttl: float, current_count: int, current_ttl: float
) -> WindowStats:
    """What limits' SlidingWindowCounterRateLimiter.get_window_stats makes of a window read from the storage."""
    expiry = item.get_expiry()
    weighted = previous_count * previous_ttl / expiry + current_count
    remaining = max(0, item.amount - math.floor(weighted))
    now = time.time()
    if not (previous_count or current_count):
        return WindowStats(now, remaining)
    previous_reset_in = previous_ttl % (expiry / previous_count) if previous_count else math.inf
    current_reset_in = current_ttl % expiry if current_count else math.inf
    return WindowStats(now + min(previous_reset_in, current_reset_in), remaining)


def too_many(verdict: Verdict) -> TooManyRequests:
    return TooManyRequests(
        Text(
            f"Trop de requêtes ; réessayez dans {verdict.retry_after} s.",
            f"Too many requests; try again in {verdict.retry_after} s.",
        ),
        code="rate_limited",
    )
