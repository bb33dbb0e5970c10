"""The gateway's upstreams: which service owns which path, and one pooled aiohttp session per service."""

import aiohttp

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
)


def upstream_for(path: str) -> str | None:
    for prefix, service in ROUTES:
        if path == prefix or path.startswith(prefix + "/"):
            return service
    return None


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

    def session(self, service: str) -> aiohttp.ClientSession:
        session = self._sessions.get(service)
        if session is None or session.closed:
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.settings.upstream_connections, keepalive_timeout=30, ttl_dns_cache=300
                ),
                timeout=aiohttp.ClientTimeout(
                    total=self.settings.upstream_timeout_seconds,
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
