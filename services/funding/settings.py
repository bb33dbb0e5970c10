from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings, sqlite_url_for


class FundingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FUNDING_", extra="ignore")

    port: int = 8003
    database_url: str = Field(default_factory=lambda: sqlite_url_for("funding"))
    db_schema: str = "funding"
    projects_url: str = "http://127.0.0.1:8002"
    # Credentials of this service at identity (client id "svc-funding"), for its service tokens.
    service_client_secret: str = "dev-only-service-secret-funding"

    def secret_fields(self) -> dict[str, str]:
        return {"service_client_secret": self.service_client_secret}
