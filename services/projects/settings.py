from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings, sqlite_url_for


class ProjectsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PROJECTS_", extra="ignore")

    port: int = 8002
    database_url: str = Field(default_factory=lambda: sqlite_url_for("projects"))
    db_schema: str = "projects"
