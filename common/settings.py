"""Settings shared by every service; each service subclasses with its own env prefix."""

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = REPO_ROOT / "var"

# Any secret still holding this marker is a development default.
DEV_SECRET_MARKER = "dev-only-"

Environment = Literal["development", "test", "production"]


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    environment: Environment = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = ""
    # PostgreSQL schema owned by the service (ignored on SQLite: one file per service).
    db_schema: str = "public"
    # False gives one connection per session (no pool): for test clients that change event loop per request.
    database_pool: bool = True
    # Connections a process keeps open on PostgreSQL, and how many more it may open in a burst. The three services,
    # two webhook workers and a migration must fit PostgreSQL's default max_connections (100) with room to spare:
    # the budget is in the README (Configuration) and tests/test_connection_budget.py holds the defaults to it.
    database_pool_size: int = Field(default=8, ge=1, le=100)
    database_max_overflow: int = Field(default=4, ge=0, le=100)
    # A request waits this long for a free pooled connection, then gets a 503 `database_busy` (below the gateway's
    # 6 s read timeout); opening a PostgreSQL connection may take the other, then 503 `database_unavailable`.
    database_pool_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    database_connect_timeout_seconds: int = Field(default=3, ge=1, le=60)
    # /readyz says 503 when the database has not answered `SELECT 1` within this delay (the gateway's probe waits
    # GATEWAY_READINESS_PROBE_TIMEOUT_SECONDS, 2 s: answer before), and asks to come back after the other.
    readiness_timeout_seconds: float = Field(default=0.8, gt=0)
    readiness_retry_after_seconds: int = Field(default=5, ge=1)
    log_level: str = "INFO"
    max_body_bytes: int = 1_048_576
    identity_url: str = "http://127.0.0.1:8001"
    token_issuer: str = "funding-desk-identity"
    token_audience: str = "funding-desk"
    # Seconds between two JWKS refreshes triggered by an unknown key id.
    jwks_min_refresh_seconds: float = 10.0
    # Seconds between two background refreshes of identity's keys, and how long start-up waits for the first.
    jwks_refresh_seconds: float = Field(default=300.0, gt=0)
    jwks_startup_wait_seconds: float = Field(default=3.0, ge=0)
    upstream_timeout_seconds: float = 5.0
    # How long an Idempotency-Key's reservation is kept for a call that never finished: only a process that died
    # leaves one (any failure seen in-process frees the key at once); its retries get 409 with Retry-After until
    # then. Longer than the slowest request: a call outliving its lease is rolled back (it may not change twice).
    idempotency_lease_seconds: float = Field(default=15.0, ge=1, le=3600)
    # A file whose ISO datetime the service takes as now (end-to-end tests move time this way); never in production.
    clock_file: str | None = None

    def secret_fields(self) -> dict[str, str]:
        """Secrets that must not keep their development default outside development."""
        return {}

    @model_validator(mode="after")
    def _no_clock_file_in_production(self) -> Self:
        if self.environment == "production" and self.clock_file:
            raise ValueError("clock_file is for tests and demos: refused in environment 'production'")
        return self

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Self:
        if self.environment != "development":
            weak = [name for name, value in self.secret_fields().items() if DEV_SECRET_MARKER in value]
            if weak:
                raise ValueError(
                    f"default development secrets refused in environment {self.environment!r}: {', '.join(weak)}"
                )
        return self


class MailSettings(ServiceSettings):
    """A service that sends mail: by SMTP when a host is set; otherwise each message is written as an .eml file
    into the mail folder (development: the git-ignored var/)."""

    mail_smtp_host: str | None = None
    mail_smtp_port: int = 25
    mail_smtp_starttls: bool = False
    mail_smtp_username: str | None = None
    mail_smtp_password: str = ""
    mail_smtp_timeout_seconds: float = 10.0
    mail_from: str = "guichet-unique@contrat-de-ville.example"
    mail_folder: str = str(VAR_DIR / "mail")

    def mail_secret_fields(self) -> dict[str, str]:
        return {"mail_smtp_password": self.mail_smtp_password} if self.mail_smtp_password else {}


def sqlite_url_for(service: str) -> str:
    return f"sqlite:///{VAR_DIR / f'{service}.db'}"
