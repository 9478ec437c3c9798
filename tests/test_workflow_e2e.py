"""A workflow in the style of the SWF frameworks, driven through boto3 over HTTP.

The decider is stateless: each decision task replays the whole history, as AWS Flow
Framework and simpleflow deciders do. The workflow fans out to 20 activities, starts a
timer, waits for the timer, a signal and every activity result, then completes.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.conftest import make_boto3_client
from tests.helpers import ACTIVITY_LIST, DECISION_LIST, register_all_sync, schedule

FAN_OUT = 20


def full_history(swf: Any, task: dict[str, Any], domain: str) -> list[dict[str, Any]]:
    """All events of a decision task, following nextPageToken."""
    events = list(task["events"])
    token = task.get("nextPageToken")
    while token:
        page = swf.poll_for_decision_task(
            domain=domain, taskList={"name": DECISION_LIST}, nextPageToken=token
        )
        events += page["events"]
        token = page.get("nextPageToken")
    return events


def decide(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the decisions for the state that the history describes."""
    types = [event["eventType"] for event in events]
    if "TimerStarted" not in types:
        decisions = [schedule(f"part-{i}", f"item {i}") for i in range(FAN_OUT)]
        decisions.append(
            {
                "decisionType": "StartTimer",
                "startTimerDecisionAttributes": {"timerId": "grace", "startToFireTimeout": "1"},
            }
        )
        return decisions
    results = [
        event["activityTaskCompletedEventAttributes"]["result"]
        for event in events
        if event["eventType"] == "ActivityTaskCompleted"
    ]
    if len(results) == FAN_OUT and "TimerFired" in types and "WorkflowExecutionSignaled" in types:
        return [
            {
                "decisionType": "CompleteWorkflowExecution",
                "completeWorkflowExecutionDecisionAttributes": {
                    "result": ",".join(sorted(results))
                },
            }
        ]
    return []


def run_decider(endpoint: str, domain: str, stop: threading.Event, errors: list[str]) -> None:
    swf = make_boto3_client(endpoint)
    while not stop.is_set():
        task = swf.poll_for_decision_task(
            domain=domain, taskList={"name": DECISION_LIST}, maximumPageSize=10
        )
        if not task.get("taskToken"):
            continue
        try:
            decisions = decide(full_history(swf, task, domain))
            swf.respond_decision_task_completed(taskToken=task["taskToken"], decisions=decisions)
        except Exception as exc:  # reported to the test thread
            errors.append(f"decider: {exc!r}")


def run_worker(endpoint: str, domain: str, stop: threading.Event, errors: list[str]) -> None:
    swf = make_boto3_client(endpoint)
    while not stop.is_set():
        task = swf.poll_for_activity_task(domain=domain, taskList={"name": ACTIVITY_LIST})
        if not task.get("taskToken"):
            continue
        try:
            swf.respond_activity_task_completed(
                taskToken=task["taskToken"], result=task["input"].upper()
            )
        except Exception as exc:  # reported to the test thread
            errors.append(f"worker: {exc!r}")


def test_fan_out_timer_signal_fan_in(swf: Any, endpoint: str, domain: str) -> None:
    register_all_sync(swf, domain)
    run_id = swf.start_workflow_execution(
        domain=domain, workflowId="fan", workflowType={"name": "orderFlow", "version": "1.0"}
    )["runId"]
    stop = threading.Event()
    errors: list[str] = []
    threads = [threading.Thread(target=run_decider, args=(endpoint, domain, stop, errors))]
    threads += [
        threading.Thread(target=run_worker, args=(endpoint, domain, stop, errors)) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    try:
        swf.signal_workflow_execution(domain=domain, workflowId="fan", signalName="approved")
        execution = {"workflowId": "fan", "runId": run_id}
        deadline = time.monotonic() + 60
        info: dict[str, Any] = {}
        while time.monotonic() < deadline:
            info = swf.describe_workflow_execution(domain=domain, execution=execution)
            if info["executionInfo"]["executionStatus"] == "CLOSED":
                break
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)

    assert errors == []
    assert info["executionInfo"].get("closeStatus") == "COMPLETED", info
    paginator = swf.get_paginator("get_workflow_execution_history")
    events = [
        e for page in paginator.paginate(domain=domain, execution=execution) for e in page["events"]
    ]
    types = [event["eventType"] for event in events]
    assert types.count("ActivityTaskScheduled") == FAN_OUT
    assert types.count("ActivityTaskCompleted") == FAN_OUT
    assert types.count("TimerFired") == 1
    assert [e["eventId"] for e in events] == list(range(1, len(events) + 1))
    result = events[-1]["workflowExecutionCompletedEventAttributes"]["result"]
    assert result == ",".join(sorted(f"ITEM {i}" for i in range(FAN_OUT)))
    assert not any(t.endswith("Failed") for t in types), types
