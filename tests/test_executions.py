"""Executions, decision tasks and activity tasks through the asyncio library client."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from redswf import AsyncClient
from tests.helpers import (
    ACTIVITY_LIST,
    ACTIVITY_TYPE,
    DECISION_LIST,
    WORKFLOW_TYPE,
    complete,
    event_types,
    register_all,
    schedule,
)


async def start(client: AsyncClient, domain: str, workflow_id: str = "order-1", **kw: Any) -> str:
    run = await client.start_workflow_execution(
        domain=domain, workflowId=workflow_id, workflowType=WORKFLOW_TYPE, **kw
    )
    run_id: str = run["runId"]
    return run_id


async def poll_decision(client: AsyncClient, domain: str, **kw: Any) -> dict[str, Any]:
    task = await client.poll_for_decision_task(
        domain=domain, taskList={"name": DECISION_LIST}, identity="decider-1", **kw
    )
    assert task.get("taskToken"), "expected a decision task, got an empty poll"
    return task


async def poll_activity(client: AsyncClient, domain: str) -> dict[str, Any]:
    task = await client.poll_for_activity_task(
        domain=domain, taskList={"name": ACTIVITY_LIST}, identity="worker-1"
    )
    assert task.get("taskToken"), "expected an activity task, got an empty poll"
    return task


async def history(client: AsyncClient, domain: str, workflow_id: str, run_id: str) -> list[Any]:
    page = await client.get_workflow_execution_history(
        domain=domain, execution={"workflowId": workflow_id, "runId": run_id}
    )
    events: list[Any] = page["events"]
    return events


async def test_start_records_resolved_configuration(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    run_id = await start(
        client, domain, input="card", tagList=["a", "b"], taskStartToCloseTimeout="30"
    )
    events = await history(client, domain, "order-1", run_id)
    assert event_types(events) == ["WorkflowExecutionStarted", "DecisionTaskScheduled"]
    started = events[0]["workflowExecutionStartedEventAttributes"]
    assert started["taskList"] == {"name": DECISION_LIST}
    assert started["executionStartToCloseTimeout"] == "3600"
    assert started["taskStartToCloseTimeout"] == "30"
    assert started["childPolicy"] == "TERMINATE"
    assert started["input"] == "card"
    assert started["tagList"] == ["a", "b"]
    assert started["parentInitiatedEventId"] == 0
    scheduled = events[1]["decisionTaskScheduledEventAttributes"]
    assert scheduled["startToCloseTimeout"] == "30"

    detail = await client.describe_workflow_execution(
        domain=domain, execution={"workflowId": "order-1", "runId": run_id}
    )
    assert detail["executionInfo"]["executionStatus"] == "OPEN"
    assert detail["executionInfo"]["tagList"] == ["a", "b"]
    assert detail["executionConfiguration"]["taskStartToCloseTimeout"] == "30"
    assert detail["openCounts"]["openDecisionTasks"] == 1
    assert detail["openCounts"]["openActivityTasks"] == 0


async def test_start_faults(client: AsyncClient, domain: str) -> None:
    with pytest.raises(client.exceptions.UnknownResourceFault):
        await start(client, domain)
    await register_all(client, domain)
    await client.register_workflow_type(domain=domain, name="bare", version="1")
    with pytest.raises(client.exceptions.DefaultUndefinedFault) as caught:
        await client.start_workflow_execution(
            domain=domain,
            workflowId="w",
            workflowType={"name": "bare", "version": "1"},
            taskList={"name": "x"},
        )
    assert "executionStartToCloseTimeout" in caught.value.response["Error"]["Message"]
    with pytest.raises(client.exceptions.UnknownResourceFault):
        await client.start_workflow_execution(
            domain=domain, workflowId="w", workflowType={"name": "nope", "version": "1"}
        )

    first = await start(client, domain, "same-id")
    with pytest.raises(client.exceptions.WorkflowExecutionAlreadyStartedFault):
        await start(client, domain, "same-id")
    await client.terminate_workflow_execution(domain=domain, workflowId="same-id")
    second = await start(client, domain, "same-id")
    assert second != first

    await client.deprecate_workflow_type(domain=domain, workflowType=WORKFLOW_TYPE)
    with pytest.raises(client.exceptions.TypeDeprecatedFault):
        await start(client, domain, "other-id")


async def test_one_activity_workflow(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    run_id = await start(client, domain, input="5634-0056-4367-0923,12/12,437")

    decision = await poll_decision(client, domain)
    assert decision["startedEventId"] == 3
    assert decision["previousStartedEventId"] == 0
    assert decision["workflowExecution"] == {"workflowId": "order-1", "runId": run_id}
    assert decision["workflowType"] == WORKFLOW_TYPE
    await client.respond_decision_task_completed(
        taskToken=decision["taskToken"],
        decisions=[schedule("verify", "card", control="secret")],
        executionContext="step-1",
    )

    activity = await poll_activity(client, domain)
    assert activity["activityId"] == "verify"
    assert activity["input"] == "card"
    assert activity["activityType"] == ACTIVITY_TYPE
    assert "control" not in activity
    beat = await client.record_activity_task_heartbeat(taskToken=activity["taskToken"])
    assert beat["cancelRequested"] is False
    await client.respond_activity_task_completed(taskToken=activity["taskToken"], result="ok")

    decision = await poll_decision(client, domain)
    assert decision["previousStartedEventId"] == 3
    await client.respond_decision_task_completed(
        taskToken=decision["taskToken"], decisions=[complete("verified")]
    )

    events = await history(client, domain, "order-1", run_id)
    assert event_types(events) == [
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
    assert [e["eventId"] for e in events] == list(range(1, 12))
    scheduled = events[4]["activityTaskScheduledEventAttributes"]
    assert scheduled["decisionTaskCompletedEventId"] == 4
    assert scheduled["control"] == "secret"
    assert scheduled["taskList"] == {"name": ACTIVITY_LIST}
    assert scheduled["heartbeatTimeout"] == "NONE"
    assert events[5]["activityTaskStartedEventAttributes"] == {
        "scheduledEventId": 5,
        "identity": "worker-1",
    }
    assert events[6]["activityTaskCompletedEventAttributes"] == {
        "scheduledEventId": 5,
        "startedEventId": 6,
        "result": "ok",
    }
    assert events[3]["decisionTaskCompletedEventAttributes"]["executionContext"] == "step-1"
    assert events[10]["workflowExecutionCompletedEventAttributes"] == {
        "decisionTaskCompletedEventId": 10,
        "result": "verified",
    }
    stamps = [e["eventTimestamp"] for e in events]
    assert stamps == sorted(stamps)

    detail = await client.describe_workflow_execution(
        domain=domain, execution={"workflowId": "order-1", "runId": run_id}
    )
    assert detail["executionInfo"]["closeStatus"] == "COMPLETED"
    assert detail["latestExecutionContext"] == "step-1"
    assert "latestActivityTaskTimestamp" in detail
    assert set(detail["openCounts"].values()) == {0}


async def test_task_tokens_single_use(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    run_id = await start(client, domain)
    decision = await poll_decision(client, domain)
    await client.respond_decision_task_completed(
        taskToken=decision["taskToken"], decisions=[schedule("a1")]
    )
    with pytest.raises(client.exceptions.UnknownResourceFault):
        await client.respond_decision_task_completed(taskToken=decision["taskToken"])

    activity = await poll_activity(client, domain)
    forged = activity["taskToken"][:-4] + "0000"
    with pytest.raises(client.exceptions.UnknownResourceFault) as caught:
        await client.respond_activity_task_completed(taskToken=forged)
    assert caught.value.response["Error"]["Message"] == "Unknown activity, scheduledEventId = 5"
    with pytest.raises(client.exceptions.UnknownResourceFault):
        await client.respond_activity_task_completed(taskToken="not a token")
    with pytest.raises(client.exceptions.UnknownResourceFault):
        await client.record_activity_task_heartbeat(taskToken=decision["taskToken"])

    await client.respond_activity_task_failed(
        taskToken=activity["taskToken"], reason="declined", details="code 51"
    )
    with pytest.raises(client.exceptions.UnknownResourceFault):
        await client.respond_activity_task_completed(taskToken=activity["taskToken"])
    events = await history(client, domain, "order-1", run_id)
    assert events[-2]["activityTaskFailedEventAttributes"] == {
        "scheduledEventId": 5,
        "startedEventId": 6,
        "reason": "declined",
        "details": "code 51",
    }
    assert events[-1]["eventType"] == "DecisionTaskScheduled"


async def test_tokens_die_with_the_execution(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    run_id = await start(client, domain)
    decision = await poll_decision(client, domain)
    await client.respond_decision_task_completed(
        taskToken=decision["taskToken"], decisions=[schedule("a1"), schedule("a2")]
    )
    activity = await poll_activity(client, domain)
    await client.terminate_workflow_execution(
        domain=domain, workflowId="order-1", reason="operator", details="cleanup"
    )
    with pytest.raises(client.exceptions.UnknownResourceFault) as caught:
        await client.respond_activity_task_completed(taskToken=activity["taskToken"])
    assert caught.value.response["Error"]["Message"] == (
        f"Unknown execution: WorkflowExecution=[workflowId=order-1, runId={run_id}]"
    )
    empty = await client.poll_for_activity_task(domain=domain, taskList={"name": ACTIVITY_LIST})
    assert "taskToken" not in empty, "the second activity of a closed run was handed out"

    events = await history(client, domain, "order-1", run_id)
    assert events[-1]["workflowExecutionTerminatedEventAttributes"] == {
        "childPolicy": "TERMINATE",
        "reason": "operator",
        "details": "cleanup",
        "cause": "OPERATOR_INITIATED",
    }
    with pytest.raises(client.exceptions.UnknownResourceFault):
        await client.signal_workflow_execution(domain=domain, workflowId="order-1", signalName="s")


async def test_schedule_activity_failure_causes(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    await client.register_activity_type(domain=domain, name="bare", version="1")
    await client.register_activity_type(domain=domain, name="old", version="1")
    await client.deprecate_activity_type(
        domain=domain, activityType={"name": "old", "version": "1"}
    )
    run_id = await start(client, domain)
    decision = await poll_decision(client, domain)

    def typed(activity_id: str, name: str, **attrs: Any) -> dict[str, Any]:
        return schedule(activity_id, activityType={"name": name, "version": "1"}, **attrs)

    await client.respond_decision_task_completed(
        taskToken=decision["taskToken"],
        decisions=[
            schedule("dup"),
            schedule("dup"),
            typed("x1", "missing"),
            typed("x2", "old"),
            typed("x3", "bare"),
            typed("x4", "bare", taskList={"name": "l"}),
            typed("x5", "bare", taskList={"name": "l"}, scheduleToStartTimeout="5"),
            typed(
                "x6",
                "bare",
                taskList={"name": "l"},
                scheduleToStartTimeout="5",
                scheduleToCloseTimeout="9",
            ),
            {"decisionType": "RecordMarker", "recordMarkerDecisionAttributes": {"markerName": "m"}},
        ],
    )
    events = await history(client, domain, "order-1", run_id)
    failures = [
        (
            e["scheduleActivityTaskFailedEventAttributes"]["activityId"],
            e["scheduleActivityTaskFailedEventAttributes"]["cause"],
        )
        for e in events
        if e["eventType"] == "ScheduleActivityTaskFailed"
    ]
    assert failures == [
        ("dup", "ACTIVITY_ID_ALREADY_IN_USE"),
        ("x1", "ACTIVITY_TYPE_DOES_NOT_EXIST"),
        ("x2", "ACTIVITY_TYPE_DEPRECATED"),
        ("x3", "DEFAULT_TASK_LIST_UNDEFINED"),
        ("x4", "DEFAULT_SCHEDULE_TO_START_TIMEOUT_UNDEFINED"),
        ("x5", "DEFAULT_SCHEDULE_TO_CLOSE_TIMEOUT_UNDEFINED"),
        ("x6", "DEFAULT_START_TO_CLOSE_TIMEOUT_UNDEFINED"),
    ]
    assert event_types(events)[-2:] == ["MarkerRecorded", "DecisionTaskScheduled"]
    marker = events[-2]["markerRecordedEventAttributes"]
    assert marker == {"markerName": "m", "decisionTaskCompletedEventId": 4}


async def test_unhandled_decision_on_close(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    run_id = await start(client, domain)
    decision = await poll_decision(client, domain)
    await client.signal_workflow_execution(
        domain=domain, workflowId="order-1", signalName="hurry", input="now"
    )
    await client.respond_decision_task_completed(
        taskToken=decision["taskToken"], decisions=[schedule("a1"), complete("done")]
    )
    events = await history(client, domain, "order-1", run_id)
    assert event_types(events)[3:] == [
        "WorkflowExecutionSignaled",
        "DecisionTaskCompleted",
        "ActivityTaskScheduled",
        "CompleteWorkflowExecutionFailed",
        "DecisionTaskScheduled",
    ]
    assert events[6]["completeWorkflowExecutionFailedEventAttributes"] == {
        "cause": "UNHANDLED_DECISION",
        "decisionTaskCompletedEventId": 5,
    }

    # The next decision task sees the signal and may close; the open activity does not block.
    decision = await poll_decision(client, domain)
    assert decision["previousStartedEventId"] == 3
    await client.respond_decision_task_completed(
        taskToken=decision["taskToken"],
        decisions=[
            {
                "decisionType": "FailWorkflowExecution",
                "failWorkflowExecutionDecisionAttributes": {"reason": "r", "details": "d"},
            }
        ],
    )
    detail = await client.describe_workflow_execution(
        domain=domain, execution={"workflowId": "order-1", "runId": run_id}
    )
    assert detail["executionInfo"]["closeStatus"] == "FAILED"


async def test_invalid_batch_stores_nothing(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    run_id = await start(client, domain)
    decision = await poll_decision(client, domain)
    before = await history(client, domain, "order-1", run_id)

    bogus = {"decisionType": "StartTimers"}
    with pytest.raises(ClientError) as unknown:
        await client.respond_decision_task_completed(
            taskToken=decision["taskToken"], decisions=[schedule("a1"), bogus]
        )
    assert unknown.value.response["Error"]["Code"] == "ValidationException"
    message = unknown.value.response["Error"]["Message"]
    assert "'StartTimers' at 'decisions.2.member.decisionType'" in message
    with pytest.raises(ClientError) as not_last:
        await client.respond_decision_task_completed(
            taskToken=decision["taskToken"], decisions=[complete(), schedule("a1")]
        )
    assert not_last.value.response["Error"]["Message"] == "Close must be last decision in list"
    with pytest.raises(ClientError) as missing:
        await client.respond_decision_task_completed(
            taskToken=decision["taskToken"],
            decisions=[{"decisionType": "ScheduleActivityTask"}],
        )
    assert "scheduleActivityTaskDecisionAttributes" in missing.value.response["Error"]["Message"]

    assert await history(client, domain, "order-1", run_id) == before
    # The task is still started and its token still works.
    await client.respond_decision_task_completed(
        taskToken=decision["taskToken"], decisions=[complete()]
    )


async def test_signal_and_cancel_request(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    run_id = await start(client, domain)
    await client.signal_workflow_execution(
        domain=domain, workflowId="order-1", runId=run_id, signalName="s1", input="x"
    )
    await client.request_cancel_workflow_execution(domain=domain, workflowId="order-1")
    with pytest.raises(client.exceptions.UnknownResourceFault) as caught:
        await client.signal_workflow_execution(domain=domain, workflowId="nobody", signalName="s")
    assert caught.value.response["Error"]["Message"] == "Unknown execution, workflowId = nobody"

    events = await history(client, domain, "order-1", run_id)
    # Both events join the decision task that is already scheduled.
    assert event_types(events) == [
        "WorkflowExecutionStarted",
        "DecisionTaskScheduled",
        "WorkflowExecutionSignaled",
        "WorkflowExecutionCancelRequested",
    ]
    assert events[2]["workflowExecutionSignaledEventAttributes"] == {
        "signalName": "s1",
        "input": "x",
    }
    detail = await client.describe_workflow_execution(
        domain=domain, execution={"workflowId": "order-1", "runId": run_id}
    )
    assert detail["executionInfo"]["cancelRequested"] is True

    decision = await poll_decision(client, domain)
    assert event_types(decision["events"])[-1] == "DecisionTaskStarted"
    assert len(decision["events"]) == 5


async def test_activity_canceled_and_heartbeat_details(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    run_id = await start(client, domain)
    decision = await poll_decision(client, domain)
    await client.respond_decision_task_completed(
        taskToken=decision["taskToken"], decisions=[schedule("a1", heartbeatTimeout="30")]
    )
    activity = await poll_activity(client, domain)
    beat = await client.record_activity_task_heartbeat(
        taskToken=activity["taskToken"], details="50%"
    )
    assert beat["cancelRequested"] is False
    await client.respond_activity_task_canceled(taskToken=activity["taskToken"], details="gave up")
    events = await history(client, domain, "order-1", run_id)
    assert events[-2]["activityTaskCanceledEventAttributes"] == {
        "scheduledEventId": 5,
        "startedEventId": 6,
        "details": "gave up",
    }


async def test_history_paging(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    run_id = await start(client, domain)
    for index in range(7):
        await client.signal_workflow_execution(
            domain=domain, workflowId="order-1", signalName=f"s{index}"
        )
    execution = {"workflowId": "order-1", "runId": run_id}
    ids: list[int] = []
    token = None
    for _ in range(20):
        kwargs: dict[str, Any] = {"nextPageToken": token} if token else {}
        page = await client.get_workflow_execution_history(
            domain=domain, execution=execution, maximumPageSize=3, **kwargs
        )
        ids += [e["eventId"] for e in page["events"]]
        token = page.get("nextPageToken")
        if not token:
            break
    assert ids == list(range(1, 10))

    newest = await client.get_workflow_execution_history(
        domain=domain, execution=execution, maximumPageSize=4, reverseOrder=True
    )
    assert [e["eventId"] for e in newest["events"]] == [9, 8, 7, 6]
    older = await client.get_workflow_execution_history(
        domain=domain,
        execution=execution,
        maximumPageSize=5,
        reverseOrder=True,
        nextPageToken=newest["nextPageToken"],
    )
    assert [e["eventId"] for e in older["events"]] == [5, 4, 3, 2, 1]
    assert "nextPageToken" not in older

    with pytest.raises(ClientError) as caught:
        await client.get_workflow_execution_history(
            domain=domain, execution=execution, nextPageToken=newest["nextPageToken"]
        )
    assert caught.value.response["Error"]["Message"] == "Invalid token"


async def test_decision_task_pages(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    run_id = await start(client, domain)
    for index in range(4):
        await client.signal_workflow_execution(
            domain=domain, workflowId="order-1", signalName=f"s{index}"
        )
    first = await poll_decision(client, domain, maximumPageSize=4)
    assert [e["eventId"] for e in first["events"]] == [1, 2, 3, 4]
    second = await client.poll_for_decision_task(
        domain=domain,
        taskList={"name": DECISION_LIST},
        maximumPageSize=4,
        nextPageToken=first["nextPageToken"],
    )
    assert [e["eventId"] for e in second["events"]] == [5, 6, 7]
    assert second["taskToken"] == first["taskToken"]
    assert second["startedEventId"] == 7
    assert second["workflowExecution"] == {"workflowId": "order-1", "runId": run_id}
    assert "nextPageToken" not in second
    events = await history(client, domain, "order-1", run_id)
    assert event_types(events).count("DecisionTaskStarted") == 1


async def test_start_at_previous_started_event(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    await start(client, domain)
    decision = await poll_decision(client, domain)
    await client.respond_decision_task_completed(taskToken=decision["taskToken"])
    await client.signal_workflow_execution(domain=domain, workflowId="order-1", signalName="go")
    decision = await poll_decision(client, domain, startAtPreviousStartedEvent=True)
    assert decision["previousStartedEventId"] == 3
    assert [e["eventId"] for e in decision["events"]] == [3, 4, 5, 6, 7]
    reverse = await client.poll_for_decision_task(
        domain=domain, taskList={"name": DECISION_LIST}, reverseOrder=True
    )
    assert "taskToken" not in reverse


async def test_empty_response_schedules_nothing(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    run_id = await start(client, domain)
    decision = await poll_decision(client, domain)
    await client.respond_decision_task_completed(taskToken=decision["taskToken"], decisions=[])
    events = await history(client, domain, "order-1", run_id)
    assert event_types(events)[-1] == "DecisionTaskCompleted"
    empty = await client.poll_for_decision_task(domain=domain, taskList={"name": DECISION_LIST})
    assert empty == {
        "startedEventId": 0,
        "previousStartedEventId": 0,
        "ResponseMetadata": empty["ResponseMetadata"],
    }


async def test_priority_orders_tasks(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    await start(client, domain)
    decision = await poll_decision(client, domain)
    await client.respond_decision_task_completed(
        taskToken=decision["taskToken"],
        decisions=[
            schedule("low-1", taskPriority="-5"),
            schedule("normal-1"),
            schedule("high-1", taskPriority="10"),
            schedule("normal-2"),
        ],
    )
    order = [(await poll_activity(client, domain))["activityId"] for _ in range(4)]
    assert order == ["high-1", "normal-1", "normal-2", "low-1"]


async def test_poll_unknown_domain(client: AsyncClient, domain: str) -> None:
    with pytest.raises(client.exceptions.UnknownResourceFault):
        await client.poll_for_activity_task(domain=domain, taskList={"name": "x"})
    with pytest.raises(client.exceptions.UnknownResourceFault):
        await client.poll_for_decision_task(domain=domain, taskList={"name": "x"})
