import ipaddress

from limits import parse
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.settings import Environment


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    environment: Environment = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    identity_url: str = "http://127.0.0.1:8001"
    projects_url: str = "http://127.0.0.1:8002"
    funding_url: str = "http://127.0.0.1:8003"
    token_issuer: str = "funding-desk-identity"
    token_audience: str = "funding-desk"
    jwks_min_refresh_seconds: float = 10.0
    jwks_refresh_seconds: float = Field(default=300.0, gt=0)
    jwks_startup_wait_seconds: float = Field(default=3.0, ge=0)
    # Per-upstream connection pool and timeouts of the pass-through hop.
    upstream_connections: int = 100
    upstream_connect_timeout_seconds: float = 2.0
    upstream_timeout_seconds: float = 15.0
    # Aggregated views answer with what arrived within this delay.
    aggregate_timeout_seconds: float = 2.0
    # A document of the vault's largest size (PROJECTS_DOCUMENTS_MAX_BYTES, 10 MiB) plus its multipart form:
    # raise both together.
    max_body_bytes: int = 11 * 1_048_576
    # Networks of the proxies in front of the gateway whose X-Forwarded-For names the client (none: the gateway is
    # the public door, and a client's own X-Forwarded-For is dropped).
    trusted_proxies: list[str] = []
    # Rate limits, in limits' notation ("600/minute", "10/second"), a sliding window each: per caller (token subject
    # or machine client), per address for anonymous calls, and per address for anonymous writes to identity
    # (logins, sign-ups, resets, invitations, verifications), behind which identity's own login throttle still stands.
    rate_limit_caller: str = "600/minute"
    rate_limit_anonymous: str = "120/minute"
    rate_limit_auth: str = "30/minute"
    # memory:// counts in this process; redis://host:port/db shares the counts between gateway processes.
    rate_limit_storage_url: str = "memory://"
    rate_limit_key_prefix: str = "gateway-ratelimit"
    rate_limit_storage_timeout_seconds: float = 0.25

    @field_validator("rate_limit_caller", "rate_limit_anonymous", "rate_limit_auth")
    @classmethod
    def _a_limit(cls, value: str) -> str:
        parse(value)  # a typo fails at start, not at the first request
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr)
        return value
