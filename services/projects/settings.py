from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import VAR_DIR, ServiceSettings, sqlite_url_for
from services.shared_figures import DEFAULT_MIN_PROJECTS


class ProjectsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PROJECTS_", extra="ignore")

    port: int = 8002
    database_url: str = Field(default_factory=lambda: sqlite_url_for("projects"))
    db_schema: str = "projects"
    # The documents vault: content-addressed blobs on disk (git-ignored var/ by default) and the largest file taken.
    documents_root: Path = VAR_DIR / "documents"
    documents_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    # ZIP-based documents (ODT, DOCX, XLSX): what their central directory may declare (422 above).
    documents_zip_max_entries: int = Field(default=5_000, ge=1)
    documents_zip_max_uncompressed_bytes: int = Field(default=256 * 1024 * 1024, ge=1)
    documents_zip_max_ratio: int = Field(default=200, ge=1)
    # A submission's pins are reserved until funding confirms them; unconfirmed, they lapse after this long and the
    # sweep (every `pin_sweep_seconds`, 0: only lazily, where a deletion meets one) deletes them.
    pin_reservation_seconds: int = Field(default=900, ge=1)
    pin_sweep_seconds: float = Field(default=60, ge=0)
    # The shared aggregates: a cell of fewer projects is suppressed for associations and councils
    # (services/shared_figures.py).
    small_cell_min_projects: int = Field(default=DEFAULT_MIN_PROJECTS, ge=1, le=100)
