"""Fan-out: one workflow schedules 1,000 parallel activities; time from start to close.

The decider reads the whole history of every decision task (following page tokens), as a
decider without local state must, and closes the workflow once all activities completed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from . import infra
from .api import WORKFLOW_TYPE, Boto3Api, HttpApi, LibraryApi, RespApi, SwfApi, register
from .context import Context
from .loops import Progress, activity_worker, decider, run_until

SCENARIO = "fan-out"
ACTIVITIES = 1000
WORKERS = 16
TIME_LIMIT = 120.0


async def measure(api: SwfApi, domain: str) -> float:
    """Start the workflow and run it to its close; return the seconds it took."""
    task_list = "fan"
    closed = Progress(target=1, deadline=time.monotonic() + TIME_LIMIT)
    activities = Progress(target=ACTIVITIES, deadline=closed.deadline)
    began = time.monotonic()
    await api.call(
        "StartWorkflowExecution",
        domain=domain,
        workflowId="fan-out",
        workflowType=WORKFLOW_TYPE,
        taskList={"name": task_list},
    )
    loops = [decider(api, domain, task_list, closed, ACTIVITIES) for _ in range(2)]
    loops += [activity_worker(api, domain, task_list, activities) for _ in range(WORKERS)]
    await run_until(closed, loops)
    if closed.done != 1:
        raise RuntimeError(f"the fan-out workflow did not close within {TIME_LIMIT:.0f} s")
    return closed.last_done - began


async def run(ctx: Context) -> None:
    ctx.reset()
    serve = infra.start_serve(ctx.tmp / "serve-fanout", ctx.redis_url, poll_hold=2.0, resp=True)
    try:
        variants: list[tuple[str, Callable[[], SwfApi]]] = [
            ("library", lambda: LibraryApi(ctx.redis_url)),
            ("http", lambda: HttpApi(serve.endpoint)),
            ("resp", lambda: RespApi(serve.require_resp_port())),
            ("boto3", lambda: Boto3Api(serve.endpoint, threads=WORKERS + 4)),
        ]
        for variant, make_api in variants:
            with ctx.variant(variant):
                await one_variant(ctx, variant, make_api())
            ctx.reset()
    finally:
        serve.stop()


async def one_variant(ctx: Context, variant: str, api: SwfApi) -> None:
    try:
        domain = ctx.domain("fanout")
        setup = LibraryApi(ctx.redis_url)
        try:
            await register(setup, domain, "fan")
        finally:
            await setup.close()
        seconds = await measure(api, domain)
    finally:
        await api.close()
    note = f"{ACTIVITIES} activities, {WORKERS} workers, 2 deciders"
    ctx.add(SCENARIO, variant, "start to close", seconds, "s", note)
