"""Prints the configuration table of the README from the settings classes: `python -m scripts.settings_table`."""

from pydantic_settings import BaseSettings

from common.settings import REPO_ROOT, ServiceSettings
from gateway.settings import GatewaySettings
from services.funding.settings import FundingSettings
from services.identity.settings import IdentitySettings
from services.projects.settings import ProjectsSettings

CLASSES: tuple[type[BaseSettings], ...] = (IdentitySettings, ProjectsSettings, FundingSettings, GatewaySettings)

DESCRIPTIONS = {
    "environment": "`development`, `test` or `production`; outside development, default secrets are refused",
    "host": "interface the server binds",
    "port": "port of the service",
    "database_url": "SQLAlchemy URL: `sqlite:///…` (default, under var/) or `postgresql://user@host/db`",
    "db_schema": "PostgreSQL schema owned by the service",
    "documents_root": "folder of the documents vault's content-addressed files",
    "documents_max_bytes": "largest document file accepted (413 above)",
    "documents_zip_max_entries": "most entries a ZIP-based document (ODT, DOCX, XLSX) may hold (422 above)",
    "documents_zip_max_uncompressed_bytes": "most bytes a ZIP-based document's entries may declare once inflated",
    "documents_zip_max_ratio": "highest compression ratio of one entry over 1 MiB in a ZIP-based document",
    "pin_reservation_seconds": (
        "how long a submission's pin reservation holds a document version before lapsing, when funding never "
        "confirmed it (a crash, a failed commit)"
    ),
    "pin_sweep_seconds": "period of the sweep deleting lapsed pin reservations (0: none; a deletion skips them anyway)",
    "small_cell_min_projects": "the fewest projects a shared figure (an indicator cell, a territory's line or "
    "total) must rest on for associations and citizen councils to read it; below, `suppressed: true` and null "
    "figures",
    "database_pool": "pool connections (turn off only for clients that change event loop per request)",
    "database_pool_size": "PostgreSQL connections a process keeps open (the connection budget is below the table)",
    "database_max_overflow": "PostgreSQL connections a process may open beyond its pool in a burst",
    "database_pool_timeout_seconds": "how long a request waits for a free pooled connection before a 503 "
    "`database_busy` (below the gateway's read timeout)",
    "database_connect_timeout_seconds": "how long opening a PostgreSQL connection may take before a 503 "
    "`database_unavailable`",
    "readiness_timeout_seconds": "`/readyz` answers 503 `not_ready` when the database has not answered `SELECT 1` "
    "within this delay (below the gateway's probe timeout)",
    "readiness_retry_after_seconds": "`Retry-After` of a 503 from `/readyz`",
    "log_level": "JSON log level",
    "max_body_bytes": "largest request body accepted (413 above)",
    "identity_url": "where identity listens (JWKS, service tokens)",
    "projects_url": "where projects listens",
    "funding_url": "where funding listens",
    "token_issuer": "`iss` of access tokens",
    "token_audience": "`aud` of access tokens",
    "jwks_min_refresh_seconds": "least delay between two JWKS refreshes caused by an unknown `kid`",
    "jwks_refresh_seconds": "delay between two background refreshes of identity's public keys (JWKS)",
    "jwks_startup_wait_seconds": (
        "how long start-up waits for identity's keys; the service starts anyway and answers 503 "
        "`identity_unavailable` to tokens until it has them"
    ),
    "upstream_timeout_seconds": "timeout of calls to another service",
    "idempotency_lease_seconds": (
        "how long an `Idempotency-Key` left by a process that died stays reserved (retries get 409 with "
        "`Retry-After`); any failure seen in-process frees it at once. Keep it above the slowest request"
    ),
    "signing_key_file": "PEM of the RSA key that signs tokens (generated in development only)",
    "previous_key_files": "comma-separated PEM files of retired keys still published in the JWKS",
    "access_token_ttl_seconds": (
        "access token lifetime (30–600 s): how long a removed member or a suspended organisation keeps an "
        "already issued token"
    ),
    "refresh_token_ttl_seconds": "refresh token lifetime",
    "service_clients": 'JSON map of the desk\'s services and their secrets, e.g. `{"funding": "…"}`',
    "login_max_failures": "failed logins per account within the window before 429",
    "login_failure_window_seconds": "window of the failed-login count",
    "password_time_cost": "argon2id time cost",
    "password_memory_kib": "argon2id memory cost (KiB)",
    "service_client_secret": "funding's secret at identity (client id `svc-funding`)",
    "mail_smtp_host": (
        "SMTP server of the service's mails (funding: the holders' notifications; identity: invitations, "
        "sign-up checks, password resets); unset: each mail is an .eml file in the mail folder"
    ),
    "mail_smtp_port": "SMTP port",
    "mail_smtp_starttls": "upgrade the SMTP connection with STARTTLS",
    "mail_smtp_username": "SMTP login (none: no authentication)",
    "mail_smtp_password": "SMTP password",
    "mail_smtp_timeout_seconds": "timeout of each SMTP exchange",
    "mail_from": "sender address of the notifications",
    "mail_folder": "folder of the .eml files when no SMTP server is set",
    "upstream_connections": "connection pool size per upstream",
    "upstream_connect_timeout_seconds": "connect timeout to an upstream",
    "upstream_read_timeout_seconds": "longest silence of a service once it has a read (`GET`, `HEAD`, `OPTIONS`) "
    "before 504 `upstream_timeout`; a body that keeps flowing is never cut",
    "upstream_write_timeout_seconds": "the same for the other methods",
    "upstream_slow_operations": "JSON list of `METHOD /path` (`*`: one segment) that wait the slow timeout: the "
    "writes that call other services (creating and submitting a dossier, declaring admissibility), closing a "
    "session, the exports",
    "upstream_slow_timeout_seconds": "the same for the slow operations",
    "upstream_retry_after_seconds": "`Retry-After` of the gateway's 502, 503 and 504",
    "readiness_interval_seconds": "how often the gateway looks at each service's `/readyz` in the background; its "
    "own `/readyz` answers from the last look",
    "readiness_probe_timeout_seconds": "longest wait for one service's `/readyz` (`timeout` in the view beyond)",
    "readiness_max_age_seconds": "a view older than this is stale: the gateway's `/readyz` says 503",
    "readiness_failures_to_fail": "failed looks in a row before a service once seen ready is named failing (one "
    "late answer from a busy service is not an outage); never seen ready, it fails from the first",
    "aggregate_timeout_seconds": "time an aggregated view waits for each part",
    "clock_file": (
        "a file whose ISO datetime the service takes as now (end-to-end tests move a CPO through its years); "
        "refused in production"
    ),
    "webhook_allowed_networks": (
        'networks (JSON list of CIDRs) a webhook target may be in although not public; plain http is taken '
        'there only (tests: `["127.0.0.0/8"]`)'
    ),
    "webhook_timeout_seconds": "longest wait for a webhook endpoint's answer",
    "webhook_database_pool_size": "PostgreSQL connections the webhook worker keeps open",
    "webhook_database_max_overflow": "PostgreSQL connections the webhook worker may open beyond its pool in a burst",
    "webhook_poll_seconds": "how often an idle webhook worker looks for events and due deliveries",
    "webhook_announce_seconds": (
        "how often the webhook worker looks for payments fallen due and reports gone late (`payment.due`, "
        "`report.overdue`: time-made, by the day); each look reads every scheduled payment and owed report, "
        "about a second of PostgreSQL at a million dossiers"
    ),
    "login_max_failures_per_ip": (
        "failed logins from one client address within the window before 429 (whatever the accounts tried)"
    ),
    "login_concurrent_per_ip": "password checks one client address may have running at once (429 beyond)",
    "trusted_proxies": "networks (JSON list of CIDRs) whose `X-Forwarded-For` names the client address (the gateway's)",
    "password_workers": "threads hashing and verifying passwords (argon2 never runs on the event loop)",
    "signup_ttl_seconds": "how long a sign-up's verification link stays valid; unverified, nothing is created",
    "invitation_ttl_seconds": "how long an invitation's link stays valid",
    "password_reset_ttl_seconds": "how long a password reset link stays valid",
    "links_base_url": "where the links mailed to people point (the gateway's public address)",
    # A name several classes share with different meanings is described under its full variable name.
    "gateway_trusted_proxies": "networks (JSON list of CIDRs) of proxies in front of the gateway whose "
    "`X-Forwarded-For` "
    "names the client; empty: the peer is the client, and a client's own `X-Forwarded-For` is dropped",
    "rate_limit_caller": "requests per caller (token subject, or machine client) in a sliding window, in the `limits` "
    "notation (`600/minute`); 429 beyond",
    "rate_limit_anonymous": "requests per client address without a token (or with an invalid one)",
    "rate_limit_auth": "anonymous writes to identity (login, sign-up, password reset, invitation, verification) per "
    "client address",
    "rate_limit_storage_url": "where the counts live: `memory://` (this process) or `redis://host:port/db` (shared "
    "by every gateway process); while Redis is unreachable, requests pass unlimited and a warning is logged",
    "rate_limit_key_prefix": "prefix of the rate limits' Redis keys",
    "rate_limit_storage_timeout_seconds": "longest wait for Redis before a request passes unlimited",
}


def _default(field: object) -> str:
    if getattr(field, "default_factory", None) is not None:
        return "under `var/`"
    default = getattr(field, "default", None)
    if default in ("", None):
        return ""
    return "`" + str(default).replace(str(REPO_ROOT) + "/", "") + "`"


def table() -> str:
    """Fields every service shares are listed once as `<SERVICE>_NAME`; then each class's own."""
    shared = ServiceSettings.model_fields
    per_service = ("port", "database_url", "db_schema")
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in shared.items():
        if name in per_service:
            continue  # defaults differ per service: listed with each service
        lines.append(f"| `<SERVICE>_{name.upper()}` | {_default(field)} | {DESCRIPTIONS.get(name, '')} |")
    for settings_class in CLASSES:
        prefix = settings_class.model_config.get("env_prefix", "")
        for name, field in settings_class.model_fields.items():
            if settings_class is not GatewaySettings and name in shared and name not in per_service:
                continue
            meaning = DESCRIPTIONS.get((prefix + name).lower(), DESCRIPTIONS.get(name, ""))
            lines.append(f"| `{(prefix + name).upper()}` | {_default(field)} | {meaning} |")
    return "\n".join(lines)


def every_variable() -> set[str]:
    """Each variable the code reads, spelled out (`<SERVICE>_` expanded), for the README test."""
    return {
        (settings_class.model_config.get("env_prefix", "") + name).upper()
        for settings_class in CLASSES
        for name in settings_class.model_fields
    }


if __name__ == "__main__":
    print(table())
