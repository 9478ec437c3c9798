"""Small workflow set-ups shared by the tests."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

WORKFLOW_TYPE = {"name": "orderFlow", "version": "1.0"}
ACTIVITY_TYPE = {"name": "chargeCard", "version": "1.0"}
DECISION_LIST = "decisions"
ACTIVITY_LIST = "activities"


async def register_all(client: Any, domain: str, retention: str = "1") -> None:
    """Register a domain, a workflow type and an activity type with every default set."""
    await client.register_domain(name=domain, workflowExecutionRetentionPeriodInDays=retention)
    await client.register_workflow_type(
        domain=domain,
        **WORKFLOW_TYPE,
        defaultTaskList={"name": DECISION_LIST},
        defaultExecutionStartToCloseTimeout="3600",
        defaultTaskStartToCloseTimeout="60",
        defaultChildPolicy="TERMINATE",
    )
    await client.register_activity_type(
        domain=domain,
        **ACTIVITY_TYPE,
        defaultTaskList={"name": ACTIVITY_LIST},
        defaultTaskScheduleToStartTimeout="600",
        defaultTaskScheduleToCloseTimeout="900",
        defaultTaskStartToCloseTimeout="300",
        defaultTaskHeartbeatTimeout="NONE",
    )


def register_all_sync(client: Any, domain: str, retention: str = "1") -> None:
    """The same as :func:`register_all` for a blocking client such as boto3."""
    client.register_domain(name=domain, workflowExecutionRetentionPeriodInDays=retention)
    client.register_workflow_type(
        domain=domain,
        **WORKFLOW_TYPE,
        defaultTaskList={"name": DECISION_LIST},
        defaultExecutionStartToCloseTimeout="3600",
        defaultTaskStartToCloseTimeout="60",
        defaultChildPolicy="TERMINATE",
    )
    client.register_activity_type(
        domain=domain,
        **ACTIVITY_TYPE,
        defaultTaskList={"name": ACTIVITY_LIST},
        defaultTaskScheduleToStartTimeout="600",
        defaultTaskScheduleToCloseTimeout="900",
        defaultTaskStartToCloseTimeout="300",
        defaultTaskHeartbeatTimeout="NONE",
    )


def schedule(activity_id: str, input_text: str | None = None, **attrs: Any) -> dict[str, Any]:
    """A ScheduleActivityTask decision for the test activity type."""
    attributes: dict[str, Any] = {"activityType": ACTIVITY_TYPE, "activityId": activity_id}
    if input_text is not None:
        attributes["input"] = input_text
    attributes.update(attrs)
    return {
        "decisionType": "ScheduleActivityTask",
        "scheduleActivityTaskDecisionAttributes": attributes,
    }


def complete(result: str | None = None) -> dict[str, Any]:
    attributes = {} if result is None else {"result": result}
    return {
        "decisionType": "CompleteWorkflowExecution",
        "completeWorkflowExecutionDecisionAttributes": attributes,
    }


def event_types(events: list[dict[str, Any]]) -> list[str]:
    return [event["eventType"] for event in events]


@dataclass
class PollResult:
    """The response of a poll made in a thread, and when it came."""

    response: dict[str, Any] | None = None
    error: BaseException | None = None
    returned_at: float = 0.0


def poll_in_thread(call: Any, **params: Any) -> tuple[threading.Thread, PollResult]:
    """Start ``call(**params)`` in a daemon thread and return it with the PollResult that
    the thread fills in."""
    result = PollResult()

    def run() -> None:
        try:
            result.response = call(**params)
        except BaseException as error:  # reported by the test through result.error
            result.error = error
        result.returned_at = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result
