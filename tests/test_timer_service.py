"""The timer service as its own process: `redswf timers`, crashes mid-sweep, several at once.

Each test runs on a Redis server of its own, so no other timer service sweeps its domains.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from redswf import AsyncClient
from redswf.keys import domain_prefix
from redswf.timers import TimerService
from tests.conftest import MAX_DOMAINS
from tests.helpers import DECISION_LIST, WORKFLOW_TYPE, register_all
from tests.servers import RunningServer, start_server


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(tmp_path / "redis")
    yield server
    server.stop()


def start_timers(redis_url: str, tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    with (tmp_path / "timers.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "redswf.cli", "timers", "--redis", redis_url, *args],
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def start_timers_in_runs(
    client: AsyncClient, domain: str, runs: int, timers_per_run: int, seconds: str
) -> list[str]:
    """Start `runs` executions, each with `timers_per_run` timers; return the run ids."""
    await register_all(client, domain)
    run_ids = []
    for index in range(runs):
        run = await client.start_workflow_execution(
            domain=domain, workflowId=f"w{index}", workflowType=WORKFLOW_TYPE
        )
        run_ids.append(run["runId"])
        task = await client.poll_for_decision_task(domain=domain, taskList={"name": DECISION_LIST})
        timers = [
            {
                "decisionType": "StartTimer",
                "startTimerDecisionAttributes": {"timerId": f"t{i}", "startToFireTimeout": seconds},
            }
            for i in range(timers_per_run)
        ]
        await client.respond_decision_task_completed(taskToken=task["taskToken"], decisions=timers)
    return run_ids


async def fired_timers(
    client: AsyncClient, domain: str, workflow_id: str, run_id: str
) -> list[str]:
    fired: list[str] = []
    token = None
    for _ in range(50):
        kwargs: dict[str, Any] = {"nextPageToken": token} if token else {}
        page = await client.get_workflow_execution_history(
            domain=domain, execution={"workflowId": workflow_id, "runId": run_id}, **kwargs
        )
        fired += [
            e["timerFiredEventAttributes"]["timerId"]
            for e in page["events"]
            if e["eventType"] == "TimerFired"
        ]
        token = page.get("nextPageToken")
        if not token:
            break
    return fired


async def test_standalone_timer_process(
    own_server: RunningServer, tmp_path: Path, domain: str
) -> None:
    async with AsyncClient(own_server.url, poll_hold=1.0, max_domains=MAX_DOMAINS) as client:
        (run_id,) = await start_timers_in_runs(client, domain, 1, 3, "1")
        process = start_timers(own_server.url, tmp_path)
        try:
            task: dict[str, Any] = {}
            for _ in range(20):
                task = await client.poll_for_decision_task(
                    domain=domain, taskList={"name": DECISION_LIST}
                )
                if task.get("taskToken"):
                    break
            assert task.get("taskToken"), (tmp_path / "timers.log").read_text()
            fired = sorted(await fired_timers(client, domain, "w0", run_id))
            assert fired == ["t0", "t1", "t2"]
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
    log = (tmp_path / "timers.log").read_text()
    assert "timer service started" in log
    assert "timer service stopped" in log


async def test_killed_sweeper_loses_nothing(
    own_server: RunningServer, tmp_path: Path, domain: str
) -> None:
    async with AsyncClient(own_server.url, poll_hold=1.0, max_domains=MAX_DOMAINS) as client:
        run_ids = await start_timers_in_runs(client, domain, 3, 1000, "1")
        await asyncio.sleep(1.1)
        # A service that fires one item per script call is killed without warning once it
        # has fired some but not all; a second service then sweeps what is left.
        victim = start_timers(own_server.url, tmp_path, "--batch", "1")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        fired_before_kill = 0
        while fired_before_kill == 0 and loop.time() < deadline:
            await asyncio.sleep(0.05)
            fired_before_kill = len(await fired_timers(client, domain, "w0", run_ids[0]))
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        assert fired_before_kill > 0, "the first service fired nothing before it was killed"
        other = TimerService(client.service.redis, batch=50)
        for _ in range(100):
            if await other.sweep() == 0:
                break

        for index, run_id in enumerate(run_ids):
            fired = await fired_timers(client, domain, f"w{index}", run_id)
            assert sorted(fired) == sorted(f"t{i}" for i in range(1000)), f"run w{index}"
            assert len(fired) == len(set(fired)), f"a timer of w{index} fired twice"


def write_timer_items_in_older_form(server: RunningServer, key: str) -> None:
    """Rewrite each `timer|<run>|<started>|<id>` item as `timer|<run>|<started>`, as older
    redswf versions wrote them."""
    with server.client() as plain:
        for item, score in plain.zrange(key, 0, -1, withscores=True):
            if item.startswith(b"timer|"):
                plain.zrem(key, item)
                plain.zadd(key, {item.decode().rsplit("|", 1)[0]: score})


async def test_timer_item_fires_once(own_server: RunningServer, domain: str) -> None:
    async with AsyncClient(own_server.url, max_domains=MAX_DOMAINS, run_timers=False) as client:
        [run_id] = await start_timers_in_runs(client, domain, 1, 3, "0")
        key = f"{domain_prefix('us-east-1', domain)}:timeouts"
        with own_server.client() as plain:
            items = sorted(m.decode() for m in plain.zrange(key, 0, -1))
        # TimerStarted events are 5, 6 and 7 (after start, scheduled, started, completed).
        timers = [f"timer|{run_id}|{5 + i}|t{i}" for i in range(3)]
        assert items == [*timers, f"wfs2c|{run_id}|0"]
        service = TimerService(client.service.redis)
        assert await service.sweep() == 3
        assert await service.sweep() == 0
        assert sorted(await fired_timers(client, domain, "w0", run_id)) == ["t0", "t1", "t2"]


async def test_timer_item_of_the_older_form_still_fires(
    own_server: RunningServer, domain: str
) -> None:
    """An item `timer|<run>|<started>` left by an older redswf fires its timer."""
    async with AsyncClient(own_server.url, max_domains=MAX_DOMAINS, run_timers=False) as client:
        [run_id] = await start_timers_in_runs(client, domain, 1, 2, "0")
        key = f"{domain_prefix('us-east-1', domain)}:timeouts"
        write_timer_items_in_older_form(own_server, key)
        service = TimerService(client.service.redis)
        assert await service.sweep() == 2
        assert sorted(await fired_timers(client, domain, "w0", run_id)) == ["t0", "t1"]


@pytest.mark.parametrize("older_form", [False, True])
async def test_canceled_and_closed_timers_leave_no_item(
    own_server: RunningServer, domain: str, older_form: bool
) -> None:
    async with AsyncClient(own_server.url, max_domains=MAX_DOMAINS, run_timers=False) as client:
        [run_id] = await start_timers_in_runs(client, domain, 1, 2, "600")
        key = f"{domain_prefix('us-east-1', domain)}:timeouts"
        if older_form:
            write_timer_items_in_older_form(own_server, key)
        with own_server.client() as plain:
            assert plain.zcard(key) == 3  # two timers and the execution's timeout
        await client.signal_workflow_execution(domain=domain, workflowId="w0", signalName="go")
        task = await client.poll_for_decision_task(domain=domain, taskList={"name": DECISION_LIST})
        await client.respond_decision_task_completed(
            taskToken=task["taskToken"],
            decisions=[
                {"decisionType": "CancelTimer", "cancelTimerDecisionAttributes": {"timerId": "t0"}}
            ],
        )
        with own_server.client() as plain:
            items = [m.decode() for m in plain.zrange(key, 0, -1)]
        assert not [i for i in items if i.startswith(f"timer|{run_id}|5")], items
        assert len([i for i in items if i.startswith(f"timer|{run_id}|6")]) == 1, items
        await client.terminate_workflow_execution(domain=domain, workflowId="w0")
        with own_server.client() as plain:
            items = [m.decode() for m in plain.zrange(key, 0, -1)]
        assert [i.split("|")[0] for i in items] == ["retention"], items
