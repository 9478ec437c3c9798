"""Timers: 1,000 StartTimer decisions in each of E executions, all due after one second.

A ``redswf timers`` process fires them. Each timer's lag is its TimerFired timestamp minus
its TimerStarted timestamp minus the one-second timeout (event timestamps have millisecond
resolution). "All fired" is the time from the first StartTimer batch until the last
TimerFired event.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from redswf import keys

from . import infra
from .api import LibraryApi, epoch, gather_limited, lease_decisions, register, start_runs
from .context import Context
from .loops import percentiles

SCENARIO = "timers"
PER_EXECUTION = 1000
TIMEOUT_SECONDS = 1


def _start_timers() -> list[dict[str, Any]]:
    return [
        {
            "decisionType": "StartTimer",
            "startTimerDecisionAttributes": {
                "timerId": f"t{i}",
                "startToFireTimeout": str(TIMEOUT_SECONDS),
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
        decisions = _start_timers()

        async def start(i: int) -> None:
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
        first_started = float("inf")
        last_fired = 0.0

        async def collect(workflow_id: str, run_id: str) -> None:
            nonlocal first_started, last_fired
            events = await history(api, domain, {"workflowId": workflow_id, "runId": run_id})
            started_at: dict[int, float] = {}
            for event in events:
                if event["eventType"] == "TimerStarted":
                    started_at[event["eventId"]] = epoch(event["eventTimestamp"])
                    first_started = min(first_started, started_at[event["eventId"]])
            for event in events:
                if event["eventType"] == "TimerFired":
                    fired = epoch(event["eventTimestamp"])
                    attrs = event["timerFiredEventAttributes"]
                    timeout = started_at[attrs["startedEventId"]] + TIMEOUT_SECONDS
                    lags.append((fired - timeout) * 1000)
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
    note = f"StartTimer batches took {started_in:.2f} s"
    ctx.add(SCENARIO, variant, "first start to last fired", last_fired - first_started, "s", note)
    ctx.add(SCENARIO, variant, "lag p50", stats["p50"], "ms")
    ctx.add(SCENARIO, variant, "lag p99", stats["p99"], "ms")
    ctx.add(SCENARIO, variant, "lag max", stats["max"], "ms")
    ctx.raw["timer_lags"] = lags
