"""What every scenario gets: the run's size, its servers, and a place for results."""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.servers import RunningServer

from . import infra


@dataclass
class Row:
    """One line of the results table: a measured value of one scenario and variant."""

    scenario: str
    variant: str
    metric: str
    value: float
    unit: str
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.scenario} | {self.variant} | {self.metric}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "variant": self.variant,
            "metric": self.metric,
            "value": self.value,
            "unit": self.unit,
            "note": self.note,
        }


@dataclass
class Context:
    quick: bool
    tmp: Path
    valkey: RunningServer
    rows: list[Row] = field(default_factory=list)
    # Raw data per scenario for plots and the page (lists of samples, curves).
    raw: dict[str, Any] = field(default_factory=dict)
    # Facts other scenarios use: measured maxima, serve endpoints.
    facts: dict[str, float] = field(default_factory=dict)
    # The scenario running now; its slow log entries are filed under this name.
    current: str = ""
    # Errors of the current scenario's failed variants, as "variant: error". The run lists
    # them as the scenario's failure.
    variant_failures: list[str] = field(default_factory=list)

    @property
    def redis_url(self) -> str:
        return self.valkey.url

    def add(
        self, scenario: str, variant: str, metric: str, value: float, unit: str, note: str = ""
    ) -> None:
        row = Row(scenario, variant, metric, float(value), unit, note)
        self.rows.append(row)
        shown = f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
        print(f"  {scenario:<20} {variant:<28} {metric:<30} {shown:>12} {unit}", flush=True)

    @contextmanager
    def variant(self, name: str) -> Iterator[None]:
        """Record an error raised in this block as a failure of variant ``name``.

        The scenario then goes on with its other variants. Cancellation (the scenario's
        time limit, Ctrl-C) still ends the scenario.
        """
        try:
            yield
        except Exception as exc:
            traceback.print_exc()
            self.variant_failures.append(f"{name}: {type(exc).__name__}: {exc}")

    def size(self, quick: int, full: int) -> int:
        return quick if self.quick else full

    def domain(self, scenario: str) -> str:
        return f"bench-{scenario}-{uuid.uuid4().hex[:8]}"

    def reset(self) -> None:
        """Keep the slow log of the work just done, then empty the server for the next."""
        entries = infra.slowlog_summary(self.valkey)
        if entries:
            kept = self.raw.setdefault("slowlog", {}).setdefault(self.current, {})
            for entry in entries:
                group = kept.setdefault(entry["command"], {**entry, "count": 0, "total_ms": 0.0})
                group["count"] += entry["count"]
                group["total_ms"] += entry["total_ms"]
                group["max_ms"] = max(group["max_ms"], entry["max_ms"])
        infra.flush(self.valkey)
