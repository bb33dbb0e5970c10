"""ASGI entry point: `uvicorn services.funding.main:app`."""

from common.observability import configure_logging
from services.funding.app import create_app
from services.funding.settings import FundingSettings

settings = FundingSettings()
configure_logging("funding", settings.log_level)
app = create_app(settings)
