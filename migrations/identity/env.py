from common.migrations import run_migrations
from services.identity.models import metadata
from services.identity.settings import IdentitySettings

settings = IdentitySettings()
run_migrations(metadata=metadata, schema=settings.db_schema, default_url=settings.database_url)
