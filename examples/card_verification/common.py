"""Shared settings of the card verification example: names, the boto3 client and the poll loop.

Environment variables:

- ``SWF_ENDPOINT_URL``: SWF endpoint, default ``http://127.0.0.1:8080`` (``redswf serve``).
  Set it to an empty string to use boto3's Amazon SWF endpoint for the region.
- ``AWS_DEFAULT_REGION``: region, default ``us-east-1``.
- ``SWF_DOMAIN``: domain, default ``card-verification``.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

DEFAULT_ENDPOINT_URL = "http://127.0.0.1:8080"
DEFAULT_REGION = "us-east-1"

DOMAIN = os.environ.get("SWF_DOMAIN", "card-verification")
WORKFLOW_NAME = "cardVerification"
WORKFLOW_VERSION = "1.0"
ACTIVITY_NAME = "activityVerify"
ACTIVITY_VERSION = "1.0"
DECISION_TASK_LIST = "verify-decisions"
ACTIVITY_TASK_LIST = "verify-activities"

DEFAULT_CARD_INPUT = "5634-0056-4367-0922,12/30,437"

# SWF keeps a long poll open for up to 60 s, so the read timeout must be longer.
READ_TIMEOUT_SECONDS = 70
CONNECT_TIMEOUT_SECONDS = 10
MAX_ATTEMPTS = 4

# A poll that returns empty faster than this did not long-poll (some SWF emulators return at
# once), so the loop pauses before the next poll instead of spinning.
FAST_EMPTY_POLL_SECONDS = 1.0
EMPTY_POLL_PAUSE_SECONDS = 0.2
POLL_RETRY_BASE_SECONDS = 0.5
POLL_RETRY_MAX_SECONDS = 10.0

MAX_IDENTITY_LENGTH = 256

TaskT = TypeVar("TaskT")


def configure_environment() -> None:
    """Set the AWS variables that keep botocore away from instance metadata and local profiles.

    Instance metadata is always disabled. Dummy keys are set unless ``AWS_ACCESS_KEY_ID`` or
    ``AWS_PROFILE`` is set, and the config and credentials files point at /dev/null unless
    they are set explicitly.
    """
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    if "AWS_ACCESS_KEY_ID" not in os.environ and "AWS_PROFILE" not in os.environ:
        os.environ["AWS_ACCESS_KEY_ID"] = "dummy-access-key"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "dummy-secret-key"
    os.environ.setdefault("AWS_CONFIG_FILE", os.devnull)
    os.environ.setdefault("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


def endpoint_url() -> str | None:
    """Return the configured SWF endpoint, or None for boto3's default Amazon endpoint."""
    return os.environ.get("SWF_ENDPOINT_URL", DEFAULT_ENDPOINT_URL) or None


def endpoint_label() -> str:
    """Return the endpoint URL for log messages."""
    return endpoint_url() or "the Amazon SWF endpoint of the region"


def make_client() -> Any:
    """Create a boto3 ``swf`` client for the configured endpoint and region."""
    configure_environment()
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},
    )
    return boto3.session.Session().client(
        "swf",
        endpoint_url=endpoint_url(),
        region_name=os.environ.get("AWS_DEFAULT_REGION", DEFAULT_REGION),
        config=config,
    )


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # botocore logs "Found credentials in environment variables" at INFO on every client.
    logging.getLogger("botocore.credentials").setLevel(logging.WARNING)


def positive_int(text: str) -> int:
    """Parse a command-line integer that must be at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def make_identity(role: str) -> str:
    """Return the poller identity recorded in the history: role, host name and process id."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}"[:MAX_IDENTITY_LENGTH]


def run_poll_loop(
    poll: Callable[[], TaskT | None],
    handle: Callable[[TaskT], None],
    *,
    logger: logging.Logger,
    max_tasks: int | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Poll for tasks and handle each one until ``max_tasks`` were handled or ``stop`` is set.

    ``poll`` returns None for an empty poll. Failed polls are logged and retried with
    exponential backoff, without limit. Returns the number of tasks handled.
    """
    stop = stop if stop is not None else threading.Event()
    handled = 0
    consecutive_failures = 0

    while not stop.is_set() and (max_tasks is None or handled < max_tasks):
        poll_started = time.monotonic()
        try:
            task = poll()
        except (BotoCoreError, ClientError) as error:
            consecutive_failures += 1
            exponent = min(consecutive_failures - 1, 10)
            delay = min(POLL_RETRY_BASE_SECONDS * 2**exponent, POLL_RETRY_MAX_SECONDS)
            logger.error(
                "poll failed (%d consecutive failures), retrying in %.1f s: %s",
                consecutive_failures,
                delay,
                error,
            )
            stop.wait(delay)
            continue

        consecutive_failures = 0
        if task is None:
            if time.monotonic() - poll_started < FAST_EMPTY_POLL_SECONDS:
                stop.wait(EMPTY_POLL_PAUSE_SECONDS)
            continue

        handled += 1
        handle(task)

    return handled
