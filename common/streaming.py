"""Streamed answers that fail before their first byte, not after their 200."""

from collections.abc import AsyncIterator
from typing import TypeVar

T = TypeVar("T")


async def primed(chunks: AsyncIterator[T], *, ahead: int = 2) -> AsyncIterator[T]:
    """Runs the stream up to its `ahead`-th chunk now, inside the route, so that whatever its first query raises
    (a bad parameter, a problem) is still answered as a problem. Once the status line is sent an error can only
    cut the body short, and a client reading a CSV cannot tell a cut-off export from a complete one. Two by
    default: a CSV's header comes before any query, its first row after the first one."""
    iterator = aiter(chunks)
    buffered: list[T] = []
    exhausted = False
    while len(buffered) < ahead:
        try:
            buffered.append(await anext(iterator))
        except StopAsyncIteration:
            exhausted = True
            break

    async def replay() -> AsyncIterator[T]:
        for chunk in buffered:
            yield chunk
        if not exhausted:
            async for chunk in iterator:
                yield chunk

    return replay()
