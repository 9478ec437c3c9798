"""Long polls against real `redswf serve` processes: wake-ups across processes, the empty
response of an idle poll, Redis connections of waiting pollers, and clients that leave
mid-poll.

Each test starts the servers it needs with the poll hold it needs. Time bounds below are
liveness bounds far above the expected times, so a slow machine does not fail them.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.conftest import ServeProcess, make_boto3_client, start_serve
from tests.helpers import (
    ACTIVITY_LIST,
    DECISION_LIST,
    WORKFLOW_TYPE,
    poll_in_thread,
    register_all_sync,
    schedule,
)
from tests.servers import RunningServer

JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
EMPTY_ACTIVITY_POLL = {"startedEventId": 0}
EMPTY_DECISION_POLL = {"startedEventId": 0, "previousStartedEventId": 0}
# Upper bound for joining a poller thread beyond its poll hold.
JOIN_MARGIN_SECONDS = 15.0


def without_metadata(response: dict[str, Any] | None) -> dict[str, Any] | None:
    if response is None:
        return None
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def start_execution(swf: Any, domain: str, workflow_id: str) -> dict[str, str]:
    started = swf.start_workflow_execution(
        domain=domain, workflowId=workflow_id, workflowType=WORKFLOW_TYPE
    )
    return {"workflowId": workflow_id, "runId": started["runId"]}


def take_decision_task(swf: Any, domain: str) -> dict[str, Any]:
    """Poll the decision list until a task comes (at most three polls)."""
    for _ in range(3):
        task: dict[str, Any] = swf.poll_for_decision_task(
            domain=domain, taskList={"name": DECISION_LIST}
        )
        if "taskToken" in task:
            return task
    raise AssertionError(f"no decision task came in domain {domain}")


def read_history(swf: Any, domain: str, execution: dict[str, str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    pages = swf.get_paginator("get_workflow_execution_history").paginate(
        domain=domain, execution=execution
    )
    for page in pages:
        events.extend(page["events"])
    return events


def started_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [event for event in events if event["eventType"] == "ActivityTaskStarted"]


@pytest.fixture
def servers() -> Iterator[list[ServeProcess]]:
    """Servers that the test starts and appends, all stopped at teardown.

    Teardown fails when a server does not exit with code 0 on SIGTERM.
    """
    started: list[ServeProcess] = []
    yield started
    exit_codes = [server.stop() for server in started]
    for server, exit_code in zip(started, exit_codes, strict=True):
        assert exit_code == 0, f"redswf serve exited with {exit_code}\nlog:\n{server.log()}"


async def post_json(
    session: aiohttp.ClientSession, endpoint: str, operation: str, body: dict[str, Any]
) -> tuple[int, bytes]:
    """Send one unsigned SWF JSON request and return the HTTP status and the raw body."""
    headers = {
        "X-Amz-Target": f"SimpleWorkflowService.{operation}",
        "Content-Type": JSON_CONTENT_TYPE,
    }
    async with session.post(f"{endpoint}/", data=json.dumps(body), headers=headers) as response:
        return response.status, await response.read()


# -- wake-ups across processes ------------------------------------------------------------


def test_activity_poll_woken_by_other_process(
    swf: Any, redis_url: str, domain: str, tmp_path: Path, servers: list[ServeProcess]
) -> None:
    hold = 20.0
    waiting_server = start_serve(tmp_path, "--redis", redis_url, poll_hold=hold)
    servers.append(waiting_server)
    waiting_swf = make_boto3_client(waiting_server.endpoint)
    register_all_sync(swf, domain)
    execution = start_execution(swf, domain, "wake-activity")
    decision = take_decision_task(swf, domain)

    thread, result = poll_in_thread(
        waiting_swf.poll_for_activity_task,
        domain=domain,
        taskList={"name": ACTIVITY_LIST},
        identity="waiting-poller",
    )
    time.sleep(1.0)
    assert thread.is_alive(), (
        f"the poll on an empty list returned before any task was scheduled: "
        f"{result.response or result.error}"
    )

    scheduled_at = time.monotonic()
    swf.respond_decision_task_completed(
        taskToken=decision["taskToken"], decisions=[schedule("wake-me", "payload")]
    )
    thread.join(timeout=hold + JOIN_MARGIN_SECONDS)

    assert not thread.is_alive(), (
        f"the poll did not return within its hold\nserver log:\n{waiting_server.log()}"
    )
    assert result.error is None, f"the poll failed: {result.error!r}"
    assert result.response is not None
    assert "taskToken" in result.response, (
        f"the poll returned no task, so the schedule in another process did not wake it: "
        f"{without_metadata(result.response)}"
    )
    assert result.response["activityId"] == "wake-me"
    assert result.response["input"] == "payload"
    assert result.response["workflowExecution"] == execution
    waited = result.returned_at - scheduled_at
    assert waited < 10.0, f"the task reached the waiting poll {waited:.1f} s after the schedule"


def test_decision_poll_woken_by_other_process(
    swf: Any, redis_url: str, domain: str, tmp_path: Path, servers: list[ServeProcess]
) -> None:
    hold = 20.0
    waiting_server = start_serve(tmp_path, "--redis", redis_url, poll_hold=hold)
    servers.append(waiting_server)
    waiting_swf = make_boto3_client(waiting_server.endpoint)
    register_all_sync(swf, domain)

    thread, result = poll_in_thread(
        waiting_swf.poll_for_decision_task, domain=domain, taskList={"name": DECISION_LIST}
    )
    time.sleep(1.0)
    assert thread.is_alive(), (
        f"the decision poll on an empty list returned early: {result.response or result.error}"
    )

    started_at = time.monotonic()
    execution = start_execution(swf, domain, "wake-decision")
    thread.join(timeout=hold + JOIN_MARGIN_SECONDS)

    assert not thread.is_alive(), (
        f"the decision poll did not return within its hold\nserver log:\n{waiting_server.log()}"
    )
    assert result.error is None, f"the decision poll failed: {result.error!r}"
    assert result.response is not None
    assert "taskToken" in result.response, (
        f"the decision poll returned no task, so the start in another process did not wake "
        f"it: {without_metadata(result.response)}"
    )
    assert result.response["workflowExecution"] == execution
    assert result.response["startedEventId"] > 0
    waited = result.returned_at - started_at
    assert waited < 10.0, f"the decision task reached the poll {waited:.1f} s after the start"


# -- idle polls ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ("PollForActivityTask", EMPTY_ACTIVITY_POLL),
        ("PollForDecisionTask", EMPTY_DECISION_POLL),
    ],
)
async def test_idle_poll_returns_empty_shape(
    swf: Any,
    redis_url: str,
    domain: str,
    tmp_path: Path,
    servers: list[ServeProcess],
    operation: str,
    expected: dict[str, int],
) -> None:
    hold = 1.0
    server = start_serve(tmp_path, "--redis", redis_url, poll_hold=hold)
    servers.append(server)
    swf.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1")

    body = {"domain": domain, "taskList": {"name": "nobody-schedules-here"}}
    async with aiohttp.ClientSession() as session:
        began = time.monotonic()
        status, raw = await post_json(session, server.endpoint, operation, body)
        elapsed = time.monotonic() - began

    assert status == 200, f"{operation} returned HTTP {status}: {raw!r}"
    output = json.loads(raw)
    assert output == expected, f"{operation} returned {output} from an idle poll"
    assert "taskToken" not in output
    # A loose check that the poll waited at all, not a measurement of the hold.
    assert elapsed >= hold / 2, f"{operation} returned after {elapsed:.2f} s, before its hold"
    assert elapsed < hold + JOIN_MARGIN_SECONDS, f"{operation} took {elapsed:.1f} s"


@dataclass
class PollBurst:
    """Responses and timings of many concurrent idle polls, and the Redis connections seen
    meanwhile."""

    responses: list[tuple[int, bytes]]
    # monotonic times at which each poll was sent and returned
    sent_at: list[float]
    returned_at: list[float]
    connections_before: int
    peak_connections: list[dict[str, Any]]


async def run_idle_poll_burst(
    redis_server: RunningServer,
    endpoint: str,
    domain: str,
    pollers: int,
    hold: float,
    batch_size: int,
    batch_interval: float,
) -> PollBurst:
    """Send ``pollers`` idle PollForActivityTask requests, ``batch_size`` at a time every
    ``batch_interval`` seconds, and sample CLIENT LIST every 0.1 s until all have returned."""
    body = {"domain": domain, "taskList": {"name": ACTIVITY_LIST}}
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=hold + JOIN_MARGIN_SECONDS)
    sent_at = [0.0] * pollers
    returned_at = [0.0] * pollers

    async def timed_poll(session: aiohttp.ClientSession, index: int) -> tuple[int, bytes]:
        sent_at[index] = time.monotonic()
        response = await post_json(session, endpoint, "PollForActivityTask", body)
        returned_at[index] = time.monotonic()
        return response

    async def send_in_batches(session: aiohttp.ClientSession) -> list[tuple[int, bytes]]:
        polls = []
        for index in range(pollers):
            if index and index % batch_size == 0:
                await asyncio.sleep(batch_interval)
            polls.append(asyncio.create_task(timed_poll(session, index)))
        return await asyncio.gather(*polls)

    with redis_server.client() as redis_client:
        connections_before = len(redis_client.client_list())
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            burst = asyncio.create_task(send_in_batches(session))
            # Sampling covers the whole wait, the arrivals included.
            peak: list[dict[str, Any]] = []
            while not burst.done():
                connections = redis_client.client_list()
                if len(connections) > len(peak):
                    peak = connections
                await asyncio.sleep(0.1)
            responses = await burst
    return PollBurst(responses, sent_at, returned_at, connections_before, peak)


async def test_idle_poll_burst_all_return_empty(
    redis_server: RunningServer,
    swf: Any,
    redis_url: str,
    domain: str,
    tmp_path: Path,
    servers: list[ServeProcess],
) -> None:
    """200 idle polls sent at the same moment to one process all get the empty response."""
    pollers = 200
    hold = 3.0
    server = start_serve(tmp_path, "--redis", redis_url, poll_hold=hold)
    servers.append(server)
    swf.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1")

    burst = await run_idle_poll_burst(
        redis_server, server.endpoint, domain, pollers, hold, batch_size=pollers, batch_interval=0
    )

    statuses = Counter(status for status, _ in burst.responses)
    failures = [raw for status, raw in burst.responses if status != 200]
    assert statuses == {200: pollers}, (
        f"HTTP statuses of {pollers} idle polls: {dict(statuses)}; first error body: "
        f"{failures[:1]}\nserver log:\n{server.log()[-2000:]}"
    )
    bodies = Counter(raw for _, raw in burst.responses)
    assert len(bodies) == 1, f"the idle polls returned different bodies: {list(bodies)[:5]}"
    assert json.loads(next(iter(bodies))) == EMPTY_ACTIVITY_POLL
    new_connections = len(burst.peak_connections) - burst.connections_before
    assert new_connections < pollers, (
        f"{pollers} polls sent at once opened {new_connections} Redis connections"
    )


async def test_idle_pollers_share_redis_connections(
    redis_server: RunningServer,
    swf: Any,
    redis_url: str,
    domain: str,
    tmp_path: Path,
    servers: list[ServeProcess],
) -> None:
    """200 polls that wait at the same time hold no Redis connection each.

    The polls arrive in batches of 10 over about one second, as a worker fleet's do. A
    burst of polls sent at the same moment makes the server's pool open a connection for
    each concurrent first lease, up to the pool's limit, so it would not show whether
    waiting polls hold connections.
    """
    pollers = 200
    hold = 5.0
    max_new_connections = 50
    server = start_serve(tmp_path, "--redis", redis_url, poll_hold=hold)
    servers.append(server)
    swf.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1")

    burst = await run_idle_poll_burst(
        redis_server, server.endpoint, domain, pollers, hold, batch_size=10, batch_interval=0.05
    )

    statuses = Counter(status for status, _ in burst.responses)
    assert statuses == {200: pollers}, f"HTTP statuses of the idle polls: {dict(statuses)}"
    last_sent = max(burst.sent_at)
    first_returned = min(burst.returned_at)
    assert last_sent < first_returned, (
        f"the polls did not all wait at the same time: the last was sent "
        f"{last_sent - first_returned:.2f} s after the first returned"
    )

    peak = burst.peak_connections
    new_connections = len(peak) - burst.connections_before
    commands = Counter(str(connection.get("cmd")) for connection in peak)
    assert new_connections < max_new_connections, (
        f"{pollers} waiting polls opened {new_connections} Redis connections "
        f"({burst.connections_before} before, {len(peak)} at the peak; last command of "
        f"each: {dict(commands)})"
    )


# -- clients that leave mid-poll ----------------------------------------------------------


def open_raw_poll(endpoint: str, domain: str, identity: str) -> socket.socket:
    """Send PollForActivityTask over a plain socket and leave the response unread."""
    address = urlsplit(endpoint)
    host, port = address.hostname, address.port
    assert host is not None and port is not None, endpoint
    body = json.dumps(
        {"domain": domain, "taskList": {"name": ACTIVITY_LIST}, "identity": identity}
    ).encode()
    head = (
        "POST / HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "X-Amz-Target: SimpleWorkflowService.PollForActivityTask\r\n"
        f"Content-Type: {JSON_CONTENT_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    ).encode()
    connection = socket.create_connection((host, port), timeout=5.0)
    connection.sendall(head + body)
    return connection


@pytest.mark.parametrize("close_mode", ["close", "reset"])
@pytest.mark.parametrize("fresh_poller_waits", [True, False], ids=["waiting", "after"])
def test_gone_poller_does_not_take_task(
    swf: Any,
    redis_url: str,
    domain: str,
    tmp_path: Path,
    servers: list[ServeProcess],
    close_mode: str,
    fresh_poller_waits: bool,
) -> None:
    """A poll whose client closed its connection must not lease the next task.

    With ``fresh_poller_waits`` the fresh poll waits in the same process before the task is
    scheduled, so the gone poll, which waited longer, is the first one woken.
    """
    hold = 10.0
    server = start_serve(tmp_path, "--redis", redis_url, poll_hold=hold)
    servers.append(server)
    server_swf = make_boto3_client(server.endpoint)
    register_all_sync(swf, domain)
    execution = start_execution(swf, domain, "gone-poller")
    decision = take_decision_task(swf, domain)

    connection = open_raw_poll(server.endpoint, domain, "gone-poller")
    connection.settimeout(1.0)
    try:
        early = connection.recv(4096)
    except TimeoutError:
        early = None
    assert early is None, f"the poll on an empty list returned before the disconnect: {early!r}"
    if close_mode == "reset":
        # A zero linger time makes close() send RST instead of FIN.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()
    time.sleep(0.5)  # lets the server read the disconnect before the task exists

    fresh_params = {
        "domain": domain,
        "taskList": {"name": ACTIVITY_LIST},
        "identity": "fresh-poller",
    }
    waiting_poll = None
    if fresh_poller_waits:
        waiting_poll = poll_in_thread(server_swf.poll_for_activity_task, **fresh_params)
        time.sleep(0.5)
        assert waiting_poll[0].is_alive(), f"the fresh poll returned early: {waiting_poll[1]}"

    swf.respond_decision_task_completed(
        taskToken=decision["taskToken"], decisions=[schedule("after-disconnect", "payload")]
    )

    thread, result = waiting_poll or poll_in_thread(
        server_swf.poll_for_activity_task, **fresh_params
    )
    thread.join(timeout=hold + JOIN_MARGIN_SECONDS)
    assert not thread.is_alive(), (
        f"the fresh poll did not return within its hold\nserver log:\n{server.log()}"
    )
    assert result.error is None, f"the fresh poll failed: {result.error!r}"
    assert result.response is not None
    assert "taskToken" in result.response, (
        f"the fresh poll got no task, so the gone poller took it: "
        f"{without_metadata(result.response)}\nserver log:\n{server.log()}"
    )
    assert result.response["activityId"] == "after-disconnect"

    events = read_history(swf, domain, execution)
    starts = started_events(events)
    assert len(starts) == 1, f"{len(starts)} ActivityTaskStarted events: {starts}"
    identity = starts[0]["activityTaskStartedEventAttributes"].get("identity")
    assert identity == "fresh-poller", f"the task started for {identity!r}"
    assert starts[0]["eventId"] == result.response["startedEventId"]

    server_swf.respond_activity_task_completed(
        taskToken=result.response["taskToken"], result="done"
    )
    events = read_history(swf, domain, execution)
    assert [event["eventType"] for event in events].count("ActivityTaskCompleted") == 1


def test_pollers_in_two_processes_one_task(
    swf: Any, redis_url: str, domain: str, tmp_path: Path, servers: list[ServeProcess]
) -> None:
    hold = 4.0
    for _ in range(2):
        servers.append(start_serve(tmp_path, "--redis", redis_url, poll_hold=hold))
    register_all_sync(swf, domain)
    execution = start_execution(swf, domain, "two-pollers")
    decision = take_decision_task(swf, domain)

    polls = []
    for number, server in enumerate(servers):
        server_swf = make_boto3_client(server.endpoint)
        polls.append(
            poll_in_thread(
                server_swf.poll_for_activity_task,
                domain=domain,
                taskList={"name": ACTIVITY_LIST},
                identity=f"poller-{number}",
            )
        )
    time.sleep(1.0)
    for number, (thread, result) in enumerate(polls):
        assert thread.is_alive(), f"poller-{number} returned early: {result.response}"

    swf.respond_decision_task_completed(
        taskToken=decision["taskToken"], decisions=[schedule("only-one", "payload")]
    )
    for thread, _ in polls:
        thread.join(timeout=hold + JOIN_MARGIN_SECONDS)

    responses = []
    for number, (thread, result) in enumerate(polls):
        assert not thread.is_alive(), f"poller-{number} did not return within its hold"
        assert result.error is None, f"poller-{number} failed: {result.error!r}"
        responses.append(without_metadata(result.response))
    winners = [response for response in responses if response and "taskToken" in response]
    assert len(winners) == 1, f"{len(winners)} pollers got the task: {responses}"
    assert winners[0]["activityId"] == "only-one"
    losers = [response for response in responses if response is not winners[0]]
    assert losers == [EMPTY_ACTIVITY_POLL], f"the other poller returned {losers}"

    starts = started_events(read_history(swf, domain, execution))
    assert len(starts) == 1, f"{len(starts)} ActivityTaskStarted events: {starts}"
