"""The operator commands of the ``redswf`` command line, run against the session's Redis."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from redswf import Client
from redswf.cli import main
from tests.conftest import MAX_DOMAINS
from tests.helpers import ACTIVITY_TYPE, DECISION_LIST, WORKFLOW_TYPE, complete, register_all_sync


@pytest.fixture
def library(redis_url: str) -> Iterator[Client]:
    """A blocking library client, for setting up what the commands read."""
    with Client(redis_url, max_domains=MAX_DOMAINS, poll_hold=1.0) as blocking_client:
        yield blocking_client


def run(redis_url: str, *args: str) -> Result:
    runner = CliRunner(env={"REDSWF_REDIS_URL": redis_url, "COLUMNS": "250"})
    return runner.invoke(main, list(args))


def run_json(redis_url: str, *args: str) -> Any:
    result = run(redis_url, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def start(library: Client, domain: str, workflow_id: str, tags: list[str] | None = None) -> str:
    extra: dict[str, Any] = {"tagList": tags} if tags else {}
    run_id: str = library.start_workflow_execution(
        domain=domain, workflowId=workflow_id, workflowType=WORKFLOW_TYPE, **extra
    )["runId"]
    time.sleep(0.003)  # distinct start times, so the order by start time is known
    return run_id


def workflow_ids(document: dict[str, Any]) -> list[str]:
    return [info["execution"]["workflowId"] for info in document["executionInfos"]]


def test_domains_listed(library: Client, redis_url: str, domain: str) -> None:
    library.register_domain(
        name=domain, workflowExecutionRetentionPeriodInDays="3", description="orders"
    )
    old = domain + "-old"
    library.register_domain(name=old, workflowExecutionRetentionPeriodInDays="0")
    library.deprecate_domain(name=old)

    listed = {d["name"]: d for d in run_json(redis_url, "domains")["domainInfos"]}
    assert listed[domain]["workflowExecutionRetentionPeriodInDays"] == "3"
    assert listed[domain]["description"] == "orders"
    assert old not in listed
    deprecated = run_json(redis_url, "domains", "--deprecated")["domainInfos"]
    assert old in [d["name"] for d in deprecated]

    table = run(redis_url, "domains")
    assert table.exit_code == 0
    assert "Retention (days)" in table.stdout
    assert domain in table.stdout


def test_types_listed(library: Client, redis_url: str, domain: str) -> None:
    register_all_sync(library, domain)
    found = run_json(redis_url, "types", domain)
    assert [t["workflowType"] for t in found["workflowTypes"]] == [WORKFLOW_TYPE]
    assert [t["activityType"] for t in found["activityTypes"]] == [ACTIVITY_TYPE]

    library.deprecate_activity_type(domain=domain, activityType=ACTIVITY_TYPE)
    found = run_json(redis_url, "types", domain, "--deprecated")
    assert found["workflowTypes"] == []
    assert found["activityTypes"][0]["status"] == "DEPRECATED"
    table = run(redis_url, "types", domain)
    assert WORKFLOW_TYPE["name"] in table.stdout


def test_executions_and_filters(library: Client, redis_url: str, domain: str) -> None:
    register_all_sync(library, domain)
    start(library, domain, "a", ["red"])
    start(library, domain, "b", ["blue"])
    start(library, domain, "c", ["red"])
    library.terminate_workflow_execution(domain=domain, workflowId="b")

    open_runs = run_json(redis_url, "executions", domain)
    assert workflow_ids(open_runs) == ["c", "a"]
    assert open_runs["more"] is False
    red = run_json(redis_url, "executions", domain, "--tag", "red", "--oldest-first")
    assert workflow_ids(red) == ["a", "c"]
    by_id = run_json(redis_url, "executions", domain, "--workflow-id", "c")
    assert workflow_ids(by_id) == ["c"]
    type_ref = f"{WORKFLOW_TYPE['name']}:{WORKFLOW_TYPE['version']}"
    assert len(workflow_ids(run_json(redis_url, "executions", domain, "--type", type_ref))) == 2
    assert (
        run_json(redis_url, "executions", domain, "--type", "orderFlow:9.9")["executionInfos"] == []
    )

    closed = run_json(redis_url, "executions", domain, "--close-status", "TERMINATED")
    assert workflow_ids(closed) == ["b"]
    assert closed["executionInfos"][0]["closeStatus"] == "TERMINATED"
    closed = run_json(redis_url, "executions", domain, "--closed", "--by", "start", "--since", "1h")
    assert workflow_ids(closed) == ["b"]

    limited = run_json(redis_url, "executions", domain, "--limit", "1")
    assert len(limited["executionInfos"]) == 1
    assert limited["more"] is True
    future = run_json(redis_url, "executions", domain, "--since", "2999-01-01T00:00:00")
    assert future["executionInfos"] == []
    past = run_json(redis_url, "executions", domain, "--until", "2000-01-01")
    assert past["executionInfos"] == []

    table = run(redis_url, "executions", domain, "--closed")
    assert table.exit_code == 0
    assert "Workflow ID" in table.stdout
    assert "TERMINATED" in table.stdout


def test_count(library: Client, redis_url: str, domain: str) -> None:
    register_all_sync(library, domain)
    for workflow_id in ("a", "b", "c"):
        start(library, domain, workflow_id, ["t"])
    library.terminate_workflow_execution(domain=domain, workflowId="a")

    assert run_json(redis_url, "count", domain) == {"count": 2, "truncated": False}
    assert run_json(redis_url, "count", domain, "--closed")["count"] == 1
    assert run_json(redis_url, "count", domain, "--close-status", "completed")["count"] == 0
    assert run_json(redis_url, "count", domain, "--tag", "t")["count"] == 2
    text = run(redis_url, "count", domain)
    assert text.exit_code == 0
    assert text.stdout.strip() == "2 open executions"


def test_history_picks_the_run(library: Client, redis_url: str, domain: str) -> None:
    register_all_sync(library, domain)
    first = start(library, domain, "w")
    library.terminate_workflow_execution(domain=domain, workflowId="w")
    second = start(library, domain, "w")

    found = run_json(redis_url, "history", domain, "w")
    assert found["execution"] == {"workflowId": "w", "runId": second}
    assert [e["eventType"] for e in found["events"]] == [
        "WorkflowExecutionStarted",
        "DecisionTaskScheduled",
    ]

    library.terminate_workflow_execution(domain=domain, workflowId="w")
    found = run_json(redis_url, "history", domain, "w")
    assert found["execution"]["runId"] == second
    assert found["events"][-1]["eventType"] == "WorkflowExecutionTerminated"
    found = run_json(redis_url, "history", domain, "w", first)
    assert found["execution"]["runId"] == first

    table = run(redis_url, "history", domain, "w")
    assert table.exit_code == 0
    assert "WorkflowExecutionTerminated" in table.stdout


def test_signal_cancel_terminate(library: Client, redis_url: str, domain: str) -> None:
    register_all_sync(library, domain)
    run_id = start(library, domain, "w")
    execution = {"workflowId": "w", "runId": run_id}

    result = run(redis_url, "signal", domain, "w", "go", "--input", "now")
    assert result.exit_code == 0, result.output
    result = run(redis_url, "cancel", domain, "w", "--run-id", run_id)
    assert result.exit_code == 0, result.output
    detail = library.describe_workflow_execution(domain=domain, execution=execution)
    assert detail["executionInfo"]["cancelRequested"] is True

    result = run(
        redis_url, "terminate", domain, "w", "--reason", "cleanup", "--child-policy", "ABANDON"
    )
    assert result.exit_code == 0, result.output
    events = library.get_workflow_execution_history(domain=domain, execution=execution)["events"]
    signaled = [e for e in events if e["eventType"] == "WorkflowExecutionSignaled"]
    assert signaled[0]["workflowExecutionSignaledEventAttributes"]["input"] == "now"
    terminated = events[-1]["workflowExecutionTerminatedEventAttributes"]
    assert terminated["reason"] == "cleanup"
    assert terminated["childPolicy"] == "ABANDON"


def test_errors_exit_one(library: Client, redis_url: str, domain: str) -> None:
    result = run(redis_url, "executions", domain)
    assert result.exit_code == 1
    assert "UnknownResourceFault" in result.stderr
    assert result.stdout == ""

    register_all_sync(library, domain)
    result = run(redis_url, "signal", domain, "nobody", "s")
    assert result.exit_code == 1
    assert "UnknownResourceFault" in result.stderr
    result = run(redis_url, "history", domain, "nobody")
    assert result.exit_code == 1
    assert "UnknownResourceFault" in result.stderr
    result = run(redis_url, "count", domain, "--tag", "t", "--workflow-id", "w")
    assert result.exit_code == 1
    assert "ValidationException" in result.stderr
    result = run(redis_url, "terminate", domain, "nobody")
    assert result.exit_code == 1

    # Usage errors keep click's exit status 2.
    result = run(redis_url, "executions", domain, "--since", "yesterday")
    assert result.exit_code == 2
    assert "is not a time" in result.stderr
    result = run(redis_url, "executions", domain, "--by", "close")
    assert result.exit_code == 2


def test_redis_unreachable(tmp_path: Any) -> None:
    result = run(f"unix://{tmp_path}/missing.sock", "domains")
    assert result.exit_code == 1
    assert "Redis request failed" in result.stderr
    assert "missing.sock" in result.stderr
    assert "--redis unix://DIR/redis.sock or set REDSWF_DATA_DIR=DIR" in result.stderr


def _lines(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _next_line(lines: queue.Queue[str | None]) -> str:
    line = lines.get(timeout=30)
    assert line is not None, "redswf history --follow ended early"
    return line


def test_history_follow_until_close(library: Client, redis_url: str, domain: str) -> None:
    register_all_sync(library, domain)
    run_id = start(library, domain, "w")
    command = [
        sys.executable,
        "-m",
        "redswf.cli",
        "history",
        domain,
        "w",
        "--follow",
        "--json",
        "--interval",
        "0.1",
        "--timeout",
        "60",
    ]
    env = {**os.environ, "REDSWF_REDIS_URL": redis_url}
    lines: queue.Queue[str | None] = queue.Queue()
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        reader = threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True)
        reader.start()
        try:
            seen = [json.loads(_next_line(lines)) for _ in range(2)]
            library.signal_workflow_execution(domain=domain, workflowId="w", signalName="s")
            seen.append(json.loads(_next_line(lines)))
            assert seen[-1]["eventType"] == "WorkflowExecutionSignaled"

            task = library.poll_for_decision_task(domain=domain, taskList={"name": DECISION_LIST})
            library.respond_decision_task_completed(
                taskToken=task["taskToken"], decisions=[complete("done")]
            )
            assert process.wait(timeout=30) == 0
            reader.join(timeout=10)
            while (line := lines.get(timeout=10)) is not None:
                seen.append(json.loads(line))
        finally:
            if process.poll() is None:
                process.kill()

    history = library.get_workflow_execution_history(
        domain=domain, execution={"workflowId": "w", "runId": run_id}
    )["events"]
    assert [e["eventId"] for e in seen] == list(range(1, len(history) + 1))
    assert [e["eventType"] for e in seen] == [e["eventType"] for e in history]
    assert seen[-1]["eventType"] == "WorkflowExecutionCompleted"
