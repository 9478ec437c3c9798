"""The timer and timeout service: fires due items (timeouts, timers, child policies, expiry).

Every domain keeps its due items in the sorted set ``P:timeouts`` (see docs/keys.md). A
sweep reads the earliest item of every domain in one pipelined round trip and runs the
``timeouts_fire`` script on each domain that has items due. The script removes each item it
fires, so any number of services may sweep one Redis: each item fires exactly once, and a
service that dies mid-sweep loses nothing. The cost of a sweep grows with the number of
domains and of due items, not with the number of open executions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .keys import domain_prefix
from .scripts import Scripts

logger = logging.getLogger(__name__)

REGISTRY_PATTERN = "swf:{registry}:domains:*"


class TimerService:
    """Sweeps every domain of one Redis for due items until stopped."""

    def __init__(
        self,
        redis: Redis,
        *,
        retention_day_seconds: float = 86400.0,
        interval: float = 0.05,
        batch: int = 200,
        domains_refresh: float = 2.0,
    ) -> None:
        self.redis = redis
        self.scripts = Scripts(redis)
        self.day_ms = int(retention_day_seconds * 1000)
        self.interval = interval
        self.batch = batch
        self.domains_refresh = domains_refresh
        self.fired = 0
        self._prefixes: list[str] = []
        self._prefixes_read = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep every ``interval`` seconds until ``stop`` is set; log and survive errors."""
        logger.info("timer service started (sweep every %.0f ms)", self.interval * 1000)
        failures = 0
        while not stop.is_set():
            try:
                await self.sweep()
                failures = 0
            except (RedisError, OSError) as exc:
                failures += 1
                # One line per failure streak, then one every 100 failures.
                if failures == 1 or failures % 100 == 0:
                    logger.error("timer sweep failed (%d in a row): %s", failures, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
        logger.info("timer service stopped after firing %d items", self.fired)

    async def sweep(self) -> int:
        """Fire every item due now in every domain; return the number of items fired."""
        prefixes = await self._domain_prefixes()
        if not prefixes:
            return 0
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.time()
            for prefix in prefixes:
                pipe.zrange(f"{prefix}:timeouts", 0, 0, withscores=True)
            replies: list[Any] = await pipe.execute()
        seconds, micros = replies[0]
        now_ms = seconds * 1000 + micros // 1000
        fired = 0
        for prefix, head in zip(prefixes, replies[1:], strict=True):
            if head and head[0][1] <= now_ms:
                fired += await self.fire_due(prefix)
        return fired

    async def fire_due(self, prefix: str) -> int:
        """Fire the due items of one domain, a batch per script call."""
        fired = 0
        while True:
            result = await self.scripts.run(
                "timeouts_fire", prefix, {"limit": self.batch, "dayMs": self.day_ms}
            )
            fired += int(result["fired"])
            if not result["more"]:
                break
        self.fired += fired
        return fired

    async def _domain_prefixes(self) -> list[str]:
        if time.monotonic() - self._prefixes_read < self.domains_refresh and self._prefixes:
            return self._prefixes
        prefixes = []
        async for key in self.redis.scan_iter(match=REGISTRY_PATTERN, count=1000):
            region = key.decode().rsplit(":", 1)[1]
            names: Any = await self.redis.hkeys(key)
            prefixes += [domain_prefix(region, name.decode()) for name in names]
        self._prefixes = prefixes
        self._prefixes_read = time.monotonic()
        return prefixes
