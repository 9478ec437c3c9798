"""Where the time goes: per-script Redis cost, cProfile of the library, py-spy of the server.

- Redis: each step of the one-activity workflow runs alone for N workflows, with the
  statistics reset before it, so INFO commandstats gives that step's FCALL cost per call
  and the commands its function ran. Client CPU per call comes from ``time.process_time``.
- Library: cProfile over activity dispatch (W=16), top functions by own time.
- Server: ``py-spy record`` (raw collapsed stacks) of ``redswf serve`` during HTTP activity
  dispatch, summed by function and by package. An SVG flame graph of the same load goes to
  benchmarks/results/profiles/.
- The slow log (commands over 1 ms) of every scenario and LATENCY LATEST of the run.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from redswf.scripts import pack
from tests.servers import RunningServer

from . import activity_dispatch, floor, infra
from .api import (
    HttpApi,
    LibraryApi,
    gather_limited,
    register,
    schedule_decision,
)
from .context import Context

SCENARIO = "profile"
PROFILES = infra.OUTPUT_ROOT / "benchmarks" / "results" / "profiles"


def commandstats(server: RunningServer) -> dict[str, dict[str, float]]:
    with server.client() as client:
        raw: Any = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): stats for name, stats in raw.items()}


def reset_stats(server: RunningServer) -> None:
    with server.client() as client:
        client.config_resetstat()


def latency_latest(server: RunningServer) -> list[list[Any]]:
    with server.client() as client:
        raw: Any = client.execute_command("LATENCY", "LATEST")
    return [[item.decode() if isinstance(item, bytes) else item for item in row] for row in raw]


async def script_costs(ctx: Context) -> None:
    """Run each step of the one-activity workflow alone and read its Redis cost."""
    count = ctx.size(2000, 5000)
    # One call at a time: with more, Redis shares the two cores with the library process
    # and commandstats would count the time the script spent preempted.
    workers = 1
    api = LibraryApi(ctx.redis_url)
    domain = ctx.domain("steps")
    steps: list[dict[str, Any]] = []
    try:
        await register(api, domain, "steps")
        tokens: list[str] = []

        async def step(name: str, action: Any) -> None:
            reset_stats(ctx.valkey)
            cpu, wall = time.process_time(), time.perf_counter()
            await gather_limited(count, workers, action)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            stats = commandstats(ctx.valkey)
            fcall = stats.get("fcall", {"calls": 0, "usec": 0})
            inner = sorted(
                ((n, s) for n, s in stats.items() if n not in ("fcall", "config|resetstat")),
                key=lambda item: -item[1]["usec"],
            )
            steps.append(
                {
                    "step": name,
                    "ops": count,
                    "script_us": fcall["usec"] / max(1, fcall["calls"]),
                    "script_calls": fcall["calls"],
                    "client_cpu_us": cpu / count * 1e6,
                    "wall_us": wall / count * 1e6,
                    "inner": [
                        f"{n} {s['calls'] / count:.1f}x{s['usec_per_call']:.1f} µs"
                        for n, s in inner[:5]
                    ],
                }
            )

        async def start(i: int) -> None:
            await api.call(
                "StartWorkflowExecution",
                domain=domain,
                workflowId=f"s-{i}",
                workflowType={"name": "bench-workflow", "version": "1"},
            )

        async def poll_decision(i: int) -> None:
            task = await api.call("PollForDecisionTask", domain=domain, taskList={"name": "steps"})
            tokens.append(task["taskToken"])

        async def schedule(i: int) -> None:
            decision = schedule_decision("a", "steps", "x" * 100)
            await api.call(
                "RespondDecisionTaskCompleted", taskToken=tokens[i], decisions=[decision]
            )

        async def poll_activity(i: int) -> None:
            task = await api.call("PollForActivityTask", domain=domain, taskList={"name": "steps"})
            tokens.append(task["taskToken"])

        async def complete_activity(i: int) -> None:
            await api.call("RespondActivityTaskCompleted", taskToken=tokens[i], result="x" * 100)

        async def close(i: int) -> None:
            decision = {
                "decisionType": "CompleteWorkflowExecution",
                "completeWorkflowExecutionDecisionAttributes": {"result": "x" * 100},
            }
            await api.call(
                "RespondDecisionTaskCompleted", taskToken=tokens[i], decisions=[decision]
            )

        await step("StartWorkflowExecution", start)
        await step("PollForDecisionTask (2 events)", poll_decision)
        await step("RespondDecisionTaskCompleted (schedule 1 activity)", schedule)
        tokens.clear()
        await step("PollForActivityTask", poll_activity)
        await step("RespondActivityTaskCompleted", complete_activity)
        tokens.clear()
        await step("PollForDecisionTask (8 events)", poll_decision)
        await step("RespondDecisionTaskCompleted (complete workflow)", close)
    finally:
        await api.close()
    ctx.raw["script_costs"] = steps
    for s in steps:
        ctx.add(SCENARIO, s["step"], "FCALL time per call", s["script_us"], "µs")
        ctx.add(SCENARIO, s["step"], "library CPU per call", s["client_cpu_us"], "µs")


def _top_functions(stats: pstats.Stats, limit: int = 15) -> list[dict[str, Any]]:
    raw: Any = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())
    rows = []
    for (filename, line, function), (_, calls, own, cumulative, _) in raw.items():
        rows.append(
            {
                "function": f"{function} ({_short(filename)}:{line})",
                "calls": calls,
                "own_s": own,
                "own_share": own / total if total else 0.0,
                "cumulative_s": cumulative,
            }
        )
    rows.sort(key=lambda r: -r["own_s"])
    return rows[:limit]


def _short(filename: str) -> str:
    """Return a path from its package on: site-packages, the checkout or the stdlib."""
    for marker in ("site-packages/", "lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    for package in ("/redswf/", "/benchmarks/", "/tests/"):
        if package in filename:
            return package[1:] + filename.split(package, 1)[1]
    return filename


def _package(filename: str) -> str:
    if filename == "~":
        return "built-in functions"
    short = _short(filename)
    if short.startswith("redswf/"):
        return short
    return short.split("/")[0]


async def library_profile(ctx: Context) -> None:
    """cProfile over library activity dispatch with 16 workers."""
    tasks = ctx.size(4000, 10000)
    domain, task_list, tasks = await activity_dispatch.prepare(ctx, tasks)
    api = LibraryApi(ctx.redis_url)
    profiler = cProfile.Profile()
    cpu = time.process_time()
    profiler.enable()
    try:
        rate = await activity_dispatch.measure(api, domain, task_list, 16, tasks)
    finally:
        profiler.disable()
        await api.close()
    cpu = time.process_time() - cpu
    stats = pstats.Stats(profiler)
    raw: Any = stats.stats  # type: ignore[attr-defined]
    by_package: Counter[str] = Counter()
    for (filename, _, _), (_, _, own, _, _) in raw.items():
        by_package[_package(filename)] += own
    total = sum(by_package.values())
    ctx.raw["cprofile"] = {
        "tasks": tasks,
        "rate_under_profiler": rate,
        "cpu_us_per_task": cpu / tasks * 1e6,
        "top": _top_functions(stats),
        "by_package": [{"package": p, "share": s / total} for p, s in by_package.most_common(12)],
    }
    PROFILES.mkdir(parents=True, exist_ok=True)
    stats.dump_stats(str(PROFILES / "library-dispatch.pstats"))
    ctx.add(
        SCENARIO,
        "library dispatch, W=16",
        "client CPU per task",
        cpu / tasks * 1e6,
        "µs",
        "under cProfile, which slows Python code",
    )
    ctx.reset()


def _collapse(raw_path: Path) -> dict[str, Any]:
    """Sum py-spy raw stacks by leaf function (own) and by package of the leaf frame."""
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw_path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        leaf = frames[-1]
        name, _, where = leaf.partition(" (")
        filename = where.rsplit(":", 1)[0]
        own[f"{name} ({_short(filename)})"] += count
        packages[_package(filename)] += count
        seen = set()
        for frame in frames:
            frame_name, _, frame_where = frame.partition(" (")
            key = f"{frame_name} ({_short(frame_where.rsplit(':', 1)[0])})"
            if key not in seen:
                inclusive[key] += count
                seen.add(key)
    return {
        "samples": total,
        "own": [{"function": f, "share": c / total} for f, c in own.most_common(15)],
        "packages": [{"package": p, "share": c / total} for p, c in packages.most_common(12)],
        "inclusive": [
            {"function": f, "share": c / total}
            for f, c in inclusive.most_common(40)
            if "redswf" in f or "aiohttp" in f or "redis" in f
        ][:20],
    }


async def server_profile(ctx: Context) -> None:
    """py-spy over ``redswf serve`` while HTTP workers dispatch activity tasks."""
    seconds = ctx.size(4, 10)
    py_spy = Path(sys.executable).parent / "py-spy"
    if not py_spy.exists():
        ctx.add(SCENARIO, "server", "not measured", 0, "", "py-spy is not installed")
        return
    PROFILES.mkdir(parents=True, exist_ok=True)
    serve = infra.start_serve(ctx.tmp / "serve-profile", ctx.redis_url, poll_hold=2.0)
    try:
        rate = ctx.facts.get("dispatch_max_http", 1000.0)
        for fmt, path in (
            ("raw", PROFILES / "serve-dispatch.txt"),
            ("flamegraph", PROFILES / "serve-dispatch.svg"),
        ):
            domain, task_list, tasks = await activity_dispatch.prepare(
                ctx, int(rate * (seconds + 3))
            )
            command = [
                str(py_spy),
                "record",
                "--pid",
                str(serve.pid),
                "--duration",
                str(seconds),
                "--rate",
                "250",
                "--nonblocking",
                "--format",
                fmt,
                "--output",
                str(path),
            ]
            recorder = infra.register_child(
                subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            )
            await asyncio.sleep(0.5)
            api = HttpApi(serve.endpoint, connections=16)
            try:
                await activity_dispatch.measure(api, domain, task_list, 16, tasks)
            finally:
                await api.close()
            _, error = await asyncio.to_thread(recorder.communicate, None, 60)
            infra.stop_child(recorder)
            if recorder.returncode != 0:
                raise RuntimeError(f"py-spy failed: {error.decode(errors='replace')[-500:]}")
            ctx.reset()
        ctx.raw["pyspy"] = _collapse(PROFILES / "serve-dispatch.txt")
    finally:
        serve.stop()


def preamble_cost(ctx: Context) -> None:
    """Measure what the shared helpers cost Redis per call, inlined and as a library.

    Each call runs 3,000 times, one at a time, against a registered domain:
    - ``return 1`` as a script, and the floor's lease script on an empty queue;
    - a script with the helpers of every transition inlined before ``return 1``, as redswf
      called its transitions before it used Redis Functions;
    - an empty function;
    - a function of the redswf library that binds its arguments and returns 1. It pays
      what every transition pays before its own work.
    """
    # Imported here: ``--commit`` may measure a redswf from before the library existed.
    from redswf.scripts import library

    lib = library()
    helpers = lib.source[lib.source.index("\n") + 1 : lib.source.index("redis.register_function")]
    prefix = "swf:{us-east-1/preamble}"
    argument = pack({"domain": "preamble", "taskList": "t", "secret": "0" * 32, "dayMs": 1})
    bound = (
        "#!lua name=preamble_bound\n"
        + helpers
        + "redis.register_function('preamble_bound', function(keys, args)\n"
        "bind(keys, args)\nreturn 1\nend)\n"
    )
    empty = (
        "#!lua name=preamble_empty\n"
        "redis.register_function('preamble_empty', function() return 1 end)"
    )
    lines = helpers.count("\n")
    # Each call: its command, and the script or a library whose one function bears its name.
    calls: dict[str, tuple[str, str]] = {
        "empty script": ("evalsha", "return 1"),
        "floor lease, empty queue": ("evalsha", floor.LEASE),
        f"script with the helpers inlined ({lines} lines)": (
            "evalsha",
            helpers + "\nbind(KEYS, ARGV)\nreturn 1",
        ),
        "empty function": ("fcall", empty),
        "library function that binds its arguments": ("fcall", bound),
    }
    costs = {}
    with ctx.valkey.client() as client:
        client.hset(f"{prefix}:domain", mapping={"name": "preamble", "status": "REGISTERED"})
        for name, (command, source) in calls.items():
            if command == "evalsha":
                target = client.script_load(source)
            else:
                client.function_load(source, replace=True)
                target = source.removeprefix("#!lua name=").split("\n", 1)[0]
            client.config_resetstat()
            for _ in range(3000):
                client.execute_command(command, target, 2, prefix, f"{prefix}:leases", argument)
            stats: Any = client.info("commandstats")
            costs[name] = float(stats[f"cmdstat_{command}"]["usec_per_call"])
            ctx.add(SCENARIO, "script preamble", name, costs[name], f"µs per {command.upper()}")
        client.function_delete("preamble_bound")
        client.function_delete("preamble_empty")
    ctx.raw["preamble_costs"] = costs


async def run(ctx: Context) -> None:
    ctx.reset()
    preamble_cost(ctx)
    ctx.reset()
    await script_costs(ctx)
    ctx.reset()
    await library_profile(ctx)
    await server_profile(ctx)
