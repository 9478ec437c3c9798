"""The arq baseline's load process; it runs in benchmarks/.venv-arq, which has arq but not redswf.

    .venv-arq/bin/python -m benchmarks.arq_child '{"socket": ..., "jobs": N, "workers": W}'

Enqueues N no-op jobs in database 1 of the benchmark's Redis, then runs one arq worker in
burst mode with ``max_jobs=W`` until the queue is empty, and prints the rates as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker


async def noop(ctx: dict[str, Any]) -> None:
    return None


async def measure(settings: dict[str, Any]) -> dict[str, Any]:
    redis_settings = RedisSettings(unix_socket_path=settings["socket"], database=1)
    pool = await create_pool(redis_settings)
    await pool.flushdb()
    jobs = settings["jobs"]
    began = time.monotonic()
    for start in range(0, jobs, 100):
        await asyncio.gather(
            *(pool.enqueue_job("noop") for _ in range(start, min(jobs, start + 100)))
        )
    enqueue_seconds = time.monotonic() - began

    # arq sleeps poll_delay (0.5 s by default) after each read of the queue; 1 ms lets one
    # worker keep up with its jobs. Results are kept, as by default, and not logged.
    worker = Worker(
        functions=[noop],
        redis_settings=redis_settings,
        burst=True,
        max_jobs=settings["workers"],
        poll_delay=0.001,
        handle_signals=False,
        log_results=False,
    )
    began = time.monotonic()
    await worker.async_run()
    run_seconds = time.monotonic() - began
    await worker.close()
    await pool.flushdb()
    await pool.aclose()
    return {
        "enqueue_rate": jobs / enqueue_seconds,
        "run_rate": worker.jobs_complete / run_seconds,
        "complete": worker.jobs_complete,
    }


def main() -> None:
    settings = json.loads(sys.argv[1])
    print(json.dumps(asyncio.run(measure(settings))), flush=True)


if __name__ == "__main__":
    main()
