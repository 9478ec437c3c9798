"""Run the whole card verification example in one process.

Registers the domain and types, starts one execution, runs the decider and the activity
worker in threads until the execution closes, then prints its history. Exits 0 if the
workflow completed and 1 otherwise.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from common import (
    DEFAULT_CARD_INPUT,
    DOMAIN,
    configure_logging,
    endpoint_label,
    make_client,
    make_identity,
)
from decider import Event, event_attributes, run_decider
from register import register_all
from start import start_execution
from worker import run_worker

logger = logging.getLogger("card_verification.run_all")

DEFAULT_TIMEOUT_SECONDS = 120.0
STATUS_POLL_INTERVAL_SECONDS = 0.5
THREAD_JOIN_TIMEOUT_SECONDS = 2.0
MAX_VALUE_LENGTH = 100

# Attributes printed for each history event, in this order, when the event has them.
KEY_ATTRIBUTES = (
    "workflowType",
    "activityType",
    "activityId",
    "taskList",
    "input",
    "result",
    "reason",
    "details",
    "cause",
    "timeoutType",
    "identity",
    "scheduledEventId",
    "startedEventId",
)


def start_poller_thread(
    name: str, target: Callable[[], object], stop: threading.Event
) -> threading.Thread:
    """Start a daemon thread that runs a poll loop and sets ``stop`` if the loop raises."""

    def run() -> None:
        try:
            target()
        except Exception:
            logger.exception("%s stopped with an error", name)
            stop.set()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


def fetch_close_status(client: Any, workflow_id: str, run_id: str) -> str | None:
    """Return the closeStatus of the execution, or None while it is open."""
    response = client.describe_workflow_execution(
        domain=DOMAIN, execution={"workflowId": workflow_id, "runId": run_id}
    )
    info = response["executionInfo"]
    if info["executionStatus"] != "CLOSED":
        return None
    return str(info.get("closeStatus"))


def wait_for_close(
    client: Any, workflow_id: str, run_id: str, timeout: float, stop: threading.Event
) -> str | None:
    """Wait until the execution closes. Returns its closeStatus, or None on timeout or stop."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        close_status = fetch_close_status(client, workflow_id, run_id)
        if close_status is not None:
            return close_status
        stop.wait(STATUS_POLL_INTERVAL_SECONDS)
    return None


def fetch_history(client: Any, workflow_id: str, run_id: str) -> list[Event]:
    """Return all history events of an execution, oldest first, following nextPageToken."""
    events: list[Event] = []
    request: dict[str, Any] = {
        "domain": DOMAIN,
        "execution": {"workflowId": workflow_id, "runId": run_id},
    }
    while True:
        page = client.get_workflow_execution_history(**request)
        events.extend(page.get("events", []))
        next_page_token = page.get("nextPageToken")
        if not next_page_token:
            return events
        request["nextPageToken"] = next_page_token


def format_value(value: object) -> str:
    """Format an attribute value compactly: types as name/version, task lists by name."""
    if isinstance(value, dict):
        if "name" in value and "version" in value:
            return f"{value['name']}/{value['version']}"
        if "name" in value:
            return str(value["name"])
    if isinstance(value, str):
        if len(value) > MAX_VALUE_LENGTH:
            value = value[: MAX_VALUE_LENGTH - 3] + "..."
        return repr(value)
    return str(value)


def format_event(event: Event) -> str:
    attributes = event_attributes(event)
    timestamp = event.get("eventTimestamp")
    time_text = timestamp.strftime("%H:%M:%S.%f")[:-3] if isinstance(timestamp, datetime) else ""
    details = " ".join(
        f"{key}={format_value(attributes[key])}" for key in KEY_ATTRIBUTES if key in attributes
    )
    return f"{event['eventId']:>4} {time_text:<12} {event['eventType']:<34} {details}".rstrip()


def run_demo(card_input: str, timeout: float) -> int:
    """Run the demo and return the process exit code."""
    client = make_client()
    register_all(client)
    workflow_id, run_id = start_execution(client, card_input)

    stop = threading.Event()
    decider_client = make_client()
    worker_client = make_client()
    threads = [
        start_poller_thread(
            "decider",
            lambda: run_decider(decider_client, make_identity("decider"), stop=stop),
            stop,
        ),
        start_poller_thread(
            "worker",
            lambda: run_worker(worker_client, make_identity("worker"), stop=stop),
            stop,
        ),
    ]

    try:
        close_status = wait_for_close(client, workflow_id, run_id, timeout, stop)
    finally:
        stop.set()

    if close_status is None:
        # The pollers may have closed the execution while they were being stopped.
        close_status = fetch_close_status(client, workflow_id, run_id)

    print(f"History of workflowId={workflow_id} runId={run_id}:")
    for event in fetch_history(client, workflow_id, run_id):
        print(format_event(event))

    # NOTE: a poller still inside a long poll is waited for only briefly. If the server hands
    # it a task after the process exits, nobody handles that task until it times out.
    for thread in threads:
        thread.join(THREAD_JOIN_TIMEOUT_SECONDS)

    if close_status is None:
        logger.error(
            "execution workflowId=%s runId=%s did not close within %.1f s or a poller failed",
            workflow_id,
            run_id,
            timeout,
        )
        return 1
    print(f"closeStatus={close_status}")
    return 0 if close_status == "COMPLETED" else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "card_input",
        nargs="?",
        default=DEFAULT_CARD_INPUT,
        help=f"card as NNNN-NNNN-NNNN-NNNN,MM/YY,CVV (default: {DEFAULT_CARD_INPUT})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"seconds to wait for the execution to close (default: {DEFAULT_TIMEOUT_SECONDS:.0f})",
    )
    args = parser.parse_args()
    if args.timeout <= 0:
        parser.error(f"--timeout must be positive, got {args.timeout}")
    configure_logging()

    try:
        return run_demo(args.card_input, args.timeout)
    except ClientError as error:
        logger.error("SWF request in domain %s failed: %s", DOMAIN, error)
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


if __name__ == "__main__":
    raise SystemExit(main())
