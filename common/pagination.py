"""Cursor pagination over (created_at, id): constant cost per page at any depth."""

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import Query
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator
from sqlalchemy import literal, tuple_
from sqlalchemy.sql import Select

from common.problems import BadRequest, Text, bilingual

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

T = TypeVar("T")
# Any SELECT (SQLAlchemy's, of one entity or of a join; SQLModel's SelectOfScalar), returned as it came.
AnySelect = TypeVar("AnySelect", bound=Select[*tuple[Any, ...]])


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


LimitParam = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"Taille de page (1–{MAX_LIMIT}).")
]
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339_only(value: object) -> object:
    """Before pydantic's lax parsing, which would also take a Unix timestamp ("0") or a date."""
    if isinstance(value, str) and not _RFC3339.match(value):
        raise ValueError(bilingual(
            "Horodatage RFC 3339 attendu, avec décalage (2026-01-31T12:00:00Z).",
            "An RFC 3339 timestamp with an offset is expected (2026-01-31T12:00:00Z).",
        ))
    return value


def _representable_in_utc(value: datetime | None) -> datetime | None:
    """An instant whose offset carries it past year 9999 or before year 1 (`9999-12-31T23:59:59-23:59`) parses,
    but its first conversion to UTC — in the query's bind, or mid-stream in an export — raised an OverflowError:
    a 500, or an export cut off after its 200. Converted here, so that it is a 422 before anything runs."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(bilingual(
            "Horodatage hors du calendrier une fois ramené en UTC (années 1 à 9999).",
            "Timestamp out of the calendar once brought to UTC (years 1 to 9999).",
        )) from exc


# `?updated_since=` for incremental sync: RFC 3339 with its offset; anything else is a 422, never a 500.
UpdatedSinceParam = Annotated[
    AwareDatetime | None,
    BeforeValidator(_rfc3339_only),
    AfterValidator(_representable_in_utc),
    Query(description="RFC 3339 avec décalage : seulement ce qui a changé depuis cet instant."),
]
CursorParam = Annotated[
    str | None, Query(max_length=200, description="Curseur opaque renvoyé par la page précédente.")
]


def encode_cursor(created_at: datetime, row_id: UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:  # we only ever write UTC-aware cursors: anything else is forged
            raise ValueError("cursor timestamp without offset")
        return moment, UUID(row_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise BadRequest(
            Text("Curseur de pagination invalide.", "Invalid pagination cursor."), code="invalid_cursor"
        ) from exc


def encode_sequence(sequence: int) -> str:
    """A cursor over a numbered sequence (a ledger, the events feed): the last number read."""
    return base64.urlsafe_b64encode(f"seq:{sequence}".encode()).decode().rstrip("=")


def decode_sequence(cursor: str, *, max_digits: int = 9) -> int:
    """`max_digits`: a forged number beyond the column (SQLite refuses a Python int past 64 bits) is a 400."""
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
        prefix, _, number = raw.partition(":")
        if prefix != "seq" or not number.isascii() or not number.isdigit() or len(number) > max_digits:
            raise ValueError(raw)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest(
            Text("Curseur de pagination invalide.", "Invalid pagination cursor."), code="invalid_cursor"
        ) from exc


def keyset(statement: AnySelect, model: Any, *, limit: int, cursor: str | None) -> AnySelect:
    """Order by (created_at, id) and start after the cursor; fetches one row more to know if a page follows."""
    return keyset_on(statement, model.created_at, model.id, limit=limit, cursor=cursor)


def keyset_on(statement: AnySelect, created_at: Any, row_id: Any, *, limit: int, cursor: str | None) -> AnySelect:
    """`keyset` over other columns holding the paged rows' (created_at, id): a copy of them on a row that joins
    them (a routing's dossier, a party's agreement), beside that row's own filter column in one index, so that a
    page walks that index from the cursor on whatever the caller's number of rows."""
    if cursor:
        moment, identifier = decode_cursor(cursor)
        # A row-value comparison, not `a > x OR (a = x AND b > y)`: PostgreSQL (and SQLite) start the index range
        # there, where the OR form walks the index from its first entry — a page's cost growing with its depth.
        statement = statement.where(tuple_(created_at, row_id) > tuple_(
            literal(moment, type_=created_at.type), literal(identifier, type_=row_id.type)))
    return statement.order_by(created_at, row_id).limit(limit + 1)


def split_page(rows: list[Any], *, limit: int, anchor: Any = lambda row: row) -> tuple[list[Any], str | None]:
    """The rows of this page and the cursor of the next; `anchor` gives the paged entity of a joined row."""
    page = rows[:limit]
    if len(rows) <= limit or not page:
        return page, None
    last = anchor(page[-1])
    return page, encode_cursor(last.created_at, last.id)


def page_of(rows: list[Any], *, limit: int, to_public: Any, anchor: Any = lambda row: row) -> dict[str, Any]:
    page, next_cursor = split_page(rows, limit=limit, anchor=anchor)
    return {"items": [to_public(r) for r in page], "next_cursor": next_cursor}
