"""Decider of the cardVerification workflow.

For each decision task it reads the events added since the last decision task that a decider
completed (those after ``previousStartedEventId``) and decides:

- a new execution: schedule ``activityVerify`` with the workflow input;
- the activity completed: complete the workflow with the activity result;
- the activity failed, timed out or could not be scheduled: fail the workflow;
- anything else: respond with no decisions.
"""

from __future__ import annotations

import argparse
import logging
import threading
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from common import (
    ACTIVITY_NAME,
    ACTIVITY_TASK_LIST,
    ACTIVITY_VERSION,
    DECISION_TASK_LIST,
    DOMAIN,
    configure_logging,
    make_client,
    make_identity,
    positive_int,
    run_poll_loop,
)

logger = logging.getLogger("card_verification.decider")

ACTIVITY_ID = "verify-card"

# Limits of FailWorkflowExecution in the SWF API, in characters.
MAX_REASON_LENGTH = 256
MAX_DETAILS_LENGTH = 32768

Event = dict[str, Any]
Decision = dict[str, Any]


def poll_decision_task(client: Any, identity: str) -> dict[str, Any] | None:
    """Long-poll for a decision task and fetch all pages of its history.

    Returns None for an empty poll. Otherwise returns the first page's response with
    ``events`` replaced by the whole history, oldest event first.
    """
    response: dict[str, Any] = client.poll_for_decision_task(
        domain=DOMAIN,
        taskList={"name": DECISION_TASK_LIST},
        identity=identity,
    )
    if not response.get("taskToken"):
        return None

    events: list[Event] = list(response.get("events", []))
    next_page_token = response.get("nextPageToken")
    while next_page_token:
        page = client.poll_for_decision_task(
            domain=DOMAIN,
            taskList={"name": DECISION_TASK_LIST},
            identity=identity,
            nextPageToken=next_page_token,
        )
        events.extend(page.get("events", []))
        next_page_token = page.get("nextPageToken")

    response["events"] = sorted(events, key=lambda event: int(event["eventId"]))
    response.pop("nextPageToken", None)
    return response


def event_attributes(event: Event) -> dict[str, Any]:
    """Return the ``<eventType>EventAttributes`` member of an event, or an empty dict."""
    event_type = str(event["eventType"])
    key = event_type[0].lower() + event_type[1:] + "EventAttributes"
    attributes: dict[str, Any] = event.get(key, {})
    return attributes


def _scheduled_activity_id(events_by_id: dict[int, Event], attributes: dict[str, Any]) -> str:
    scheduled = events_by_id.get(int(attributes.get("scheduledEventId", 0)))
    if scheduled is None:
        return "unknown"
    return str(event_attributes(scheduled).get("activityId", "unknown"))


def schedule_activity_decision(workflow_input: str | None) -> Decision:
    attributes: dict[str, Any] = {
        "activityType": {"name": ACTIVITY_NAME, "version": ACTIVITY_VERSION},
        "activityId": ACTIVITY_ID,
        "taskList": {"name": ACTIVITY_TASK_LIST},
    }
    if workflow_input is not None:
        attributes["input"] = workflow_input
    return {
        "decisionType": "ScheduleActivityTask",
        "scheduleActivityTaskDecisionAttributes": attributes,
    }


def complete_workflow_decision(result: str | None) -> Decision:
    attributes: dict[str, Any] = {}
    if result is not None:
        attributes["result"] = result
    return {
        "decisionType": "CompleteWorkflowExecution",
        "completeWorkflowExecutionDecisionAttributes": attributes,
    }


def fail_workflow_decision(reason: str, details: str | None) -> Decision:
    attributes: dict[str, Any] = {"reason": reason[:MAX_REASON_LENGTH]}
    if details:
        attributes["details"] = details[:MAX_DETAILS_LENGTH]
    return {
        "decisionType": "FailWorkflowExecution",
        "failWorkflowExecutionDecisionAttributes": attributes,
    }


def decide(events: list[Event], previous_started_event_id: int) -> list[Decision]:
    """Return the decisions for a decision task, given its whole history, oldest first.

    Only events after ``previous_started_event_id`` are new. A closing event of the
    activity takes precedence over the start of the execution.
    """
    events_by_id = {int(event["eventId"]): event for event in events}
    new_events = [event for event in events if int(event["eventId"]) > previous_started_event_id]
    started_event: Event | None = None

    for event in new_events:
        event_type = event["eventType"]
        attributes = event_attributes(event)

        if event_type == "WorkflowExecutionStarted":
            started_event = event
        elif event_type == "ActivityTaskCompleted":
            return [complete_workflow_decision(attributes.get("result"))]
        elif event_type == "ActivityTaskFailed":
            activity_id = _scheduled_activity_id(events_by_id, attributes)
            reason = f"activity {activity_id} failed: {attributes.get('reason', 'no reason')}"
            return [fail_workflow_decision(reason, attributes.get("details"))]
        elif event_type == "ActivityTaskTimedOut":
            activity_id = _scheduled_activity_id(events_by_id, attributes)
            timeout_type = attributes.get("timeoutType", "unknown")
            reason = f"activity {activity_id} timed out ({timeout_type})"
            return [fail_workflow_decision(reason, attributes.get("details"))]
        elif event_type == "ScheduleActivityTaskFailed":
            reason = (
                f"activity {attributes.get('activityId', 'unknown')} could not be scheduled: "
                f"{attributes.get('cause', 'unknown cause')}"
            )
            return [fail_workflow_decision(reason, None)]

    if started_event is not None:
        return [schedule_activity_decision(event_attributes(started_event).get("input"))]
    return []


def describe_decision(decision: Decision) -> str:
    """Return a one-line summary of a decision for the log."""
    decision_type = str(decision["decisionType"])
    if decision_type == "ScheduleActivityTask":
        activity_id = decision["scheduleActivityTaskDecisionAttributes"]["activityId"]
        return f"{decision_type} activityId={activity_id}"
    if decision_type == "FailWorkflowExecution":
        reason = decision["failWorkflowExecutionDecisionAttributes"]["reason"]
        return f"{decision_type} reason={reason!r}"
    return decision_type


def handle_decision_task(client: Any, task: dict[str, Any]) -> None:
    """Decide on one decision task and respond. Errors of the response are logged."""
    execution = task.get("workflowExecution", {})
    workflow_id = execution.get("workflowId")
    run_id = execution.get("runId")
    events: list[Event] = task["events"]
    previous_started_event_id = int(task.get("previousStartedEventId", 0))
    logger.info(
        "decision task received workflowId=%s runId=%s startedEventId=%s "
        "previousStartedEventId=%d events=%d",
        workflow_id,
        run_id,
        task.get("startedEventId"),
        previous_started_event_id,
        len(events),
    )

    decisions = decide(events, previous_started_event_id)
    summary = ", ".join(describe_decision(decision) for decision in decisions) or "no decisions"
    try:
        client.respond_decision_task_completed(taskToken=task["taskToken"], decisions=decisions)
    except (BotoCoreError, ClientError) as error:
        logger.error(
            "responding to the decision task failed workflowId=%s runId=%s decisions=[%s]: %s",
            workflow_id,
            run_id,
            summary,
            error,
        )
        return
    logger.info("decision made workflowId=%s runId=%s: %s", workflow_id, run_id, summary)


def run_decider(
    client: Any,
    identity: str,
    max_tasks: int | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Poll and handle decision tasks until ``max_tasks`` were handled or ``stop`` is set."""
    logger.info(
        "decider %s polling task list %s in domain %s", identity, DECISION_TASK_LIST, DOMAIN
    )
    return run_poll_loop(
        lambda: poll_decision_task(client, identity),
        lambda task: handle_decision_task(client, task),
        logger=logger,
        max_tasks=max_tasks,
        stop=stop,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="Decider of the cardVerification workflow.")
    parser.add_argument(
        "--max-tasks",
        type=positive_int,
        metavar="N",
        help="stop after handling N decision tasks (default: run until interrupted)",
    )
    args = parser.parse_args()
    configure_logging()

    try:
        handled = run_decider(make_client(), make_identity("decider"), args.max_tasks)
    except KeyboardInterrupt:
        logger.info("interrupted, stopping")
        return 130
    logger.info("handled %d decision tasks, stopping", handled)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
