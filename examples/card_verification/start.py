"""Start one cardVerification workflow execution and print its workflowId and runId."""

from __future__ import annotations

import argparse
import logging
import uuid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from common import (
    DECISION_TASK_LIST,
    DEFAULT_CARD_INPUT,
    DOMAIN,
    WORKFLOW_NAME,
    WORKFLOW_VERSION,
    configure_logging,
    endpoint_label,
    make_client,
)

logger = logging.getLogger("card_verification.start")


def new_workflow_id() -> str:
    return f"card-verification-{uuid.uuid4()}"


def start_execution(
    client: Any, card_input: str, workflow_id: str | None = None
) -> tuple[str, str]:
    """Start an execution with the card input. Returns (workflowId, runId).

    Timeouts and child policy come from the defaults registered with the workflow type.
    """
    workflow_id = workflow_id or new_workflow_id()
    response = client.start_workflow_execution(
        domain=DOMAIN,
        workflowId=workflow_id,
        workflowType={"name": WORKFLOW_NAME, "version": WORKFLOW_VERSION},
        taskList={"name": DECISION_TASK_LIST},
        input=card_input,
    )
    run_id = str(response["runId"])
    logger.info("started execution workflowId=%s runId=%s", workflow_id, run_id)
    return workflow_id, run_id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "card_input",
        nargs="?",
        default=DEFAULT_CARD_INPUT,
        help=f"card as NNNN-NNNN-NNNN-NNNN,MM/YY,CVV (default: {DEFAULT_CARD_INPUT})",
    )
    parser.add_argument(
        "--workflow-id",
        help="workflowId of the execution (default: card-verification-<random UUID>)",
    )
    args = parser.parse_args()
    configure_logging()

    try:
        workflow_id, run_id = start_execution(make_client(), args.card_input, args.workflow_id)
    except ClientError as error:
        logger.error(
            "starting an execution in domain %s failed: %s. Run register.py first if the domain "
            "or the workflow type is not registered.",
            DOMAIN,
            error,
        )
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

    print(f"workflowId={workflow_id}")
    print(f"runId={run_id}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
