"""Deprecation: a deprecated domain or type takes no new executions or activity tasks, while
the executions and tasks already running go on; undeprecation restores it."""

from __future__ import annotations

from typing import Any

import pytest

from redswf import AsyncClient
from tests.helpers import (
    ACTIVITY_LIST,
    ACTIVITY_TYPE,
    DECISION_LIST,
    WORKFLOW_TYPE,
    complete,
    event_types,
    register_all,
    register_all_sync,
    schedule,
)

EPOCH = {"oldestDate": 0}
CONTINUE_AS_NEW = {
    "decisionType": "ContinueAsNewWorkflowExecution",
    "continueAsNewWorkflowExecutionDecisionAttributes": {},
}


async def start(client: AsyncClient, domain: str, workflow_id: str) -> str:
    run = await client.start_workflow_execution(
        domain=domain, workflowId=workflow_id, workflowType=WORKFLOW_TYPE
    )
    run_id: str = run["runId"]
    return run_id


async def decide(client: AsyncClient, domain: str, *decisions: dict[str, Any]) -> dict[str, Any]:
    """Take the next decision task, complete it with ``decisions`` and return the task."""
    task = await client.poll_for_decision_task(domain=domain, taskList={"name": DECISION_LIST})
    assert task.get("taskToken"), "no decision task"
    await client.respond_decision_task_completed(
        taskToken=task["taskToken"], decisions=list(decisions)
    )
    return task


async def events(client: AsyncClient, domain: str, workflow_id: str, run_id: str) -> list[Any]:
    page = await client.get_workflow_execution_history(
        domain=domain, execution={"workflowId": workflow_id, "runId": run_id}
    )
    found: list[Any] = page["events"]
    return found


def failure_causes(history: list[Any], event_type: str) -> list[str]:
    key = event_type[0].lower() + event_type[1:] + "EventAttributes"
    return [e[key]["cause"] for e in history if e["eventType"] == event_type]


async def close_status(client: AsyncClient, domain: str, workflow_id: str, run_id: str) -> str:
    detail = await client.describe_workflow_execution(
        domain=domain, execution={"workflowId": workflow_id, "runId": run_id}
    )
    info = detail["executionInfo"]
    return str(info.get("closeStatus") or info["executionStatus"])


async def test_deprecated_domain_runs_go_on(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    run_id = await start(client, domain, "running")
    await decide(client, domain, schedule("before"))
    await client.deprecate_domain(name=domain)

    with pytest.raises(client.exceptions.DomainDeprecatedFault):
        await start(client, domain, "new")

    # The activity scheduled before the deprecation is still handed out and completes.
    task = await client.poll_for_activity_task(domain=domain, taskList={"name": ACTIVITY_LIST})
    assert task["activityId"] == "before"
    await client.respond_activity_task_completed(taskToken=task["taskToken"], result="ok")
    await client.signal_workflow_execution(domain=domain, workflowId="running", signalName="s")

    # A new activity task is refused, and the run still completes.
    await decide(client, domain, schedule("after"))
    history = await events(client, domain, "running", run_id)
    causes = failure_causes(history, "ScheduleActivityTaskFailed")
    assert causes == ["ACTIVITY_TYPE_DEPRECATED"]
    await decide(client, domain, complete())
    assert await close_status(client, domain, "running", run_id) == "COMPLETED"

    # Queries go on in a deprecated domain.
    count = await client.count_closed_workflow_executions(domain=domain, startTimeFilter=EPOCH)
    assert count["count"] == 1


async def test_undeprecate_domain_and_types_restores(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    await client.deprecate_domain(name=domain)
    await client.undeprecate_domain(name=domain)

    # Deprecating the domain deprecated its types, and they stay deprecated.
    with pytest.raises(client.exceptions.TypeDeprecatedFault):
        await start(client, domain, "w")
    await client.undeprecate_workflow_type(domain=domain, workflowType=WORKFLOW_TYPE)
    run_id = await start(client, domain, "w")

    await decide(client, domain, schedule("a1"))
    await client.undeprecate_activity_type(domain=domain, activityType=ACTIVITY_TYPE)
    await client.signal_workflow_execution(domain=domain, workflowId="w", signalName="s")
    await decide(client, domain, schedule("a2"))
    history = await events(client, domain, "w", run_id)
    assert failure_causes(history, "ScheduleActivityTaskFailed") == ["ACTIVITY_TYPE_DEPRECATED"]
    assert event_types(history).count("ActivityTaskScheduled") == 1


async def test_deprecated_domain_with_undeprecated_type(client: AsyncClient, domain: str) -> None:
    """A type undeprecated while its domain stays deprecated starts no new run or task."""
    await register_all(client, domain)
    run_id = await start(client, domain, "parent")
    await client.deprecate_domain(name=domain)
    await client.undeprecate_workflow_type(domain=domain, workflowType=WORKFLOW_TYPE)
    await client.undeprecate_activity_type(domain=domain, activityType=ACTIVITY_TYPE)

    with pytest.raises(client.exceptions.DomainDeprecatedFault):
        await start(client, domain, "new")
    child = {
        "decisionType": "StartChildWorkflowExecution",
        "startChildWorkflowExecutionDecisionAttributes": {
            "workflowType": WORKFLOW_TYPE,
            "workflowId": "child",
        },
    }
    await decide(client, domain, schedule("a1"), child)
    history = await events(client, domain, "parent", run_id)
    assert failure_causes(history, "ScheduleActivityTaskFailed") == ["ACTIVITY_TYPE_DEPRECATED"]
    causes = failure_causes(history, "StartChildWorkflowExecutionFailed")
    assert causes == ["WORKFLOW_TYPE_DEPRECATED"]

    await decide(client, domain, CONTINUE_AS_NEW)
    history = await events(client, domain, "parent", run_id)
    causes = failure_causes(history, "ContinueAsNewWorkflowExecutionFailed")
    assert causes == ["WORKFLOW_TYPE_DEPRECATED"]
    assert await close_status(client, domain, "parent", run_id) == "OPEN"
    count = await client.count_open_workflow_executions(domain=domain, startTimeFilter=EPOCH)
    assert count["count"] == 1


async def test_deprecated_workflow_type(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    run_id = await start(client, domain, "running")
    await client.deprecate_workflow_type(domain=domain, workflowType=WORKFLOW_TYPE)

    with pytest.raises(client.exceptions.TypeDeprecatedFault):
        await start(client, domain, "new")
    await decide(client, domain, CONTINUE_AS_NEW)
    history = await events(client, domain, "running", run_id)
    causes = failure_causes(history, "ContinueAsNewWorkflowExecutionFailed")
    assert causes == ["WORKFLOW_TYPE_DEPRECATED"]

    # The running execution of the deprecated type goes on to its end.
    await decide(client, domain, complete())
    assert await close_status(client, domain, "running", run_id) == "COMPLETED"

    await client.undeprecate_workflow_type(domain=domain, workflowType=WORKFLOW_TYPE)
    assert await start(client, domain, "new")


async def test_deprecated_activity_type(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    run_id = await start(client, domain, "w")
    await decide(client, domain, schedule("before"))
    await client.deprecate_activity_type(domain=domain, activityType=ACTIVITY_TYPE)

    task = await client.poll_for_activity_task(domain=domain, taskList={"name": ACTIVITY_LIST})
    assert task["activityId"] == "before"
    await client.respond_activity_task_completed(taskToken=task["taskToken"])
    await decide(client, domain, schedule("after"))
    history = await events(client, domain, "w", run_id)
    assert failure_causes(history, "ScheduleActivityTaskFailed") == ["ACTIVITY_TYPE_DEPRECATED"]

    await client.undeprecate_activity_type(domain=domain, activityType=ACTIVITY_TYPE)
    await client.signal_workflow_execution(domain=domain, workflowId="w", signalName="s")
    await decide(client, domain, schedule("restored"))
    pending = await client.count_pending_activity_tasks(
        domain=domain, taskList={"name": ACTIVITY_LIST}
    )
    assert pending["count"] == 1


async def test_delete_needs_deprecation(client: AsyncClient, domain: str) -> None:
    await register_all(client, domain)
    run_id = await start(client, domain, "running")
    await decide(client, domain, schedule("a1"))

    with pytest.raises(client.exceptions.TypeNotDeprecatedFault):
        await client.delete_workflow_type(domain=domain, workflowType=WORKFLOW_TYPE)
    with pytest.raises(client.exceptions.TypeNotDeprecatedFault):
        await client.delete_activity_type(domain=domain, activityType=ACTIVITY_TYPE)

    await client.deprecate_workflow_type(domain=domain, workflowType=WORKFLOW_TYPE)
    await client.deprecate_activity_type(domain=domain, activityType=ACTIVITY_TYPE)
    await client.delete_workflow_type(domain=domain, workflowType=WORKFLOW_TYPE)
    await client.delete_activity_type(domain=domain, activityType=ACTIVITY_TYPE)
    with pytest.raises(client.exceptions.UnknownResourceFault):
        await client.describe_workflow_type(domain=domain, workflowType=WORKFLOW_TYPE)
    with pytest.raises(client.exceptions.UnknownResourceFault):
        await client.describe_activity_type(domain=domain, activityType=ACTIVITY_TYPE)
    with pytest.raises(client.exceptions.UnknownResourceFault):
        await start(client, domain, "new")

    # The execution and the activity task of the deleted types go on.
    task = await client.poll_for_activity_task(domain=domain, taskList={"name": ACTIVITY_LIST})
    assert task["activityId"] == "a1"
    await client.respond_activity_task_completed(taskToken=task["taskToken"])
    await decide(client, domain, schedule("a2"))
    history = await events(client, domain, "running", run_id)
    causes = failure_causes(history, "ScheduleActivityTaskFailed")
    assert causes == ["ACTIVITY_TYPE_DOES_NOT_EXIST"]
    await decide(client, domain, complete())
    assert await close_status(client, domain, "running", run_id) == "COMPLETED"


def test_deprecation_over_boto3(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    swf.start_workflow_execution(domain=domain, workflowId="w", workflowType=WORKFLOW_TYPE)
    swf.deprecate_domain(name=domain)
    with pytest.raises(swf.exceptions.DomainDeprecatedFault):
        swf.start_workflow_execution(domain=domain, workflowId="x", workflowType=WORKFLOW_TYPE)
    swf.undeprecate_workflow_type(domain=domain, workflowType=WORKFLOW_TYPE)
    with pytest.raises(swf.exceptions.TypeNotDeprecatedFault):
        swf.delete_workflow_type(domain=domain, workflowType=WORKFLOW_TYPE)
    swf.signal_workflow_execution(domain=domain, workflowId="w", signalName="still-open")
    swf.undeprecate_domain(name=domain)
    swf.start_workflow_execution(domain=domain, workflowId="x", workflowType=WORKFLOW_TYPE)
