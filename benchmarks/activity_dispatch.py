"""Activity dispatch: W workers poll and complete activity tasks that are already scheduled.

Twenty executions each schedule their share of the tasks before the clock starts, so the
measured loop is PollForActivityTask then RespondActivityTaskCompleted, nothing else. The
rate is tasks completed over the time from the start until the last completion.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from . import infra
from .api import Boto3Api, HttpApi, LibraryApi, RespApi, SwfApi, register, schedule_activities
from .context import Context
from .loops import Progress, activity_worker, run_until

SCENARIO = "activity dispatch"
EXECUTIONS = 20
TIME_LIMIT = 120.0  # seconds per measured loop


async def prepare(ctx: Context, tasks: int) -> tuple[str, str, int]:
    """Register a fresh domain and schedule about ``tasks`` activity tasks in it."""
    domain = ctx.domain("dispatch")
    task_list = "tasks"
    per_execution = min(1000, -(-tasks // EXECUTIONS))
    setup = LibraryApi(ctx.redis_url)
    try:
        await register(setup, domain, task_list)
        await schedule_activities(setup, domain, task_list, EXECUTIONS, per_execution)
    finally:
        await setup.close()
    return domain, task_list, EXECUTIONS * per_execution


async def measure(api: SwfApi, domain: str, task_list: str, workers: int, tasks: int) -> float:
    """Run ``workers`` worker loops until ``tasks`` are done; return tasks per second."""
    progress = Progress(target=tasks, deadline=time.monotonic() + TIME_LIMIT)
    started = time.monotonic()
    loops = [activity_worker(api, domain, task_list, progress) for _ in range(workers)]
    await run_until(progress, loops)
    if progress.done < tasks:
        raise RuntimeError(f"only {progress.done} of {tasks} tasks done in {TIME_LIMIT:.0f} s")
    return progress.done / (progress.last_done - started)


async def sweep(
    ctx: Context,
    variant: str,
    make_api: Callable[[int], SwfApi],
    levels: list[int],
    tasks_at: Callable[[int], int],
) -> dict[int, float]:
    """Measure the dispatch rate at each worker count; add a row per level."""
    curve: dict[int, float] = {}
    for workers in levels:
        domain, task_list, tasks = await prepare(ctx, tasks_at(workers))
        api = make_api(workers)
        try:
            rate = await measure(api, domain, task_list, workers, tasks)
        finally:
            await api.close()
        curve[workers] = rate
        ctx.add(SCENARIO, f"{variant}, W={workers}", "tasks/s", rate, "tasks/s", f"{tasks} tasks")
        ctx.reset()
    ctx.raw.setdefault("dispatch_curves", {})[variant] = curve
    best = max(curve.values())
    ctx.facts[f"dispatch_max_{variant}"] = best
    ctx.facts[f"dispatch_best_w_{variant}"] = max(curve, key=lambda w: curve[w])
    return curve


def levels(ctx: Context) -> list[int]:
    return [1, 4, 16, 64] if ctx.quick else [1, 2, 4, 8, 16, 32, 64, 128]


async def run(ctx: Context) -> None:
    ctx.reset()
    quick = ctx.quick

    def library_tasks(workers: int) -> int:
        if workers == 1:
            return 2000 if quick else 5000
        return 6000 if quick else 20000

    await sweep(ctx, "library", lambda w: LibraryApi(ctx.redis_url), levels(ctx), library_tasks)

    serve = infra.start_serve(ctx.tmp / "serve-dispatch", ctx.redis_url, poll_hold=2.0, resp=True)
    try:
        resp_port = serve.require_resp_port()

        def http_tasks(workers: int) -> int:
            if workers == 1:
                return 1000 if quick else 2000
            return 3000 if quick else 10000

        await sweep(
            ctx, "http", lambda w: HttpApi(serve.endpoint, connections=w), levels(ctx), http_tasks
        )
        await sweep(
            ctx, "resp", lambda w: RespApi(resp_port, connections=w), levels(ctx), http_tasks
        )

        boto3_levels = [4, 16] if quick else [1, 4, 16, 32]

        def boto3_tasks(workers: int) -> int:
            return 600 if quick else 2000

        await sweep(
            ctx, "boto3", lambda w: Boto3Api(serve.endpoint, threads=w), boto3_levels, boto3_tasks
        )
    finally:
        serve.stop()
