"""ASGI entry point: `uvicorn services.projects.main:app`."""

from common.observability import configure_logging
from services.projects.app import create_app
from services.projects.settings import ProjectsSettings

settings = ProjectsSettings()
configure_logging("projects", settings.log_level)
app = create_app(settings)
