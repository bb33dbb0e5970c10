from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from common.settings import VAR_DIR, ServiceSettings, sqlite_url_for


class IdentitySettings(ServiceSettings):
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
    # argon2id cost: OWASP's minimum by default; tests lower it to stay fast.
    password_time_cost: int = 2
    password_memory_kib: int = 19_456

    @field_validator("access_token_ttl_seconds")
    @classmethod
    def _short_lived(cls, value: int) -> int:
        if not 30 <= value <= 900:
            raise ValueError("access tokens live between 30 s and 15 min")
        return value

    def secret_fields(self) -> dict[str, str]:
        return {f"service_clients[{name}]": secret for name, secret in self.service_clients.items()}
