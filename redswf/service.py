"""The SWF operations on Redis: request in, response out, as dicts in the SWF JSON shapes.

Each operation validates its request against the SWF service model, then runs one Lua
script for a state transition or plain reads for a query. The HTTP server, the RESP server
and the library clients all call :meth:`Service.call`.
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
from .polling import PollDispatcher
from .scripts import Scripts
from .tokens import (
    TaskToken,
    decode_page_token,
    encode_page_token,
    new_run_id,
    new_secret,
    parse_task_token,
)
from .validation import validate_request
from .visibility import VisibilityOperations, check_resource_tags

logger = logging.getLogger(__name__)

DEFAULT_POLL_HOLD = 55.0  # seconds; under botocore's default 60 s read timeout
MAX_PAGE_SIZE = 1000
MAX_DOMAINS = 100  # SWF's limit per account and region, deprecated domains included

CLOSE_DECISIONS = frozenset(
    {
        "CompleteWorkflowExecution",
        "FailWorkflowExecution",
        "CancelWorkflowExecution",
        "ContinueAsNewWorkflowExecution",
    }
)

RUN_STARTING_DECISIONS = frozenset(
    {"StartChildWorkflowExecution", "ContinueAsNewWorkflowExecution"}
)

# Region names as they appear in SigV4 credential scopes, e.g. "us-east-1".
REGION_PATTERN = re.compile(r"[a-z0-9-]{1,32}")
_WORKFLOW_DEFAULTS = (
    "defaultTaskStartToCloseTimeout",
    "defaultExecutionStartToCloseTimeout",
    "defaultTaskPriority",
    "defaultChildPolicy",
    "defaultLambdaRole",
)
_ACTIVITY_DEFAULTS = (
    "defaultTaskStartToCloseTimeout",
    "defaultTaskHeartbeatTimeout",
    "defaultTaskPriority",
    "defaultTaskScheduleToStartTimeout",
    "defaultTaskScheduleToCloseTimeout",
)


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


def _camel(name: str) -> str:
    return name[0].lower() + name[1:]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _ms_to_ts(ms: str | int) -> float:
    return int(ms) / 1000.0


def event_dict(entry: list[Any]) -> dict[str, Any]:
    """Turn a stored event ``[id, type, ts, attrs json]`` into an SWF HistoryEvent."""
    event_id, event_type, ts, attrs = entry
    return {
        "eventId": int(event_id),
        "eventTimestamp": float(ts),
        "eventType": event_type,
        _camel(event_type) + "EventAttributes": orjson.loads(attrs),
    }


def _stream_event(entry: tuple[bytes, dict[bytes, bytes]]) -> dict[str, Any]:
    entry_id, fields = entry
    return event_dict(
        [
            entry_id.split(b"-", 1)[0],
            fields[b"type"].decode(),
            fields[b"ts"].decode(),
            fields[b"attrs"],
        ]
    )


def _text_map(raw: Any) -> dict[str, str]:
    """Decode a HGETALL reply."""
    return {k.decode(): v.decode() for k, v in raw.items()}


def _page_size(params: dict[str, Any]) -> int:
    return int(params.get("maximumPageSize") or MAX_PAGE_SIZE)


def _page_int(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise validation_error("Invalid token")
    return value


class Service:
    """All SWF operations over one Redis client."""

    def __init__(self, redis: Redis, settings: Settings | None = None) -> None:
        self.redis = redis
        self.settings = settings or Settings()
        self.scripts = Scripts(redis)
        self.dispatcher = PollDispatcher(redis)
        self.visibility = VisibilityOperations(self)

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
        name = "op_" + _snake(operation)
        handler = getattr(self, name, None) or getattr(self.visibility, name, None)
        if handler is None:
            raise SWFError("UnknownOperationException", f"Operation {operation} is not supported")
        result: dict[str, Any] | None = await handler(context, request)
        return result or {}

    def _keys(self, context: CallContext, domain: str) -> keys.DomainKeys:
        return keys.for_domain(context.region, domain)

    def _arn(self, region: str, domain: str) -> str:
        return f"arn:aws:swf:{region}:{self.settings.account_id}:/domain/{domain}"

    @property
    def _day_ms(self) -> int:
        return int(self.settings.retention_day_seconds * 1000)

    async def _require_domain(self, dk: keys.DomainKeys, name: str) -> dict[str, str]:
        domain: Any = await self.redis.hgetall(dk.domain)
        if not domain:
            raise SWFError("UnknownResourceFault", f"Unknown domain: {name}")
        return _text_map(domain)

    # -- domains --------------------------------------------------------------------------

    async def op_register_domain(self, ctx: CallContext, p: dict[str, Any]) -> None:
        name = p["name"]
        registry = keys.registry_key(ctx.region)
        tags = p.get("tags") or []
        check_resource_tags(tags)
        if len(tags) > 50:
            raise SWFError("TooManyTagsFault", "A domain can have at most 50 tags")
        limit = self.settings.max_domains
        if await self.redis.hlen(registry) >= limit and not await self.redis.hexists(
            registry, name
        ):
            raise SWFError("LimitExceededFault", f"The region already has {limit} domains")
        dk = self._keys(ctx, name)
        args = {
            "name": name,
            "retention": p["workflowExecutionRetentionPeriodInDays"],
            "description": p.get("description"),
            "tags": [[t["key"], t.get("value", "")] for t in tags],
        }
        try:
            await self.scripts.run("domain_register", dk.prefix, args)
        finally:
            # The registry lives in another slot: written after the domain's own script,
            # and again on every later registration attempt, so a crash between the two
            # writes heals itself.
            if await self.redis.exists(dk.domain):
                await self.redis.hset(registry, name, "1")

    async def op_describe_domain(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        name = p["name"]
        domain = await self._require_domain(self._keys(ctx, name), name)
        return self._domain_detail(ctx.region, domain)

    def _domain_info(self, region: str, domain: dict[str, str]) -> dict[str, Any]:
        info = {
            "name": domain["name"],
            "status": domain["status"],
            "arn": self._arn(region, domain["name"]),
        }
        if domain.get("description"):
            info["description"] = domain["description"]
        return info

    def _domain_detail(self, region: str, domain: dict[str, str]) -> dict[str, Any]:
        return {
            "domainInfo": self._domain_info(region, domain),
            "configuration": {"workflowExecutionRetentionPeriodInDays": domain["retention"]},
        }

    async def op_deprecate_domain(self, ctx: CallContext, p: dict[str, Any]) -> None:
        dk = self._keys(ctx, p["name"])
        await self.scripts.run("domain_deprecate", dk.prefix, {"name": p["name"]})

    async def op_undeprecate_domain(self, ctx: CallContext, p: dict[str, Any]) -> None:
        dk = self._keys(ctx, p["name"])
        await self.scripts.run("domain_undeprecate", dk.prefix, {"name": p["name"]})

    async def op_list_domains(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        registered: Any = await self.redis.hkeys(keys.registry_key(ctx.region))
        names = sorted(n.decode() for n in registered)
        # Statuses come from each domain's own hash, the source of truth.
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(self._keys(ctx, name).domain)
            rows = await pipe.execute()
        domains = [{k.decode(): v.decode() for k, v in row.items()} for row in rows if row]
        wanted = [d for d in domains if d["status"] == p["registrationStatus"]]
        page, token = self._name_page(wanted, p, "domains", lambda d: [d["name"]])
        result: dict[str, Any] = {"domainInfos": [self._domain_info(ctx.region, d) for d in page]}
        if token:
            result["nextPageToken"] = token
        return result

    def _name_page(
        self,
        items: list[dict[str, str]],
        p: dict[str, Any],
        kind: str,
        sort_key: Callable[[dict[str, str]], list[str]],
    ) -> tuple[list[dict[str, str]], str | None]:
        """Sort by ``sort_key`` (reversed on request) and cut one page after the token's key."""
        reverse = bool(p.get("reverseOrder"))
        items.sort(key=sort_key, reverse=reverse)
        if p.get("nextPageToken"):
            after = decode_page_token(p["nextPageToken"], kind).get("after")
            if not isinstance(after, list):
                raise validation_error("Invalid token")
            if reverse:
                items = [i for i in items if sort_key(i) < after]
            else:
                items = [i for i in items if sort_key(i) > after]
        size = _page_size(p)
        if len(items) <= size:
            return items, None
        page = items[:size]
        return page, encode_page_token({"k": kind, "after": sort_key(page[-1])})

    # -- types ----------------------------------------------------------------------------

    async def _register_type(
        self, ctx: CallContext, p: dict[str, Any], kind: str, members: tuple[str, ...]
    ) -> None:
        defaults = {m: p[m] for m in members if p.get(m) is not None}
        if p.get("defaultTaskList"):
            defaults["defaultTaskList"] = p["defaultTaskList"]["name"]
        args = {
            "kind": kind,
            "domain": p["domain"],
            "name": p["name"],
            "version": p["version"],
            "description": p.get("description"),
            "defaults": defaults,
        }
        await self.scripts.run("type_register", self._keys(ctx, p["domain"]).prefix, args)

    async def op_register_workflow_type(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._register_type(ctx, p, "workflow", _WORKFLOW_DEFAULTS)

    async def op_register_activity_type(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._register_type(ctx, p, "activity", _ACTIVITY_DEFAULTS)

    async def _change_type(
        self, ctx: CallContext, p: dict[str, Any], kind: str, action: str
    ) -> None:
        t = p[f"{kind}Type"]
        args = {
            "kind": kind,
            "action": action,
            "domain": p["domain"],
            "name": t["name"],
            "version": t["version"],
        }
        await self.scripts.run("type_change", self._keys(ctx, p["domain"]).prefix, args)

    async def op_deprecate_workflow_type(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._change_type(ctx, p, "workflow", "deprecate")

    async def op_undeprecate_workflow_type(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._change_type(ctx, p, "workflow", "undeprecate")

    async def op_delete_workflow_type(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._change_type(ctx, p, "workflow", "delete")

    async def op_deprecate_activity_type(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._change_type(ctx, p, "activity", "deprecate")

    async def op_undeprecate_activity_type(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._change_type(ctx, p, "activity", "undeprecate")

    async def op_delete_activity_type(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._change_type(ctx, p, "activity", "delete")

    @staticmethod
    def _type_info(kind: str, t: dict[str, str]) -> dict[str, Any]:
        info: dict[str, Any] = {
            f"{kind}Type": {"name": t["name"], "version": t["version"]},
            "status": t["status"],
            "creationDate": _ms_to_ts(t["creationDate"]),
        }
        if t.get("description"):
            info["description"] = t["description"]
        if t.get("deprecationDate"):
            info["deprecationDate"] = _ms_to_ts(t["deprecationDate"])
        return info

    async def _describe_type(
        self, ctx: CallContext, p: dict[str, Any], kind: str, members: tuple[str, ...]
    ) -> dict[str, Any]:
        dk = self._keys(ctx, p["domain"])
        ref = p[f"{kind}Type"]
        raw: Any = await self.redis.hgetall(dk.type(kind, ref["name"], ref["version"]))
        if not raw:
            await self._require_domain(dk, p["domain"])
            label = "WorkflowType" if kind == "workflow" else "ActivityType"
            raise SWFError(
                "UnknownResourceFault",
                f"Unknown type: {label}=[name={ref['name']}, version={ref['version']}]",
            )
        t = _text_map(raw)
        configuration: dict[str, Any] = {m: t[m] for m in members if m in t}
        if "defaultTaskList" in t:
            configuration["defaultTaskList"] = {"name": t["defaultTaskList"]}
        return {"typeInfo": self._type_info(kind, t), "configuration": configuration}

    async def op_describe_workflow_type(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._describe_type(ctx, p, "workflow", _WORKFLOW_DEFAULTS)

    async def op_describe_activity_type(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._describe_type(ctx, p, "activity", _ACTIVITY_DEFAULTS)

    async def _list_types(self, ctx: CallContext, p: dict[str, Any], kind: str) -> dict[str, Any]:
        dk = self._keys(ctx, p["domain"])
        await self._require_domain(dk, p["domain"])
        stored: Any = await self.redis.zrange(dk.types(kind), 0, -1)
        members = [m.decode() for m in stored]
        if p.get("name"):
            members = [m for m in members if m.split(":", 1)[0] == p["name"]]
        async with self.redis.pipeline(transaction=False) as pipe:
            for member in members:
                name, version = member.split(":", 1)
                pipe.hgetall(dk.type(kind, name, version))
            rows = await pipe.execute()
        types = [_text_map(row) for row in rows if row]
        wanted = [t for t in types if t["status"] == p["registrationStatus"]]
        page, token = self._name_page(
            wanted, p, f"{kind}types", lambda t: [t["name"], t["version"]]
        )
        result: dict[str, Any] = {"typeInfos": [self._type_info(kind, t) for t in page]}
        if token:
            result["nextPageToken"] = token
        return result

    async def op_list_workflow_types(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        return await self._list_types(ctx, p, "workflow")

    async def op_list_activity_types(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        return await self._list_types(ctx, p, "activity")

    # -- executions -----------------------------------------------------------------------

    async def op_start_workflow_execution(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        args = dict(p)
        args["runId"] = new_run_id()
        if p.get("taskList"):
            args["taskList"] = p["taskList"]["name"]
        run_id = await self.scripts.run(
            "execution_start", self._keys(ctx, p["domain"]).prefix, args
        )
        return {"runId": run_id}

    async def _run(self, dk: keys.DomainKeys, p: dict[str, Any]) -> dict[str, str]:
        execution = p["execution"]
        raw: Any = await self.redis.hgetall(dk.run(execution["runId"]))
        run = _text_map(raw)
        if not run or run["workflowId"] != execution["workflowId"]:
            await self._require_domain(dk, p["domain"])
            raise SWFError(
                "UnknownResourceFault",
                "Unknown execution: WorkflowExecution=[workflowId="
                f"{execution['workflowId']}, runId={execution['runId']}]",
            )
        return run

    @staticmethod
    def execution_info(run: dict[str, str]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "execution": {"workflowId": run["workflowId"], "runId": run["runId"]},
            "workflowType": {"name": run["typeName"], "version": run["typeVersion"]},
            "startTimestamp": _ms_to_ts(run["startMs"]),
            "executionStatus": run["status"],
            "cancelRequested": run.get("cancelRequested") == "1",
        }
        if run["status"] == "CLOSED":
            info["closeStatus"] = run["closeStatus"]
            info["closeTimestamp"] = _ms_to_ts(run["closeMs"])
        if run.get("tagList"):
            info["tagList"] = orjson.loads(run["tagList"])
        if run.get("parentRunId"):
            info["parent"] = {"workflowId": run["parentWorkflowId"], "runId": run["parentRunId"]}
        return info

    async def op_describe_workflow_execution(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        run = await self._run(self._keys(ctx, p["domain"]), p)
        configuration: dict[str, Any] = {
            "taskStartToCloseTimeout": run["taskTimeout"],
            "executionStartToCloseTimeout": run["execTimeout"],
            "taskList": {"name": run["taskList"]},
            "childPolicy": run["childPolicy"],
            "taskPriority": run["taskPriority"],
        }
        if run.get("lambdaRole"):
            configuration["lambdaRole"] = run["lambdaRole"]
        detail: dict[str, Any] = {
            "executionInfo": self.execution_info(run),
            "executionConfiguration": configuration,
            "openCounts": {
                "openActivityTasks": int(run["openActivities"]),
                "openDecisionTasks": 1 if run.get("dtState") in ("scheduled", "started") else 0,
                "openTimers": int(run["openTimers"]),
                "openChildWorkflowExecutions": int(run["openChildren"]),
                "openLambdaFunctions": 0,
            },
        }
        if run.get("latestActivityMs"):
            detail["latestActivityTaskTimestamp"] = _ms_to_ts(run["latestActivityMs"])
        if "latestExecutionContext" in run:
            detail["latestExecutionContext"] = run["latestExecutionContext"]
        return detail

    async def op_get_workflow_execution_history(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        dk = self._keys(ctx, p["domain"])
        run = await self._run(dk, p)
        reverse = bool(p.get("reverseOrder"))
        lo, hi = 1, int(run["lastEventId"])
        if p.get("nextPageToken"):
            token = decode_page_token(p["nextPageToken"], "h")
            if token.get("r") != run["runId"] or token.get("v") != reverse:
                raise validation_error("Invalid token")
            if reverse:
                hi = _page_int(token, "n")
            else:
                lo = _page_int(token, "n")
        events, next_id = await self._history_page(dk, run["runId"], lo, hi, reverse, _page_size(p))
        result: dict[str, Any] = {"events": events}
        if next_id:
            result["nextPageToken"] = encode_page_token(
                {"k": "h", "r": run["runId"], "v": reverse, "n": next_id}
            )
        return result

    async def _history_page(
        self, dk: keys.DomainKeys, run_id: str, lo: int, hi: int, reverse: bool, size: int
    ) -> tuple[list[dict[str, Any]], int]:
        """Read events lo..hi (inclusive); return the page and the next page's first id."""
        entries: Any
        if reverse:
            entries = await self.redis.xrevrange(
                dk.history(run_id), str(hi), f"{lo}-0", count=size + 1
            )
        else:
            entries = await self.redis.xrange(
                dk.history(run_id), f"{lo}-0", str(hi), count=size + 1
            )
        next_id = 0
        if len(entries) > size:
            next_id = int(entries[size][0].split(b"-", 1)[0])
            entries = entries[:size]
        return [_stream_event(e) for e in entries], next_id

    async def op_signal_workflow_execution(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._execution_script(ctx, "execution_signal", {**p, "dayMs": self._day_ms})

    async def op_request_cancel_workflow_execution(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> None:
        await self._execution_script(ctx, "execution_request_cancel", {**p, "dayMs": self._day_ms})

    async def op_terminate_workflow_execution(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._execution_script(ctx, "execution_terminate", {**p, "dayMs": self._day_ms})

    async def _execution_script(self, ctx: CallContext, script: str, p: dict[str, Any]) -> None:
        dk = self._keys(ctx, p["domain"])
        try:
            await self.scripts.run(script, dk.prefix, p)
        except SWFError as exc:
            if exc.code == "UnknownResourceFault":
                await self._require_domain(dk, p["domain"])
            raise

    # -- decision tasks -------------------------------------------------------------------

    async def op_poll_for_decision_task(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        dk = self._keys(ctx, p["domain"])
        if p.get("nextPageToken"):
            return await self._decision_task_page(dk, p)
        task_list = p["taskList"]["name"]
        reverse = bool(p.get("reverseOrder"))
        secret = new_secret()
        args = {
            "domain": p["domain"],
            "taskList": task_list,
            "identity": p.get("identity"),
            "secret": secret,
            "pageSize": _page_size(p),
            "reverse": reverse,
            "fromPrevious": bool(p.get("startAtPreviousStartedEvent")),
            "dayMs": self._day_ms,
        }

        async def lease() -> dict[str, Any] | None:
            task: dict[str, Any] = await self.scripts.run("decision_lease", dk.prefix, args)
            if not task:
                return None
            if not ctx.alive() and await self._unlease(dk, "decision", task, secret):
                return None
            return task

        task = await self.dispatcher.wait_for_task(
            dk.wake_channel,
            "d",
            task_list,
            lease,
            self.settings.poll_hold,
            ctx.alive,
            lambda t: bool(t.get("more")),
        )
        if task is None:
            return self._empty_poll(decision=True)
        token = str(
            TaskToken(
                ctx.region, p["domain"], task["runId"], "d", str(task["startedEventId"]), secret
            )
        )
        logger.debug(
            "decision task leased: runId=%s startedEventId=%s",
            task["runId"],
            task["startedEventId"],
        )
        result = self._decision_task(token, task, [event_dict(e) for e in task["events"]])
        if task["nextEventId"]:
            result["nextPageToken"] = self._decision_page_token(
                token, task, reverse, task["lo"], task["hi"], task["nextEventId"]
            )
        return result

    def _empty_poll(self, decision: bool) -> dict[str, Any]:
        result: dict[str, Any] = {"startedEventId": 0}
        if decision:
            result["previousStartedEventId"] = 0
        if self.settings.empty_poll_token:
            result["taskToken"] = ""
        return result

    @staticmethod
    def _decision_task(token: str, task: dict[str, Any], events: list[Any]) -> dict[str, Any]:
        return {
            "taskToken": token,
            "startedEventId": task["startedEventId"],
            "previousStartedEventId": task["previousStartedEventId"],
            "workflowExecution": {"workflowId": task["workflowId"], "runId": task["runId"]},
            "workflowType": {"name": task["typeName"], "version": task["typeVersion"]},
            "events": events,
        }

    @staticmethod
    def _decision_page_token(
        token: str, task: dict[str, Any], reverse: bool, lo: int, hi: int, next_id: int
    ) -> str:
        return encode_page_token(
            {
                "k": "d",
                "t": token,
                "w": task["workflowId"],
                "ty": [task["typeName"], task["typeVersion"]],
                "s": task["startedEventId"],
                "p": task["previousStartedEventId"],
                "v": reverse,
                "lo": lo,
                "hi": hi,
                "n": next_id,
            }
        )

    async def _decision_task_page(self, dk: keys.DomainKeys, p: dict[str, Any]) -> dict[str, Any]:
        """Return the next history page of an already leased decision task; no new lease."""
        data = decode_page_token(p["nextPageToken"], "d")
        reverse = bool(p.get("reverseOrder"))
        token_text = data.get("t")
        type_ref = data.get("ty")
        if (
            not isinstance(token_text, str)
            or not isinstance(type_ref, list)
            or len(type_ref) != 2
            or data.get("v") != reverse
        ):
            raise validation_error("Invalid token")
        token = parse_task_token(token_text, "d")
        if keys.for_domain(token.region, token.domain) != dk:
            raise validation_error("Invalid token")
        lo, hi, next_id = _page_int(data, "lo"), _page_int(data, "hi"), _page_int(data, "n")
        if reverse:
            hi = next_id
        else:
            lo = next_id
        events, following = await self._history_page(
            dk, token.run_id, lo, hi, reverse, _page_size(p)
        )
        task = {
            "runId": token.run_id,
            "workflowId": data.get("w"),
            "typeName": type_ref[0],
            "typeVersion": type_ref[1],
            "startedEventId": _page_int(data, "s"),
            "previousStartedEventId": _page_int(data, "p"),
        }
        result = self._decision_task(token_text, task, events)
        if following:
            result["nextPageToken"] = self._decision_page_token(
                token_text, task, reverse, _page_int(data, "lo"), _page_int(data, "hi"), following
            )
        return result

    async def op_respond_decision_task_completed(self, ctx: CallContext, p: dict[str, Any]) -> None:
        token = parse_task_token(p["taskToken"], "d")
        decisions = self._check_decisions(p.get("decisions") or [])
        args: dict[str, Any] = {
            "runId": token.run_id,
            "startedEventId": token.event_id,
            "secret": token.secret,
            "decisions": decisions,
            "executionContext": p.get("executionContext"),
            "taskList": (p.get("taskList") or {}).get("name"),
            "taskListScheduleToStartTimeout": p.get("taskListScheduleToStartTimeout"),
            "dayMs": self._day_ms,
        }
        await self.scripts.run(
            "decision_complete", keys.domain_prefix(token.region, token.domain), args
        )

    @staticmethod
    def _check_decisions(decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Reject a batch the whole request must fail on; return the items for the script.

        Each item is ``{decisionType, attrs}``, plus a fresh ``newRunId`` for decisions that
        start a run.
        """
        checked = []
        for index, decision in enumerate(decisions, start=1):
            decision_type = decision["decisionType"]
            if decision_type in CLOSE_DECISIONS and index != len(decisions):
                raise validation_error("Close must be last decision in list")
            attrs = decision.get(_camel(decision_type) + "DecisionAttributes") or {}
            item = {"decisionType": decision_type, "attrs": attrs}
            if decision_type in RUN_STARTING_DECISIONS:
                item["newRunId"] = new_run_id()
            checked.append(item)
        return checked

    # -- activity tasks -------------------------------------------------------------------

    async def op_poll_for_activity_task(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        dk = self._keys(ctx, p["domain"])
        task_list = p["taskList"]["name"]
        secret = new_secret()
        args = {
            "domain": p["domain"],
            "taskList": task_list,
            "identity": p.get("identity"),
            "secret": secret,
            "dayMs": self._day_ms,
        }

        async def lease() -> dict[str, Any] | None:
            task: dict[str, Any] = await self.scripts.run("activity_lease", dk.prefix, args)
            if not task:
                return None
            if not ctx.alive() and await self._unlease(dk, "activity", task, secret):
                return None
            return task

        task = await self.dispatcher.wait_for_task(
            dk.wake_channel,
            "a",
            task_list,
            lease,
            self.settings.poll_hold,
            ctx.alive,
            lambda t: bool(t.get("more")),
        )
        if task is None:
            return self._empty_poll(decision=False)
        token = TaskToken(
            ctx.region, p["domain"], task["runId"], "a", str(task["scheduledEventId"]), secret
        )
        result: dict[str, Any] = {
            "taskToken": str(token),
            "activityId": task["activityId"],
            "startedEventId": task["startedEventId"],
            "workflowExecution": {"workflowId": task["workflowId"], "runId": task["runId"]},
            "activityType": {"name": task["typeName"], "version": task["typeVersion"]},
        }
        if task.get("input") is not None:
            result["input"] = task["input"]
        return result

    async def _unlease(
        self, dk: keys.DomainKeys, kind: str, task: dict[str, Any], secret: str
    ) -> bool:
        args = {
            "kind": kind,
            "runId": task["runId"],
            "scheduledEventId": str(task.get("scheduledEventId", "")),
            "startedEventId": str(task["startedEventId"]),
            "secret": secret,
        }
        undone = bool(await self.scripts.run("task_unlease", dk.prefix, args))
        logger.info(
            "poller left before its %s task was sent: runId=%s lease %s",
            kind,
            task["runId"],
            "undone" if undone else "kept (history moved on)",
        )
        return undone

    async def _activity_script(self, script: str, p: dict[str, Any], **extra: Any) -> Any:
        token = parse_task_token(p["taskToken"], "a")
        args = {
            "runId": token.run_id,
            "scheduledEventId": token.event_id,
            "secret": token.secret,
            "dayMs": self._day_ms,
            **extra,
        }
        return await self.scripts.run(script, keys.domain_prefix(token.region, token.domain), args)

    async def op_respond_activity_task_completed(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._activity_script(
            "activity_close", p, outcome="completed", result=p.get("result")
        )

    async def op_respond_activity_task_failed(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._activity_script(
            "activity_close", p, outcome="failed", reason=p.get("reason"), details=p.get("details")
        )

    async def op_respond_activity_task_canceled(self, ctx: CallContext, p: dict[str, Any]) -> None:
        await self._activity_script(
            "activity_close", p, outcome="canceled", details=p.get("details")
        )

    async def op_record_activity_task_heartbeat(
        self, ctx: CallContext, p: dict[str, Any]
    ) -> dict[str, Any]:
        cancel = await self._activity_script("activity_heartbeat", p, details=p.get("details"))
        return {"cancelRequested": bool(cancel)}
