"""Load processes that run beside the benchmark: ``python -m benchmarks.child ROLE JSON``.

Each role reads its settings from the JSON argument, writes JSON lines to standard output
and stops by itself once its count is reached or its deadline passes.

- ``latency-worker``: W workers poll activity tasks whose input is the send time (epoch
  seconds), and report the delay from send to receipt of each, and each receipt time.
- ``idle-client``: keeps N long polls open on one task list over HTTP or RESP, re-polling
  when one returns empty, and reports each task it receives with its receipt time, and
  the first connection errors.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any

import aiohttp
import orjson
import redis.exceptions

from .api import HttpApi, LibraryApi, RespApi, SwfApi
from .loops import Progress, activity_worker, run_until

# Errors of a poll whose connection failed; an SWF fault (ApiError) is not one of them.
CONNECTION_ERRORS = (
    aiohttp.ClientError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,
)


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def latency_worker(settings: dict[str, Any]) -> None:
    api: SwfApi
    if settings["interface"] == "library":
        api = LibraryApi(settings["redis_url"], poll_hold=2.0)
    elif settings["interface"] == "resp":
        api = RespApi(settings["resp_port"])
    else:
        api = HttpApi(settings["endpoint"])
    delays: list[float] = []
    received: list[float] = []

    def receive(task: dict[str, Any]) -> None:
        now = time.time()
        received.append(now)
        delays.append(now - float(task["input"]))

    progress = Progress(
        target=settings["expected"], deadline=time.monotonic() + settings["seconds"]
    )
    loops = [
        activity_worker(api, settings["domain"], settings["task_list"], progress, on_task=receive)
        for _ in range(settings["workers"])
    ]
    ready = asyncio.get_running_loop().call_later(0.5, emit, {"ready": True})
    try:
        await run_until(progress, loops)
    finally:
        ready.cancel()
        await api.close()
    emit({"delays": delays, "received": received, "done": progress.done})


# Connection errors an idle client reports one by one; after these it reports every 100th.
REPORTED_ERRORS = 3


async def idle_client(settings: dict[str, Any]) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    api: SwfApi
    if settings["interface"] == "resp":
        api = RespApi(settings["resp_port"])
    else:
        api = HttpApi(settings["endpoint"], connections=0)
    deadline = time.monotonic() + settings["seconds"]
    body = {"domain": settings["domain"], "taskList": {"name": settings["task_list"]}}
    errors = 0

    async def poller() -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            try:
                task = await api.call("PollForActivityTask", **body)
            except CONNECTION_ERRORS as exc:
                # A refused or reset connection during the ramp: try again shortly.
                errors += 1
                if errors <= REPORTED_ERRORS or errors % 100 == 0:
                    emit({"error": f"{type(exc).__name__}: {exc}", "errors": errors})
                await asyncio.sleep(0.5)
                continue
            if task.get("taskToken"):
                emit({"received": time.time(), "input": task.get("input")})
                await api.call("RespondActivityTaskCompleted", taskToken=task["taskToken"])

    # Open the polls in steps: connections that arrive faster than the server accepts them
    # overflow its listen backlog, and the kernel retries their SYNs only after 1, 3, 7 s...
    pollers = []
    step = settings.get("step", 50)
    for start in range(0, settings["polls"], step):
        count = min(step, settings["polls"] - start)
        pollers += [asyncio.ensure_future(poller()) for _ in range(count)]
        await asyncio.sleep(settings.get("step_seconds", 0.15))
    emit({"started": settings["polls"]})
    try:
        await asyncio.wait(pollers, timeout=max(0.0, deadline - time.monotonic()))
    finally:
        for task in pollers:
            task.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)
        await api.close()
        emit({"errors": errors})


ROLES = {"latency-worker": latency_worker, "idle-client": idle_client}


def main() -> None:
    import uvloop

    role, settings = sys.argv[1], orjson.loads(sys.argv[2])
    uvloop.run(ROLES[role](settings))


if __name__ == "__main__":
    main()
