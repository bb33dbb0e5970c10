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
    # Per-upstream connection pool and timeouts of the pass-through hop.
    upstream_connections: int = 100
    upstream_connect_timeout_seconds: float = 2.0
    upstream_timeout_seconds: float = 15.0
    # Aggregated views answer with what arrived within this delay.
    aggregate_timeout_seconds: float = 2.0
    # A document of the vault's largest size (PROJECTS_DOCUMENTS_MAX_BYTES, 10 MiB) plus its multipart form:
    # raise both together.
    max_body_bytes: int = 11 * 1_048_576
