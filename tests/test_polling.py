"""The poll dispatcher on its own: wake-ups, bad messages, closing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from redswf.connection import connect
from redswf.polling import PollDispatcher


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    yield client
    await client.aclose()


async def test_bad_message_keeps_reader_alive(
    redis: Redis, domain: str, caplog: pytest.LogCaptureFixture
) -> None:
    dispatcher = PollDispatcher(redis)
    channel = f"swf:{{test/{domain}}}:wake"
    ready = asyncio.Event()
    leases = 0

    async def lease() -> str | None:
        nonlocal leases
        leases += 1
        return "task" if ready.is_set() else None

    waiting = asyncio.create_task(
        dispatcher.wait_for_task(channel, "a", "list", lease, 30.0, lambda: True, lambda _: False)
    )
    try:
        while leases == 0:
            await asyncio.sleep(0.01)
        with caplog.at_level(logging.ERROR, logger="redswf.polling"):
            await redis.spublish(channel, "not a wake-up message")
            await asyncio.sleep(0.2)
        assert "wake-up message could not be handled" in caplog.text
        ready.set()
        await redis.spublish(channel, "a|1|list")
        result = await asyncio.wait_for(waiting, 10)
    finally:
        await dispatcher.close()
    assert result == "task"


async def test_close_ends_waiting_polls(redis: Redis, domain: str) -> None:
    dispatcher = PollDispatcher(redis)
    channel = f"swf:{{test/{domain}}}:wake"

    async def lease() -> str | None:
        return None

    waits = [
        asyncio.create_task(
            dispatcher.wait_for_task(channel, "d", "list", lease, 60.0, lambda: True, bool)
        )
        for _ in range(20)
    ]
    while dispatcher.waiting < 20:
        await asyncio.sleep(0.01)
    await dispatcher.close()
    results = await asyncio.wait_for(asyncio.gather(*waits), 10)
    assert results == [None] * 20
    assert dispatcher.waiting == 0


async def test_wake_count_limits_woken_pollers(redis: Redis, domain: str) -> None:
    dispatcher = PollDispatcher(redis)
    channel = f"swf:{{test/{domain}}}:wake"
    available = 0
    leases = 0

    async def lease() -> str | None:
        nonlocal available, leases
        leases += 1
        if available > 0:
            available -= 1
            return "task"
        return None

    waits = [
        asyncio.create_task(
            dispatcher.wait_for_task(
                channel, "a", "list", lease, 3.0, lambda: True, lambda _: False
            )
        )
        for _ in range(10)
    ]
    while leases < 10:
        await asyncio.sleep(0.01)
    available = 2
    await redis.spublish(channel, "a|2|list")
    results = await asyncio.wait_for(asyncio.gather(*waits), 10)
    await dispatcher.close()
    assert results.count("task") == 2
    # Ten first attempts, two woken pollers; no poller was woken for nothing.
    assert leases == 12
