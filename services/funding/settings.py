from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import MailSettings, sqlite_url_for
from services.shared_figures import DEFAULT_MIN_PROJECTS


class FundingSettings(MailSettings):
    model_config = SettingsConfigDict(env_prefix="FUNDING_", extra="ignore")

    port: int = 8003
    database_url: str = Field(default_factory=lambda: sqlite_url_for("funding"))
    db_schema: str = "funding"
    projects_url: str = "http://127.0.0.1:8002"
    # Credentials of this service at identity (client id "svc-funding"), for its service tokens.
    service_client_secret: str = "dev-only-service-secret-funding"
    # Webhooks: networks a target may be in although not public (CIDRs; the tests allow 127.0.0.0/8, and plain
    # http there); how long one attempt may take; how often the worker looks for work.
    webhook_allowed_networks: list[str] = []
    webhook_timeout_seconds: float = 10.0
    webhook_poll_seconds: float = 1.0
    # How often the worker looks for payments fallen due and reports gone late (time-made events, by the day): a
    # look reads every scheduled payment and owed report, which at a country's scale is a second of the database.
    webhook_announce_seconds: float = 60.0
    # The worker's own PostgreSQL pool: its passes are short transactions, its sends (a batch at once) each hold a
    # connection only to read and to record. Counted in the connection budget (README, Configuration).
    webhook_database_pool_size: int = Field(default=2, ge=1, le=100)
    webhook_database_max_overflow: int = Field(default=2, ge=0, le=100)
    # A territory's figures: a line of fewer projects is suppressed for associations and councils
    # (services/shared_figures.py).
    small_cell_min_projects: int = Field(default=DEFAULT_MIN_PROJECTS, ge=1, le=100)

    def secret_fields(self) -> dict[str, str]:
        return {"service_client_secret": self.service_client_secret, **self.mail_secret_fields()}
