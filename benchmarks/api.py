"""Four ways to call SWF with one asyncio interface: the library, raw HTTP, RESP and boto3.

Every scenario drives an :class:`SwfApi`, so one piece of worker and decider code runs
against each interface. The HTTP driver is deliberately lean (aiohttp, orjson, no SigV4) so
that it costs less CPU than the server it measures, and the RESP driver is as lean (redis-py
asyncio, orjson). boto3 calls run in a thread pool of their own, one thread per concurrent
caller, as a threaded boto3 worker fleet would.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

import aiohttp
import orjson
import redis.asyncio
import redis.exceptions

from redswf import AsyncClient

# boto3 and botocore read these before any client exists; nothing may reach a metadata address.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
os.environ.update(AWS_ENV)
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SWF"):
    os.environ.pop(_name, None)

WORKFLOW_TYPE = {"name": "bench-workflow", "version": "1"}
ACTIVITY_TYPE = {"name": "bench-activity", "version": "1"}


class SwfApi(Protocol):
    """One SWF interface; ``call`` takes the API operation name and its request members."""

    name: str

    async def call(self, operation: str, **params: Any) -> dict[str, Any]: ...

    async def close(self) -> None: ...


class LibraryApi:
    """The in-process library client (``redswf.AsyncClient``)."""

    name = "library"

    def __init__(self, redis_url: str, poll_hold: float = 5.0, max_connections: int = 64) -> None:
        from redswf.connection import connect

        self.client = AsyncClient(
            redis=connect(redis_url, max_connections=max_connections),
            poll_hold=poll_hold,
            max_domains=100_000,
        )

    async def call(self, operation: str, **params: Any) -> dict[str, Any]:
        return await self.client.call(operation, **params)

    async def close(self) -> None:
        await self.client.close()
        await self.client.service.redis.aclose()


class ApiError(Exception):
    """An SWF fault sent back over HTTP or RESP; the message contains the fault name."""


# moto routes a request by the service and region in the SigV4 credential scope, and it
# fails with HTTP 500 without one. It checks no signature, so a constant header serves.
MOTO_AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/swf/aws4_request, "
    "SignedHeaders=host, Signature=0"
)


class HttpApi:
    """POST / with the X-Amz-Target header and a JSON body; no signing."""

    name = "http"

    def __init__(self, endpoint: str, connections: int = 0, authorization: str = "") -> None:
        self.endpoint = endpoint
        self._connections = connections
        self._authorization = authorization
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._connections, force_close=False)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=90),
                json_serialize=lambda v: orjson.dumps(v).decode(),
            )
        return self._session

    async def call(self, operation: str, **params: Any) -> dict[str, Any]:
        headers = {
            "X-Amz-Target": f"SimpleWorkflowService.{operation}",
            "Content-Type": "application/x-amz-json-1.0",
        }
        if self._authorization:
            headers["Authorization"] = self._authorization
        async with self._open().post(
            self.endpoint + "/", data=orjson.dumps(params), headers=headers
        ) as response:
            body = await response.read()
        if response.status != 200:
            raise ApiError(f"{operation} failed with HTTP {response.status}: {body[:300]!r}")
        if not body:
            return {}
        result: dict[str, Any] = orjson.loads(body)
        return result

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


# redis-py's asyncio pool rejects a call with MaxConnectionsError once this many connections
# are in use, so "no limit" is a limit no benchmark reaches.
UNLIMITED_CONNECTIONS = 2**31 - 1


class RespApi:
    """``SWF <operation> <json>`` over the Redis protocol, one connection per concurrent call.

    A long poll keeps its connection busy until a task or the server's poll hold ends, so the
    pool opens as many connections as there are calls in flight, up to ``connections``
    (0 for no limit). redis-py's own default limit is 100 connections.
    """

    name = "resp"

    def __init__(self, port: int, connections: int = 0) -> None:
        self._client = redis.asyncio.Redis(
            host="127.0.0.1",
            port=port,
            protocol=2,
            socket_timeout=90,
            max_connections=connections or UNLIMITED_CONNECTIONS,
        )

    async def call(self, operation: str, **params: Any) -> dict[str, Any]:
        try:
            # redis-py 8 leaves the asyncio execute_command without annotations.
            reply = await self._client.execute_command(  # type: ignore[no-untyped-call]
                "SWF", operation, orjson.dumps(params)
            )
        except redis.exceptions.ResponseError as exc:
            raise ApiError(f"{operation} failed: {exc}") from exc
        result: dict[str, Any] = orjson.loads(reply)
        return result

    async def close(self) -> None:
        await self._client.aclose()


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


class Boto3Api:
    """boto3's SWF client; each call runs on one of ``threads`` threads."""

    name = "boto3"

    def __init__(self, endpoint: str, threads: int) -> None:
        import boto3
        from botocore.config import Config

        self._client = boto3.session.Session().client(
            "swf",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=Config(
                read_timeout=90,
                retries={"max_attempts": 1},
                max_pool_connections=threads + 4,
            ),
        )
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="boto3")

    async def call(self, operation: str, **params: Any) -> dict[str, Any]:
        method: Callable[..., dict[str, Any]] = getattr(self._client, _snake(operation))
        loop = asyncio.get_running_loop()
        result: dict[str, Any] = await loop.run_in_executor(self._pool, lambda: method(**params))
        return result

    async def close(self) -> None:
        # Threads still in a long poll end when the server's poll hold ends.
        self._pool.shutdown(wait=True, cancel_futures=True)


def epoch(value: Any) -> float:
    """Return epoch seconds from a float (HTTP, RESP) or a datetime (library, boto3)."""
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


async def register(api: SwfApi, domain: str, task_list: str) -> None:
    """Register a domain with the benchmark's workflow and activity types."""
    await api.call("RegisterDomain", name=domain, workflowExecutionRetentionPeriodInDays="1")
    await api.call(
        "RegisterWorkflowType",
        domain=domain,
        **WORKFLOW_TYPE,
        defaultTaskList={"name": task_list},
        defaultTaskStartToCloseTimeout="600",
        defaultExecutionStartToCloseTimeout="3600",
        defaultChildPolicy="TERMINATE",
    )
    await api.call(
        "RegisterActivityType",
        domain=domain,
        **ACTIVITY_TYPE,
        defaultTaskList={"name": task_list},
        defaultTaskScheduleToStartTimeout="3600",
        defaultTaskScheduleToCloseTimeout="3600",
        defaultTaskStartToCloseTimeout="600",
        defaultTaskHeartbeatTimeout="NONE",
    )


def schedule_decision(activity_id: str, task_list: str, payload: str | None) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "activityType": ACTIVITY_TYPE,
        "activityId": activity_id,
        "taskList": {"name": task_list},
    }
    if payload is not None:
        attrs["input"] = payload
    return {"decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": attrs}


async def gather_limited(
    count: int, concurrency: int, job: Callable[[int], Awaitable[Any]]
) -> None:
    """Run ``job(i)`` for i in range(count), at most ``concurrency`` at a time."""
    next_index = 0

    async def lane() -> None:
        nonlocal next_index
        while next_index < count:
            index = next_index
            next_index += 1
            await job(index)

    await asyncio.gather(*(lane() for _ in range(min(concurrency, count))))


async def start_runs(
    api: SwfApi,
    domain: str,
    prefix: str,
    count: int,
    concurrency: int = 32,
    payload: str | None = None,
) -> dict[str, str]:
    """Start ``count`` executions named ``<prefix>-<i>``; return workflow id to run id."""
    runs = {f"{prefix}-{i}": "" for i in range(count)}
    ids = list(runs)

    async def start(i: int) -> None:
        params: dict[str, Any] = {
            "domain": domain,
            "workflowId": ids[i],
            "workflowType": WORKFLOW_TYPE,
        }
        if payload is not None:
            params["input"] = payload
        started = await api.call("StartWorkflowExecution", **params)
        runs[ids[i]] = started["runId"]

    await gather_limited(count, concurrency, start)
    return runs


async def lease_decisions(
    api: SwfApi, domain: str, task_list: str, count: int, concurrency: int = 32
) -> list[str]:
    """Poll ``count`` decision tasks (already scheduled); return their task tokens."""
    tokens: list[str] = []

    async def poll(_: int) -> None:
        task = await api.call(
            "PollForDecisionTask", domain=domain, taskList={"name": task_list}, maximumPageSize=10
        )
        if not task.get("taskToken"):
            raise RuntimeError(f"expected a decision task in {task_list}, the poll came back empty")
        tokens.append(task["taskToken"])

    await gather_limited(count, concurrency, poll)
    return tokens


async def schedule_activities(
    api: SwfApi,
    domain: str,
    task_list: str,
    executions: int,
    per_execution: int,
    payload: str | None = None,
) -> None:
    """Start executions and have each schedule ``per_execution`` activity tasks."""
    await start_runs(api, domain, "sched", executions)
    tokens = await lease_decisions(api, domain, task_list, executions)

    async def decide(i: int) -> None:
        decisions = [schedule_decision(f"a{j}", task_list, payload) for j in range(per_execution)]
        await api.call("RespondDecisionTaskCompleted", taskToken=tokens[i], decisions=decisions)

    await gather_limited(executions, 4, decide)
