"""Timers: 1,000 StartTimer decisions in each of E executions, all due within one second.

Starting 100,000 timers takes seconds, so each batch sets the whole number of seconds
that makes its timers due in the same one-second window, a few seconds after the first
batch. A ``redswf timers`` process fires them. Each timer's lag is its TimerFired timestamp
minus its due time (TimerStarted timestamp plus its startToFireTimeout; event timestamps
have millisecond resolution). "All fired" is the time from the first timer's due time
until the last TimerFired event.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from redswf import keys

from . import infra
from .api import LibraryApi, epoch, gather_limited, lease_decisions, register, start_runs
from .context import Context
from .loops import percentiles

SCENARIO = "timers"
PER_EXECUTION = 1000


def _start_timers(seconds: int) -> list[dict[str, Any]]:
    return [
        {
            "decisionType": "StartTimer",
            "startTimerDecisionAttributes": {
                "timerId": f"t{i}",
                "startToFireTimeout": str(seconds),
            },
        }
        for i in range(PER_EXECUTION)
    ]


async def history(api: LibraryApi, domain: str, execution: dict[str, str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    page: dict[str, Any] = {}
    while True:
        params: dict[str, Any] = {"domain": domain, "execution": execution}
        if page.get("nextPageToken"):
            params["nextPageToken"] = page["nextPageToken"]
        page = await api.call("GetWorkflowExecutionHistory", **params)
        events += page["events"]
        if not page.get("nextPageToken"):
            return events


async def run(ctx: Context) -> None:
    ctx.reset()
    executions = ctx.size(10, 100)
    total = executions * PER_EXECUTION
    timers = infra.start_timers(ctx.tmp, ctx.redis_url)
    api = LibraryApi(ctx.redis_url)
    try:
        domain = ctx.domain("timers")
        await register(api, domain, "timers")
        runs = await start_runs(api, domain, "timed", executions)
        tokens = await lease_decisions(api, domain, "timers", executions)
        # Every batch's timers fall due in the second after this moment, if the batches are
        # all sent before it.
        due_from = time.time() + ctx.size(2, 6)

        async def start(i: int) -> None:
            seconds = max(1, math.ceil(due_from - time.time()))
            decisions = _start_timers(seconds)
            await api.call("RespondDecisionTaskCompleted", taskToken=tokens[i], decisions=decisions)

        began = time.monotonic()
        await gather_limited(executions, 4, start)
        started_in = time.monotonic() - began

        deadline = began + 120
        with ctx.valkey.client() as client:
            # Plain HGETs of each run hash: cheaper for Redis than DescribeWorkflowExecution.
            domain_keys = keys.for_domain("us-east-1", domain)
            run_keys = [domain_keys.run(run_id) for run_id in runs.values()]
            while time.monotonic() < deadline:
                with client.pipeline(transaction=False) as pipe:
                    for key in run_keys:
                        pipe.hget(key, "openTimers")
                    open_counts = pipe.execute()
                if all(int(n) == 0 for n in open_counts):
                    break
                await asyncio.sleep(0.02)
            else:
                raise RuntimeError("timers still open after 120 s")

        lags: list[float] = []
        due_times: list[float] = []
        last_fired = 0.0

        async def collect(workflow_id: str, run_id: str) -> None:
            nonlocal last_fired
            events = await history(api, domain, {"workflowId": workflow_id, "runId": run_id})
            due_at: dict[int, float] = {}
            for event in events:
                if event["eventType"] == "TimerStarted":
                    timeout = event["timerStartedEventAttributes"]["startToFireTimeout"]
                    due_at[event["eventId"]] = epoch(event["eventTimestamp"]) + int(timeout)
            due_times.extend(due_at.values())
            for event in events:
                if event["eventType"] == "TimerFired":
                    fired = epoch(event["eventTimestamp"])
                    attrs = event["timerFiredEventAttributes"]
                    lags.append((fired - due_at[attrs["startedEventId"]]) * 1000)
                    last_fired = max(last_fired, fired)

        for workflow_id, run_id in runs.items():
            await collect(workflow_id, run_id)
    finally:
        await api.close()
        infra.stop_child(timers)

    if len(lags) != total:
        raise RuntimeError(f"found {len(lags)} TimerFired events, expected {total}")
    stats = percentiles(lags)
    variant = f"{total:,} timers over {executions} executions"
    spread = max(due_times) - min(due_times)
    note = f"StartTimer batches took {started_in:.2f} s; due times spread over {spread:.2f} s"
    ctx.add(SCENARIO, variant, "first due to last fired", last_fired - min(due_times), "s", note)
    ctx.add(SCENARIO, variant, "lag p50", stats["p50"], "ms")
    ctx.add(SCENARIO, variant, "lag p99", stats["p99"], "ms")
    ctx.add(SCENARIO, variant, "lag max", stats["max"], "ms")
    ctx.raw["timer_lags"] = lags
