"""Idle pollers: 10,000 concurrent long polls on one ``redswf serve`` process.

Client processes (``benchmarks.child idle-client``) hold the polls open, 2,000 each, first
over HTTP and then over RESP, each time against a fresh ``redswf serve``. RESP runs one
command at a time per connection, so every waiting poll needs a connection of its own, as
over HTTP. Once the server holds every connection and every poll has made its first lease
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
from .api import (
    HttpApi,
    LibraryApi,
    RespApi,
    SwfApi,
    lease_decisions,
    register,
    schedule_decision,
    start_runs,
)
from .context import Context

SCENARIO = "idle pollers"
POLLERS = 10_000
PER_CLIENT = 2000
HANDOFFS = 5
HANDOFF_TIMEOUT = 10.0  # seconds a scheduled task may take to reach a waiting poller
POLL_HOLD = 60.0
TASK_LIST = "idle-activities"
# The fact that stores each interface's resident memory, for the page's targets.
IDLE_RSS_FACT = {"http": "idle_rss_mib", "resp": "idle_rss_mib_resp"}


def _established(pid: int, port: int) -> int:
    connections = psutil.Process(pid).net_connections(kind="tcp")
    return sum(1 for c in connections if c.laddr.port == port and c.status == "ESTABLISHED")


def _script_calls(ctx: Context) -> int:
    """Count the calls of Lua code since the last CONFIG RESETSTAT.

    Both EVALSHA (scripts) and FCALL (Redis Functions) count, whichever of the two redswf uses.
    """
    with ctx.valkey.client() as client:
        stats: Any = client.info("commandstats")
    return sum(
        int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("evalsha", "fcall")
    )


def _forward(stream: Any, lines: queue.Queue[dict[str, Any]], client: int) -> None:
    for raw in stream:
        lines.put({**json.loads(raw), "client": client})


def _drain(lines: queue.Queue[dict[str, Any]]) -> list[dict[str, Any]]:
    drained = []
    while not lines.empty():
        drained.append(lines.get_nowait())
    return drained


def _shortfall(
    serve: infra.Serve, connected: int, seconds: float, messages: list[dict[str, Any]]
) -> str:
    """Describe why fewer than POLLERS polls connected: the server's open files against its
    limit, and the connection errors the clients reported."""
    server = psutil.Process(serve.pid)
    soft_limit, _ = server.rlimit(psutil.RLIMIT_NOFILE)
    text = (
        f"only {connected:,} of {POLLERS:,} polls connected in {seconds:.0f} s; the server had "
        f"{server.num_fds():,} open files (limit {soft_limit:,})"
    )
    errors = [m for m in messages if "error" in m]
    if not errors:
        return text + ", and the clients reported no connection errors"
    per_client: dict[int, int] = {}
    for message in errors:
        per_client[message["client"]] = max(per_client.get(message["client"], 0), message["errors"])
    return (
        f"{text}; the clients reported {sum(per_client.values()):,} or more connection "
        f"errors, the first: {errors[0]['error'][:200]}"
    )


def _interface_api(interface: str, serve: infra.Serve) -> SwfApi:
    if interface == "resp":
        return RespApi(serve.require_resp_port())
    return HttpApi(serve.endpoint)


def _start_clients(
    interface: str, serve: infra.Serve, domain: str, lines: queue.Queue[dict[str, Any]]
) -> list[subprocess.Popen[bytes]]:
    settings = {
        "interface": interface,
        "endpoint": serve.endpoint,
        "resp_port": serve.resp_port,
        "domain": domain,
        "task_list": TASK_LIST,
        "polls": PER_CLIENT,
        "seconds": POLL_HOLD + 20,
    }
    command = [sys.executable, "-m", "benchmarks.child", "idle-client", json.dumps(settings)]
    clients = []
    for number in range(POLLERS // PER_CLIENT):
        process = infra.register_child(
            subprocess.Popen(command, stdout=subprocess.PIPE, cwd=infra.REPO)
        )
        clients.append(process)
        threading.Thread(target=_forward, args=(process.stdout, lines, number), daemon=True).start()
    return clients


async def _wait_for_polls(ctx: Context, serve: infra.Serve, port: int, began: float) -> int:
    """Wait for every poll's connection and first lease attempt, or for the ramp deadline.

    Returns the number of poll connections the server has accepted.
    """
    deadline = began + POLL_HOLD - 15
    connected = 0
    while time.monotonic() < deadline:
        connected = await asyncio.to_thread(_established, serve.pid, port)
        if connected >= POLLERS and _script_calls(ctx) >= POLLERS:
            break
        await asyncio.sleep(0.5)
    return connected


async def _hand_off(
    library: LibraryApi, tokens: list[str], lines: queue.Queue[dict[str, Any]]
) -> list[float]:
    """Schedule one task per decision token; return each task's delay to a poller in ms."""
    delays = []
    for number, token in enumerate(tokens):
        sent = time.time()
        decision = schedule_decision("handoff", TASK_LIST, f"{sent:.6f}")
        await library.call("RespondDecisionTaskCompleted", taskToken=token, decisions=[decision])
        while True:
            try:
                message = await asyncio.to_thread(lines.get, True, HANDOFF_TIMEOUT)
            except queue.Empty:
                raise RuntimeError(
                    f"no waiting poller received hand-off task {number + 1} of {len(tokens)} "
                    f"within {HANDOFF_TIMEOUT:.0f} s"
                ) from None
            if "received" in message:
                break
        delays.append((message["received"] - sent) * 1000)
        await asyncio.sleep(0.2)
    return delays


async def one_variant(ctx: Context, interface: str) -> None:
    """Hold the polls over ``interface`` ("http" or "resp") and add its three rows."""
    resp = interface == "resp"
    serve = infra.start_serve(
        ctx.tmp / f"serve-idle-{interface}", ctx.redis_url, poll_hold=POLL_HOLD, resp=resp
    )
    library = LibraryApi(ctx.redis_url)
    clients: list[subprocess.Popen[bytes]] = []
    try:
        port = serve.require_resp_port() if resp else serve.port
        domain = ctx.domain("idle")
        await register(library, domain, "idle")
        await start_runs(library, domain, "handoff", HANDOFFS)
        tokens = await lease_decisions(library, domain, "idle", HANDOFFS)
        # One request through the interface warms the server up before its baseline memory
        # is read.
        warm_up = _interface_api(interface, serve)
        try:
            await warm_up.call("DescribeDomain", name=domain)
        finally:
            await warm_up.close()
        rss_before = infra.rss_bytes(serve.pid)

        lines: queue.Queue[dict[str, Any]] = queue.Queue()
        with ctx.valkey.client() as client:
            client.config_resetstat()
        began = time.monotonic()
        clients = _start_clients(interface, serve, domain, lines)
        connected = await _wait_for_polls(ctx, serve, port, began)
        ramp = time.monotonic() - began
        messages = _drain(lines)
        shortfall = ""
        if connected < POLLERS:
            shortfall = _shortfall(serve, connected, ramp, messages)
            print(f"  {interface}: {shortfall}", flush=True)
            if connected == 0:
                raise RuntimeError(shortfall)
        await asyncio.sleep(1.0)
        rss = max(infra.rss_bytes(serve.pid) for _ in range(3))

        _drain(lines)
        delays = await _hand_off(library, tokens, lines)
    finally:
        for process in clients:
            infra.stop_child(process)
        await library.close()
        serve.stop()

    note = shortfall or (
        f"{POLLERS:,} polls from {len(clients)} client processes, all connected in {ramp:.1f} s"
    )
    ctx.add(SCENARIO, interface, "server resident memory", rss / 2**20, "MiB", note)
    ctx.add(
        SCENARIO,
        interface,
        "server memory per poll",
        (rss - rss_before) / connected / 1024,
        "KiB",
        f"above the idle server's {rss_before / 2**20:.0f} MiB",
    )
    ctx.add(
        SCENARIO,
        interface,
        "new task to a waiting poller",
        statistics.median(delays),
        "ms",
        f"median of {HANDOFFS}, max {max(delays):.1f} ms",
    )
    # The target is judged only on a run that held every poll. The HTTP fact keeps its name
    # from the runs before RESP, so that their results still show it.
    if not shortfall:
        ctx.facts[IDLE_RSS_FACT[interface]] = rss / 2**20


async def run(ctx: Context) -> None:
    ctx.reset()
    for interface in ("http", "resp"):
        with ctx.variant(interface):
            await one_variant(ctx, interface)
        ctx.reset()
