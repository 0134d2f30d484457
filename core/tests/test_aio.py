"""``gateway.wait_event``: background loops built on it stop when cancelled, whatever the timing."""

from __future__ import annotations

import asyncio

import pytest

from gateway import wait_event


def test_it_says_whether_the_event_was_set() -> None:
    async def scenario() -> tuple[bool, bool]:
        event = asyncio.Event()
        timed_out = await wait_event(event, 0.01)
        event.set()
        return timed_out, await wait_event(event, 10)

    assert asyncio.run(scenario()) == (False, True)


def test_a_cancellation_arriving_as_the_event_is_set_still_stops_the_loop() -> None:
    # asyncio.wait_for(event.wait(), t) returns normally here on Python 3.11 and the loop goes on
    async def scenario() -> None:
        event = asyncio.Event()

        async def loop() -> None:
            while True:
                await wait_event(event, 60)
                event.clear()

        task = asyncio.create_task(loop())
        await asyncio.sleep(0)  # the loop is now waiting
        event.set()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)

    asyncio.run(scenario())
