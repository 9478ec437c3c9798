"""Run every benchmark scenario, print the table, save the results and write the page.

    python -m benchmarks [--quick] [--label NAME] [--compare OTHER] [--only a,b] [--commit REV]

Raw results go to benchmarks/results/<label>.json; the page is docs/benchmarks.md with
plots in docs/benchmarks/. With ``--compare OTHER`` the page shows OTHER's numbers beside
this run's, so a run labelled "after" can be set against one labelled "before". With
``--commit REV`` the product code comes from that commit (exported to a temporary folder)
instead of the working tree, which other people may be editing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import (
    activity_dispatch,
    arq_baseline,
    dispatch_latency,
    fanout,
    floor,
    idle_pollers,
    infra,
    long_history,
    profiling,
    report,
    storage,
    timers,
    workflow_throughput,
)
from .context import Context

RESULTS = infra.OUTPUT_ROOT / "benchmarks" / "results"
SCENARIO_LIMIT = {True: 300.0, False: 2400.0}  # seconds per scenario, quick and full

# In run order: the latency scenario paces itself by the dispatch maxima measured before it.
SCENARIOS: dict[str, Callable[[Context], Awaitable[None]]] = {
    "dispatch": activity_dispatch.run,
    "floor": floor.run,
    "arq": arq_baseline.run,
    "workflow": workflow_throughput.run,
    "fanout": fanout.run,
    "latency": dispatch_latency.run,
    "history": long_history.run,
    "idle": idle_pollers.run,
    "storage": storage.run,
    "timers": timers.run,
    "profile": profiling.run,
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes; about 3 to 4 minutes on 2 cores"
    )
    parser.add_argument(
        "--label", default=None, help="name of this run's results (default: quick or full)"
    )
    parser.add_argument(
        "--compare", default=None, help="label of an earlier run to show beside this one"
    )
    parser.add_argument(
        "--only",
        default=None,
        help=f"comma-separated scenarios to run, of: {', '.join(SCENARIOS)}",
    )
    parser.add_argument(
        "--update",
        default=None,
        help="label of an earlier run whose results of the --only scenarios this run replaces",
    )
    parser.add_argument("--no-page", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument(
        "--commit",
        default=None,
        help="git revision whose redswf, lua and tests code to measure (default: the working tree)",
    )
    return parser.parse_args(argv)


def git_state(root: Path) -> dict[str, str]:
    """Return the commit measured and the product files that differ from it."""

    def git(*args: str) -> str:
        result = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False
        )
        return result.stdout.strip()

    if os.environ.get("REDSWF_BENCH_COMMIT"):
        return {"commit": os.environ["REDSWF_BENCH_COMMIT"], "changed": "none (exported snapshot)"}
    changed = git("status", "--porcelain", "--", "redswf", "lua")
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "changed": ", ".join(line[3:] for line in changed.splitlines()) or "none",
    }


TITLES = {
    "dispatch": activity_dispatch.SCENARIO,
    "floor": floor.SCENARIO,
    "arq": arq_baseline.SCENARIO,
    "workflow": workflow_throughput.SCENARIO,
    "fanout": fanout.SCENARIO,
    "latency": dispatch_latency.SCENARIO,
    "history": long_history.SCENARIO,
    "idle": idle_pollers.SCENARIO,
    "storage": storage.SCENARIO,
    "timers": timers.SCENARIO,
    "profile": profiling.SCENARIO,
}


def quantiles(values: list[float], points: int = 1001) -> list[float]:
    """Return ``points`` evenly spaced order statistics, min and max included."""
    ordered = sorted(values)
    if len(ordered) <= points:
        return ordered
    step = (len(ordered) - 1) / (points - 1)
    return [round(ordered[round(i * step)], 3) for i in range(points)]


def compact(raw: dict[str, Any]) -> dict[str, Any]:
    """Keep 1,001 quantiles of each long sample list, so a results file stays small.

    The plots draw distributions, which the quantiles preserve; counts are kept apart.
    """
    raw = dict(raw)
    samples = raw.get("latency_samples", {})
    raw["latency_counts"] = {name: len(values) for name, values in samples.items()}
    raw["latency_samples"] = {name: quantiles(values) for name, values in samples.items()}
    if "timer_lags" in raw:
        raw["timer_count"] = len(raw["timer_lags"])
        raw["timer_lags"] = quantiles(raw["timer_lags"])
    return raw


def merge(earlier: dict[str, Any], rerun: dict[str, Any]) -> dict[str, Any]:
    """Replace the earlier run's results of the scenarios that ``rerun`` ran again."""
    titles = {TITLES[name] for name in rerun["scenarios"]}
    rows = [r for r in earlier["rows"] if r["scenario"] not in titles]
    merged = {**earlier, "rows": rows + rerun["rows"]}
    merged["rows"].sort(key=lambda r: list(TITLES.values()).index(r["scenario"]))
    merged["facts"] = {**earlier["facts"], **rerun["facts"]}
    raw = dict(earlier["raw"])
    for key, value in rerun["raw"].items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    merged["raw"] = raw
    failures = {k: v for k, v in earlier["failures"].items() if k not in rerun["scenarios"]}
    merged["failures"] = {**failures, **rerun["failures"]}
    merged["updates"] = [*earlier.get("updates", []), f"{rerun['command']} ({rerun['date']})"]
    return merged


def run_from_snapshot(revision: str, argv: list[str]) -> int:
    """Export ``revision`` to a temporary folder and run this command there.

    The snapshot gets this checkout's benchmarks package, and ``redswf/lua`` links to its
    ``lua`` folder, so ``import redswf.lua`` finds the snapshot's scripts ahead of the
    editable install's.
    """
    root = Path(__file__).resolve().parent.parent
    commit = subprocess.run(
        ["git", "rev-parse", "--short", revision],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    snapshot = infra.temp_dir(f"tree-{commit}")
    archive = subprocess.run(["git", "archive", commit], cwd=root, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(snapshot)], input=archive.stdout, check=True)
    shutil.rmtree(snapshot / "benchmarks", ignore_errors=True)
    shutil.copytree(
        root / "benchmarks",
        snapshot / "benchmarks",
        ignore=shutil.ignore_patterns(".venv-arq", "results", "__pycache__"),
    )
    (snapshot / "redswf" / "lua").symlink_to(snapshot / "lua", target_is_directory=True)
    at = argv.index("--commit")
    rest = argv[:at] + argv[at + 2 :]
    env = {**os.environ, "REDSWF_BENCH_OUTPUT": str(root), "REDSWF_BENCH_COMMIT": commit}
    env["REDSWF_BENCH_COMMAND"] = "python -m benchmarks " + shlex.join(argv)
    env["PYTHONPATH"] = str(snapshot)
    print(f"measuring commit {commit} from {snapshot}", flush=True)
    try:
        return subprocess.run(
            [sys.executable, "-m", "benchmarks", *rest], cwd=snapshot, env=env, check=False
        ).returncode
    finally:
        shutil.rmtree(snapshot, ignore_errors=True)


async def run_scenarios(ctx: Context, names: list[str]) -> dict[str, str]:
    """Run each scenario; a failure is recorded and the run goes on with the next one.

    A scenario's failure lists the variants that failed (see ``Context.variant``) and the
    error that ended the scenario, if any.
    """
    failures: dict[str, str] = {}
    for name in names:
        print(f"== {name}", flush=True)
        started = time.monotonic()
        ctx.current = name
        ctx.variant_failures = []
        load_before = os.getloadavg()[0]
        errors: list[str] = []
        try:
            await asyncio.wait_for(SCENARIOS[name](ctx), SCENARIO_LIMIT[ctx.quick])
        except Exception as exc:
            traceback.print_exc()
            errors.append(f"{type(exc).__name__}: {exc}")
        errors = ctx.variant_failures + errors
        if errors:
            failures[name] = "; ".join(errors)
        ctx.reset()
        ctx.raw.setdefault("seconds", {})[name] = round(time.monotonic() - started, 1)
        ctx.raw.setdefault("load_average", {})[name] = [load_before, os.getloadavg()[0]]
    return failures


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.commit:
        return run_from_snapshot(args.commit, argv)
    # SIGTERM ends the run like Ctrl-C, so every server and child process is stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    names = list(SCENARIOS) if args.only is None else args.only.split(",")
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s) {', '.join(unknown)}: expected some of {', '.join(SCENARIOS)}")
        return 2
    label = args.label or ("quick" if args.quick else "full")
    command = os.environ.get("REDSWF_BENCH_COMMAND") or "python -m benchmarks " + shlex.join(argv)
    infra.raise_open_file_limit()
    tmp = infra.temp_dir(label)
    started = time.monotonic()
    valkey = infra.start_redis(tmp / "valkey")
    try:
        ctx = Context(quick=args.quick, tmp=tmp, valkey=valkey)
        valkey_info = infra.server_info(valkey)
        redis_info = storage.redis_server_info(tmp)
        import uvloop

        failures = uvloop.run(run_scenarios(ctx, names))
        ctx.raw["latency_latest"] = profiling.latency_latest(valkey)
    finally:
        infra.stop_everything()
    if failures:
        print(f"server and process logs of the failed run: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    results = {
        "label": label,
        "mode": "quick" if args.quick else "full",
        "command": command.strip(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(time.monotonic() - started),
        "machine": infra.machine(),
        "git": git_state(Path(__file__).resolve().parent.parent),
        "versions": infra.versions(valkey_info, redis_info),
        "scenarios": names,
        "failures": failures,
        "rows": [row.as_dict() for row in ctx.rows],
        "facts": ctx.facts,
        "raw": compact(ctx.raw),
    }
    if args.update:
        results = merge(json.loads((RESULTS / f"{args.update}.json").read_text()), results)
        label = args.update
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{label}.json"
    path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(f"\nresults: {path}")
    compare = None
    if args.compare:
        compare = json.loads((RESULTS / f"{args.compare}.json").read_text())
    print(report.table(results, compare))
    if not args.no_page:
        page = report.write_page(results, compare)
        print(f"page: {page}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
