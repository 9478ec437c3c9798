"""Long polls: waiting pollers of one process, woken through one sharded pub/sub connection.

A transition that queues tasks publishes ``<a|d>|<count>|<task list>`` on the domain's channel
``swf:{<tag>}:wake``. Each server process keeps one subscription connection for all its
waiting pollers, whatever their number. A message wakes at most ``count`` of the process's
pollers on that task list, oldest first. Pollers then race for the tasks through the lease
functions, so a task goes to exactly one of them, in this process or another.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

T = TypeVar("T")
SUBSCRIBE_TIMEOUT = 5.0  # seconds a first poller waits for the subscription's confirmation
WaitKey = tuple[str, str, str]  # (channel, "a" or "d", task list)


class _Waiter:
    __slots__ = ("woken",)

    def __init__(self) -> None:
        self.woken = asyncio.Event()


class PollDispatcher:
    """The waiting pollers of one process and the subscription that wakes them."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._subscribed: dict[str, asyncio.Future[None]] = {}
        self._waiters: dict[WaitKey, OrderedDict[_Waiter, None]] = {}
        self._closed = False

    @property
    def waiting(self) -> int:
        """Number of pollers waiting in this process."""
        return sum(len(w) for w in self._waiters.values())

    async def wait_for_task(
        self,
        channel: str,
        kind: str,
        task_list: str,
        lease: Callable[[], Awaitable[T | None]],
        hold: float,
        alive: Callable[[], bool],
        more_remain: Callable[[T], bool],
    ) -> T | None:
        """Lease a task now, or wait up to ``hold`` seconds for one; None when none came.

        The waiter is registered and subscribed before the first lease attempt, so a task
        queued after that attempt always wakes it. ``alive`` is checked before every lease,
        so a poller whose client has gone never gets a task.
        """
        key = (channel, kind, task_list)
        waiter = _Waiter()
        waiters = self._waiters.setdefault(key, OrderedDict())
        waiters[waiter] = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + hold
        try:
            await self._subscribe(channel)
            while not self._closed and alive():
                waiter.woken.clear()
                task = await lease()
                if task is not None:
                    if more_remain(task):
                        self._wake(key, 1, exclude=waiter)
                    return task
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                # asyncio.timeout, not wait_for: no extra task per wait, and on Python 3.11
                # wait_for can lose a cancellation that races with the event being set.
                try:
                    async with asyncio.timeout(remaining):
                        await waiter.woken.wait()
                except TimeoutError:
                    return None
            return None
        finally:
            del waiters[waiter]
            if not waiters:
                del self._waiters[key]
            # A wake-up that this waiter took but did not use goes on to the next waiter.
            if waiter.woken.is_set():
                self._wake(key, 1)

    def _wake(self, key: WaitKey, count: int, exclude: _Waiter | None = None) -> None:
        for waiter in self._waiters.get(key, ()):
            if count <= 0:
                break
            if waiter is exclude or waiter.woken.is_set():
                continue
            waiter.woken.set()
            count -= 1

    def wake_all(self) -> None:
        """Wake every waiting poller, so each one checks its task list again."""
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.woken.set()

    async def _subscribe(self, channel: str) -> None:
        """Subscribe to a domain's wake-up channel once; wait for the server's confirmation.

        The wait is bounded: without a confirmation the poller still leases and waits, and
        only a wake-up sent before the subscription took effect can be missed.
        """
        confirmed = self._subscribed.get(channel)
        if confirmed is None:
            confirmed = asyncio.get_running_loop().create_future()
            self._subscribed[channel] = confirmed
            try:
                if self._pubsub is None:
                    self._pubsub = self._redis.pubsub()
                await self._pubsub.ssubscribe(channel)
            except (RedisError, OSError):
                # Let a later poll try again; pollers already waiting go on unsubscribed.
                del self._subscribed[channel]
                confirmed.set_result(None)
                raise
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read(), name="redswf-poll-wakeups")
        if confirmed.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(confirmed), SUBSCRIBE_TIMEOUT)
        except TimeoutError:
            logger.warning("no confirmation of the subscription to %s yet", channel)

    async def _read(self) -> None:
        assert self._pubsub is not None
        while not self._closed:
            try:
                message = await self._pubsub.get_message(timeout=5.0)
                if message is not None:
                    self._handle(message)
            except (RedisError, OSError) as exc:
                # redis-py resubscribes when it reconnects; messages sent meanwhile are lost,
                # so every waiter checks its task list again.
                logger.warning("wake-up subscription lost, reconnecting: %s", exc)
                await asyncio.sleep(0.5)
                self.wake_all()
            except Exception:
                # The reader must outlive any bad message, or every poll would wait its hold.
                logger.exception("wake-up message could not be handled")

    def _handle(self, message: dict[str, Any]) -> None:
        channel = _text(message["channel"])
        if message["type"] == "ssubscribe":
            future = self._subscribed.get(channel)
            if future is not None and not future.done():
                future.set_result(None)
            return
        if message["type"] != "smessage":
            return
        kind, count, task_list = _text(message["data"]).split("|", 2)
        self._wake((channel, kind, task_list), int(count))

    async def close(self) -> None:
        """End every wait at once (each returns no task) and drop the subscription."""
        self._closed = True
        self.wake_all()
        for confirmed in self._subscribed.values():
            if not confirmed.done():
                confirmed.set_result(None)
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._pubsub is not None:
            await self._pubsub.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
