"""Two `redswf serve` processes on one Redis, many pollers: each task goes to exactly one.

The pollers are threads with their own boto3 clients, half on each process, so the lease
race runs both inside one process and across the two.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.conftest import ServeProcess, make_boto3_client, start_serve
from tests.helpers import (
    ACTIVITY_LIST,
    DECISION_LIST,
    WORKFLOW_TYPE,
    register_all_sync,
    schedule,
)

EXECUTIONS = 20
ACTIVITIES_PER_EXECUTION = 100
TOTAL_TASKS = EXECUTIONS * ACTIVITIES_PER_EXECUTION
POLLERS_PER_PROCESS = 4
DECIDERS_PER_PROCESS = 2
# Bounds that make a delivery bug fail the test instead of hanging it. They are no
# performance check, because the whole test took about 10 s on a 2-core machine.
PHASE_DEADLINE_SECONDS = 120.0
JOIN_MARGIN_SECONDS = 30.0
MAX_EMPTY_POLLS_IN_A_ROW = 3  # each empty poll lasts the 2 s poll hold of both processes
REUSED_TOKENS = 10


@dataclass
class DecisionRecord:
    """What the deciders saw, shared between their threads under ``lock``."""

    pending: set[str]
    lock: threading.Lock = field(default_factory=threading.Lock)
    delivered_workflow_ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class ActivityRecord:
    """What the activity pollers saw, shared between their threads under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    all_done: threading.Event = field(default_factory=threading.Event)
    # (input, workflowId, activityId, process label) of each task a poll returned
    deliveries: list[tuple[str, str, str, str]] = field(default_factory=list)
    completed_tokens: list[str] = field(default_factory=list)
    rejected_completions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    empty_poll_exits: list[str] = field(default_factory=list)


@pytest.fixture
def second_serve(redis_url: str, tmp_path: Path) -> Iterator[ServeProcess]:
    """A second `redswf serve` process on the session's Redis, next to the `serve` fixture."""
    process = start_serve(tmp_path, "--redis", redis_url)
    yield process
    exit_code = process.stop()
    assert exit_code == 0, f"the second server exited with {exit_code}:\n{process.log()}"


def run_decider(
    swf: Any, domain: str, identity: str, record: DecisionRecord, deadline: float
) -> None:
    """Complete the first decision task of each execution with a batch of
    ScheduleActivityTask decisions, until no execution is pending, the deadline passes or
    polls stay empty."""
    empty_in_row = 0
    while time.monotonic() < deadline:
        with record.lock:
            if not record.pending:
                return
        try:
            task = swf.poll_for_decision_task(
                domain=domain, taskList={"name": DECISION_LIST}, identity=identity
            )
        except (BotoCoreError, ClientError) as error:
            with record.lock:
                record.errors.append(f"{identity}: decision poll failed: {error!r}")
            return

        if "taskToken" not in task:
            empty_in_row += 1
            if empty_in_row >= MAX_EMPTY_POLLS_IN_A_ROW:
                return
            continue
        empty_in_row = 0

        workflow_id = task["workflowExecution"]["workflowId"]
        with record.lock:
            record.delivered_workflow_ids.append(workflow_id)
            record.pending.discard(workflow_id)
        decisions = [
            schedule(f"activity-{index}", f"{workflow_id}/{index}")
            for index in range(ACTIVITIES_PER_EXECUTION)
        ]
        try:
            swf.respond_decision_task_completed(taskToken=task["taskToken"], decisions=decisions)
        except (BotoCoreError, ClientError) as error:
            with record.lock:
                record.errors.append(f"{identity}: decision of {workflow_id} failed: {error!r}")


def run_activity_poller(
    swf: Any,
    domain: str,
    identity: str,
    process_label: str,
    record: ActivityRecord,
    deadline: float,
) -> None:
    """Poll and complete activity tasks until all are done, the deadline passes or polls
    stay empty. Each task's result is its input."""
    empty_in_row = 0
    while not record.all_done.is_set() and time.monotonic() < deadline:
        try:
            task = swf.poll_for_activity_task(
                domain=domain, taskList={"name": ACTIVITY_LIST}, identity=identity
            )
        except (BotoCoreError, ClientError) as error:
            with record.lock:
                record.errors.append(f"{identity}: poll failed: {error!r}")
            return

        if "taskToken" not in task:
            empty_in_row += 1
            if empty_in_row >= MAX_EMPTY_POLLS_IN_A_ROW:
                with record.lock:
                    record.empty_poll_exits.append(identity)
                return
            continue
        empty_in_row = 0

        task_input = task.get("input", "<no input>")
        with record.lock:
            record.deliveries.append(
                (
                    task_input,
                    task["workflowExecution"]["workflowId"],
                    task["activityId"],
                    process_label,
                )
            )

        try:
            swf.respond_activity_task_completed(taskToken=task["taskToken"], result=task_input)
        except (BotoCoreError, ClientError) as error:
            with record.lock:
                record.rejected_completions.append(f"{identity} on {task_input}: {error!r}")
            continue

        with record.lock:
            record.completed_tokens.append(task["taskToken"])
            if len(record.completed_tokens) >= TOTAL_TASKS:
                record.all_done.set()


def run_threads(targets: dict[str, Callable[[], None]], deadline: float) -> list[str]:
    """Run each target in its own thread and wait for all of them.

    Returns the names of the threads still running at ``deadline`` plus the join margin.
    """
    threads = [
        threading.Thread(target=target, name=name, daemon=True) for name, target in targets.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + JOIN_MARGIN_SECONDS)
    return [thread.name for thread in threads if thread.is_alive()]


def read_history(swf: Any, domain: str, execution: dict[str, str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    pages = swf.get_paginator("get_workflow_execution_history").paginate(
        domain=domain, execution=execution
    )
    for page in pages:
        events.extend(page["events"])
    return events


def events_by_type(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        grouped.setdefault(event["eventType"], []).append(event)
    return grouped


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code"))


@pytest.mark.timeout(300)
def test_two_processes_deliver_each_task_once(
    endpoint: str, second_serve: ServeProcess, domain: str
) -> None:
    endpoints = {"first": endpoint, "second": second_serve.endpoint}
    swf_by_process = {label: make_boto3_client(url) for label, url in endpoints.items()}
    setup_swf = swf_by_process["first"]
    register_all_sync(setup_swf, domain)

    # Start the executions through both processes.
    executions: dict[str, dict[str, str]] = {}
    for index in range(EXECUTIONS):
        workflow_id = f"race-{index}"
        starter = swf_by_process["first" if index % 2 == 0 else "second"]
        started = starter.start_workflow_execution(
            domain=domain, workflowId=workflow_id, workflowType=WORKFLOW_TYPE
        )
        executions[workflow_id] = {"workflowId": workflow_id, "runId": started["runId"]}

    # Decision phase: deciders in both processes race for the first decision tasks.
    decision_record = DecisionRecord(pending=set(executions))
    deadline = time.monotonic() + PHASE_DEADLINE_SECONDS
    deciders: dict[str, Callable[[], None]] = {}
    for label, url in endpoints.items():
        for number in range(DECIDERS_PER_PROCESS):
            identity = f"{label}-decider-{number}"
            swf = make_boto3_client(url)
            deciders[identity] = partial(
                run_decider, swf, domain, identity, decision_record, deadline
            )
    still_running = run_threads(deciders, deadline)

    assert not still_running, f"deciders still running after the deadline: {still_running}"
    assert not decision_record.errors, f"deciders failed: {decision_record.errors}"
    decision_deliveries = Counter(decision_record.delivered_workflow_ids)
    twice = {key: count for key, count in decision_deliveries.items() if count > 1}
    assert not twice, f"first decision tasks delivered more than once: {twice}"
    assert set(decision_deliveries) == set(executions), (
        f"no decision task came for {sorted(set(executions) - set(decision_deliveries))}"
    )

    # Activity phase: pollers in both processes race for the 2,000 activity tasks.
    record = ActivityRecord()
    began = time.monotonic()
    deadline = began + PHASE_DEADLINE_SECONDS
    pollers: dict[str, Callable[[], None]] = {}
    for label, url in endpoints.items():
        for number in range(POLLERS_PER_PROCESS):
            identity = f"{label}-poller-{number}"
            swf = make_boto3_client(url)
            pollers[identity] = partial(
                run_activity_poller, swf, domain, identity, label, record, deadline
            )
    still_running = run_threads(pollers, deadline)
    elapsed = time.monotonic() - began

    assert not still_running, f"pollers still running after the deadline: {still_running}"
    assert not record.errors, f"polls failed: {record.errors}"
    assert not record.rejected_completions, (
        f"completions were rejected: {record.rejected_completions[:10]}"
    )

    inputs = Counter(delivery[0] for delivery in record.deliveries)
    duplicates = {text: count for text, count in inputs.items() if count > 1}
    assert not duplicates, f"tasks delivered more than once: {duplicates}"
    expected_inputs = {
        f"{workflow_id}/{index}"
        for workflow_id in executions
        for index in range(ACTIVITIES_PER_EXECUTION)
    }
    missing = expected_inputs - set(inputs)
    assert not missing, (
        f"{len(missing)} tasks never delivered in {elapsed:.1f} s, "
        f"for example {sorted(missing)[:10]}; pollers that stopped after "
        f"{MAX_EMPTY_POLLS_IN_A_ROW} empty polls: {record.empty_poll_exits}"
    )
    unexpected = set(inputs) - expected_inputs
    assert not unexpected, f"tasks with inputs that were never scheduled: {unexpected}"
    assert len(record.deliveries) == TOTAL_TASKS, (
        f"{len(record.deliveries)} deliveries, expected {TOTAL_TASKS}"
    )
    activity_keys = Counter((delivery[1], delivery[2]) for delivery in record.deliveries)
    assert max(activity_keys.values()) == 1, "an activityId was delivered more than once"
    assert len(record.completed_tokens) == TOTAL_TASKS, (
        f"{len(record.completed_tokens)} completions accepted, expected {TOTAL_TASKS}"
    )
    assert len(set(record.completed_tokens)) == TOTAL_TASKS, "two leases had the same task token"

    per_process = Counter(delivery[3] for delivery in record.deliveries)
    for label in endpoints:
        assert per_process[label] > 0, f"the {label} process delivered no task: {dict(per_process)}"

    for execution in executions.values():
        check_history(setup_swf, domain, execution)

    # A task token is valid only for its lease, so completing a task again fails.
    for token in record.completed_tokens[:REUSED_TOKENS]:
        with pytest.raises(ClientError) as caught:
            swf_by_process["second"].respond_activity_task_completed(taskToken=token, result="x")
        assert error_code(caught.value) == "UnknownResourceFault", (
            f"reusing a completed task's token failed with {caught.value!r}"
        )


def check_history(swf: Any, domain: str, execution: dict[str, str]) -> None:
    """Check that each scheduled activity of the execution started once and completed once,
    with its own input as result."""
    workflow_id = execution["workflowId"]
    grouped = events_by_type(read_history(swf, domain, execution))
    scheduled = grouped.get("ActivityTaskScheduled", [])
    started = grouped.get("ActivityTaskStarted", [])
    completed = grouped.get("ActivityTaskCompleted", [])
    assert len(scheduled) == ACTIVITIES_PER_EXECUTION, (
        f"{workflow_id}: {len(scheduled)} ActivityTaskScheduled events"
    )
    assert len(started) == ACTIVITIES_PER_EXECUTION, (
        f"{workflow_id}: {len(started)} ActivityTaskStarted events, "
        f"expected {ACTIVITIES_PER_EXECUTION}"
    )
    assert len(completed) == ACTIVITIES_PER_EXECUTION, (
        f"{workflow_id}: {len(completed)} ActivityTaskCompleted events, "
        f"expected {ACTIVITIES_PER_EXECUTION}"
    )

    input_by_scheduled_id = {
        event["eventId"]: event["activityTaskScheduledEventAttributes"]["input"]
        for event in scheduled
    }
    starts = Counter(
        event["activityTaskStartedEventAttributes"]["scheduledEventId"] for event in started
    )
    started_twice = {event_id: count for event_id, count in starts.items() if count > 1}
    assert not started_twice, f"{workflow_id}: scheduled events started twice: {started_twice}"
    assert set(starts) == set(input_by_scheduled_id), (
        f"{workflow_id}: started events do not match the scheduled events"
    )

    results = {
        event["activityTaskCompletedEventAttributes"]["scheduledEventId"]: event[
            "activityTaskCompletedEventAttributes"
        ].get("result")
        for event in completed
    }
    wrong_results = {
        event_id: (results.get(event_id), expected)
        for event_id, expected in input_by_scheduled_id.items()
        if results.get(event_id) != expected
    }
    assert not wrong_results, (
        f"{workflow_id}: completions whose result is not the task's own input "
        f"(scheduledEventId: (result, input)): {dict(list(wrong_results.items())[:10])}"
    )

    detail = swf.describe_workflow_execution(domain=domain, execution=execution)
    open_activities = detail["openCounts"]["openActivityTasks"]
    assert open_activities == 0, f"{workflow_id}: {open_activities} activities still open"


@pytest.mark.timeout(120)
def test_concurrent_completions_one_accepted(
    endpoint: str, second_serve: ServeProcess, domain: str
) -> None:
    """Two clients, one per process, complete the same task at the same moment."""
    activities = 50
    clients = [make_boto3_client(endpoint), make_boto3_client(second_serve.endpoint)]
    register_all_sync(clients[0], domain)
    started = clients[0].start_workflow_execution(
        domain=domain, workflowId="double-complete", workflowType=WORKFLOW_TYPE
    )
    execution = {"workflowId": "double-complete", "runId": started["runId"]}
    decision = clients[0].poll_for_decision_task(domain=domain, taskList={"name": DECISION_LIST})
    assert "taskToken" in decision, f"no decision task came: {decision}"
    clients[0].respond_decision_task_completed(
        taskToken=decision["taskToken"],
        decisions=[schedule(f"activity-{index}", str(index)) for index in range(activities)],
    )

    tokens: list[str] = []
    for _ in range(activities + MAX_EMPTY_POLLS_IN_A_ROW):
        if len(tokens) == activities:
            break
        task = clients[0].poll_for_activity_task(domain=domain, taskList={"name": ACTIVITY_LIST})
        if "taskToken" in task:
            tokens.append(task["taskToken"])
    assert len(tokens) == activities, f"{len(tokens)} of {activities} tasks were delivered"

    def complete_at_once(swf: Any, token: str, barrier: threading.Barrier) -> str:
        barrier.wait(timeout=10)
        try:
            swf.respond_activity_task_completed(taskToken=token, result="done")
        except ClientError as error:
            return error_code(error)
        return "accepted"

    outcomes = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for token in tokens:
            barrier = threading.Barrier(2)
            futures = [pool.submit(complete_at_once, swf, token, barrier) for swf in clients]
            outcomes.append(sorted(future.result(timeout=30) for future in futures))

    wrong = [outcome for outcome in outcomes if outcome != ["UnknownResourceFault", "accepted"]]
    assert not wrong, (
        f"{len(wrong)} of {activities} completion pairs did not end with one accepted and "
        f"one UnknownResourceFault: {Counter(tuple(outcome) for outcome in wrong)}"
    )
    completed = events_by_type(read_history(clients[0], domain, execution)).get(
        "ActivityTaskCompleted", []
    )
    assert len(completed) == activities, f"{len(completed)} ActivityTaskCompleted events"
    completions = Counter(
        event["activityTaskCompletedEventAttributes"]["scheduledEventId"] for event in completed
    )
    assert max(completions.values()) == 1, f"a task completed twice: {completions}"
