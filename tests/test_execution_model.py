"""Timers, timeouts, cancellation, child workflows, continue-as-new and limits.

Time-based tests use timeouts of one or two seconds and check the order of events and their
history timestamps, never wall-clock speed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from redswf import AsyncClient
from redswf.timers import TimerService
from tests.conftest import MAX_DOMAINS
from tests.helpers import (
    ACTIVITY_LIST,
    DECISION_LIST,
    WORKFLOW_TYPE,
    complete,
    event_types,
    register_all,
    schedule,
)


@pytest.fixture
async def swf(redis_url: str) -> AsyncIterator[AsyncClient]:
    """A library client that also runs a timer service."""
    async with AsyncClient(
        redis_url, poll_hold=1.0, max_domains=MAX_DOMAINS, run_timers=True
    ) as library_client:
        yield library_client


def decision(decision_type: str, **attrs: Any) -> dict[str, Any]:
    key = decision_type[0].lower() + decision_type[1:] + "DecisionAttributes"
    return {"decisionType": decision_type, key: attrs}


async def start(swf: AsyncClient, domain: str, workflow_id: str = "w1", **kw: Any) -> str:
    run = await swf.start_workflow_execution(
        domain=domain, workflowId=workflow_id, workflowType=WORKFLOW_TYPE, **kw
    )
    run_id: str = run["runId"]
    return run_id


async def next_decision(swf: AsyncClient, domain: str, wait: float = 15.0) -> dict[str, Any]:
    """Poll until a decision task arrives (bounded by ``wait`` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while loop.time() < deadline:
        task = await swf.poll_for_decision_task(domain=domain, taskList={"name": DECISION_LIST})
        if task.get("taskToken"):
            return task
    raise AssertionError(f"no decision task within {wait} s")


async def respond(swf: AsyncClient, task: dict[str, Any], *decisions: dict[str, Any]) -> None:
    await swf.respond_decision_task_completed(
        taskToken=task["taskToken"], decisions=list(decisions)
    )


async def history(swf: AsyncClient, domain: str, workflow_id: str, run_id: str) -> list[Any]:
    page = await swf.get_workflow_execution_history(
        domain=domain, execution={"workflowId": workflow_id, "runId": run_id}
    )
    events: list[Any] = page["events"]
    return events


def attributes(event: dict[str, Any]) -> dict[str, Any]:
    name = event["eventType"][0].lower() + event["eventType"][1:] + "EventAttributes"
    value: dict[str, Any] = event[name]
    return value


def first(events: list[Any], event_type: str) -> dict[str, Any]:
    for event in events:
        if event["eventType"] == event_type:
            found: dict[str, Any] = event
            return found
    raise AssertionError(f"no {event_type} in {event_types(events)}")


async def status(swf: AsyncClient, domain: str, workflow_id: str, run_id: str) -> str:
    detail = await swf.describe_workflow_execution(
        domain=domain, execution={"workflowId": workflow_id, "runId": run_id}
    )
    info = detail["executionInfo"]
    return str(info.get("closeStatus") or info["executionStatus"])


async def wait_for_status(
    swf: AsyncClient, domain: str, workflow_id: str, run_id: str, wanted: str, wait: float = 15.0
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while loop.time() < deadline:
        if await status(swf, domain, workflow_id, run_id) == wanted:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} not {wanted} within {wait} s")


# -- timers -------------------------------------------------------------------------------


async def test_timer_fires_after_its_time(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    run_id = await start(swf, domain)
    await respond(
        swf,
        await next_decision(swf, domain),
        decision("StartTimer", timerId="t1", startToFireTimeout="1", control="c"),
    )
    task = await next_decision(swf, domain)
    events = task["events"]
    started = first(events, "TimerStarted")
    fired = first(events, "TimerFired")
    assert attributes(started) == {
        "timerId": "t1",
        "startToFireTimeout": "1",
        "control": "c",
        "decisionTaskCompletedEventId": 4,
    }
    assert attributes(fired) == {"timerId": "t1", "startedEventId": started["eventId"]}
    elapsed = (fired["eventTimestamp"] - started["eventTimestamp"]).total_seconds()
    assert elapsed >= 1.0, f"the timer fired {elapsed} s after it started"
    assert event_types(events)[-2:] == ["DecisionTaskScheduled", "DecisionTaskStarted"]
    detail = await swf.describe_workflow_execution(
        domain=domain, execution={"workflowId": "w1", "runId": run_id}
    )
    assert detail["openCounts"]["openTimers"] == 0


async def test_timer_cancel_and_failures(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    run_id = await start(swf, domain)
    await respond(
        swf,
        await next_decision(swf, domain),
        decision("StartTimer", timerId="t1", startToFireTimeout="1"),
        decision("StartTimer", timerId="t1", startToFireTimeout="5"),
        decision("StartTimer", timerId="t2", startToFireTimeout="1"),
        decision("CancelTimer", timerId="t2"),
        decision("CancelTimer", timerId="nope"),
    )
    events = await history(swf, domain, "w1", run_id)
    assert event_types(events)[4:] == [
        "TimerStarted",
        "StartTimerFailed",
        "TimerStarted",
        "TimerCanceled",
        "CancelTimerFailed",
        "DecisionTaskScheduled",
    ]
    assert attributes(events[5])["cause"] == "TIMER_ID_ALREADY_IN_USE"
    assert attributes(events[7]) == {
        "timerId": "t2",
        "startedEventId": 7,
        "decisionTaskCompletedEventId": 4,
    }
    assert attributes(events[8])["cause"] == "TIMER_ID_UNKNOWN"

    # t2 was canceled: only t1 fires.
    task = await next_decision(swf, domain)
    await respond(swf, task)
    await asyncio.sleep(1.5)
    task = await next_decision(swf, domain)
    fired = [attributes(e)["timerId"] for e in task["events"] if e["eventType"] == "TimerFired"]
    assert fired == ["t1"]
    await respond(swf, task, decision("CancelTimer", timerId="t1"))
    events = await history(swf, domain, "w1", run_id)
    assert attributes(events[-2])["cause"] == "TIMER_ID_UNKNOWN"


async def test_timers_fire_once_with_many_services(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    run_id = await start(swf, domain)
    timers = [decision("StartTimer", timerId=f"t{i}", startToFireTimeout="1") for i in range(200)]
    await respond(swf, await next_decision(swf, domain), *timers)
    await asyncio.sleep(1.2)
    services = [TimerService(swf.service.redis) for _ in range(4)]
    await asyncio.gather(*(service.sweep() for service in services))
    await asyncio.gather(*(service.sweep() for service in services))

    events = await history(swf, domain, "w1", run_id)
    fired = [attributes(e)["timerId"] for e in events if e["eventType"] == "TimerFired"]
    assert sorted(fired) == sorted(f"t{i}" for i in range(200))
    assert len(fired) == len(set(fired)), "a timer fired twice"


# -- timeouts -----------------------------------------------------------------------------


async def test_decision_task_start_to_close(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    run_id = await start(swf, domain, taskStartToCloseTimeout="1")
    stale = await next_decision(swf, domain)
    task = await next_decision(swf, domain)
    timed_out = first(task["events"], "DecisionTaskTimedOut")
    assert attributes(timed_out) == {
        "timeoutType": "START_TO_CLOSE",
        "scheduledEventId": 2,
        "startedEventId": 3,
    }
    assert task["previousStartedEventId"] == 0
    with pytest.raises(swf.exceptions.UnknownResourceFault):
        await respond(swf, stale, complete())
    await respond(swf, task, complete())
    assert await status(swf, domain, "w1", run_id) == "COMPLETED"


async def test_activity_schedule_to_start(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    run_id = await start(swf, domain)
    await respond(swf, await next_decision(swf, domain), schedule("a1", scheduleToStartTimeout="1"))
    task = await next_decision(swf, domain)
    timed_out = first(task["events"], "ActivityTaskTimedOut")
    assert attributes(timed_out) == {
        "timeoutType": "SCHEDULE_TO_START",
        "scheduledEventId": 5,
        "startedEventId": 0,
    }
    empty = await swf.poll_for_activity_task(domain=domain, taskList={"name": ACTIVITY_LIST})
    assert "taskToken" not in empty, "a timed-out activity task was handed out"
    events = await history(swf, domain, "w1", run_id)
    assert "ActivityTaskStarted" not in event_types(events)


async def test_activity_start_to_close(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    await start(swf, domain)
    await respond(swf, await next_decision(swf, domain), schedule("a1", startToCloseTimeout="1"))
    activity = await swf.poll_for_activity_task(domain=domain, taskList={"name": ACTIVITY_LIST})
    task = await next_decision(swf, domain)
    assert attributes(first(task["events"], "ActivityTaskTimedOut")) == {
        "timeoutType": "START_TO_CLOSE",
        "scheduledEventId": 5,
        "startedEventId": 6,
    }
    with pytest.raises(swf.exceptions.UnknownResourceFault) as caught:
        await swf.respond_activity_task_completed(taskToken=activity["taskToken"])
    assert caught.value.response["Error"]["Message"] == "Unknown activity, scheduledEventId = 5"


async def test_activity_heartbeat_timeout(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    await start(swf, domain)
    await respond(swf, await next_decision(swf, domain), schedule("a1", heartbeatTimeout="1"))
    activity = await swf.poll_for_activity_task(domain=domain, taskList={"name": ACTIVITY_LIST})
    await swf.record_activity_task_heartbeat(taskToken=activity["taskToken"], details="half")
    task = await next_decision(swf, domain)
    assert attributes(first(task["events"], "ActivityTaskTimedOut")) == {
        "timeoutType": "HEARTBEAT",
        "scheduledEventId": 5,
        "startedEventId": 6,
        "details": "half",
    }
    with pytest.raises(swf.exceptions.UnknownResourceFault):
        await swf.record_activity_task_heartbeat(taskToken=activity["taskToken"])


async def test_activity_schedule_to_close(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    await start(swf, domain)
    await respond(swf, await next_decision(swf, domain), schedule("a1", scheduleToCloseTimeout="1"))
    await swf.poll_for_activity_task(domain=domain, taskList={"name": ACTIVITY_LIST})
    task = await next_decision(swf, domain)
    timed_out = attributes(first(task["events"], "ActivityTaskTimedOut"))
    assert timed_out["timeoutType"] == "SCHEDULE_TO_CLOSE"
    assert timed_out["startedEventId"] == 6


async def test_execution_timeout(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    run_id = await start(swf, domain, executionStartToCloseTimeout="1")
    task = await next_decision(swf, domain)
    await wait_for_status(swf, domain, "w1", run_id, "TIMED_OUT")
    events = await history(swf, domain, "w1", run_id)
    assert attributes(events[-1]) == {"timeoutType": "START_TO_CLOSE", "childPolicy": "TERMINATE"}
    with pytest.raises(swf.exceptions.UnknownResourceFault):
        await respond(swf, task, complete())


# -- cancellation -------------------------------------------------------------------------


async def test_request_cancel_activity(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    run_id = await start(swf, domain)
    await respond(swf, await next_decision(swf, domain), schedule("a1"), schedule("a2"))
    running = await swf.poll_for_activity_task(domain=domain, taskList={"name": ACTIVITY_LIST})
    assert running["activityId"] == "a1"
    await swf.signal_workflow_execution(domain=domain, workflowId="w1", signalName="stop")
    await respond(
        swf,
        await next_decision(swf, domain),
        decision("RequestCancelActivityTask", activityId="a1"),
        decision("RequestCancelActivityTask", activityId="a2"),
        decision("RequestCancelActivityTask", activityId="a3"),
    )
    events = await history(swf, domain, "w1", run_id)
    tail = event_types(events)[11:]
    assert tail == [
        "ActivityTaskCancelRequested",
        "ActivityTaskCancelRequested",
        "ActivityTaskCanceled",
        "RequestCancelActivityTaskFailed",
        "DecisionTaskScheduled",
    ]
    assert attributes(events[13]) == {
        "scheduledEventId": 6,
        "startedEventId": 0,
        "latestCancelRequestedEventId": 13,
    }
    assert attributes(events[14])["cause"] == "ACTIVITY_ID_UNKNOWN"

    beat = await swf.record_activity_task_heartbeat(taskToken=running["taskToken"])
    assert beat["cancelRequested"] is True
    await swf.respond_activity_task_canceled(taskToken=running["taskToken"], details="stopped")
    events = await history(swf, domain, "w1", run_id)
    assert attributes(first(events[15:], "ActivityTaskCanceled")) == {
        "scheduledEventId": 5,
        "startedEventId": 7,
        "details": "stopped",
        "latestCancelRequestedEventId": 12,
    }


async def test_cancel_workflow_after_request(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    run_id = await start(swf, domain)
    await swf.request_cancel_workflow_execution(domain=domain, workflowId="w1")
    task = await next_decision(swf, domain)
    assert "WorkflowExecutionCancelRequested" in event_types(task["events"])
    await respond(swf, task, decision("CancelWorkflowExecution", details="as asked"))
    events = await history(swf, domain, "w1", run_id)
    assert attributes(events[-1]) == {"details": "as asked", "decisionTaskCompletedEventId": 5}
    assert await status(swf, domain, "w1", run_id) == "CANCELED"


# -- children -----------------------------------------------------------------------------


async def test_child_workflow_lifecycle(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    parent_id = await start(swf, domain, "parent")
    await respond(
        swf,
        await next_decision(swf, domain),
        decision(
            "StartChildWorkflowExecution",
            workflowType=WORKFLOW_TYPE,
            workflowId="child",
            input="kid",
            control="ctl",
            tagList=["c"],
        ),
        decision("StartChildWorkflowExecution", workflowType=WORKFLOW_TYPE, workflowId="parent"),
        decision(
            "StartChildWorkflowExecution",
            workflowType={"name": "nope", "version": "1"},
            workflowId="x",
        ),
    )
    events = await history(swf, domain, "parent", parent_id)
    assert event_types(events)[4:] == [
        "StartChildWorkflowExecutionInitiated",
        "ChildWorkflowExecutionStarted",
        "StartChildWorkflowExecutionInitiated",
        "StartChildWorkflowExecutionFailed",
        "StartChildWorkflowExecutionFailed",
        "DecisionTaskScheduled",
    ]
    child_run = attributes(events[5])["workflowExecution"]["runId"]
    assert attributes(events[5])["initiatedEventId"] == 5
    assert attributes(events[7])["cause"] == "WORKFLOW_ALREADY_RUNNING"
    assert attributes(events[7])["initiatedEventId"] == 7
    assert attributes(events[8])["cause"] == "WORKFLOW_TYPE_DOES_NOT_EXIST"
    assert attributes(events[8])["initiatedEventId"] == 0

    child_events = await history(swf, domain, "child", child_run)
    started = attributes(child_events[0])
    assert started["parentWorkflowExecution"] == {"workflowId": "parent", "runId": parent_id}
    assert started["parentInitiatedEventId"] == 5
    assert started["input"] == "kid"
    detail = await swf.describe_workflow_execution(
        domain=domain, execution={"workflowId": "child", "runId": child_run}
    )
    assert detail["executionInfo"]["parent"] == {"workflowId": "parent", "runId": parent_id}
    parent_detail = await swf.describe_workflow_execution(
        domain=domain, execution={"workflowId": "parent", "runId": parent_id}
    )
    assert parent_detail["openCounts"]["openChildWorkflowExecutions"] == 1

    # Both runs share the decision task list: answer each task by its workflow id, until the
    # parent sees its child's result.
    done: dict[str, Any] | None = None
    for _ in range(5):
        task = await next_decision(swf, domain)
        if task["workflowExecution"]["workflowId"] == "child":
            await respond(swf, task, complete("grown up"))
            continue
        await respond(swf, task)
        if "ChildWorkflowExecutionCompleted" in event_types(task["events"]):
            done = first(task["events"], "ChildWorkflowExecutionCompleted")
            break
    assert done is not None, "the parent never saw ChildWorkflowExecutionCompleted"
    assert attributes(done) == {
        "workflowExecution": {"workflowId": "child", "runId": child_run},
        "workflowType": WORKFLOW_TYPE,
        "initiatedEventId": 5,
        "startedEventId": 6,
        "result": "grown up",
    }


async def start_parent_with_child(swf: AsyncClient, domain: str, policy: str) -> tuple[str, str]:
    parent_id = await start(swf, domain, "parent", childPolicy=policy)
    await respond(
        swf,
        await next_decision(swf, domain),
        decision("StartChildWorkflowExecution", workflowType=WORKFLOW_TYPE, workflowId="child"),
    )
    events = await history(swf, domain, "parent", parent_id)
    child_run: str = attributes(events[5])["workflowExecution"]["runId"]
    return parent_id, child_run


@pytest.mark.parametrize("policy", ["TERMINATE", "REQUEST_CANCEL", "ABANDON"])
async def test_child_policy_on_terminate(swf: AsyncClient, domain: str, policy: str) -> None:
    await register_all(swf, domain)
    parent_id, child_run = await start_parent_with_child(swf, domain, "ABANDON")
    await swf.terminate_workflow_execution(domain=domain, workflowId="parent", childPolicy=policy)
    parent_events = await history(swf, domain, "parent", parent_id)
    assert attributes(parent_events[-1])["childPolicy"] == policy

    if policy == "TERMINATE":
        await wait_for_status(swf, domain, "child", child_run, "TERMINATED")
        child_events = await history(swf, domain, "child", child_run)
        assert attributes(child_events[-1])["cause"] == "CHILD_POLICY_APPLIED"
    elif policy == "REQUEST_CANCEL":
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        child_events = await history(swf, domain, "child", child_run)
        while "WorkflowExecutionCancelRequested" not in event_types(child_events):
            assert loop.time() < deadline, "the child got no cancel request"
            await asyncio.sleep(0.1)
            child_events = await history(swf, domain, "child", child_run)
        requested = first(child_events, "WorkflowExecutionCancelRequested")
        assert attributes(requested) == {"cause": "CHILD_POLICY_APPLIED"}
        assert await status(swf, domain, "child", child_run) == "OPEN"
    else:
        await asyncio.sleep(0.5)
        assert await status(swf, domain, "child", child_run) == "OPEN"


async def test_child_close_reaches_parent(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    parent_id, child_run = await start_parent_with_child(swf, domain, "TERMINATE")
    await swf.terminate_workflow_execution(domain=domain, workflowId="child", reason="r")
    events = await history(swf, domain, "parent", parent_id)
    terminated = first(events, "ChildWorkflowExecutionTerminated")
    assert attributes(terminated) == {
        "workflowExecution": {"workflowId": "child", "runId": child_run},
        "workflowType": WORKFLOW_TYPE,
        "initiatedEventId": 5,
        "startedEventId": 6,
    }


async def test_child_timeout_reaches_parent(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    parent_id = await start(swf, domain, "parent")
    await respond(
        swf,
        await next_decision(swf, domain),
        decision(
            "StartChildWorkflowExecution",
            workflowType=WORKFLOW_TYPE,
            workflowId="child",
            executionStartToCloseTimeout="1",
        ),
    )
    events = await history(swf, domain, "parent", parent_id)
    child_run = attributes(events[5])["workflowExecution"]["runId"]
    await wait_for_status(swf, domain, "child", child_run, "TIMED_OUT")
    events = await history(swf, domain, "parent", parent_id)
    assert attributes(first(events, "ChildWorkflowExecutionTimedOut"))["timeoutType"] == (
        "START_TO_CLOSE"
    )


# -- continue-as-new, external decisions, lambda ---------------------------------------------


async def test_continue_as_new(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    await swf.register_workflow_type(
        domain=domain,
        name=WORKFLOW_TYPE["name"],
        version="2.0",
        defaultTaskList={"name": DECISION_LIST},
        defaultExecutionStartToCloseTimeout="600",
        defaultTaskStartToCloseTimeout="60",
        defaultChildPolicy="ABANDON",
    )
    old_run = await start(swf, domain, tagList=["t"])
    await respond(
        swf,
        await next_decision(swf, domain),
        decision(
            "ContinueAsNewWorkflowExecution",
            input="again",
            workflowTypeVersion="2.0",
            tagList=["t2"],
        ),
    )
    events = await history(swf, domain, "w1", old_run)
    continued = attributes(events[-1])
    new_run = continued["newExecutionRunId"]
    assert continued["workflowType"] == {"name": WORKFLOW_TYPE["name"], "version": "2.0"}
    assert continued["childPolicy"] == "ABANDON"
    assert continued["input"] == "again"
    assert await status(swf, domain, "w1", old_run) == "CONTINUED_AS_NEW"

    new_events = await history(swf, domain, "w1", new_run)
    assert [e["eventId"] for e in new_events] == [1, 2]
    started = attributes(new_events[0])
    assert started["continuedExecutionRunId"] == old_run
    assert started["executionStartToCloseTimeout"] == "600"
    assert started["tagList"] == ["t2"]
    task = await next_decision(swf, domain)
    assert task["workflowExecution"] == {"workflowId": "w1", "runId": new_run}
    assert task["workflowType"]["version"] == "2.0"

    await respond(
        swf,
        task,
        decision("ContinueAsNewWorkflowExecution", workflowTypeVersion="9.9"),
    )
    events = await history(swf, domain, "w1", new_run)
    assert attributes(first(events, "ContinueAsNewWorkflowExecutionFailed"))["cause"] == (
        "WORKFLOW_TYPE_DOES_NOT_EXIST"
    )


async def test_external_signal_and_cancel(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    target_run = await start(swf, domain, "target")
    await respond(swf, await next_decision(swf, domain))
    sender_run = await start(swf, domain, "sender")
    await respond(
        swf,
        await next_decision(swf, domain),
        decision(
            "SignalExternalWorkflowExecution", workflowId="target", signalName="go", input="1"
        ),
        decision("RequestCancelExternalWorkflowExecution", workflowId="target", control="c"),
        decision("SignalExternalWorkflowExecution", workflowId="ghost", signalName="go"),
        decision("RequestCancelExternalWorkflowExecution", workflowId="ghost"),
    )
    sender = await history(swf, domain, "sender", sender_run)
    assert event_types(sender)[4:] == [
        "SignalExternalWorkflowExecutionInitiated",
        "ExternalWorkflowExecutionSignaled",
        "RequestCancelExternalWorkflowExecutionInitiated",
        "ExternalWorkflowExecutionCancelRequested",
        "SignalExternalWorkflowExecutionInitiated",
        "SignalExternalWorkflowExecutionFailed",
        "RequestCancelExternalWorkflowExecutionInitiated",
        "RequestCancelExternalWorkflowExecutionFailed",
        "DecisionTaskScheduled",
    ]
    assert attributes(sender[5]) == {
        "workflowExecution": {"workflowId": "target", "runId": target_run},
        "initiatedEventId": 5,
    }
    assert attributes(sender[9])["cause"] == "UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION"
    assert attributes(sender[9])["initiatedEventId"] == 9

    target = await history(swf, domain, "target", target_run)
    signaled = first(target, "WorkflowExecutionSignaled")
    assert attributes(signaled) == {
        "signalName": "go",
        "input": "1",
        "externalInitiatedEventId": 5,
        "externalWorkflowExecution": {"workflowId": "sender", "runId": sender_run},
    }
    requested = first(target, "WorkflowExecutionCancelRequested")
    assert attributes(requested)["externalInitiatedEventId"] == 7
    # The signal scheduled a decision task for the target; the cancel request joined it.
    assert event_types(target)[-3:] == [
        "WorkflowExecutionSignaled",
        "DecisionTaskScheduled",
        "WorkflowExecutionCancelRequested",
    ]


async def test_lambda_not_available(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    run_id = await start(swf, domain)
    await respond(
        swf,
        await next_decision(swf, domain),
        decision("ScheduleLambdaFunction", id="l1", name="fn"),
    )
    events = await history(swf, domain, "w1", run_id)
    assert attributes(events[4]) == {
        "id": "l1",
        "name": "fn",
        "cause": "LAMBDA_SERVICE_NOT_AVAILABLE_IN_REGION",
        "decisionTaskCompletedEventId": 4,
    }
    assert event_types(events)[-1] == "DecisionTaskScheduled"


# -- limits ----------------------------------------------------------------------------------


@pytest.mark.timeout(300)
async def test_event_limit_terminates(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    run_id = await start(swf, domain)
    # Signals join the scheduled decision task: one event each.
    for batch in range(0, 24_995, 500):
        count = min(500, 24_995 - batch)
        await asyncio.gather(
            *(
                swf.signal_workflow_execution(domain=domain, workflowId="w1", signalName="s")
                for _ in range(count)
            )
        )
    assert await status(swf, domain, "w1", run_id) == "OPEN"
    task = await next_decision(swf, domain)
    assert task["startedEventId"] == 24_998
    # The batch could need more events than the history has room for.
    await respond(swf, task, schedule("a1"))
    assert await status(swf, domain, "w1", run_id) == "TERMINATED"
    newest = await swf.get_workflow_execution_history(
        domain=domain,
        execution={"workflowId": "w1", "runId": run_id},
        reverseOrder=True,
        maximumPageSize=1,
    )
    last = newest["events"][0]
    assert last["eventId"] <= 25_000
    assert attributes(last)["cause"] == "EVENT_LIMIT_EXCEEDED"


async def test_open_activity_and_timer_limits(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    run_id = await start(swf, domain)
    activities = [schedule(f"a{i}") for i in range(1001)]
    timers = [
        decision("StartTimer", timerId=f"t{i}", startToFireTimeout="600") for i in range(1001)
    ]
    await respond(swf, await next_decision(swf, domain), *activities, *timers)
    events: list[Any] = []
    token: str | None = None
    for _ in range(10):
        page = await swf.get_workflow_execution_history(
            domain=domain,
            execution={"workflowId": "w1", "runId": run_id},
            **({"nextPageToken": token} if token else {}),
        )
        events += page["events"]
        token = page.get("nextPageToken")
        if not token:
            break
    assert len(events) == 2 + 2 + 2002 + 1, "expected every event of the batch"
    failed = [e for e in events if e["eventType"].endswith("Failed")]
    causes = [(e["eventType"], attributes(e)["cause"]) for e in failed]
    assert causes == [
        ("ScheduleActivityTaskFailed", "OPEN_ACTIVITIES_LIMIT_EXCEEDED"),
        ("StartTimerFailed", "OPEN_TIMERS_LIMIT_EXCEEDED"),
    ]
    assert attributes(failed[0])["activityId"] == "a1000"
    detail = await swf.describe_workflow_execution(
        domain=domain, execution={"workflowId": "w1", "runId": run_id}
    )
    assert detail["openCounts"]["openActivityTasks"] == 1000
    assert detail["openCounts"]["openTimers"] == 1000


async def test_task_list_override_times_out(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    run_id = await start(swf, domain)
    task = await next_decision(swf, domain)
    await swf.respond_decision_task_completed(
        taskToken=task["taskToken"],
        decisions=[decision("StartTimer", timerId="t", startToFireTimeout="0")],
        taskList={"name": "nobody-polls-here"},
        taskListScheduleToStartTimeout="1",
    )
    # The timer fires at once; its decision task goes to the override list, where nobody
    # polls, times out after one second, and a new one comes back on the run's own list.
    task = await next_decision(swf, domain)
    timed_out = first(task["events"], "DecisionTaskTimedOut")
    assert attributes(timed_out)["timeoutType"] == "SCHEDULE_TO_START"
    assert attributes(timed_out)["startedEventId"] == 0
    scheduled = [e for e in task["events"] if e["eventType"] == "DecisionTaskScheduled"]
    assert attributes(scheduled[-2])["taskList"] == {"name": "nobody-polls-here"}
    assert attributes(scheduled[-2])["scheduleToStartTimeout"] == "1"
    assert attributes(scheduled[-1])["taskList"] == {"name": DECISION_LIST}
    completed = first(task["events"], "DecisionTaskCompleted")
    assert attributes(completed)["taskList"] == {"name": "nobody-polls-here"}
    assert attributes(completed)["taskListScheduleToStartTimeout"] == "1"
    await respond(swf, task, complete())
    assert await status(swf, domain, "w1", run_id) == "COMPLETED"


async def test_continued_child_keeps_parent(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    parent_id, child_run = await start_parent_with_child(swf, domain, "TERMINATE")
    new_child: str | None = None
    for _ in range(5):
        task = await next_decision(swf, domain)
        if task["workflowExecution"]["workflowId"] == "child":
            await respond(swf, task, decision("ContinueAsNewWorkflowExecution", input="2"))
            events = await history(swf, domain, "child", child_run)
            new_child = attributes(events[-1])["newExecutionRunId"]
            break
        await respond(swf, task)
    assert new_child is not None, "the child never got a decision task"
    started = attributes((await history(swf, domain, "child", new_child))[0])
    assert started["parentWorkflowExecution"] == {"workflowId": "parent", "runId": parent_id}
    assert started["continuedExecutionRunId"] == child_run

    # The parent follows the new run: terminating the parent terminates it.
    await swf.terminate_workflow_execution(domain=domain, workflowId="parent")
    await wait_for_status(swf, domain, "child", new_child, "TERMINATED")


@pytest.mark.parametrize(
    ("close", "event_type", "outcome"),
    [
        (
            decision("FailWorkflowExecution", reason="bad card", details="code 51"),
            "ChildWorkflowExecutionFailed",
            {"reason": "bad card", "details": "code 51"},
        ),
        (
            decision("CancelWorkflowExecution", details="asked to"),
            "ChildWorkflowExecutionCanceled",
            {"details": "asked to"},
        ),
    ],
)
async def test_child_failure_and_cancel_reach_parent(
    swf: AsyncClient,
    domain: str,
    close: dict[str, Any],
    event_type: str,
    outcome: dict[str, str],
) -> None:
    await register_all(swf, domain)
    parent_id, child_run = await start_parent_with_child(swf, domain, "TERMINATE")
    for _ in range(5):
        task = await next_decision(swf, domain)
        if task["workflowExecution"]["workflowId"] == "child":
            await respond(swf, task, close)
            break
        await respond(swf, task)
    events = await history(swf, domain, "parent", parent_id)
    assert attributes(first(events, event_type)) == {
        "workflowExecution": {"workflowId": "child", "runId": child_run},
        "workflowType": WORKFLOW_TYPE,
        "initiatedEventId": 5,
        "startedEventId": 6,
        **outcome,
    }


async def test_open_children_limit(swf: AsyncClient, domain: str) -> None:
    await register_all(swf, domain)
    run_id = await start(swf, domain, "parent")
    children = [
        decision("StartChildWorkflowExecution", workflowType=WORKFLOW_TYPE, workflowId=f"c{i}")
        for i in range(1001)
    ]
    await respond(swf, await next_decision(swf, domain), *children)
    newest = await swf.get_workflow_execution_history(
        domain=domain,
        execution={"workflowId": "parent", "runId": run_id},
        reverseOrder=True,
        maximumPageSize=2,
    )
    failed = newest["events"][1]
    assert attributes(failed)["cause"] == "OPEN_CHILDREN_LIMIT_EXCEEDED"
    assert attributes(failed)["workflowId"] == "c1000"
    detail = await swf.describe_workflow_execution(
        domain=domain, execution={"workflowId": "parent", "runId": run_id}
    )
    assert detail["openCounts"]["openChildWorkflowExecutions"] == 1000
