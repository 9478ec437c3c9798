"""The card verification example in examples/card_verification, run against redswf serve."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "card_verification"

EXPECTED_EVENTS = [
    "WorkflowExecutionStarted",
    "DecisionTaskScheduled",
    "DecisionTaskStarted",
    "DecisionTaskCompleted",
    "ActivityTaskScheduled",
    "ActivityTaskStarted",
    "ActivityTaskCompleted",
    "DecisionTaskScheduled",
    "DecisionTaskStarted",
    "DecisionTaskCompleted",
    "WorkflowExecutionCompleted",
]


def run_example(endpoint: str, domain: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SWF_ENDPOINT_URL": endpoint, "SWF_DOMAIN": domain}
    return subprocess.run(
        [sys.executable, str(EXAMPLE / "run_all.py"), "--timeout", "60", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def history_lines(stdout: str) -> list[str]:
    """Return the event types of the history that run_all.py prints, in printed order."""
    types = []
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].isdigit():
            types.append(parts[2])
    return types


def test_example_completes(endpoint: str, domain: str) -> None:
    result = run_example(endpoint, domain)
    assert result.returncode == 0, result.stderr
    assert history_lines(result.stdout) == EXPECTED_EVENTS, result.stdout
    assert "closeStatus=COMPLETED" in result.stdout
    assert '"valid": true' in result.stdout


def test_example_invalid_card_fails(endpoint: str, domain: str) -> None:
    result = run_example(endpoint, domain, "5634-0056-4367-0923,12/12,437")
    assert result.returncode == 1, result.stderr
    events = history_lines(result.stdout)
    assert "ActivityTaskFailed" in events, result.stdout
    assert events[-1] == "WorkflowExecutionFailed", result.stdout
    assert "closeStatus=FAILED" in result.stdout


def load_checks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("card_checks", EXAMPLE / "checks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_example_card_checks() -> None:
    checks = load_checks()
    today = date(2026, 12, 4)
    assert checks.luhn_valid("5634005643670922")
    assert not checks.luhn_valid("5634005643670923")
    assert checks.verify_card("5634-0056-4367-0922,12/30,437", today).valid
    failed = checks.verify_card("5634-0056-4367-0923,12/12,437", today).failed_checks
    assert [check.name for check in failed] == ["luhn", "expiry"]
    garbage = checks.verify_card("garbage", today).failed_checks
    assert [check.name for check in garbage] == ["format"]
