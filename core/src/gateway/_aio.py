"""Asyncio helpers the kernel and plugins share."""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait for ``event`` at most ``timeout`` seconds; True when it was set.

    ``asyncio.wait_for(event.wait(), ...)`` on Python 3.11 loses a cancellation that arrives as the
    event is set: the waiting task then never stops, and a shutdown that cancels a background loop
    built on it hangs.  ``asyncio.timeout`` keeps the cancellation.
    """
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True
