from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import VAR_DIR, ServiceSettings, sqlite_url_for


class ProjectsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PROJECTS_", extra="ignore")

    port: int = 8002
    database_url: str = Field(default_factory=lambda: sqlite_url_for("projects"))
    db_schema: str = "projects"
    # The documents vault: content-addressed blobs on disk (git-ignored var/ by default) and the largest file taken.
    documents_root: Path = VAR_DIR / "documents"
    documents_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
