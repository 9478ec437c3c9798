"""Idle pollers: 10,000 concurrent long polls on one ``redswf serve`` process.

Client processes (``benchmarks.child idle-client``) hold the polls open over HTTP, 2,000
each. Once the server holds every connection and every poll has made its first lease
attempt, this records the server's resident memory (VmRSS), then schedules one task at a
time and measures how long it takes to reach one of the waiting pollers.
"""

from __future__ import annotations

import asyncio
import json
import queue
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

import psutil

from . import infra
from .api import LibraryApi, lease_decisions, register, schedule_decision, start_runs
from .context import Context

SCENARIO = "idle pollers"
PER_CLIENT = 2000
HANDOFFS = 5
POLL_HOLD = 60.0


def _established(pid: int, port: int) -> int:
    connections = psutil.Process(pid).net_connections(kind="tcp")
    return sum(1 for c in connections if c.laddr.port == port and c.status == "ESTABLISHED")


def _evalsha_calls(ctx: Context) -> int:
    with ctx.valkey.client() as client:
        stats: Any = client.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


def _forward(stream: Any, lines: queue.Queue[dict[str, Any]]) -> None:
    for raw in stream:
        lines.put(json.loads(raw))


async def run(ctx: Context) -> None:
    ctx.reset()
    pollers = 10_000
    serve = infra.start_serve(ctx.tmp / "serve-idle", ctx.redis_url, poll_hold=POLL_HOLD)
    library = LibraryApi(ctx.redis_url)
    clients: list[subprocess.Popen[bytes]] = []
    try:
        domain = ctx.domain("idle")
        await register(library, domain, "idle")
        await start_runs(library, domain, "handoff", HANDOFFS)
        tokens = await lease_decisions(library, domain, "idle", HANDOFFS)
        # One request warms the server up before its baseline memory is read.
        await library.call("DescribeDomain", name=domain)
        rss_before = infra.rss_bytes(serve.pid)

        lines: queue.Queue[dict[str, Any]] = queue.Queue()
        settings = {
            "endpoint": serve.endpoint,
            "domain": domain,
            "task_list": "idle-activities",
            "polls": PER_CLIENT,
            "seconds": POLL_HOLD + 20,
        }
        with ctx.valkey.client() as client:
            client.config_resetstat()
        began = time.monotonic()
        for _ in range(pollers // PER_CLIENT):
            command = [
                sys.executable,
                "-m",
                "benchmarks.child",
                "idle-client",
                json.dumps(settings),
            ]
            process = infra.register_child(
                subprocess.Popen(command, stdout=subprocess.PIPE, cwd=infra.REPO)
            )
            clients.append(process)
            threading.Thread(target=_forward, args=(process.stdout, lines), daemon=True).start()

        deadline = began + POLL_HOLD - 15
        connected = 0
        while time.monotonic() < deadline:
            connected = await asyncio.to_thread(_established, serve.pid, serve.port)
            if connected >= pollers and _evalsha_calls(ctx) >= pollers:
                break
            await asyncio.sleep(0.5)
        ramp = time.monotonic() - began
        if connected < pollers:
            raise RuntimeError(f"only {connected} of {pollers} polls connected in {ramp:.0f} s")
        await asyncio.sleep(1.0)
        rss = max(infra.rss_bytes(serve.pid) for _ in range(3))

        while not lines.empty():
            lines.get_nowait()
        delays = []
        for token in tokens:
            sent = time.time()
            decision = schedule_decision("handoff", "idle-activities", f"{sent:.6f}")
            await library.call(
                "RespondDecisionTaskCompleted", taskToken=token, decisions=[decision]
            )
            while True:
                message = await asyncio.to_thread(lines.get, True, 10.0)
                if "received" in message:
                    break
            delays.append((message["received"] - sent) * 1000)
            await asyncio.sleep(0.2)
    finally:
        for process in clients:
            infra.stop_child(process)
        await library.close()
        serve.stop()

    note = f"{pollers:,} polls from {len(clients)} client processes, all connected in {ramp:.1f} s"
    ctx.add(SCENARIO, "http", "server resident memory", rss / 2**20, "MiB", note)
    ctx.add(
        SCENARIO,
        "http",
        "server memory per poll",
        (rss - rss_before) / pollers / 1024,
        "KiB",
        f"above the idle server's {rss_before / 2**20:.0f} MiB",
    )
    ctx.add(
        SCENARIO,
        "http",
        "new task to a waiting poller",
        statistics.median(delays),
        "ms",
        f"median of {HANDOFFS}, max {max(delays):.1f} ms",
    )
    ctx.facts["idle_rss_mib"] = rss / 2**20
