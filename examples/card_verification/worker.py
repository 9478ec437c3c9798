"""Activity worker for activityVerify, which checks the card number (Luhn), expiry and CVV.

A valid card completes the activity task with ``{"valid": true, "card": "<masked number>"}``.
An invalid or malformed input fails the task with reason ``invalid card`` and JSON details
that name the failed checks. The full card number and the CVV are never logged.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
from datetime import date
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from checks import verify_card
from common import (
    ACTIVITY_TASK_LIST,
    DOMAIN,
    configure_logging,
    make_client,
    make_identity,
    positive_int,
    run_poll_loop,
)

logger = logging.getLogger("card_verification.worker")

FAILURE_REASON = "invalid card"


def poll_activity_task(client: Any, identity: str) -> dict[str, Any] | None:
    """Long-poll for an activity task. Returns None for an empty poll."""
    response: dict[str, Any] = client.poll_for_activity_task(
        domain=DOMAIN,
        taskList={"name": ACTIVITY_TASK_LIST},
        identity=identity,
    )
    if not response.get("taskToken"):
        return None
    return response


def handle_activity_task(client: Any, task: dict[str, Any], today: date | None = None) -> None:
    """Verify the card in the task input and complete or fail the task.

    Errors of the response are logged, not raised.
    """
    execution = task.get("workflowExecution", {})
    workflow_id = execution.get("workflowId")
    run_id = execution.get("runId")
    activity_id = task.get("activityId")
    logger.info(
        "activity task received workflowId=%s runId=%s activityId=%s",
        workflow_id,
        run_id,
        activity_id,
    )

    verification = verify_card(task.get("input"), today or date.today())
    try:
        if verification.valid:
            result = json.dumps({"valid": True, "card": verification.masked_number})
            client.respond_activity_task_completed(taskToken=task["taskToken"], result=result)
            logger.info(
                "activity completed workflowId=%s runId=%s activityId=%s card=%s",
                workflow_id,
                run_id,
                activity_id,
                verification.masked_number,
            )
        else:
            details = json.dumps(
                {
                    "valid": False,
                    "card": verification.masked_number,
                    "failed_checks": [
                        {"check": check.name, "message": check.message}
                        for check in verification.failed_checks
                    ],
                }
            )
            client.respond_activity_task_failed(
                taskToken=task["taskToken"], reason=FAILURE_REASON, details=details
            )
            logger.info(
                "activity failed workflowId=%s runId=%s activityId=%s card=%s failed checks: %s",
                workflow_id,
                run_id,
                activity_id,
                verification.masked_number,
                ", ".join(check.name for check in verification.failed_checks),
            )
    except (BotoCoreError, ClientError) as error:
        logger.error(
            "responding to the activity task failed workflowId=%s runId=%s activityId=%s: %s",
            workflow_id,
            run_id,
            activity_id,
            error,
        )


def run_worker(
    client: Any,
    identity: str,
    max_tasks: int | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Poll and handle activity tasks until ``max_tasks`` were handled or ``stop`` is set."""
    logger.info("worker %s polling task list %s in domain %s", identity, ACTIVITY_TASK_LIST, DOMAIN)
    return run_poll_loop(
        lambda: poll_activity_task(client, identity),
        lambda task: handle_activity_task(client, task),
        logger=logger,
        max_tasks=max_tasks,
        stop=stop,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="Activity worker for activityVerify.")
    parser.add_argument(
        "--max-tasks",
        type=positive_int,
        metavar="N",
        help="stop after handling N activity tasks (default: run until interrupted)",
    )
    args = parser.parse_args()
    configure_logging()

    try:
        handled = run_worker(make_client(), make_identity("worker"), args.max_tasks)
    except KeyboardInterrupt:
        logger.info("interrupted, stopping")
        return 130
    logger.info("handled %d activity tasks, stopping", handled)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
