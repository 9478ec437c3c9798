"""Register the card verification domain, workflow type and activity type.

Registration is idempotent. A domain or type that already exists is left unchanged, including
its registered defaults.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from common import (
    ACTIVITY_NAME,
    ACTIVITY_TASK_LIST,
    ACTIVITY_VERSION,
    DECISION_TASK_LIST,
    DOMAIN,
    WORKFLOW_NAME,
    WORKFLOW_VERSION,
    configure_logging,
    endpoint_label,
    make_client,
)

logger = logging.getLogger("card_verification.register")

RETENTION_DAYS = "1"

# Timeouts are in seconds, as strings, as the SWF API expects them.
WORKFLOW_EXECUTION_TIMEOUT = "600"
DECISION_TASK_TIMEOUT = "30"
ACTIVITY_SCHEDULE_TO_START_TIMEOUT = "300"
ACTIVITY_START_TO_CLOSE_TIMEOUT = "60"
ACTIVITY_SCHEDULE_TO_CLOSE_TIMEOUT = "360"


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def register_domain(client: Any) -> bool:
    """Register the domain. Returns False if it already exists."""
    try:
        client.register_domain(
            name=DOMAIN,
            description="Card verification example",
            workflowExecutionRetentionPeriodInDays=RETENTION_DAYS,
        )
    except ClientError as error:
        if _error_code(error) != "DomainAlreadyExistsFault":
            raise
        logger.info("domain %s is already registered", DOMAIN)
        return False
    logger.info("registered domain %s", DOMAIN)
    return True


def register_workflow_type(client: Any) -> bool:
    """Register the workflow type. Returns False if it already exists."""
    try:
        client.register_workflow_type(
            domain=DOMAIN,
            name=WORKFLOW_NAME,
            version=WORKFLOW_VERSION,
            description="Verify one card with the activityVerify activity",
            defaultTaskList={"name": DECISION_TASK_LIST},
            defaultTaskStartToCloseTimeout=DECISION_TASK_TIMEOUT,
            defaultExecutionStartToCloseTimeout=WORKFLOW_EXECUTION_TIMEOUT,
            defaultChildPolicy="TERMINATE",
        )
    except ClientError as error:
        if _error_code(error) != "TypeAlreadyExistsFault":
            raise
        logger.info("workflow type %s %s is already registered", WORKFLOW_NAME, WORKFLOW_VERSION)
        return False
    logger.info("registered workflow type %s %s", WORKFLOW_NAME, WORKFLOW_VERSION)
    return True


def register_activity_type(client: Any) -> bool:
    """Register the activity type. Returns False if it already exists."""
    try:
        client.register_activity_type(
            domain=DOMAIN,
            name=ACTIVITY_NAME,
            version=ACTIVITY_VERSION,
            description="Check card number (Luhn), expiry and CVV",
            defaultTaskList={"name": ACTIVITY_TASK_LIST},
            defaultTaskScheduleToStartTimeout=ACTIVITY_SCHEDULE_TO_START_TIMEOUT,
            defaultTaskStartToCloseTimeout=ACTIVITY_START_TO_CLOSE_TIMEOUT,
            defaultTaskScheduleToCloseTimeout=ACTIVITY_SCHEDULE_TO_CLOSE_TIMEOUT,
            defaultTaskHeartbeatTimeout="NONE",
        )
    except ClientError as error:
        if _error_code(error) != "TypeAlreadyExistsFault":
            raise
        logger.info("activity type %s %s is already registered", ACTIVITY_NAME, ACTIVITY_VERSION)
        return False
    logger.info("registered activity type %s %s", ACTIVITY_NAME, ACTIVITY_VERSION)
    return True


def register_all(client: Any) -> None:
    register_domain(client)
    register_workflow_type(client)
    register_activity_type(client)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    configure_logging()

    try:
        register_all(make_client())
    except ClientError as error:
        logger.error("registration in domain %s failed: %s", DOMAIN, error)
        return 1
    except BotoCoreError as error:
        logger.error(
            "request to %s failed: %s. Check that the SWF server is running.",
            endpoint_label(),
            error,
        )
        return 1
    except KeyboardInterrupt:
        logger.info("interrupted, stopping")
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
