"""The SWF operations on Redis: request in, response out, as dicts in the SWF JSON shapes.

Each operation validates its request against the SWF service model, then runs one Lua
script for a state transition or plain reads for a query. The HTTP server, the RESP server
and the library clients all call :meth:`Service.call`. The operations themselves live in
groups: registration.py (domains and types), executions.py, tasks.py (decision and
activity tasks) and visibility.py (queries and tags).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis

from . import keys
from .errors import SWFError, validation_error
from .executions import ExecutionOperations
from .model import snake_name
from .polling import PollDispatcher
from .registration import RegistrationOperations
from .scripts import Scripts
from .shapes import Handler, ms_to_timestamp, stored_events, text_map
from .tasks import TaskOperations
from .validation import validate_request
from .visibility import VisibilityOperations

logger = logging.getLogger(__name__)

DEFAULT_POLL_HOLD = 55.0  # seconds; under botocore's default 60 s read timeout
MAX_DOMAINS = 100  # SWF's limit per account and region, deprecated domains included


# Region names as they appear in SigV4 credential scopes, e.g. "us-east-1".
REGION_PATTERN = re.compile(r"[a-z0-9-]{1,32}")


@dataclass
class Settings:
    region: str = "us-east-1"
    account_id: str = "123456789012"
    poll_hold: float = DEFAULT_POLL_HOLD
    # Length of one retention day in seconds; tests shorten it to watch expiry happen.
    retention_day_seconds: float = 86400.0
    # Send "taskToken": "" in empty polls instead of leaving the member out.
    empty_poll_token: bool = False
    max_domains: int = MAX_DOMAINS


@dataclass
class CallContext:
    """Per-request facts: the region of the request and whether its client still waits."""

    region: str
    alive: Callable[[], bool] = field(default=lambda: True)
    # History event attributes as stored JSON (orjson.Fragment) instead of dicts; for
    # callers that serialise the result with orjson, such as the HTTP and RESP servers.
    raw_events: bool = False


class Service:
    """All SWF operations over one Redis client."""

    def __init__(self, redis: Redis, settings: Settings | None = None) -> None:
        self.redis = redis
        self.settings = settings or Settings()
        self.scripts = Scripts(redis)
        self.dispatcher = PollDispatcher(redis)
        groups = (
            RegistrationOperations(self),
            ExecutionOperations(self),
            TaskOperations(self),
            VisibilityOperations(self),
        )
        self._handlers: dict[str, Handler] = {
            name: getattr(group, name)
            for group in groups
            for name in dir(group)
            if name.startswith("op_")
        }

    async def close(self) -> None:
        """End open long polls (they return empty) and release the wake-up subscription."""
        await self.dispatcher.close()

    # -- entry point ----------------------------------------------------------------------

    async def call(
        self, operation: str, params: object, context: CallContext | None = None
    ) -> dict[str, Any]:
        """Validate and run one SWF operation; raise SWFError for every fault."""
        request = validate_request(operation, params)
        context = context or CallContext(self.settings.region)
        if not REGION_PATTERN.fullmatch(context.region):
            raise validation_error(f"Invalid region: {context.region!r}")
        handler = self._handlers.get("op_" + snake_name(operation))
        if handler is None:
            raise SWFError("UnknownOperationException", f"Operation {operation} is not supported")
        result: dict[str, Any] | None = await handler(context, request)
        return result or {}

    # -- helpers of the operation groups ----------------------------------------------------

    def domain_keys(self, context: CallContext, domain: str) -> keys.DomainKeys:
        return keys.for_domain(context.region, domain)

    @property
    def day_ms(self) -> int:
        """Length of a retention day in milliseconds, as the scripts take it."""
        return int(self.settings.retention_day_seconds * 1000)

    async def require_domain(self, dk: keys.DomainKeys, name: str) -> dict[str, str]:
        """Return the domain's hash; raise UnknownResourceFault when it does not exist."""
        domain: Any = await self.redis.hgetall(dk.domain)
        if not domain:
            raise SWFError("UnknownResourceFault", f"Unknown domain: {name}")
        return text_map(domain)

    async def history_page(
        self,
        dk: keys.DomainKeys,
        run_id: str,
        lo: int,
        hi: int,
        reverse: bool,
        size: int,
        raw: bool = False,
    ) -> tuple[Any, int]:
        """Read events lo..hi (inclusive); return the page and the next page's first id.

        The page is a list of events, or with ``raw`` their JSON (see ``stored_events``).

        Event n is entry n - 1 of the history list, so a page is one LRANGE.
        """
        count = min(hi - lo + 1, size)
        if count <= 0:
            return [], 0
        first, next_id = (hi - count + 1, hi - count) if reverse else (lo, lo + count)
        if next_id < lo or next_id > hi:
            next_id = 0
        entries: Any = await self.redis.lrange(dk.history(run_id), first - 1, first + count - 2)
        if reverse:
            entries.reverse()
        return stored_events(entries, raw), next_id

    @staticmethod
    def execution_info(run: dict[str, str]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "execution": {"workflowId": run["workflowId"], "runId": run["runId"]},
            "workflowType": {"name": run["typeName"], "version": run["typeVersion"]},
            "startTimestamp": ms_to_timestamp(run["startMs"]),
            "executionStatus": run["status"],
            "cancelRequested": run.get("cancelRequested") == "1",
        }
        if run["status"] == "CLOSED":
            info["closeStatus"] = run["closeStatus"]
            info["closeTimestamp"] = ms_to_timestamp(run["closeMs"])
        if run.get("tagList"):
            info["tagList"] = orjson.loads(run["tagList"])
        if run.get("parentRunId"):
            info["parent"] = {"workflowId": run["parentWorkflowId"], "runId": run["parentRunId"]}
        return info
