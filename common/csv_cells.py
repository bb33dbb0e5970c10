"""CSV records that a spreadsheet cannot turn into formulas (OWASP, "CSV Injection").

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by Excel, LibreOffice
and Google Sheets when the file is opened: a name such as `=HYPERLINK("http://x","y")` typed by anyone who can
name an organisation or a project would act in the reader's spreadsheet. Such a text cell is written with a
leading single quote, inside double quotes, so that it reads back as the same text, shown as typed.

Only text is neutralised. Numbers (`int`, `Decimal`: amounts, cents, percentages, negative ones too), dates,
timestamps and UUIDs are the desk's own figures and are written as they are, so that a reader still parses them
as numbers and dates; every writer passes them with their type rather than pre-formatted as strings."""

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# RFC 4180: a field holding one of these is quoted; so is every neutralised one, as OWASP asks.
_NEEDS_QUOTES = (",", '"', "\r", "\n")


def neutralise(text: str) -> str:
    """The text, with a leading single quote when a spreadsheet would take it for a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _field(value: Any) -> str:
    if isinstance(value, Enum):
        value = value.value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    text = str(value)
    safe = neutralise(text)
    if safe != text or any(mark in text for mark in _NEEDS_QUOTES):
        return '"' + safe.replace('"', '""') + '"'
    return safe


def csv_line(values: Iterable[Any]) -> str:
    """One CSV record (commas, RFC 4180 line end); None is an empty field, text cells are neutralised."""
    return ",".join(_field(value) for value in values) + "\r\n"
