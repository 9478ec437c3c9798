"""The Redis floor: the least work a task queue on Redis can do per activity task.

Two round trips per task through the same redis-py asyncio client that redswf uses: a
lease script (ZPOPMIN from a sorted set, HSET of the lease) and an acknowledge script (HDEL
of the lease, XADD of one history entry). This code is the fixed yardstick for redswf's
activity dispatch: keep it unchanged when redswf changes, or the ratio means nothing.
"""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import BlockingConnectionPool, Redis

from .activity_dispatch import levels
from .context import Context

SCENARIO = "Redis floor"
QUEUE = "floor:{q}:queue"
LEASES = "floor:{q}:leases"
HISTORY = "floor:{q}:history"

LEASE = """
local popped = redis.call('ZPOPMIN', KEYS[1])
if #popped == 0 then return false end
redis.call('HSET', KEYS[2], popped[1], ARGV[1])
return popped[1]
"""

ACKNOWLEDGE = """
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], '*', 'task', ARGV[1], 'result', ARGV[2])
return 1
"""


async def measure(redis_url: str, workers: int, tasks: int) -> float:
    """Lease and acknowledge ``tasks`` tasks with ``workers`` loops; return tasks per second."""
    pool = BlockingConnectionPool.from_url(redis_url, max_connections=64, timeout=20)
    redis = Redis.from_pool(pool)
    try:
        await redis.delete(QUEUE, LEASES, HISTORY)
        for start in range(0, tasks, 1000):
            batch = {f"task-{i:08d}": i for i in range(start, min(tasks, start + 1000))}
            await redis.zadd(QUEUE, batch)
        lease = redis.register_script(LEASE)
        acknowledge = redis.register_script(ACKNOWLEDGE)
        done = 0
        deadline = time.monotonic() + 60

        async def worker(number: int) -> None:
            nonlocal done
            token = f"worker-{number}"
            while time.monotonic() < deadline:
                member = await lease(keys=[QUEUE, LEASES], args=[token])
                if member is None:
                    return
                await acknowledge(keys=[LEASES, HISTORY], args=[member, "ok"])
                done += 1

        started = time.monotonic()
        await asyncio.gather(*(worker(n) for n in range(workers)))
        elapsed = time.monotonic() - started
        await redis.delete(QUEUE, LEASES, HISTORY)
    finally:
        await redis.aclose()
    if done < tasks:
        raise RuntimeError(f"the floor loop did only {done} of {tasks} tasks in 60 s")
    return done / elapsed


async def run(ctx: Context) -> None:
    ctx.reset()
    curve: dict[int, float] = {}
    tasks = 10000 if ctx.quick else 40000
    for workers in levels(ctx):
        rate = await measure(ctx.redis_url, workers, tasks)
        curve[workers] = rate
        ctx.add(SCENARIO, f"W={workers}", "tasks/s", rate, "tasks/s", f"{tasks} tasks")
    ctx.raw.setdefault("dispatch_curves", {})["Redis floor"] = curve
    ctx.facts["floor_max"] = max(curve.values())
