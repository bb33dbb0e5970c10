"""ASGI entry point: `uvicorn gateway.main:app`."""

from common.observability import configure_logging
from gateway.app import Gateway
from gateway.settings import GatewaySettings

settings = GatewaySettings()
configure_logging("gateway", settings.log_level)
app = Gateway(settings)
