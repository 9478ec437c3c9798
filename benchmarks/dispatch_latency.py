"""Dispatch latency at 50 % and 90 % of the measured maximum load, paced open-loop.

The generator (this process) schedules activity tasks at a fixed rate, whatever the
workers do: about every millisecond it completes one decision task leased beforehand,
with as many ScheduleActivityTask decisions as the rate has made due since the last one.
Each task's input is its send time. The workers run in a child process and record the
delay from send to receipt, which covers the decision completion, the queue, the wake-up
and the lease. The generator always uses the library; the workers use the library, HTTP or
RESP.

"Maximum load" is the most tasks per second that this pipeline (scheduling, wake-up,
lease, completion, all on the same two cores) carries, measured first for each interface:
the generator offers more than the workers can take for a few seconds, and the tasks the
workers receive while it sends, per second, are the maximum. The activity dispatch
maximum is higher, because its tasks are queued beforehand, so no process schedules them
and no worker waits for a wake-up; the page gives both. The page gives the achieved rate
beside each result.
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import time
from typing import Any

from . import infra
from .api import LibraryApi, lease_decisions, register, schedule_decision, start_runs
from .context import Context
from .loops import percentiles

SCENARIO = "dispatch latency"
MAX_BATCH = 50
TICK = 0.001  # seconds between two checks of the pacing clock


async def pace(
    api: LibraryApi, domain: str, task_list: str, tokens: list[str], rate: float, total: int
) -> tuple[int, float]:
    """Schedule ``total`` tasks at ``rate`` per second; return (sent, achieved rate)."""
    inflight: set[asyncio.Task[Any]] = set()
    sent = 0
    used = 0
    began = time.monotonic()
    while sent < total and used < len(tokens):
        elapsed = time.monotonic() - began
        due = min(MAX_BATCH, int(rate * elapsed) + 1 - sent, total - sent)
        if due > 0:
            stamp = f"{time.time():.6f}"
            decisions = [schedule_decision(f"t{sent + i}", task_list, stamp) for i in range(due)]
            call = api.call(
                "RespondDecisionTaskCompleted", taskToken=tokens[used], decisions=decisions
            )
            task = asyncio.ensure_future(call)
            inflight.add(task)
            task.add_done_callback(inflight.discard)
            used += 1
            sent += due
        await asyncio.sleep(TICK)
    elapsed = time.monotonic() - began
    if inflight:
        await asyncio.gather(*inflight)
    return sent, sent / elapsed


async def drive(
    ctx: Context,
    interface: str,
    serve: infra.Serve,
    rate: float,
    workers: int,
    seconds: float,
    saturate: bool = False,
) -> tuple[int, float, float, dict[str, Any]]:
    """Offer ``rate`` tasks per second for ``seconds`` to W workers of ``interface``.

    Returns the tasks sent, the achieved rate, the epoch time sending began and the
    worker's report. The worker stops once it has received every task that the rate
    makes due, or, with ``saturate``, one second after sending ends.
    """
    domain = ctx.domain("latency")
    task_list = "latency"
    api = LibraryApi(ctx.redis_url)
    worker: subprocess.Popen[bytes] | None = None
    try:
        await register(api, domain, task_list)
        pool_size = int(seconds / TICK * 1.05) + 50
        await start_runs(api, domain, "gen", pool_size, concurrency=64)
        tokens = await lease_decisions(api, domain, task_list, pool_size, concurrency=64)
        expected = int(rate * seconds)
        settings = {
            "interface": interface,
            "redis_url": ctx.redis_url,
            "endpoint": serve.endpoint,
            "resp_port": serve.resp_port,
            "domain": domain,
            "task_list": task_list,
            "workers": workers,
            "expected": expected,
            "seconds": seconds + (1 if saturate else 10),
        }
        command = [sys.executable, "-m", "benchmarks.child", "latency-worker", json.dumps(settings)]
        worker = infra.register_child(
            subprocess.Popen(command, stdout=subprocess.PIPE, cwd=infra.REPO)
        )
        assert worker.stdout is not None
        ready = await asyncio.to_thread(worker.stdout.readline)
        if not ready:
            raise RuntimeError("the latency worker process exited before it was ready")
        # The setup left many objects behind; a full collection of them in the middle of
        # the paced run would hold back the generator, not redswf.
        gc.collect()
        gc.freeze()
        began = time.time()
        try:
            sent, achieved = await pace(api, domain, task_list, tokens, rate, expected)
        finally:
            gc.unfreeze()
        line = await asyncio.to_thread(_read_result, worker, sent)
    finally:
        if worker is not None:
            infra.stop_child(worker)
        await api.close()
    return sent, achieved, began, line


async def pipeline_maximum(
    ctx: Context, interface: str, serve: infra.Serve, offered: float, workers: int
) -> float:
    """Offer ``offered`` tasks per second, more than the pipeline carries; return what it did."""
    seconds = ctx.size(3, 6)
    sent, achieved, began, line = await drive(
        ctx, interface, serve, offered, workers, seconds, saturate=True
    )
    ended = began + sent / achieved
    # Skip the first half second, while the workers' first polls warm up.
    window = [t for t in line["received"] if began + 0.5 <= t <= ended]
    maximum = len(window) / (ended - began - 0.5)
    note = (
        f"offered {achieved:,.0f}/s for {ended - began:.1f} s; "
        f"received {len(window)} in the window; W={workers}"
    )
    ctx.add(SCENARIO, f"{interface}, maximum", "tasks/s", maximum, "tasks/s", note)
    ctx.facts[f"latency_max_{interface}"] = maximum
    return maximum


async def one_load(
    ctx: Context,
    interface: str,
    serve: infra.Serve,
    rate: float,
    workers: int,
    share: int,
    suffix: str = "",
) -> None:
    sent, achieved, _, line = await drive(ctx, interface, serve, rate, workers, ctx.size(4, 10))
    delays_ms = [d * 1000 for d in line["delays"]]
    stats = percentiles(delays_ms)
    variant = f"{interface}, {share} % load ({rate:,.0f}/s){suffix}"
    note = f"sent {sent} at {achieved:,.0f}/s, received {line['done']}, W={workers}"
    ctx.add(SCENARIO, variant, "p50", stats["p50"], "ms", note)
    ctx.add(SCENARIO, variant, "p99", stats["p99"], "ms")
    ctx.add(SCENARIO, variant, "max", stats["max"], "ms")
    key = f"{interface}_{share}{suffix.replace(', ', '_').replace(' ', '_')}"
    ctx.raw.setdefault("latency_samples", {})[f"{interface} {share}%{suffix}"] = delays_ms
    ctx.facts[f"latency_p99_{key}"] = stats["p99"]
    ctx.facts[f"latency_achieved_{key}"] = achieved


def _read_result(worker: subprocess.Popen[bytes], sent: int) -> dict[str, Any]:
    assert worker.stdout is not None
    for raw in worker.stdout:
        message = json.loads(raw)
        if "delays" in message:
            result: dict[str, Any] = message
            if result["done"] < sent:
                # The worker's own deadline ended it before every task arrived.
                result["short"] = sent - result["done"]
            return result
    raise RuntimeError("the latency worker exited without its results")


async def run(ctx: Context) -> None:
    ctx.reset()
    serve = infra.start_serve(ctx.tmp / "serve-latency", ctx.redis_url, poll_hold=5.0, resp=True)
    try:
        for interface in ("library", "http", "resp"):
            with ctx.variant(interface):
                await one_interface(ctx, interface, serve)
    finally:
        serve.stop()


async def one_interface(ctx: Context, interface: str, serve: infra.Serve) -> None:
    """Measure the pipeline maximum of ``interface``, then latency at 50 % and 90 % of it."""
    dispatch_maximum = ctx.facts.get(f"dispatch_max_{interface}")
    if dispatch_maximum is None:
        raise RuntimeError(
            f"no {interface} dispatch maximum in this run: run the dispatch scenario first, "
            "because latency takes its worker count and first offered rate from it"
        )
    # The dispatch scenario's best W, at least 16: with few workers each task waits for a
    # free one, and the pipeline maximum measures the workers instead of redswf.
    workers = int(min(64, max(16, ctx.facts.get(f"dispatch_best_w_{interface}", 16))))
    maximum = await pipeline_maximum(ctx, interface, serve, dispatch_maximum, workers)
    ctx.reset()
    for share in (50, 90):
        await one_load(ctx, interface, serve, maximum * share / 100, workers, share)
        ctx.reset()
    if interface == "library":
        # Once more without the AOF: on a virtual disk its writes and rewrites stall Redis
        # for tens of milliseconds, and this run shows what remains without them.
        with ctx.valkey.client() as client:
            client.config_set("appendonly", "no")
        try:
            await one_load(ctx, interface, serve, maximum / 2, workers, 50, ", AOF off")
        finally:
            with ctx.valkey.client() as client:
                client.config_set("appendonly", "yes")
        ctx.reset()
