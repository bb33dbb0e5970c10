from common.migrations import run_migrations
from services.projects.models import metadata
from services.projects.settings import ProjectsSettings

settings = ProjectsSettings()
run_migrations(metadata=metadata, schema=settings.db_schema, default_url=settings.database_url)
