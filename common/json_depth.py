"""How deep a JSON body nests, measured before anything parses it.

`json.loads` recurses once per level: 10,000 nested brackets raise a `RecursionError`, which the routes that read
their own body (the token endpoint's form-or-JSON) turned into a 500, and which pydantic and the encoders would meet
again on a body that parsed. No request of this API nests more than a few levels, so the layer that already guards
the body size refuses anything deeper than `MAX_JSON_DEPTH` for every route at once."""

import re

# Our deepest body (a budget: object → list → line) nests three levels; 64 leaves room for clients' wrappers.
MAX_JSON_DEPTH = 64

# A string (its brackets are text) or a bracket; the unrolled string pattern keeps the regex linear.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_OPEN = frozenset(b"[{")


def is_json_media_type(content_type: str) -> bool:
    """What FastAPI parses as JSON: application/json, any application/*+json, and a body without a type."""
    media_type = content_type.split(";")[0].strip().lower()
    return media_type in ("", "application/json") or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def nests_deeper_than(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    # Fast path: fewer brackets than the limit cannot nest deeper than it (two C-level counts, no loop).
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for match in _TOKENS.finditer(body):
        first = match.group()[0]
        if first in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif first != 0x22:  # a closing bracket; a string changes nothing
            depth -= 1
    return False
