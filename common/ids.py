"""Ids that sort in the order they were made (UUID version 7, RFC 9562): for trails read in order, where rows written
at the same instant (one transaction, or a clock that stands still in tests) must still come out as they happened."""

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last = 0


def time_ordered_uuid() -> uuid.UUID:
    """48 bits of Unix milliseconds, then 74 random bits; strictly increasing within this process (a value that
    would not be is the last one plus one), so that two ids of the same millisecond keep their order."""
    global _last
    candidate = (time.time_ns() // 1_000_000) << 74 | int.from_bytes(os.urandom(10)) >> 6
    with _lock:
        value = max(candidate, _last + 1)
        _last = value
    # Lay the 122 bits out around the version (7) and variant (0b10) fields.
    unix_ms, rand_a, rand_b = value >> 74, (value >> 62) & 0xFFF, value & ((1 << 62) - 1)
    return uuid.UUID(int=unix_ms << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b)
