"""Long history: poll the decision task of a 24,900-event execution, and page its history.

Signals fill the history, one event each while a decision task is scheduled. Then each
round polls the decision task (first page of 1,000 events), pages the whole history with
GetWorkflowExecutionHistory, completes the task with no decisions and signals once more, so
the next round has a decision task again. A round adds four events. The same runs on a
100-event execution; the page compares the two. The rounds run through the library, then
HTTP, then RESP, on the same execution.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from . import infra
from .api import (
    WORKFLOW_TYPE,
    HttpApi,
    LibraryApi,
    RespApi,
    SwfApi,
    gather_limited,
    register,
)
from .context import Context

SCENARIO = "long history"
ROUNDS = 4
# The default page contains 1,000 events: the long history's first page is then ten times the
# short one's whole history. Polls with 100-event pages compare pages of equal size.
PAGE_SIZES = (1000, 100)
WORKFLOW_ID = "long"


async def fill(api: LibraryApi, domain: str, workflow_id: str, events: int) -> None:
    """Signal the execution until its history has ``events`` events (two came with the start)."""

    async def signal(_: int) -> None:
        await api.call(
            "SignalWorkflowExecution", domain=domain, workflowId=workflow_id, signalName="fill"
        )

    await gather_limited(events - 2, 32, signal)


async def one_round(
    api: SwfApi, domain: str, workflow_id: str, run_id: str, page_size: int
) -> tuple[float, float]:
    """Return (seconds to poll the decision task, seconds to page the whole history)."""
    began = time.perf_counter()
    task = await api.call(
        "PollForDecisionTask",
        domain=domain,
        taskList={"name": "hist"},
        maximumPageSize=page_size,
    )
    polled = time.perf_counter() - began
    if not task.get("taskToken"):
        raise RuntimeError("expected a decision task, the poll came back empty")

    began = time.perf_counter()
    page: dict[str, Any] = {}
    pages = 0
    while True:
        params: dict[str, Any] = {
            "domain": domain,
            "execution": {"workflowId": workflow_id, "runId": run_id},
        }
        if page.get("nextPageToken"):
            params["nextPageToken"] = page["nextPageToken"]
        page = await api.call("GetWorkflowExecutionHistory", maximumPageSize=1000, **params)
        pages += 1
        if not page.get("nextPageToken") or pages > 100:
            break
    paged = time.perf_counter() - began

    await api.call("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=[])
    await api.call(
        "SignalWorkflowExecution", domain=domain, workflowId=workflow_id, signalName="next"
    )
    return polled, paged


async def measure(
    ctx: Context, api: SwfApi, domain: str, run_id: str, events: int, fill_note: str
) -> None:
    """Run the rounds of each page size through ``api`` and add their rows."""
    for page_size in PAGE_SIZES:
        polls, pages = [], []
        for _ in range(ROUNDS):
            polled, paged = await one_round(api, domain, WORKFLOW_ID, run_id, page_size)
            polls.append(polled * 1000)
            pages.append(paged * 1000)
        variant = f"{api.name}, {events:,} events"
        note = f"median of {ROUNDS} rounds"
        if api.name == "library" and page_size == PAGE_SIZES[0]:
            note += fill_note
        poll_ms, page_ms = statistics.median(polls), statistics.median(pages)
        metric = f"poll decision task, {page_size}-event pages"
        ctx.add(SCENARIO, variant, metric, poll_ms, "ms", note)
        ctx.facts[f"history_poll_{api.name}_{events}_{page_size}"] = poll_ms
        if page_size == PAGE_SIZES[0]:
            ctx.add(SCENARIO, variant, "page whole history", page_ms, "ms")


async def run(ctx: Context) -> None:
    ctx.reset()
    serve = infra.start_serve(ctx.tmp / "serve-history", ctx.redis_url, poll_hold=2.0, resp=True)
    library = LibraryApi(ctx.redis_url)
    apis: list[SwfApi] = [library, HttpApi(serve.endpoint), RespApi(serve.require_resp_port())]
    try:
        for events in (100, 24_900):
            domain = ctx.domain("history")
            await register(library, domain, "hist")
            started = await library.call(
                "StartWorkflowExecution",
                domain=domain,
                workflowId=WORKFLOW_ID,
                workflowType=WORKFLOW_TYPE,
            )
            began = time.monotonic()
            await fill(library, domain, WORKFLOW_ID, events)
            fill_note = f"; filled by {events - 2:,} signals in {time.monotonic() - began:.1f} s"
            # NOTE: the variants share one execution. A variant that fails between its poll
            # and its response leaves the decision task leased, so the later ones fail too.
            for api in apis:
                with ctx.variant(f"{api.name}, {events:,} events"):
                    await measure(ctx, api, domain, started["runId"], events, fill_note)
            ctx.reset()
    finally:
        for api in apis:
            await api.close()
        serve.stop()
