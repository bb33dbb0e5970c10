"""Helpers for the services' API models."""

import re
from collections.abc import Callable, Iterable
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator, model_validator

from common.problems import bilingual


def without_null(schema: dict[str, Any]) -> None:
    """`json_schema_extra` of an optional field that refuses null: left out, it keeps the stored value.

    Typed `X | None = None` so that it may be left out, the field refuses an explicit null in a validator;
    its OpenAPI must not offer null either, or clients (and schemathesis) would send one.
    """
    options = schema.pop("anyOf", None)
    if options is not None:
        kept = [option for option in options if option.get("type") != "null"]
        if len(kept) == 1:
            schema.update(kept[0])
        else:
            schema["anyOf"] = kept
    schema.pop("default", None)


def listed(values: Iterable[str]) -> Callable[[dict[str, Any]], None]:
    """`json_schema_extra` of a string field (or a list of them, or either or null) that only ever holds a value
    of a list fixed in code: the OpenAPI says the list as an `enum`, while the Python type stays `str`, as the
    rows that fill it store strings."""
    allowed = sorted(str(value) for value in values)

    def extra(schema: dict[str, Any]) -> None:
        target = schema
        while True:
            if target.get("type") == "array":
                target = target["items"]
            elif "anyOf" in target:
                target = next(option for option in target["anyOf"] if option.get("type") != "null")
            else:
                break
        target["enum"] = allowed

    return extra


def null_refused(schema: dict[str, Any]) -> None:
    """`json_schema_extra` of an update model none of whose fields accepts null."""
    for field in schema.get("properties", {}).values():
        without_null(field)


# An optional field of a multipart form sent empty: absent, as HTML forms mean it (FastAPI reads it so).
_LEFT_EMPTY = {"type": "string", "maxLength": 0}


def form_fields(schema: dict[str, Any]) -> None:
    """`json_schema_extra` of a multipart form: no null, and each optional field may also be left empty."""
    null_refused(schema)
    required = set(schema.get("required", []))
    for name, field in schema.get("properties", {}).items():
        if name in required:
            continue
        alternatives = field.pop("anyOf", None) or [{key: field.pop(key) for key in list(field)
                                                     if key not in ("title", "description", "examples", "default")}]
        field["anyOf"] = [*alternatives, dict(_LEFT_EMPTY)]


# A character that stays once a string is stripped, the same for every reader of the pattern: Python's strip()
# also removes U+001C–U+001F and U+0085, which a regex's `\S` keeps; ECMA-262's `\s` (the OpenAPI's) takes U+FEFF,
# which Python keeps. All are named, so that "blank" means the same to the server and to its clients.
VISIBLE_CHARACTER = r"[^\s\x1c-\x1f\x85\ufeff]"

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date_only(value: object) -> object:
    """Before pydantic's lax parsing, which would also take a Unix timestamp (0, "0") or a datetime string."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError(bilingual("Date ISO attendue (AAAA-MM-JJ).", "An ISO date is expected (YYYY-MM-DD)."))
    return value


# A calendar date in JSON: the string `YYYY-MM-DD` that the OpenAPI's `format: date` promises, nothing else.
IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]


def _whole_float_to_int(value: object) -> object:
    """JSON has one kind of number: 1500.0 is the integer 1500, for JSON Schema's `integer` and for us."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Before a strict integer (`Field(strict=True)`): 1500 and 1500.0 pass; 15.5, "1500" and false stay refused.
WholeNumber = BeforeValidator(_whole_float_to_int)


class InputModel(BaseModel):
    """Base of the request bodies: unknown fields refused, and the NUL character in text, which PostgreSQL's
    text cannot hold (a 500 there, while SQLite would store it): a 422 on both databases."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul_character(cls, value: Any) -> Any:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError(bilingual("Caractère nul (U+0000) refusé.", "NUL character (U+0000) refused."))
        return value


class PatchModel(InputModel):
    """Base of a PATCH body whose fields may each be left out (kept) but never set to null; its OpenAPI
    shows no null either."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=null_refused)

    @model_validator(mode="after")
    def _no_nulls(self) -> "PatchModel":
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(
                bilingual(f"Valeur nulle refusée : {', '.join(nulls)}.", f"Null refused: {', '.join(nulls)}.")
            )
        return self
