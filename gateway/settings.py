import ipaddress
import re
from typing import Self

from limits import parse
from pydantic import Field, field_validator, model_validator
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
    # Per-upstream connection pool and timeouts of the pass-through hop. A timeout is the longest silence of the
    # upstream once it has the whole request (its thinking, then between two chunks of its answer), so a large
    # upload or export that keeps flowing is never cut. Reads wait above the services' own wait for their peers
    # (<SERVICE>_UPSTREAM_TIMEOUT_SECONDS, 5 s), so that their 502 reaches the client rather than our 504.
    upstream_connections: int = 100
    upstream_connect_timeout_seconds: float = 2.0
    upstream_read_timeout_seconds: float = 6.0
    upstream_write_timeout_seconds: float = 15.0
    # Writes that call other services before they answer (a submission asks projects and identity) or build a
    # large answer: "METHOD /path", `*` standing for one path segment.
    upstream_slow_operations: list[str] = [
        "POST /api/v1/dossiers",
        "POST /api/v1/dossiers/*/submit",
        "POST /api/v1/dossiers/*/admissibility",
        "POST /api/v1/sessions/*/close",
        "GET /api/v1/exports/*",
    ]
    upstream_slow_timeout_seconds: float = 30.0
    # What a 504 (and the readiness' 503) tells the client to wait before trying again.
    upstream_retry_after_seconds: int = Field(default=5, ge=1)
    # Aggregated views answer with what arrived within this delay (a read: at most the read timeout).
    aggregate_timeout_seconds: float = 2.0
    # /readyz answers from the last look at each service's /readyz, taken in the background at this interval,
    # each look waiting at most the probe timeout; a view older than the max age is not trusted (503).
    readiness_interval_seconds: float = Field(default=1.0, gt=0)
    readiness_probe_timeout_seconds: float = Field(default=2.0, gt=0)
    readiness_max_age_seconds: float = Field(default=5.0, gt=0)
    # A service once seen ready is named failing after this many failed looks in a row (a busy event loop may miss
    # one look); a service never seen ready is failing from the first.
    readiness_failures_to_fail: int = Field(default=2, ge=1)
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

    @field_validator("upstream_slow_operations")
    @classmethod
    def _operations(cls, value: list[str]) -> list[str]:
        for operation in value:
            if not OPERATION.fullmatch(operation):
                raise ValueError(f"{operation!r}: an operation is 'METHOD /path' ('POST /api/v1/dossiers/*/submit')")
        return value

    @model_validator(mode="after")
    def _timeouts_in_order(self) -> Self:
        if not self.aggregate_timeout_seconds <= self.upstream_read_timeout_seconds:
            raise ValueError("aggregate_timeout_seconds: an aggregated view's part is a read, at most the read timeout")
        if not self.readiness_max_age_seconds >= self.readiness_interval_seconds + self.readiness_probe_timeout_seconds:
            raise ValueError("readiness_max_age_seconds: at least one interval and one probe, or every view is stale")
        return self


OPERATION = re.compile(r"(GET|HEAD|POST|PUT|PATCH|DELETE) /[^\s]*")
