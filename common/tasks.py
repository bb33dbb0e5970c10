"""Background tasks of a process (a refresh loop, a probe loop): stopped the same way everywhere."""

import asyncio
import contextlib


async def cancel_and_wait(task: asyncio.Task[object] | None) -> None:
    """Cancel `task` and wait until it has unwound, so that nothing of it runs once the caller goes on (an engine
    disposed under a loop still using it); its cancellation is expected, not an error."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
