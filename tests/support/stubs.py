"""Stub upstreams for the gateway's tests: an aiohttp app served on a free port of 127.0.0.1."""

from aiohttp import web


async def serve_stub(app: web.Application) -> tuple[web.AppRunner, str]:
    """The app served until `runner.cleanup()`; its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"
