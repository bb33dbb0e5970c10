from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from common.settings import VAR_DIR, MailSettings, sqlite_url_for


class IdentitySettings(MailSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")

    port: int = 8001
    database_url: str = Field(default_factory=lambda: sqlite_url_for("identity"))
    db_schema: str = "identity"
    # PEM file of the key that signs; generated on first start in development only.
    signing_key_file: str = str(VAR_DIR / "keys" / "signing.pem")
    # PEM files of retired keys still published in the JWKS during a rotation (comma-separated).
    previous_key_files: str = ""
    access_token_ttl_seconds: int = 600
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    # Secrets of the desk's own services, which get service tokens by client credentials.
    service_clients: dict[str, str] = {"funding": "dev-only-service-secret-funding"}
    login_max_failures: int = 5
    login_failure_window_seconds: int = 900
    # Refused passwords from one address within that window before the address is refused ahead of any check, and
    # password checks one address may have running at once: a flood from one place stalls no one else's login.
    login_max_failures_per_ip: int = 30
    login_concurrent_per_ip: int = 4
    # Peers whose X-Forwarded-For names the caller's address (the gateway); anyone else is taken at its own.
    trusted_proxies: list[str] = ["127.0.0.0/8", "::1/128"]
    # argon2id cost: OWASP's minimum by default; tests lower it to stay fast.
    password_time_cost: int = 2
    password_memory_kib: int = 19_456
    # argon2 runs off the event loop, in at most this many threads at once.
    password_workers: int = 2
    # Lifetimes of the single-use tokens sent by mail.
    signup_ttl_seconds: int = 48 * 3600
    invitation_ttl_seconds: int = 7 * 24 * 3600
    password_reset_ttl_seconds: int = 30 * 60
    # Where the links of those mails lead: the desk's public address.
    links_base_url: str = "http://127.0.0.1:8000"

    @field_validator("access_token_ttl_seconds")
    @classmethod
    def _short_lived(cls, value: int) -> int:
        # A token already issued outlives a removal or a suspension by at most this long.
        if not 30 <= value <= 600:
            raise ValueError("access tokens live between 30 s and 10 min")
        return value

    def secret_fields(self) -> dict[str, str]:
        return {
            **{f"service_clients[{name}]": secret for name, secret in self.service_clients.items()},
            **self.mail_secret_fields(),
        }
