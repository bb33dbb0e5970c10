"""The API's pages for people, Swagger UI (`/docs`) and ReDoc (`/redoc`), from files the project installs.

FastAPI's own pages load Swagger UI, ReDoc, a favicon and Google's fonts from CDNs: on a machine without
internet (a partner's test bench, an administration's network) `/docs` stays blank. The dist files come from
the `fastapi-offline` package (pinned in requirements.txt), served under `/docs/assets/`. Each page says a
Content-Security-Policy that lets it load nothing from elsewhere: scripts from here plus the page's own inline
script by its hash, styles inline (both UIs set them at run time), workers from `blob:` (ReDoc's search).
"""

import base64
import hashlib
import re
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, HTTPException
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/docs/assets"
MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
# The paths a gateway answers itself for these pages.
DOCS_PATHS = r"/docs|/docs/assets/[\w.-]+|/redoc"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _policy(html: str) -> str:
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def _page(page: HTMLResponse) -> HTMLResponse:
    html = bytes(page.body).decode()
    return HTMLResponse(
        html, headers={"Content-Security-Policy": _policy(html), "X-Content-Type-Options": "nosniff"}
    )


def docs_router(*, openapi_url: str, title: str) -> APIRouter:
    """`/docs`, `/redoc` and their assets, for the document at `openapi_url`; none of it is in the OpenAPI."""
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        return _page(get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=None,
        ))

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        return _page(get_redoc_html(
            openapi_url=openapi_url,
            title=title,
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        ))

    @router.get(ASSETS_URL + "/{name}")
    async def asset(name: str) -> FileResponse:
        if name not in MEDIA_TYPES:
            raise HTTPException(404)
        return FileResponse(
            ASSETS / name,
            media_type=MEDIA_TYPES[name],
            headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
        )

    return router
