from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import VAR_DIR, ServiceSettings, sqlite_url_for


class FundingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FUNDING_", extra="ignore")

    port: int = 8003
    database_url: str = Field(default_factory=lambda: sqlite_url_for("funding"))
    db_schema: str = "funding"
    projects_url: str = "http://127.0.0.1:8002"
    # Credentials of this service at identity (client id "svc-funding"), for its service tokens.
    service_client_secret: str = "dev-only-service-secret-funding"
    # The holders' notifications go out by SMTP when a host is set; otherwise each is written as an .eml file
    # into the mail folder (development: the git-ignored var/).
    mail_smtp_host: str | None = None
    mail_smtp_port: int = 25
    mail_smtp_starttls: bool = False
    mail_smtp_username: str | None = None
    mail_smtp_password: str = ""
    mail_smtp_timeout_seconds: float = 10.0
    mail_from: str = "guichet-unique@contrat-de-ville.example"
    mail_folder: str = str(VAR_DIR / "mail")
    # Webhooks: networks a target may be in although not public (CIDRs; the tests allow 127.0.0.0/8, and plain
    # http there); how long one attempt may take; how often the worker looks for work.
    webhook_allowed_networks: list[str] = []
    webhook_timeout_seconds: float = 10.0
    webhook_poll_seconds: float = 1.0
    # How often the worker looks for payments fallen due and reports gone late (time-made events, by the day): a
    # look reads every scheduled payment and owed report, which at a country's scale is a second of the database.
    webhook_announce_seconds: float = 60.0

    def secret_fields(self) -> dict[str, str]:
        secrets = {"service_client_secret": self.service_client_secret}
        if self.mail_smtp_password:
            secrets["mail_smtp_password"] = self.mail_smtp_password
        return secrets
