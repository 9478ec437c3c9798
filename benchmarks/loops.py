"""Worker and decider loops shared by the scenarios, each bounded in count and time."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .api import SwfApi, schedule_decision


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p90, p99 and max of a sample (nearest-rank), plus its size."""
    if not values:
        return {"count": 0, "p50": math.nan, "p90": math.nan, "p99": math.nan, "max": math.nan}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    return {
        "count": len(ordered),
        "p50": rank(0.50),
        "p90": rank(0.90),
        "p99": rank(0.99),
        "max": ordered[-1],
    }


@dataclass
class Progress:
    """Counts shared by the coroutines of one load loop, and when the last one finished."""

    target: int
    deadline: float
    leased: int = 0
    done: int = 0
    empty_polls: int = 0
    # Responses rejected with UnknownResourceFault: the task was no longer open.
    rejected: int = 0
    last_done: float = 0.0
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    def needs_more(self) -> bool:
        return self.leased < self.target and time.monotonic() < self.deadline

    def complete_one(self) -> None:
        self.done += 1
        self.last_done = time.monotonic()
        if self.done >= self.target:
            self.finished.set()


async def respond(api: SwfApi, progress: Progress, operation: str, **params: Any) -> bool:
    """Send a task's response; return False when SWF rejected it as no longer open.

    A worker must expect UnknownResourceFault, for example when two pollers were handed the
    same task. moto can do that under concurrent polls; redswf leases each task once.
    """
    try:
        await api.call(operation, **params)
    except Exception as exc:
        if "UnknownResourceFault" not in str(exc):
            raise
        progress.rejected += 1
        return False
    return True


async def activity_worker(
    api: SwfApi,
    domain: str,
    task_list: str,
    progress: Progress,
    empty_backoff: float = 0.0,
    on_task: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Poll and complete activity tasks until the target is leased or time runs out."""
    while progress.needs_more():
        task = await api.call(
            "PollForActivityTask", domain=domain, taskList={"name": task_list}, identity="w"
        )
        if not task.get("taskToken"):
            progress.empty_polls += 1
            if empty_backoff:
                await asyncio.sleep(empty_backoff)
            continue
        progress.leased += 1
        if on_task is not None:
            on_task(task)
        responded = await respond(
            api, progress, "RespondActivityTaskCompleted", taskToken=task["taskToken"], result="ok"
        )
        if responded:
            progress.complete_one()


async def decision_events(
    api: SwfApi, domain: str, task_list: str, task: dict[str, Any]
) -> list[Any]:
    """Return every event of a decision task, following its page tokens."""
    events = list(task.get("events", []))
    page_token = task.get("nextPageToken")
    while page_token:
        page = await api.call(
            "PollForDecisionTask",
            domain=domain,
            taskList={"name": task_list},
            nextPageToken=page_token,
        )
        events += page.get("events", [])
        page_token = page.get("nextPageToken")
    return events


async def decider(
    api: SwfApi,
    domain: str,
    task_list: str,
    progress: Progress,
    activities: int,
    payload: str | None = None,
    empty_backoff: float = 0.0,
    on_close: Callable[[], None] | None = None,
) -> None:
    """Decide workflows of ``activities`` parallel activities until ``progress`` is met.

    The first decision task schedules the activities. A later one completes the workflow
    once every activity has completed, and otherwise responds with no decisions. ``progress``
    counts closed workflows.
    """
    while not progress.finished.is_set() and time.monotonic() < progress.deadline:
        task = await api.call(
            "PollForDecisionTask", domain=domain, taskList={"name": task_list}, identity="d"
        )
        if not task.get("taskToken"):
            progress.empty_polls += 1
            if empty_backoff:
                await asyncio.sleep(empty_backoff)
            continue
        events = await decision_events(api, domain, task_list, task)
        scheduled = sum(1 for e in events if e["eventType"] == "ActivityTaskScheduled")
        completed = sum(1 for e in events if e["eventType"] == "ActivityTaskCompleted")
        closing = False
        if scheduled == 0:
            decisions = [schedule_decision(f"a{i}", task_list, payload) for i in range(activities)]
        elif completed >= activities:
            attrs = {"result": payload} if payload is not None else {}
            decisions = [
                {
                    "decisionType": "CompleteWorkflowExecution",
                    "completeWorkflowExecutionDecisionAttributes": attrs,
                }
            ]
            closing = True
        else:
            decisions = []
        responded = await respond(
            api,
            progress,
            "RespondDecisionTaskCompleted",
            taskToken=task["taskToken"],
            decisions=decisions,
        )
        if closing and responded:
            if on_close is not None:
                on_close()
            progress.complete_one()


async def run_until(
    progress: Progress, coroutines: Sequence[Awaitable[None]], grace: float = 0.0
) -> None:
    """Run the loops until ``progress`` is met or its deadline passes, then cancel the rest.

    Loops blocked in a long poll are cancelled once the target is met; ``grace`` seconds
    let loops that are still completing a task finish first.
    """
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    waiter = asyncio.ensure_future(progress.finished.wait())
    try:
        pending: set[asyncio.Future[Any]] = {waiter, *tasks}
        while waiter in pending and len(pending) > 1:
            remaining = progress.deadline - time.monotonic()
            if remaining <= 0:
                break
            done, pending = await asyncio.wait(
                pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            # A loop that raised ends the run with its error.
            for task in done:
                error = None if task is waiter else task.exception()
                if error is not None:
                    raise error
        if grace:
            await asyncio.wait(tasks, timeout=grace)
    finally:
        running: set[asyncio.Future[Any]] = {waiter, *tasks}
        while running:
            for task in running:
                task.cancel()
            # Cancel again what is still running: in Python 3.11 asyncio.wait_for, which the
            # long poll uses, can swallow a cancellation that races with its wake-up.
            _, running = await asyncio.wait(running, timeout=1.0)
        for task in [waiter, *tasks]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
