"""The RESP server through redis-py, redis-cli and raw sockets, on a real Service.

Each test starts its own RESP server on 127.0.0.1 (port 0) over the session's Redis. The
services run in a region other than us-east-1, so the tests see that a new connection
takes its region from the service's settings. Time bounds below are liveness bounds far
above the expected times.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import socket
import struct
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from redswf import AsyncClient
from redswf.connection import connect
from redswf.model import METHOD_NAMES, OPERATIONS
from redswf.resp import (
    COMMANDS,
    MAX_COMMAND_BYTES,
    MAX_INLINE_BYTES,
    MAX_REQUEST_BYTES,
    close_resp_server,
    start_resp_server,
)
from redswf.service import Service, Settings
from tests.conftest import MAX_DOMAINS, start_serve
from tests.helpers import (
    ACTIVITY_LIST,
    DECISION_LIST,
    WORKFLOW_TYPE,
    complete,
    event_types,
    register_all,
    schedule,
)
from tests.servers import cli_binary

REGION = f"resp-{uuid.uuid4().hex[:8]}"
POLL_HOLD = 1.0
LONG_POLL_HOLD = 30.0  # for tests that act while a poll waits
LIVENESS_SECONDS = 20.0
REDIS_CLI = cli_binary()
EMPTY_ACTIVITY_POLL = {"startedEventId": 0}
EMPTY_DECISION_POLL = {"startedEventId": 0, "previousStartedEventId": 0}
WHOLE_WORKFLOW_EVENTS = [
    "WorkflowExecutionStarted",
    "DecisionTaskScheduled",
    "DecisionTaskStarted",
    "DecisionTaskCompleted",
    "ActivityTaskScheduled",
    "ActivityTaskStarted",
    "ActivityTaskCompleted",
    "DecisionTaskScheduled",
    "DecisionTaskStarted",
    "DecisionTaskCompleted",
    "WorkflowExecutionCompleted",
]


# -- servers and clients ------------------------------------------------------------------


@dataclass
class RespServer:
    """A Service and the RESP server in front of it."""

    service: Service
    redis: Redis
    server: asyncio.Server
    port: int
    closed: bool = False

    async def close(self) -> None:
        """Close as `redswf serve` would: the service first, so open polls end at once."""
        if self.closed:
            return
        self.closed = True
        await self.service.close()
        await close_resp_server(self.server)
        await self.redis.aclose()


StartServer = Callable[..., Awaitable[RespServer]]


@pytest.fixture
async def start_resp(redis_url: str) -> AsyncIterator[StartServer]:
    """A function that starts a RESP server with the given poll hold; all stop at teardown."""
    started: list[RespServer] = []

    async def start(poll_hold: float = POLL_HOLD) -> RespServer:
        redis = connect(redis_url)
        settings = Settings(region=REGION, poll_hold=poll_hold, max_domains=MAX_DOMAINS)
        service = Service(redis, settings)
        server = await start_resp_server(service, "127.0.0.1", 0)
        port = int(server.sockets[0].getsockname()[1])
        running = RespServer(service, redis, server, port)
        started.append(running)
        return running

    yield start
    for running in started:
        await running.close()


@pytest.fixture
async def resp(start_resp: StartServer) -> RespServer:
    return await start_resp()


@pytest.fixture
async def redis_client(resp: RespServer) -> AsyncIterator[Redis]:
    """A redis-py client with its default settings, which send HELLO 3 to switch to RESP3."""
    client = Redis(host="127.0.0.1", port=resp.port)
    yield client
    await client.aclose()


async def send(client: Redis, *args: str | bytes) -> Any:
    """Run one command through redis-py, whose execute_command has no type hints."""
    execute: Callable[..., Awaitable[Any]] = client.execute_command
    return await execute(*args)


async def call_swf(client: Redis, operation: str, params: Any = None) -> dict[str, Any]:
    """Send ``SWF <operation> [<json>]`` and decode the JSON reply."""
    args = [operation] if params is None else [operation, json.dumps(params)]
    reply = await send(client, "SWF", *args)
    result: dict[str, Any] = json.loads(reply)
    return result


class RespSWF:
    """boto3-style methods (``register_domain(name=...)``) that send SWF commands."""

    def __init__(self, client: Redis) -> None:
        self._client = client

    def __getattr__(self, method: str) -> Callable[..., Awaitable[dict[str, Any]]]:
        operation = METHOD_NAMES.get(method)
        if operation is None:
            raise AttributeError(method)

        async def call(**params: Any) -> dict[str, Any]:
            return await call_swf(self._client, operation, params)

        return call


def encode_command(*args: str | bytes) -> bytes:
    """Encode a command as a RESP array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


async def exchange(port: int, data: bytes) -> bytes:
    """Send ``data`` on a new connection, close the sending side, and read until the server
    closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        writer.write_eof()
        return await asyncio.wait_for(reader.read(), LIVENESS_SECONDS)
    finally:
        writer.close()
        await writer.wait_closed()


async def run_redis_cli(port: int, *args: str) -> tuple[int, str, str]:
    """Run redis-cli against the RESP server and return its exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        REDIS_CLI,
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), LIVENESS_SECONDS)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def wait_until(condition: Callable[[], bool], description: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LIVENESS_SECONDS
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting until {description}")
        await asyncio.sleep(0.01)


def domain_params(domain: str) -> dict[str, str]:
    return {"name": domain, "workflowExecutionRetentionPeriodInDays": "1"}


# -- clients ------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [None, 2, 3], ids=["default", "resp2", "resp3"])
async def test_redis_py_register_and_describe(
    resp: RespServer, domain: str, protocol: int | None
) -> None:
    options: dict[str, Any] = {} if protocol is None else {"protocol": protocol}
    client = Redis(host="127.0.0.1", port=resp.port, **options)
    try:
        registered = await send(client, "SWF", "RegisterDomain", json.dumps(domain_params(domain)))
        described = await call_swf(client, "DescribeDomain", {"name": domain})
    finally:
        await client.aclose()

    assert registered == b"{}"
    assert described["domainInfo"]["name"] == domain
    assert described["domainInfo"]["status"] == "REGISTERED"
    assert described["domainInfo"]["arn"].startswith(f"arn:aws:swf:{REGION}:")
    assert described["configuration"] == {"workflowExecutionRetentionPeriodInDays": "1"}


@pytest.mark.skipif(not shutil.which(REDIS_CLI), reason="redis-cli is not installed")
async def test_redis_cli_register_and_describe(resp: RespServer, domain: str) -> None:
    register = await run_redis_cli(resp.port, "registerdomain", json.dumps(domain_params(domain)))
    describe = await run_redis_cli(resp.port, "swf", "DescribeDomain", json.dumps({"name": domain}))
    missing = await run_redis_cli(
        resp.port, "describedomain", json.dumps({"name": f"{domain}-missing"})
    )

    assert register[0] == 0, register
    assert register[1].strip() == "{}"
    assert describe[0] == 0, describe
    assert json.loads(describe[1])["domainInfo"]["name"] == domain
    assert missing[1].strip() == f"UnknownResourceFault Unknown domain: {domain}-missing"


async def test_operation_names(resp: RespServer, redis_client: Redis, domain: str) -> None:
    await send(redis_client, "SWF", "register_domain", json.dumps(domain_params(domain)))

    by_snake_name = await call_swf(redis_client, "describe_domain", {"name": domain})
    by_lowercase = await call_swf(redis_client, "describedomain", {"name": domain})
    as_command = await send(redis_client, "DescribeDomain", json.dumps({"name": domain}))

    assert by_snake_name["domainInfo"]["name"] == domain
    assert by_lowercase == by_snake_name
    assert json.loads(as_command) == by_snake_name


# -- a workflow ---------------------------------------------------------------------------


async def test_whole_workflow(redis_client: Redis, domain: str) -> None:
    swf = RespSWF(redis_client)
    await register_all(swf, domain)
    started = await swf.start_workflow_execution(
        domain=domain, workflowId="resp-order", workflowType=WORKFLOW_TYPE, input="order-1"
    )
    execution = {"workflowId": "resp-order", "runId": started["runId"]}

    first = await swf.poll_for_decision_task(
        domain=domain, taskList={"name": DECISION_LIST}, identity="decider"
    )
    assert "taskToken" in first, first
    await swf.respond_decision_task_completed(
        taskToken=first["taskToken"], decisions=[schedule("charge", "card-1")]
    )

    activity = await swf.poll_for_activity_task(
        domain=domain, taskList={"name": ACTIVITY_LIST}, identity="worker"
    )
    assert activity.get("activityId") == "charge", activity
    assert activity["input"] == "card-1"
    await swf.respond_activity_task_completed(taskToken=activity["taskToken"], result="charged")

    second = await swf.poll_for_decision_task(
        domain=domain, taskList={"name": DECISION_LIST}, identity="decider"
    )
    assert "taskToken" in second, second
    await swf.respond_decision_task_completed(
        taskToken=second["taskToken"], decisions=[complete("done")]
    )

    history = await swf.get_workflow_execution_history(domain=domain, execution=execution)
    assert event_types(history["events"]) == WHOLE_WORKFLOW_EVENTS
    completed = history["events"][-1]["workflowExecutionCompletedEventAttributes"]
    assert completed["result"] == "done"
    described = await swf.describe_workflow_execution(domain=domain, execution=execution)
    assert described["executionInfo"]["executionStatus"] == "CLOSED"
    assert described["executionInfo"]["closeStatus"] == "COMPLETED"


# -- errors -------------------------------------------------------------------------------


async def test_fault_reply_names_fault(redis_client: Redis, domain: str) -> None:
    with pytest.raises(ResponseError) as unknown:
        await call_swf(redis_client, "DescribeDomain", {"name": domain})
    with pytest.raises(ResponseError) as invalid:
        await call_swf(redis_client, "RegisterDomain", {"name": domain})
    await call_swf(redis_client, "RegisterDomain", domain_params(domain))
    with pytest.raises(ResponseError) as duplicate:
        await call_swf(redis_client, "RegisterDomain", domain_params(domain))

    assert str(unknown.value) == f"UnknownResourceFault Unknown domain: {domain}"
    assert str(invalid.value).startswith("ValidationException 1 validation error detected: ")
    assert "workflowExecutionRetentionPeriodInDays" in str(invalid.value)
    assert str(duplicate.value).startswith("DomainAlreadyExistsFault ")


async def test_bad_json_is_serialization_error(redis_client: Redis) -> None:
    with pytest.raises(ResponseError) as not_json:
        await send(redis_client, "SWF", "DescribeDomain", "{name:")
    with pytest.raises(ResponseError) as not_object:
        await send(redis_client, "SWF", "DescribeDomain", "[1, 2]")

    assert str(not_json.value).startswith("SerializationException The request is not JSON: ")
    assert str(not_object.value).startswith("SerializationException ")


async def test_unknown_command_and_operation(redis_client: Redis) -> None:
    with pytest.raises(ResponseError) as command:
        await send(redis_client, "FLUSHALL")
    with pytest.raises(ResponseError) as operation:
        await send(redis_client, "SWF", "DropEverything", "{}")
    with pytest.raises(ResponseError) as arity:
        await send(redis_client, "SWF", "ListDomains", "{}", "extra")

    # redis-py drops the ERR prefix from the message of its ResponseError.
    assert str(command.value).startswith("unknown command 'FLUSHALL'")
    assert str(operation.value).startswith(
        "UnknownOperationException Unknown SWF operation: 'DropEverything'"
    )
    assert str(arity.value) == "wrong number of arguments for 'swf' command"


async def test_internal_error_reply_and_log(
    resp: RespServer,
    redis_client: Redis,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fail(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    monkeypatch.setattr(resp.service, "call", fail)
    with caplog.at_level(logging.ERROR, logger="redswf.resp"):
        with pytest.raises(ResponseError) as failure:
            await call_swf(redis_client, "ListDomains", {"registrationStatus": "REGISTERED"})
        after = await redis_client.ping()

    assert str(failure.value) == "InternalFailure Internal server error"
    assert after is True
    logged = [record for record in caplog.records if record.name == "redswf.resp"]
    assert len(logged) == 1, logged
    assert "ListDomains" in logged[0].getMessage()
    assert logged[0].exc_info is not None


# -- pipelining and inline commands -------------------------------------------------------


async def test_redis_py_pipeline_replies_in_order(redis_client: Redis, domain: str) -> None:
    async with redis_client.pipeline(transaction=False) as pipe:
        pipe.execute_command("SWF", "RegisterDomain", json.dumps(domain_params(domain)))
        pipe.execute_command("SWF", "DescribeDomain", json.dumps({"name": domain}))
        pipe.execute_command("SWF", "DescribeDomain", json.dumps({"name": f"{domain}-x"}))
        pipe.echo("after the fault")
        pipe.execute_command("SWF", "DeprecateDomain", json.dumps({"name": domain}))
        pipe.execute_command("SWF", "DescribeDomain", json.dumps({"name": domain}))
        replies = await pipe.execute(raise_on_error=False)

    assert len(replies) == 6
    assert replies[0] == b"{}"
    assert json.loads(replies[1])["domainInfo"]["status"] == "REGISTERED"
    assert isinstance(replies[2], ResponseError)
    assert str(replies[2]).startswith("UnknownResourceFault ")
    assert replies[3] == b"after the fault"
    assert replies[4] == b"{}"
    assert json.loads(replies[5])["domainInfo"]["status"] == "DEPRECATED"


async def test_raw_pipeline_mixes_arrays_and_inline(resp: RespServer, domain: str) -> None:
    register = json.dumps(domain_params(domain))
    request = (
        encode_command("SWF", "RegisterDomain", register)
        + b"PING\r\n"
        + f"SWF DescribeDomain '{json.dumps({'name': domain})}'\r\n".encode()
        + encode_command("ECHO", "two words")
        + b"\r\n"  # an empty inline line is skipped
        + b'ECHO "quoted words"\n'
        + encode_command("PING")
    )

    reply = await exchange(resp.port, request)

    head, _, rest = reply.partition(b"+PONG\r\n")
    assert head == b"$2\r\n{}\r\n"
    size_line, _, rest = rest.partition(b"\r\n")
    assert size_line.startswith(b"$")
    described = json.loads(rest[: int(size_line[1:])])
    assert described["domainInfo"]["name"] == domain
    assert rest[int(size_line[1:]) :] == (
        b"\r\n$9\r\ntwo words\r\n$12\r\nquoted words\r\n+PONG\r\n"
    )


async def test_connection_commands(resp: RespServer) -> None:
    request = b"".join(
        [
            encode_command("PING", "hello"),
            encode_command("CLIENT", "GETNAME"),
            encode_command("CLIENT", "SETNAME", "worker-1"),
            encode_command("CLIENT", "GETNAME"),
            encode_command("CLIENT", "SETINFO", "LIB-NAME", "test"),
            encode_command("SELECT", "0"),
            encode_command("SELECT", "1"),
            encode_command("AUTH", "secret"),
            encode_command("COMMAND", "COUNT"),
            encode_command("SWF.REGION"),
            encode_command("QUIT"),
            encode_command("PING"),
        ]
    )

    reply = await exchange(resp.port, request)

    lines = reply.split(b"\r\n")
    assert lines[0:2] == [b"$5", b"hello"]
    assert lines[2] == b"$-1"
    assert lines[3] == b"+OK"
    assert lines[4:6] == [b"$8", b"worker-1"]
    assert lines[6] == b"+OK"
    assert lines[7] == b"+OK"
    assert lines[8].startswith(b"-ERR DB index is out of range")
    assert lines[9] == b"-ERR Client sent AUTH, but no password is set"
    assert lines[10] == b":%d" % (len(COMMANDS) + len(OPERATIONS))
    assert lines[11:13] == [b"$%d" % len(REGION), REGION.encode()]
    # QUIT replies OK and closes: the PING after it gets no reply.
    assert lines[13:] == [b"+OK", b""]


async def test_hello_switches_protocol(resp: RespServer) -> None:
    request = b"".join(
        [
            encode_command("HELLO", "3"),
            encode_command("CLIENT", "GETNAME"),
            encode_command("HELLO", "2"),
            encode_command("CLIENT", "GETNAME"),
            encode_command("HELLO", "4"),
            encode_command("HELLO", "3", "AUTH", "default", "secret"),
        ]
    )

    reply = await exchange(resp.port, request)

    resp3_hello, _, rest = reply.partition(b"_\r\n")
    assert resp3_hello.startswith(b"%7\r\n$6\r\nserver\r\n$6\r\nredswf\r\n")
    assert b"$5\r\nproto\r\n:3\r\n" in resp3_hello
    resp2_hello, _, rest = rest.partition(b"$-1\r\n")
    assert resp2_hello.startswith(b"*14\r\n")
    assert b"$5\r\nproto\r\n:2\r\n" in resp2_hello
    assert rest == (
        b"-NOPROTO unsupported protocol version: use 2 or 3\r\n"
        b"-ERR Client sent AUTH, but no password is set\r\n"
    )


async def test_command_docs_and_list(redis_client: Redis) -> None:
    # redis-py parses the reply of a command named COMMAND as COMMAND's own reply, so
    # the subcommand goes into the first argument, as redis-py's command_list() does.
    names = await send(redis_client, "COMMAND LIST")
    docs = await send(redis_client, "COMMAND DOCS", "swf", "registerdomain")

    assert b"swf" in names
    assert b"registerdomain" in names
    assert len(names) == len(COMMANDS) + len(OPERATIONS)
    assert set(docs) == {b"swf", b"registerdomain"}
    assert b"RegisterDomain" in docs[b"registerdomain"][b"summary"]


async def test_region_per_connection(resp: RespServer, domain: str) -> None:
    other_region = f"{REGION}-b"
    first = Redis(host="127.0.0.1", port=resp.port)
    second = Redis(host="127.0.0.1", port=resp.port, single_connection_client=True)
    try:
        switched = await send(second, "SWF.REGION", other_region)
        current_region = await send(second, "SWF.REGION")
        await call_swf(second, "RegisterDomain", domain_params(domain))
        in_other_region = await call_swf(second, "DescribeDomain", {"name": domain})
        with pytest.raises(ResponseError) as in_default_region:
            await call_swf(first, "DescribeDomain", {"name": domain})
        with pytest.raises(ResponseError) as invalid:
            await send(second, "SWF.REGION", "Not A Region")
    finally:
        await first.aclose()
        await second.aclose()

    assert switched == b"OK"
    assert current_region == other_region.encode()
    assert in_other_region["domainInfo"]["arn"].startswith(f"arn:aws:swf:{other_region}:")
    assert str(in_default_region.value).startswith("UnknownResourceFault ")
    assert str(invalid.value).startswith("ValidationException Invalid region: ")


# -- long polls ---------------------------------------------------------------------------


async def test_idle_long_poll_returns_empty(redis_client: Redis, domain: str) -> None:
    await call_swf(redis_client, "RegisterDomain", domain_params(domain))

    activity = await call_swf(
        redis_client,
        "PollForActivityTask",
        {"domain": domain, "taskList": {"name": ACTIVITY_LIST}},
    )
    decision = await call_swf(
        redis_client,
        "PollForDecisionTask",
        {"domain": domain, "taskList": {"name": DECISION_LIST}},
    )

    assert activity == EMPTY_ACTIVITY_POLL
    assert decision == EMPTY_DECISION_POLL


@pytest.mark.parametrize("close_mode", ["close", "reset"])
async def test_gone_poller_does_not_take_task(
    start_resp: StartServer, domain: str, caplog: pytest.LogCaptureFixture, close_mode: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="redswf.resp")
    resp = await start_resp(poll_hold=LONG_POLL_HOLD)
    client = Redis(host="127.0.0.1", port=resp.port)
    swf = RespSWF(client)
    try:
        await register_all(swf, domain)
        started = await swf.start_workflow_execution(
            domain=domain, workflowId="gone-poller", workflowType=WORKFLOW_TYPE
        )
        execution = {"workflowId": "gone-poller", "runId": started["runId"]}
        decision = await swf.poll_for_decision_task(domain=domain, taskList={"name": DECISION_LIST})
        assert "taskToken" in decision, decision

        poll = {"domain": domain, "taskList": {"name": ACTIVITY_LIST}, "identity": "gone"}
        _, writer = await asyncio.open_connection("127.0.0.1", resp.port)
        writer.write(encode_command("SWF", "PollForActivityTask", json.dumps(poll)))
        await writer.drain()
        await wait_until(lambda: resp.service.dispatcher.waiting == 1, "the poll waits")
        host, port = writer.get_extra_info("sockname")[:2]
        if close_mode == "reset":
            # A zero linger time makes close() send RST instead of FIN.
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()
        expected = "closed its connection" if close_mode == "close" else "read failed"
        await wait_until(
            lambda: any(
                f"{host}:{port}" in record.getMessage() and expected in record.getMessage()
                for record in caplog.records
            ),
            "the server reads the disconnect",
        )

        await swf.respond_decision_task_completed(
            taskToken=decision["taskToken"], decisions=[schedule("after-disconnect")]
        )
        fresh = await swf.poll_for_activity_task(
            domain=domain, taskList={"name": ACTIVITY_LIST}, identity="fresh"
        )
        await wait_until(lambda: resp.service.dispatcher.waiting == 0, "the gone poll ends")
        history = await swf.get_workflow_execution_history(domain=domain, execution=execution)
    finally:
        await client.aclose()

    assert fresh.get("activityId") == "after-disconnect", fresh
    starts = [e for e in history["events"] if e["eventType"] == "ActivityTaskStarted"]
    assert len(starts) == 1, starts
    assert starts[0]["activityTaskStartedEventAttributes"]["identity"] == "fresh"


async def test_close_server_ends_open_poll(start_resp: StartServer, domain: str) -> None:
    resp = await start_resp(poll_hold=LONG_POLL_HOLD)
    client = Redis(host="127.0.0.1", port=resp.port)
    try:
        await call_swf(client, "RegisterDomain", domain_params(domain))
        poll = asyncio.create_task(
            call_swf(
                client,
                "PollForActivityTask",
                {"domain": domain, "taskList": {"name": ACTIVITY_LIST}},
            )
        )
        await wait_until(lambda: resp.service.dispatcher.waiting == 1, "the poll waits")
        await asyncio.wait_for(resp.close(), LIVENESS_SECONDS)
        result = await asyncio.wait_for(poll, LIVENESS_SECONDS)
    finally:
        await client.aclose()

    assert result == EMPTY_ACTIVITY_POLL
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", resp.port)


# -- bad input ----------------------------------------------------------------------------

# Requests that break the protocol: each gets an error reply and its connection closes.
PROTOCOL_ERRORS = {
    "bad array length": b"*abc\r\n",
    "simple string argument": b"*1\r\n+PING\r\n",
    "integer argument": b"*2\r\n$4\r\nECHO\r\n:5\r\n",
    "nested array": b"*1\r\n*1\r\n$4\r\nPING\r\n",
    "missing CRLF after bulk string": b"*1\r\n$4\r\nPINGxx",
    "negative bulk length": b"*1\r\n$-5\r\n",
    "too many arguments": b"*100000\r\n",
    "unbalanced quotes": b"PING 'open\r\n",
    "inline line too long": b"A" * (MAX_INLINE_BYTES + 10),
    "binary noise": bytes(range(256)) * 4,
}


@pytest.mark.parametrize("request_bytes", PROTOCOL_ERRORS.values(), ids=PROTOCOL_ERRORS.keys())
async def test_garbage_gets_protocol_error(
    resp: RespServer, request_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    reply = await exchange(resp.port, request_bytes + encode_command("PING"))
    client = Redis(host="127.0.0.1", port=resp.port)
    try:
        later = await client.ping()
    finally:
        await client.aclose()

    assert reply.endswith(b"\r\n"), reply
    last_line = reply[:-2].rsplit(b"\r\n", 1)[-1]
    assert last_line.startswith(b"-ERR Protocol error: "), reply
    assert b"+PONG" not in reply
    assert later is True
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_huge_nested_array_header(resp: RespServer) -> None:
    # hiredis allocates the list of a nested array header before its elements arrive.
    reply = await exchange(resp.port, b"*1\r\n*4294967295\r\n")
    client = Redis(host="127.0.0.1", port=resp.port)
    try:
        later = await client.ping()
    finally:
        await client.aclose()

    assert reply in (b"", b"-ERR Protocol error: an array length is too large\r\n")
    assert later is True


async def test_oversize_command_rejected(redis_client: Redis, domain: str) -> None:
    too_large = json.dumps({"name": "x" * (MAX_COMMAND_BYTES + 1)})
    just_over_request_limit = json.dumps({"name": "x" * MAX_REQUEST_BYTES})

    with pytest.raises(ResponseError) as command_error:
        await call_swf_raw(redis_client, too_large)
    with pytest.raises(ResponseError) as request_error:
        await call_swf_raw(redis_client, just_over_request_limit)
    await call_swf(redis_client, "RegisterDomain", domain_params(domain))

    assert str(command_error.value).startswith(
        f"Protocol error: the command is larger than {MAX_COMMAND_BYTES} bytes"
    )
    assert str(request_error.value) == (
        f"ValidationException The request is larger than {MAX_REQUEST_BYTES} bytes"
    )


async def call_swf_raw(client: Redis, body: str) -> Any:
    return await send(client, "SWF", "DescribeDomain", body)


def test_serve_resp_option(redis_url: str, tmp_path: Path, domain: str) -> None:
    port_file = tmp_path / "resp-port"
    server = start_serve(
        tmp_path, "--redis", redis_url, "--resp-port", "0", "--resp-port-file", str(port_file)
    )
    try:
        port = port_file.read_text().strip()
        body = json.dumps({"name": domain, "workflowExecutionRetentionPeriodInDays": "1"})
        cli = REDIS_CLI
        registered = subprocess.run(
            [cli, "-h", "127.0.0.1", "-p", port, "SWF", "RegisterDomain", body],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        assert registered.stdout.strip() == "{}", registered
        described = subprocess.run(
            [cli, "-h", "127.0.0.1", "-p", port, "describedomain", json.dumps({"name": domain})],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        assert json.loads(described.stdout)["domainInfo"]["name"] == domain
    finally:
        assert server.stop() == 0
    assert "RESP server listening" in server.log()


async def test_resp_events_match_the_library_events(
    redis_client: Redis, redis_url: str, domain: str
) -> None:
    """Events go out as their stored JSON and come back as the library reads them."""
    awkward = 'quote " backslash \\ newline \n nul-ish \u0001 pipe | ünïcødé 🚀'
    swf = RespSWF(redis_client)
    await register_all(swf, domain)
    started = await swf.start_workflow_execution(
        domain=domain, workflowId="awkward", workflowType=WORKFLOW_TYPE, input=awkward
    )
    execution = {"workflowId": "awkward", "runId": started["runId"]}
    await swf.signal_workflow_execution(
        domain=domain, workflowId="awkward", signalName="s|1", input=awkward
    )
    task = await swf.poll_for_decision_task(domain=domain, taskList={"name": DECISION_LIST})
    page = await swf.get_workflow_execution_history(domain=domain, execution=execution)
    async with AsyncClient(redis_url, region_name=REGION, max_domains=MAX_DOMAINS) as library:
        expected = (
            await library.get_workflow_execution_history(domain=domain, execution=execution)
        )["events"]
    for event in expected:
        event["eventTimestamp"] = event["eventTimestamp"].timestamp()
    assert page["events"] == expected
    assert task["events"] == expected
    assert expected[0]["workflowExecutionStartedEventAttributes"]["input"] == awkward
