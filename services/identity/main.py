"""ASGI entry point: `uvicorn services.identity.main:app`."""

from common.observability import configure_logging
from services.identity.app import create_app
from services.identity.settings import IdentitySettings

settings = IdentitySettings()
configure_logging("identity", settings.log_level)
app = create_app(settings)
