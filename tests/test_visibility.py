"""List and Count of executions, their filters, paging and indexes; pending task counts."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime
from typing import Any

import pytest
import redis.asyncio

from redswf import AsyncClient, keys
from tests.helpers import (
    ACTIVITY_LIST,
    DECISION_LIST,
    WORKFLOW_TYPE,
    complete,
    register_all,
    register_all_sync,
    schedule,
)

EPOCH = {"oldestDate": 0}
OTHER_VERSION = {"name": WORKFLOW_TYPE["name"], "version": "2.0"}
OTHER_TYPE = {"name": "refundFlow", "version": "1.0"}


async def register_types(client: AsyncClient, domain: str) -> None:
    """Register the helper types and two more workflow types (another version, another name)."""
    await register_all(client, domain)
    for workflow_type in (OTHER_VERSION, OTHER_TYPE):
        await client.register_workflow_type(
            domain=domain,
            **workflow_type,
            defaultTaskList={"name": DECISION_LIST},
            defaultExecutionStartToCloseTimeout="3600",
            defaultTaskStartToCloseTimeout="60",
            defaultChildPolicy="TERMINATE",
        )


async def start(
    client: AsyncClient,
    domain: str,
    workflow_id: str,
    workflow_type: dict[str, str] = WORKFLOW_TYPE,
    tags: list[str] | None = None,
) -> str:
    """Start an execution, then wait a few milliseconds so that start times differ."""
    extra: dict[str, Any] = {"tagList": tags} if tags else {}
    run = await client.start_workflow_execution(
        domain=domain, workflowId=workflow_id, workflowType=workflow_type, **extra
    )
    await asyncio.sleep(0.003)
    run_id: str = run["runId"]
    return run_id


async def terminate(client: AsyncClient, domain: str, workflow_id: str) -> None:
    await client.terminate_workflow_execution(domain=domain, workflowId=workflow_id)
    await asyncio.sleep(0.003)


async def complete_next(client: AsyncClient, domain: str) -> str:
    """Complete the execution of the next decision task; return its workflow id."""
    task = await client.poll_for_decision_task(domain=domain, taskList={"name": DECISION_LIST})
    assert task.get("taskToken"), "no decision task"
    await client.respond_decision_task_completed(
        taskToken=task["taskToken"], decisions=[complete()]
    )
    await asyncio.sleep(0.003)
    workflow_id: str = task["workflowExecution"]["workflowId"]
    return workflow_id


def ids(result: dict[str, Any]) -> list[str]:
    return [info["execution"]["workflowId"] for info in result["executionInfos"]]


async def list_open(client: AsyncClient, domain: str, **params: Any) -> list[str]:
    params.setdefault("startTimeFilter", EPOCH)
    return ids(await client.list_open_workflow_executions(domain=domain, **params))


async def list_closed(client: AsyncClient, domain: str, **params: Any) -> list[str]:
    if "closeTimeFilter" not in params:
        params.setdefault("startTimeFilter", EPOCH)
    return ids(await client.list_closed_workflow_executions(domain=domain, **params))


async def count_open(client: AsyncClient, domain: str, **params: Any) -> int:
    params.setdefault("startTimeFilter", EPOCH)
    result = await client.count_open_workflow_executions(domain=domain, **params)
    assert result["truncated"] is False
    count: int = result["count"]
    return count


async def count_closed(client: AsyncClient, domain: str, **params: Any) -> int:
    if "closeTimeFilter" not in params:
        params.setdefault("startTimeFilter", EPOCH)
    result = await client.count_closed_workflow_executions(domain=domain, **params)
    assert result["truncated"] is False
    count: int = result["count"]
    return count


# -- listing and order --------------------------------------------------------------------


async def test_open_list_newest_first(client: AsyncClient, domain: str) -> None:
    await register_types(client, domain)
    for workflow_id in ("a", "b", "c"):
        await start(client, domain, workflow_id)

    result = await client.list_open_workflow_executions(domain=domain, startTimeFilter=EPOCH)
    infos = result["executionInfos"]
    assert ids(result) == ["c", "b", "a"]
    assert "nextPageToken" not in result
    assert all(info["executionStatus"] == "OPEN" for info in infos)
    assert all(isinstance(info["startTimestamp"], datetime) for info in infos)
    assert infos[0]["workflowType"] == WORKFLOW_TYPE
    assert infos[0]["cancelRequested"] is False
    assert "closeStatus" not in infos[0]

    assert await list_open(client, domain, reverseOrder=True) == ["a", "b", "c"]


async def test_closed_list_orders_by_chosen_time(client: AsyncClient, domain: str) -> None:
    await register_types(client, domain)
    await start(client, domain, "first")
    await start(client, domain, "second")
    await terminate(client, domain, "second")
    await terminate(client, domain, "first")

    assert await list_closed(client, domain) == ["second", "first"]
    assert await list_closed(client, domain, reverseOrder=True) == ["first", "second"]
    by_close = await list_closed(client, domain, closeTimeFilter=EPOCH)
    assert by_close == ["first", "second"]
    assert await list_closed(client, domain, closeTimeFilter=EPOCH, reverseOrder=True) == [
        "second",
        "first",
    ]

    result = await client.list_closed_workflow_executions(domain=domain, startTimeFilter=EPOCH)
    info = result["executionInfos"][0]
    assert info["executionStatus"] == "CLOSED"
    assert info["closeStatus"] == "TERMINATED"
    assert info["closeTimestamp"] >= info["startTimestamp"]
    assert await list_open(client, domain) == []


async def test_time_filter_bounds_inclusive(client: AsyncClient, domain: str) -> None:
    await register_types(client, domain)
    for workflow_id in ("a", "b", "c"):
        await start(client, domain, workflow_id)
    result = await client.list_open_workflow_executions(
        domain=domain, startTimeFilter=EPOCH, reverseOrder=True
    )
    started = {
        info["execution"]["workflowId"]: info["startTimestamp"] for info in result["executionInfos"]
    }

    since_b = {"oldestDate": started["b"]}
    assert await list_open(client, domain, startTimeFilter=since_b) == ["c", "b"]
    until_b = {"oldestDate": 0, "latestDate": started["b"]}
    assert await list_open(client, domain, startTimeFilter=until_b) == ["b", "a"]
    only_b = {"oldestDate": started["b"], "latestDate": started["b"]}
    assert await list_open(client, domain, startTimeFilter=only_b) == ["b"]
    assert await count_open(client, domain, startTimeFilter=only_b) == 1
    empty = {"oldestDate": started["c"], "latestDate": started["a"]}
    assert await list_open(client, domain, startTimeFilter=empty) == []
    assert await count_open(client, domain, startTimeFilter=empty) == 0

    future = {"oldestDate": started["c"].timestamp() + 3600}
    assert await list_open(client, domain, startTimeFilter=future) == []


async def test_close_time_filter_window(client: AsyncClient, domain: str) -> None:
    await register_types(client, domain)
    for workflow_id in ("a", "b", "c"):
        await start(client, domain, workflow_id)
    for workflow_id in ("c", "a", "b"):
        await terminate(client, domain, workflow_id)
    result = await client.list_closed_workflow_executions(domain=domain, closeTimeFilter=EPOCH)
    closed = {
        info["execution"]["workflowId"]: info["closeTimestamp"] for info in result["executionInfos"]
    }

    window = {"oldestDate": closed["a"], "latestDate": closed["b"]}
    assert await list_closed(client, domain, closeTimeFilter=window) == ["b", "a"]
    assert await count_closed(client, domain, closeTimeFilter=window) == 2
    since_a = {"oldestDate": closed["a"]}
    assert await count_closed(client, domain, closeTimeFilter=since_a) == 2
    assert await count_closed(client, domain, closeTimeFilter=EPOCH) == 3


# -- filters ------------------------------------------------------------------------------


async def test_open_filters(client: AsyncClient, domain: str) -> None:
    await register_types(client, domain)
    await start(client, domain, "v1-a", tags=["red", "big"])
    await start(client, domain, "v1-b", tags=["blue"])
    await start(client, domain, "v2", OTHER_VERSION, tags=["red"])
    await start(client, domain, "refund", OTHER_TYPE)

    by_id = {"executionFilter": {"workflowId": "v1-b"}}
    assert await list_open(client, domain, **by_id) == ["v1-b"]
    assert await count_open(client, domain, **by_id) == 1
    by_name = {"typeFilter": {"name": WORKFLOW_TYPE["name"]}}
    assert await list_open(client, domain, **by_name) == ["v2", "v1-b", "v1-a"]
    assert await count_open(client, domain, **by_name) == 3
    by_version = {"typeFilter": WORKFLOW_TYPE}
    assert await list_open(client, domain, **by_version) == ["v1-b", "v1-a"]
    assert await count_open(client, domain, **by_version) == 2
    by_other_version = {"typeFilter": OTHER_VERSION}
    assert await list_open(client, domain, **by_other_version) == ["v2"]
    by_tag = {"tagFilter": {"tag": "red"}}
    assert await list_open(client, domain, **by_tag) == ["v2", "v1-a"]
    assert await count_open(client, domain, **by_tag) == 2
    assert await list_open(client, domain, tagFilter={"tag": "big"}) == ["v1-a"]
    assert await list_open(client, domain, tagFilter={"tag": "green"}) == []
    assert await list_open(client, domain, executionFilter={"workflowId": "none"}) == []
    assert await count_open(client, domain) == 4

    result = await client.list_open_workflow_executions(
        domain=domain, startTimeFilter=EPOCH, **by_tag
    )
    assert result["executionInfos"][1]["tagList"] == ["red", "big"]


async def test_closed_filters(client: AsyncClient, domain: str) -> None:
    await register_types(client, domain)
    await start(client, domain, "done", tags=["red"])
    await complete_next(client, domain)
    await start(client, domain, "killed", OTHER_TYPE, tags=["red", "blue"])
    await terminate(client, domain, "killed")
    await start(client, domain, "done")
    await terminate(client, domain, "done")
    await start(client, domain, "still-open", tags=["red"])

    for time_filter in ("startTimeFilter", "closeTimeFilter"):
        window = {time_filter: EPOCH}
        completed = {"closeStatusFilter": {"status": "COMPLETED"}}
        assert await list_closed(client, domain, **window, **completed) == ["done"]
        assert await count_closed(client, domain, **window, **completed) == 1
        terminated = {"closeStatusFilter": {"status": "TERMINATED"}}
        assert await list_closed(client, domain, **window, **terminated) == ["done", "killed"]
        assert await count_closed(client, domain, **window, **terminated) == 2
        failed = {"closeStatusFilter": {"status": "FAILED"}}
        assert await count_closed(client, domain, **window, **failed) == 0
        by_id = {"executionFilter": {"workflowId": "done"}}
        assert await list_closed(client, domain, **window, **by_id) == ["done", "done"]
        assert await count_closed(client, domain, **window, **by_id) == 2
        by_type = {"typeFilter": {"name": OTHER_TYPE["name"]}}
        assert await list_closed(client, domain, **window, **by_type) == ["killed"]
        by_version = {"typeFilter": WORKFLOW_TYPE}
        assert await count_closed(client, domain, **window, **by_version) == 2
        by_tag = {"tagFilter": {"tag": "red"}}
        assert await list_closed(client, domain, **window, **by_tag) == ["killed", "done"]
        assert await count_closed(client, domain, **window, tagFilter={"tag": "blue"}) == 1
        assert await count_closed(client, domain, **window) == 3

    assert await list_open(client, domain, tagFilter={"tag": "red"}) == ["still-open"]


async def test_open_exclusive_filters_rejected(client: AsyncClient, domain: str) -> None:
    await register_types(client, domain)
    filters = {
        "executionFilter": ({"workflowId": "w"}, "WorkflowExecutionFilter"),
        "typeFilter": ({"name": "orderFlow"}, "WorkflowTypeFilter"),
        "tagFilter": ({"tag": "t"}, "TagFilter"),
    }
    for size in (2, 3):
        for combination in itertools.combinations(filters, size):
            params = {name: filters[name][0] for name in combination}
            shapes = ", ".join(filters[name][1] for name in combination)
            message = (
                f"Cannot specify more than one exclusive filters in the same query: [{shapes}]"
            )
            for operation in (
                client.list_open_workflow_executions,
                client.count_open_workflow_executions,
            ):
                with pytest.raises(client.exceptions.ClientError) as raised:
                    await operation(domain=domain, startTimeFilter=EPOCH, **params)
                error = raised.value.response["Error"]
                assert error["Code"] == "ValidationException", combination
                assert error["Message"] == message, combination


async def test_closed_exclusive_filters_rejected(client: AsyncClient, domain: str) -> None:
    await register_types(client, domain)
    filters = {
        "executionFilter": ({"workflowId": "w"}, "WorkflowExecutionFilter"),
        "typeFilter": ({"name": "orderFlow"}, "WorkflowTypeFilter"),
        "tagFilter": ({"tag": "t"}, "TagFilter"),
        "closeStatusFilter": ({"status": "FAILED"}, "CloseStatusFilter"),
    }
    operations = (client.list_closed_workflow_executions, client.count_closed_workflow_executions)
    combinations = [
        combination for size in (2, 3, 4) for combination in itertools.combinations(filters, size)
    ]
    assert len(combinations) == 11
    for combination in combinations:
        params = {name: filters[name][0] for name in combination}
        shapes = ", ".join(filters[name][1] for name in combination)
        for operation in operations:
            with pytest.raises(client.exceptions.ClientError) as raised:
                await operation(domain=domain, closeTimeFilter=EPOCH, **params)
            error = raised.value.response["Error"]
            assert error["Code"] == "ValidationException", combination
            assert error["Message"].endswith(f"[{shapes}]"), combination

    for operation in operations:
        with pytest.raises(client.exceptions.ClientError) as raised:
            await operation(domain=domain, startTimeFilter=EPOCH, closeTimeFilter=EPOCH)
        error = raised.value.response["Error"]
        assert error["Code"] == "ValidationException"
        assert error["Message"] == "Cannot specify both a startTimeFilter and a closeTimeFilter"
        with pytest.raises(client.exceptions.ClientError) as raised:
            await operation(domain=domain)
        error = raised.value.response["Error"]
        assert error["Code"] == "ValidationException"
        assert error["Message"] == "Must specify time filter"


async def test_unknown_domain_faults(client: AsyncClient, domain: str) -> None:
    calls = [
        client.list_open_workflow_executions(domain=domain, startTimeFilter=EPOCH),
        client.list_closed_workflow_executions(domain=domain, startTimeFilter=EPOCH),
        client.count_open_workflow_executions(domain=domain, startTimeFilter=EPOCH),
        client.count_closed_workflow_executions(domain=domain, closeTimeFilter=EPOCH),
        client.count_pending_activity_tasks(domain=domain, taskList={"name": ACTIVITY_LIST}),
        client.count_pending_decision_tasks(domain=domain, taskList={"name": DECISION_LIST}),
    ]
    for call in calls:
        with pytest.raises(client.exceptions.UnknownResourceFault) as raised:
            await call
        assert raised.value.response["Error"]["Message"] == f"Unknown domain: {domain}"


# -- paging -------------------------------------------------------------------------------


async def all_pages(
    client: AsyncClient, domain: str, closed: bool = False, **params: Any
) -> list[list[str]]:
    operation = (
        client.list_closed_workflow_executions if closed else client.list_open_workflow_executions
    )
    params.setdefault("startTimeFilter", EPOCH)
    pages = []
    token = None
    for _ in range(100):
        extra: dict[str, Any] = {"nextPageToken": token} if token else {}
        result = await operation(domain=domain, **params, **extra)
        pages.append(ids(result))
        token = result.get("nextPageToken")
        if not token:
            return pages
    raise AssertionError("more than 100 pages")


async def test_pages_cover_all_once(client: AsyncClient, domain: str) -> None:
    await register_types(client, domain)
    names = [f"w{i}" for i in range(7)]
    for name in names:
        await start(client, domain, name)

    pages = await all_pages(client, domain, maximumPageSize=3)
    assert pages == [["w6", "w5", "w4"], ["w3", "w2", "w1"], ["w0"]]
    pages = await all_pages(client, domain, maximumPageSize=3, reverseOrder=True)
    assert pages == [["w0", "w1", "w2"], ["w3", "w4", "w5"], ["w6"]]
    # A last page that is exactly full carries no token.
    pages = await all_pages(client, domain, maximumPageSize=7)
    assert pages == [names[::-1]]
    assert await all_pages(client, domain, maximumPageSize=0) == [names[::-1]]
    assert await all_pages(client, domain, maximumPageSize=1000) == [names[::-1]]


async def test_pages_of_runs_with_one_start_time(
    client: AsyncClient, redis_url: str, domain: str
) -> None:
    """Runs that share a millisecond are paged by run id without loss or repetition."""
    await register_types(client, domain)
    for i in range(6):
        await start(client, domain, f"w{i}")
    # Give every run one start time in the index, as a burst of starts in one ms would.
    dk = keys.for_domain("us-east-1", domain)
    connection = redis.asyncio.Redis.from_url(redis_url)
    try:
        members: Any = await connection.zrange(dk.visibility("open"), 0, -1)
        await connection.zadd(dk.visibility("open"), dict.fromkeys(members, 1_000_000))
    finally:
        await connection.aclose()

    for reverse in (False, True):
        pages = await all_pages(client, domain, maximumPageSize=4, reverseOrder=reverse)
        seen = [name for page in pages for name in page]
        assert len(pages) == 2, reverse
        assert sorted(seen) == [f"w{i}" for i in range(6)], reverse


async def test_paging_while_runs_come_and_go(client: AsyncClient, domain: str) -> None:
    await register_types(client, domain)
    for i in range(12):
        await start(client, domain, f"old{i}")
    # Closes, in this order, a run already listed, then runs not listed yet.
    leaving = ["old1", "old4", "old10"]

    seen: list[str] = []
    token = None
    for page_number in range(50):
        extra: dict[str, Any] = {"nextPageToken": token} if token else {}
        result = await client.list_open_workflow_executions(
            domain=domain, startTimeFilter=EPOCH, maximumPageSize=3, **extra
        )
        seen += ids(result)
        token = result.get("nextPageToken")
        if not token:
            break
        # Between pages: new runs start and some runs close, on both sides of the cursor.
        await start(client, domain, f"new{page_number}")
        if leaving:
            await terminate(client, domain, leaving.pop())
    else:
        raise AssertionError("paging did not end")

    stayed = {f"old{i}" for i in range(12)} - {"old1", "old4", "old10"}
    assert len(seen) == len(set(seen)), f"repeated: {seen}"
    assert stayed <= set(seen), f"skipped: {stayed - set(seen)}"
    assert not any(name.startswith("new") for name in seen)


async def test_closed_paging_while_runs_close(client: AsyncClient, domain: str) -> None:
    await register_types(client, domain)
    for i in range(8):
        await start(client, domain, f"w{i}")
    for i in range(4):
        await terminate(client, domain, f"w{i}")

    seen: list[str] = []
    token = None
    closing = [f"w{i}" for i in range(4, 8)]
    for _ in range(50):
        extra: dict[str, Any] = {"nextPageToken": token} if token else {}
        result = await client.list_closed_workflow_executions(
            domain=domain, closeTimeFilter=EPOCH, maximumPageSize=1, reverseOrder=True, **extra
        )
        seen += ids(result)
        token = result.get("nextPageToken")
        if not token:
            break
        if closing:
            await terminate(client, domain, closing.pop())
    else:
        raise AssertionError("paging did not end")

    # Ascending close time: runs that close during paging come after the cursor and are
    # listed too, each once.
    assert seen[:4] == ["w0", "w1", "w2", "w3"]
    assert len(seen) == len(set(seen)), f"repeated: {seen}"
    assert sorted(seen) == [f"w{i}" for i in range(8)]


async def test_page_token_bound_to_query(client: AsyncClient, domain: str) -> None:
    await register_types(client, domain)
    for i in range(3):
        await start(client, domain, f"w{i}", tags=["t"])
    first = await client.list_open_workflow_executions(
        domain=domain, startTimeFilter=EPOCH, maximumPageSize=1
    )
    token = first["nextPageToken"]

    # The same query with another page size goes on.
    following = await client.list_open_workflow_executions(
        domain=domain, startTimeFilter=EPOCH, maximumPageSize=5, nextPageToken=token
    )
    assert ids(following) == ["w1", "w0"]

    other_queries: list[dict[str, Any]] = [
        {"startTimeFilter": EPOCH, "reverseOrder": True},
        {"startTimeFilter": {"oldestDate": 1}},
        {"startTimeFilter": EPOCH, "tagFilter": {"tag": "t"}},
        {"startTimeFilter": EPOCH, "typeFilter": WORKFLOW_TYPE},
    ]
    for params in other_queries:
        with pytest.raises(client.exceptions.ClientError) as raised:
            await client.list_open_workflow_executions(domain=domain, nextPageToken=token, **params)
        error = raised.value.response["Error"]
        assert error["Code"] == "ValidationException", params
        assert error["Message"] == "Invalid token", params
    with pytest.raises(client.exceptions.ClientError) as raised:
        await client.list_closed_workflow_executions(
            domain=domain, startTimeFilter=EPOCH, nextPageToken=token
        )
    assert raised.value.response["Error"]["Message"] == "Invalid token"
    with pytest.raises(client.exceptions.ClientError) as raised:
        await client.list_open_workflow_executions(
            domain=domain, startTimeFilter=EPOCH, nextPageToken="not-a-token"
        )
    assert raised.value.response["Error"]["Message"] == "Invalid token"


async def test_page_token_other_domain_rejected(client: AsyncClient, domain: str) -> None:
    await register_types(client, domain)
    other = domain + "-b"
    await register_types(client, other)
    for name in (domain, other):
        for i in range(2):
            await start(client, name, f"w{i}")
    first = await client.list_open_workflow_executions(
        domain=domain, startTimeFilter=EPOCH, maximumPageSize=1
    )
    with pytest.raises(client.exceptions.ClientError) as raised:
        await client.list_open_workflow_executions(
            domain=other, startTimeFilter=EPOCH, nextPageToken=first["nextPageToken"]
        )
    assert raised.value.response["Error"]["Message"] == "Invalid token"


async def test_page_size_over_limit_rejected(client: AsyncClient, domain: str) -> None:
    await register_types(client, domain)
    with pytest.raises(client.exceptions.ClientError) as raised:
        await client.list_open_workflow_executions(
            domain=domain, startTimeFilter=EPOCH, maximumPageSize=1001
        )
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "less than or equal to 1000" in error["Message"]


# -- indexes ------------------------------------------------------------------------------


async def test_indexes_follow_the_run(client: AsyncClient, redis_url: str, domain: str) -> None:
    await register_types(client, domain)
    run_id = await start(client, domain, "w", tags=["red", "a:b c"])
    dk = keys.for_domain("us-east-1", domain)
    parts = [
        "",
        ":wid:w",
        f":typename:{WORKFLOW_TYPE['name']}",
        f":type:{WORKFLOW_TYPE['name']}:{WORKFLOW_TYPE['version']}",
        ":tag:red",
        ":tag:a:b c",
    ]
    connection = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        for part in parts:
            assert await connection.zscore(dk.visibility("open", part), run_id), part
        await terminate(client, domain, "w")
        for part in parts:
            assert await connection.zscore(dk.visibility("open", part), run_id) is None, part
        for part in [*parts, ":status:TERMINATED"]:
            assert await connection.zscore(dk.visibility("closed:start", part), run_id), part
            assert await connection.zscore(dk.visibility("closed:close", part), run_id), part
    finally:
        await connection.aclose()


async def test_child_and_continued_runs_listed(client: AsyncClient, domain: str) -> None:
    await register_types(client, domain)
    await start(client, domain, "parent", tags=["family"])
    task = await client.poll_for_decision_task(domain=domain, taskList={"name": DECISION_LIST})
    child = {
        "decisionType": "StartChildWorkflowExecution",
        "startChildWorkflowExecutionDecisionAttributes": {
            "workflowType": OTHER_TYPE,
            "workflowId": "child",
            "tagList": ["family", "child"],
        },
    }
    await client.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[child])
    assert sorted(await list_open(client, domain, tagFilter={"tag": "family"})) == [
        "child",
        "parent",
    ]
    infos = (
        await client.list_open_workflow_executions(
            domain=domain, startTimeFilter=EPOCH, executionFilter={"workflowId": "child"}
        )
    )["executionInfos"]
    assert infos[0]["parent"]["workflowId"] == "parent"

    await terminate(client, domain, "child")
    task = await client.poll_for_decision_task(domain=domain, taskList={"name": DECISION_LIST})
    again = {
        "decisionType": "ContinueAsNewWorkflowExecution",
        "continueAsNewWorkflowExecutionDecisionAttributes": {"tagList": ["second"]},
    }
    await client.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[again])
    assert await list_open(client, domain, tagFilter={"tag": "second"}) == ["parent"]
    continued = {"closeStatusFilter": {"status": "CONTINUED_AS_NEW"}}
    assert await list_closed(client, domain, **continued) == ["parent"]


# -- pending task counts ------------------------------------------------------------------


async def test_pending_task_counts(client: AsyncClient, domain: str) -> None:
    await register_types(client, domain)
    decisions = {"name": DECISION_LIST}
    activities = {"name": ACTIVITY_LIST}
    pending = await client.count_pending_decision_tasks(domain=domain, taskList=decisions)
    assert pending["count"] == 0
    for i in range(3):
        await start(client, domain, f"w{i}")
    pending = await client.count_pending_decision_tasks(domain=domain, taskList=decisions)
    assert pending["count"] == 3
    assert pending["truncated"] is False

    task = await client.poll_for_decision_task(domain=domain, taskList=decisions)
    await client.respond_decision_task_completed(
        taskToken=task["taskToken"], decisions=[schedule("a1"), schedule("a2")]
    )
    pending = await client.count_pending_decision_tasks(domain=domain, taskList=decisions)
    assert pending["count"] == 2
    pending = await client.count_pending_activity_tasks(domain=domain, taskList=activities)
    assert pending["count"] == 2
    await client.poll_for_activity_task(domain=domain, taskList=activities)
    pending = await client.count_pending_activity_tasks(domain=domain, taskList=activities)
    assert pending["count"] == 1

    unused = {"name": "never-used"}
    pending = await client.count_pending_activity_tasks(domain=domain, taskList=unused)
    assert pending["count"] == 0
    pending = await client.count_pending_decision_tasks(domain=domain, taskList=unused)
    assert pending["count"] == 0


# -- over HTTP with boto3 -----------------------------------------------------------------


def test_visibility_over_boto3(swf: Any, domain: str) -> None:
    register_all_sync(swf, domain)
    for i in range(5):
        swf.start_workflow_execution(
            domain=domain, workflowId=f"w{i}", workflowType=WORKFLOW_TYPE, tagList=["web"]
        )
    swf.terminate_workflow_execution(domain=domain, workflowId="w0")

    paginator = swf.get_paginator("list_open_workflow_executions")
    pages = list(
        paginator.paginate(
            domain=domain,
            startTimeFilter={"oldestDate": datetime(2000, 1, 1)},
            PaginationConfig={"PageSize": 2},
        )
    )
    listed = [info["execution"]["workflowId"] for page in pages for info in page["executionInfos"]]
    assert len(pages) == 2
    assert sorted(listed) == ["w1", "w2", "w3", "w4"]

    closed = swf.list_closed_workflow_executions(
        domain=domain,
        closeTimeFilter={"oldestDate": datetime(2000, 1, 1)},
        closeStatusFilter={"status": "TERMINATED"},
    )
    assert [i["execution"]["workflowId"] for i in closed["executionInfos"]] == ["w0"]
    assert isinstance(closed["executionInfos"][0]["closeTimestamp"], datetime)

    count = swf.count_open_workflow_executions(
        domain=domain, startTimeFilter={"oldestDate": 0}, tagFilter={"tag": "web"}
    )
    assert count["count"] == 4
    assert count["truncated"] is False
    count = swf.count_closed_workflow_executions(domain=domain, startTimeFilter={"oldestDate": 0})
    assert count["count"] == 1
    pending = swf.count_pending_decision_tasks(domain=domain, taskList={"name": DECISION_LIST})
    assert pending["count"] == 4

    with pytest.raises(swf.exceptions.ClientError) as raised:
        swf.count_closed_workflow_executions(
            domain=domain,
            startTimeFilter={"oldestDate": 0},
            typeFilter={"name": "x"},
            closeStatusFilter={"status": "FAILED"},
        )
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(swf.exceptions.UnknownResourceFault):
        swf.count_pending_activity_tasks(domain=domain + "-none", taskList={"name": "x"})
