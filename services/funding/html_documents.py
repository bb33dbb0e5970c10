"""What the desk's printable documents (minutes, agreements) share: one Jinja2 environment over the templates
folder, escaping every value, the words of each document picked in the reader's language, and the response
headers that keep a document inert in the reader's browser."""

import base64
import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from common.money import euros
from common.problems import Text


def _iso_date(value: date) -> str:
    return value.isoformat()


def _as_utc(value: datetime) -> datetime:
    # Stored timestamps are UTC-aware; a naive one is taken as already UTC rather than as local time.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc(value: datetime) -> str:
    return _as_utc(value).strftime("%Y-%m-%d %H:%M UTC")


def _utc_date(value: datetime) -> str:
    # A signature or a notification is dated by its UTC day, as every timestamp of the service is UTC.
    return _as_utc(value).date().isoformat()


# Autoescape everywhere: names, notes, reasons and conditions come from people and must never become markup.
_environment = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_environment.filters.update(iso_date=_iso_date, utc=_utc, utc_date=_utc_date)


def language_of(language: str) -> str:
    """English when asked, French otherwise."""
    return "en" if language == "en" else "fr"


def render(template: str, lang: str, words: dict[str, dict[str, Text]], **context: Any) -> str:
    """The template with each table of `words` picked in `lang` (as `t`, `states`…) and `money` in that language."""
    picked = {name: {key: text.pick(lang) for key, text in table.items()} for name, table in words.items()}
    return _environment.get_template(template).render(
        lang=lang, money=lambda cents: euros(cents).pick(lang), **picked, **context
    )


# For the OpenAPI: the headers every document answer carries.
DOCUMENT_HEADERS = {
    "Content-Security-Policy": {"description": "Rien ne s'exécute : seuls les styles du document, par leur empreinte.",
                                "schema": {"type": "string"}},
    "X-Content-Type-Options": {"description": "nosniff", "schema": {"type": "string"}},
}
_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL)


def _policy(html: str) -> str:
    # The documents need their own <style> elements and nothing else: no script, image, font, frame, form or
    # link out. Each style element is allowed by its hash rather than by 'unsafe-inline', so that markup slipped
    # past the escaping still could not bring a style (or anything else) of its own. Hashing the rendered page
    # keeps the policy right when a template's style changes.
    hashes = sorted({
        "'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'"
        for style in _STYLE.findall(html)
    })
    styles = f"; style-src {' '.join(hashes)}" if hashes else ""
    return f"default-src 'none'{styles}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def document_response(html: str, headers: Mapping[str, str]) -> HTMLResponse:
    """The page, with a Content-Security-Policy that lets it run nothing, and nosniff so it is never read as
    anything else than the HTML it says it is."""
    return HTMLResponse(html, headers={
        **headers, "Content-Security-Policy": _policy(html), "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    })
