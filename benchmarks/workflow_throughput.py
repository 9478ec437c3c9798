"""Workflow throughput: start, decide, run one activity, decide, complete; and moto's.

Starters keep at most ``OPEN_LIMIT`` workflows open; W deciders and W activity workers
serve them. Each workflow makes seven state transitions, counted as script calls that
change state: start, decision lease, decision completion (schedules the activity),
activity lease, activity completion, decision lease, decision completion (closes it).
Polls that come back empty change nothing and are not counted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from . import infra
from .api import (
    MOTO_AUTHORIZATION,
    WORKFLOW_TYPE,
    Boto3Api,
    HttpApi,
    LibraryApi,
    RespApi,
    SwfApi,
    register,
)
from .context import Context
from .loops import Progress, activity_worker, decider, run_until

SCENARIO = "workflow throughput"
TRANSITIONS_PER_WORKFLOW = 7
OPEN_LIMIT = 64
TIME_LIMIT = 180.0
MOTO_BACKOFF = 0.010  # seconds between empty polls: moto has no long polling


async def measure(
    api: SwfApi,
    domain: str,
    workflows: int,
    workers: int,
    payload: str | None = None,
    empty_backoff: float = 0.0,
    time_limit: float = TIME_LIMIT,
) -> tuple[float, int, int]:
    """Run ``workflows`` one-activity workflows.

    Returns the seconds taken, the workflows closed and the responses rejected as no longer
    open (see :func:`loops.respond`).
    """
    task_list = "flow"
    progress = Progress(target=workflows, deadline=time.monotonic() + time_limit)
    activities = Progress(target=10**9, deadline=progress.deadline)
    slots = asyncio.Semaphore(OPEN_LIMIT)
    started_count = 0

    async def starter() -> None:
        nonlocal started_count
        while started_count < workflows and time.monotonic() < progress.deadline:
            await slots.acquire()
            number = started_count
            started_count += 1
            params: dict[str, Any] = {
                "domain": domain,
                "workflowId": f"wf-{number}",
                "workflowType": WORKFLOW_TYPE,
                "taskList": {"name": task_list},
            }
            if payload is not None:
                params["input"] = payload
            await api.call("StartWorkflowExecution", **params)

    loops = [starter() for _ in range(min(4, workers))]
    loops += [
        decider(api, domain, task_list, progress, 1, payload, empty_backoff, on_close=slots.release)
        for _ in range(workers)
    ]
    loops += [
        activity_worker(api, domain, task_list, activities, empty_backoff) for _ in range(workers)
    ]
    began = time.monotonic()
    await run_until(progress, loops)
    rejected = progress.rejected + activities.rejected
    return progress.last_done - began, progress.done, rejected


async def one_variant(
    ctx: Context, variant: str, api: SwfApi, workflows: int, workers: int, backoff: float = 0.0
) -> float:
    domain = ctx.domain("flow")
    setup = api if variant.startswith("moto") else LibraryApi(ctx.redis_url)
    try:
        await register(setup, domain, "flow")
    finally:
        if setup is not api:
            await setup.close()
    try:
        seconds, closed, rejected = await measure(
            api, domain, workflows, workers, empty_backoff=backoff
        )
    finally:
        await api.close()
    rate = closed / seconds
    note = f"{closed} workflows, W={workers} deciders and W workers"
    if closed < workflows:
        note += f" (only {closed} of {workflows} closed within {TIME_LIMIT:.0f} s)"
    if rejected:
        note += f"; {rejected} responses rejected with UnknownResourceFault"
    ctx.add(SCENARIO, variant, "workflows/s", rate, "workflows/s", note)
    ctx.add(
        SCENARIO, variant, "state transitions/s", rate * TRANSITIONS_PER_WORKFLOW, "transitions/s"
    )
    ctx.facts[f"workflow_rate_{variant}"] = rate
    return rate


async def run(ctx: Context) -> None:
    ctx.reset()
    workers = 16
    count = ctx.size(1500, 5000)
    make: list[tuple[str, Callable[[infra.Serve], SwfApi], int]] = [
        ("http", lambda serve: HttpApi(serve.endpoint, connections=0), count),
        ("resp", lambda serve: RespApi(serve.require_resp_port()), count),
        (
            "boto3",
            lambda serve: Boto3Api(serve.endpoint, threads=2 * workers + 4),
            ctx.size(200, 600),
        ),
    ]
    await one_variant(ctx, "library", LibraryApi(ctx.redis_url), count, workers)
    ctx.reset()
    serve = infra.start_serve(ctx.tmp / "serve-flow", ctx.redis_url, poll_hold=2.0, resp=True)
    try:
        for variant, factory, workflows in make:
            await one_variant(ctx, variant, factory(serve), workflows, workers)
            ctx.reset()
    finally:
        serve.stop()

    moto, endpoint = infra.start_moto(ctx.tmp)
    try:
        await one_variant(
            ctx,
            "moto (http driver)",
            HttpApi(endpoint, connections=0, authorization=MOTO_AUTHORIZATION),
            ctx.size(100, 300),
            workers,
            backoff=MOTO_BACKOFF,
        )
    finally:
        infra.stop_child(moto)
