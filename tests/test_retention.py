"""Retention: a closed execution, its history and its index entries expire after the
domain's retention period, and nothing else goes with them.

A retention day is shortened to a second, so expiry happens within the test. The tests
wait for it with a bounded poll and assert what remains, never how fast.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from redswf import AsyncClient, keys
from tests.conftest import MAX_DOMAINS, make_boto3_client, start_serve
from tests.helpers import (
    DECISION_LIST,
    WORKFLOW_TYPE,
    complete,
    register_all,
    register_all_sync,
)

EPOCH = {"oldestDate": 0}
DAY_SECONDS = 1.0


@pytest.fixture
async def swf(redis_url: str) -> AsyncIterator[AsyncClient]:
    """A library client whose retention day lasts a second, with a timer service."""
    async with AsyncClient(
        redis_url,
        poll_hold=1.0,
        max_domains=MAX_DOMAINS,
        retention_day_seconds=DAY_SECONDS,
        run_timers=True,
    ) as library_client:
        yield library_client


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    connection = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    yield connection
    await connection.aclose()


async def start(swf: AsyncClient, domain: str, workflow_id: str, tags: list[str]) -> str:
    run = await swf.start_workflow_execution(
        domain=domain, workflowId=workflow_id, workflowType=WORKFLOW_TYPE, tagList=tags
    )
    run_id: str = run["runId"]
    return run_id


async def is_known(swf: AsyncClient, domain: str, workflow_id: str, run_id: str) -> bool:
    try:
        await swf.describe_workflow_execution(
            domain=domain, execution={"workflowId": workflow_id, "runId": run_id}
        )
    except swf.exceptions.UnknownResourceFault:
        return False
    return True


async def wait_until_expired(
    swf: AsyncClient, domain: str, workflow_id: str, run_id: str, wait: float = 20.0
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while loop.time() < deadline:
        if not await is_known(swf, domain, workflow_id, run_id):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{workflow_id} did not expire within {wait} s")


async def mentions(raw: redis.asyncio.Redis, domain: str, text: str) -> list[str]:
    """Return every key of the domain whose name, members, fields or values contain text."""
    prefix = keys.domain_prefix("us-east-1", domain)
    found = []
    async for key in raw.scan_iter(match=prefix.replace("{", "\\{").replace("}", "\\}") + "*"):
        if text in key:
            found.append(key)
            continue
        kind = await raw.type(key)
        contents: list[Any]
        if kind == "zset":
            contents = await raw.zrange(key, 0, -1)
        elif kind == "hash":
            mapping = await raw.hgetall(key)
            contents = [*mapping, *mapping.values()]
        elif kind == "set":
            contents = list(await raw.smembers(key))
        elif kind == "list":
            contents = await raw.lrange(key, 0, -1)
        elif kind == "string":
            contents = [await raw.get(key)]
        else:
            raise AssertionError(f"unexpected key type {kind!r} of {key!r}")
        if any(text in str(item) for item in contents):
            found.append(key)
    return found


async def test_closed_run_expires_after_retention(
    swf: AsyncClient, raw: redis.asyncio.Redis, domain: str
) -> None:
    await register_all(swf, domain, "2")
    run_id = await start(swf, domain, "leaving", ["red", "blue"])
    kept_run = await start(swf, domain, "staying", ["red"])
    await swf.terminate_workflow_execution(domain=domain, workflowId="leaving")

    # Within the retention period (two short days) the closed run is still there.
    assert await is_known(swf, domain, "leaving", run_id)
    count = await swf.count_closed_workflow_executions(domain=domain, closeTimeFilter=EPOCH)
    assert count["count"] == 1
    assert await mentions(raw, domain, run_id) != []

    await wait_until_expired(swf, domain, "leaving", run_id)

    execution = {"workflowId": "leaving", "runId": run_id}
    with pytest.raises(swf.exceptions.UnknownResourceFault):
        await swf.get_workflow_execution_history(domain=domain, execution=execution)
    closed = await swf.list_closed_workflow_executions(domain=domain, startTimeFilter=EPOCH)
    assert closed["executionInfos"] == []
    count = await swf.count_closed_workflow_executions(domain=domain, closeTimeFilter=EPOCH)
    assert count["count"] == 0
    terminated = await swf.count_closed_workflow_executions(
        domain=domain, closeTimeFilter=EPOCH, closeStatusFilter={"status": "TERMINATED"}
    )
    assert terminated["count"] == 0
    assert await mentions(raw, domain, run_id) == []

    # Nothing else went: the open run, its indexes, the domain and its type remain.
    assert await is_known(swf, domain, "staying", kept_run)
    open_runs = await swf.list_open_workflow_executions(
        domain=domain, startTimeFilter=EPOCH, tagFilter={"tag": "red"}
    )
    assert [i["execution"]["runId"] for i in open_runs["executionInfos"]] == [kept_run]
    history = await swf.get_workflow_execution_history(
        domain=domain, execution={"workflowId": "staying", "runId": kept_run}
    )
    assert len(history["events"]) == 2
    assert (await swf.describe_domain(name=domain))["domainInfo"]["name"] == domain
    described = await swf.describe_workflow_type(domain=domain, workflowType=WORKFLOW_TYPE)
    assert described["typeInfo"]["status"] == "REGISTERED"


@pytest.mark.parametrize("retention", ["0", "NONE"])
async def test_no_retention_expires_at_once(
    swf: AsyncClient, raw: redis.asyncio.Redis, domain: str, retention: str
) -> None:
    await register_all(swf, domain, retention)
    run_id = await start(swf, domain, "w", ["t"])
    task = await swf.poll_for_decision_task(domain=domain, taskList={"name": DECISION_LIST})
    await swf.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[complete()])

    await wait_until_expired(swf, domain, "w", run_id)

    count = await swf.count_closed_workflow_executions(domain=domain, startTimeFilter=EPOCH)
    assert count["count"] == 0
    assert await mentions(raw, domain, run_id) == []


async def test_same_workflow_id_keeps_newer_runs(
    swf: AsyncClient, raw: redis.asyncio.Redis, domain: str
) -> None:
    """Expiry of one run leaves the shared workflow id index to the other runs of the id."""
    await register_all(swf, domain, "1")
    first = await start(swf, domain, "w", ["t"])
    await swf.terminate_workflow_execution(domain=domain, workflowId="w")
    second = await start(swf, domain, "w", ["t"])

    await wait_until_expired(swf, domain, "w", first)

    by_id = await swf.list_open_workflow_executions(
        domain=domain, startTimeFilter=EPOCH, executionFilter={"workflowId": "w"}
    )
    assert [i["execution"]["runId"] for i in by_id["executionInfos"]] == [second]
    assert await mentions(raw, domain, first) == []


async def test_retention_day_option_of_serve(
    redis_url: str, tmp_path: Path, raw: redis.asyncio.Redis, domain: str
) -> None:
    """`redswf serve --retention-day-seconds` shortens the retention day."""
    process = start_serve(tmp_path, "--redis", redis_url, "--retention-day-seconds", "0.5")
    try:
        client = make_boto3_client(process.endpoint)
        register_all_sync(client, domain, retention="2")
        run_id = client.start_workflow_execution(
            domain=domain, workflowId="w", workflowType=WORKFLOW_TYPE
        )["runId"]
        client.terminate_workflow_execution(domain=domain, workflowId="w")

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        expired = False
        while loop.time() < deadline and not expired:
            try:
                client.describe_workflow_execution(
                    domain=domain, execution={"workflowId": "w", "runId": run_id}
                )
            except client.exceptions.UnknownResourceFault:
                expired = True
            else:
                await asyncio.sleep(0.1)
        assert expired, "the run did not expire within 20 s"
        count = client.count_closed_workflow_executions(
            domain=domain, startTimeFilter={"oldestDate": 0}
        )
        assert count["count"] == 0
        assert await mentions(raw, domain, run_id) == []
    finally:
        process.stop()
