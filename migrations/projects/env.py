from common.migrations import run_migrations
from services.projects.settings import ProjectsSettings
from services.projects.tables import metadata

settings = ProjectsSettings()
run_migrations(metadata=metadata, schema=settings.db_schema, default_url=settings.database_url)
