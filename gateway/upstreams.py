"""The gateway's upstreams: which service owns which path, how long each route may wait for it, and one pooled
aiohttp session per service."""

import re

import aiohttp

from common.problems import GatewayTimeout, Text, UpstreamUnavailable
from gateway.settings import GatewaySettings

# Path prefixes owned by each service. The gateway holds no rule beyond this table.
ROUTES: tuple[tuple[str, str], ...] = (
    ("/api/v1/auth", "identity"),
    ("/api/v1/organisations", "identity"),
    ("/api/v1/me", "identity"),
    ("/api/v1/clients", "identity"),
    ("/api/v1/invitations", "identity"),
    ("/api/v1/audit-events", "identity"),
    ("/.well-known/jwks.json", "identity"),
    ("/api/v1/projects", "projects"),
    ("/api/v1/referential", "projects"),
    ("/api/v1/indicators", "projects"),
    ("/api/v1/documents", "projects"),
    ("/api/v1/reports", "projects"),
    ("/api/v1/association-budgets", "projects"),
    ("/api/v1/programmes", "funding"),
    ("/api/v1/dossiers", "funding"),
    ("/api/v1/envelopes", "funding"),
    ("/api/v1/sessions", "funding"),
    ("/api/v1/decisions", "funding"),
    ("/api/v1/notifications", "funding"),
    ("/api/v1/agreements", "funding"),
    ("/api/v1/payments", "funding"),
    ("/api/v1/financial-reports", "funding"),
    ("/api/v1/grants", "funding"),
    ("/api/v1/events", "funding"),
    ("/api/v1/webhooks", "funding"),
    ("/api/v1/exports", "funding"),
    ("/api/v1/stats", "funding"),
    ("/api/v1/integrity", "funding"),
)


def upstream_for(path: str) -> str | None:
    for prefix, service in ROUTES:
        if path == prefix or path.startswith(prefix + "/"):
            return service
    return None


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def upstream_timeout(service: str, settings: GatewaySettings) -> GatewayTimeout:
    """504: the service had the request and said nothing in time (a write may still have happened)."""
    return GatewayTimeout(
        Text(f"{service} n'a pas répondu à temps.", f"{service} did not answer in time."),
        retry_after=settings.upstream_retry_after_seconds, extra={"upstream": service},
    )


def upstream_unreachable(service: str, settings: GatewaySettings) -> UpstreamUnavailable:
    """503: no connection to the service (down or restarting: the request never reached it) or a connection that
    broke; the client tries again after Retry-After, with the same Idempotency-Key for a write."""
    return UpstreamUnavailable(
        Text(f"Le service {service} est injoignable.", f"The {service} service is unreachable."),
        retry_after=settings.upstream_retry_after_seconds, extra={"upstream": service},
    )


class RouteTimeouts:
    """How long a route waits for its upstream: reads short, writes longer, the slow operations longest."""

    def __init__(self, settings: GatewaySettings):
        self.read = settings.upstream_read_timeout_seconds
        self.write = settings.upstream_write_timeout_seconds
        self.slow_seconds = settings.upstream_slow_timeout_seconds
        self.slow = [_operation_pattern(operation) for operation in settings.upstream_slow_operations]

    def seconds(self, method: str, path: str) -> float:
        operation = f"{method} {path}"
        if any(pattern.fullmatch(operation) for pattern in self.slow):
            return self.slow_seconds
        return self.read if method in SAFE_METHODS else self.write


def _operation_pattern(operation: str) -> re.Pattern[str]:
    method, _, path = operation.partition(" ")
    segments = (r"[^/]+" if segment == "*" else re.escape(segment) for segment in path.split("/"))
    return re.compile(re.escape(method) + " " + "/".join(segments) + "/?")


class Upstreams:
    """Sessions are created on first use, inside the server's event loop, as aiohttp requires."""

    def __init__(self, settings: GatewaySettings):
        self.settings = settings
        self.base_urls = {
            "identity": settings.identity_url.rstrip("/"),
            "projects": settings.projects_url.rstrip("/"),
            "funding": settings.funding_url.rstrip("/"),
        }
        self._sessions: dict[str, aiohttp.ClientSession] = {}
        self.timeouts = RouteTimeouts(settings)

    def request_timeout(self, method: str, path: str) -> aiohttp.ClientTimeout:
        """The pass-through's timeout: the route's longest silence, no bound on a body that keeps flowing."""
        seconds = self.timeouts.seconds(method, path)
        # `connect` bounds the wait for a free pooled connection too: a pool full of stuck calls is a timeout.
        return aiohttp.ClientTimeout(
            total=None, connect=seconds, sock_connect=self.settings.upstream_connect_timeout_seconds, sock_read=seconds
        )

    def session(self, service: str) -> aiohttp.ClientSession:
        session = self._sessions.get(service)
        if session is None or session.closed:
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.settings.upstream_connections, keepalive_timeout=30, ttl_dns_cache=300
                ),
                # The gateway's own calls (keys, documents, aggregates, probes) are reads; the pass-through gives
                # each request its route's timeout.
                timeout=aiohttp.ClientTimeout(
                    total=self.settings.upstream_read_timeout_seconds,
                    sock_connect=self.settings.upstream_connect_timeout_seconds,
                ),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
            )
            self._sessions[service] = session
        return session

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()
