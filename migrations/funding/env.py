from common.migrations import run_migrations
from services.funding.models import metadata
from services.funding.settings import FundingSettings

settings = FundingSettings()
run_migrations(metadata=metadata, schema=settings.db_schema, default_url=settings.database_url)
