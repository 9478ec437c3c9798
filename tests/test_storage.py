"""What lands in Redis: key slots, readable histories, function reloads, restarts, cluster mode."""

from __future__ import annotations

import asyncio
import random
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import orjson
import pytest
import redis
from redis.crc import key_slot

from redswf import AsyncClient
from redswf.embedded import bundled_valkey_server
from redswf.keys import domain_prefix
from redswf.scripts import library
from tests.conftest import MAX_DOMAINS
from tests.helpers import DECISION_LIST, WORKFLOW_TYPE, complete, register_all, schedule
from tests.servers import RunningServer, cli_binary, start_server


async def run_one_activity_workflow(client: AsyncClient, domain: str) -> str:
    """Run a whole one-activity workflow; return its run id."""
    await register_all(client, domain)
    run = await client.start_workflow_execution(
        domain=domain, workflowId="w1", workflowType=WORKFLOW_TYPE, input="in"
    )
    task = await client.poll_for_decision_task(domain=domain, taskList={"name": DECISION_LIST})
    await client.respond_decision_task_completed(
        taskToken=task["taskToken"], decisions=[schedule("a1")]
    )
    activity = await client.poll_for_activity_task(domain=domain, taskList={"name": "activities"})
    await client.respond_activity_task_completed(taskToken=activity["taskToken"], result="out")
    task = await client.poll_for_decision_task(domain=domain, taskList={"name": DECISION_LIST})
    await client.respond_decision_task_completed(
        taskToken=task["taskToken"], decisions=[complete("done")]
    )
    run_id: str = run["runId"]
    return run_id


def domain_keys(server: RunningServer, prefix: str) -> list[bytes]:
    with server.client() as plain:
        return list(plain.scan_iter(match=prefix.replace("{", "[{]").replace("}", "[}]") + ":*"))


@pytest.mark.parametrize("name", ["plain", "a{b}c", "}{", "%7B", "ünï cødé"])
async def test_domain_keys_share_one_slot(
    redis_server: RunningServer, client: AsyncClient, name: str, domain: str
) -> None:
    domain_name = f"{name}-{domain}"
    await run_one_activity_workflow(client, domain_name)
    prefix = domain_prefix("us-east-1", domain_name)
    keys = domain_keys(redis_server, prefix)
    assert len(keys) >= 5, keys
    slots = {key_slot(key) for key in keys}
    assert slots == {key_slot(prefix.encode())}, f"keys of {domain_name!r} span slots {slots}"


def test_history_readable_with_redis_cli(
    redis_server: RunningServer, swf: Any, domain: str
) -> None:
    from tests.helpers import register_all_sync

    register_all_sync(swf, domain)
    run_id = swf.start_workflow_execution(
        domain=domain, workflowId="w1", workflowType=WORKFLOW_TYPE, input="card 42"
    )["runId"]
    key = f"{domain_prefix('us-east-1', domain)}:hist:{run_id}"
    output = subprocess.run(
        [cli_binary(), "-s", str(redis_server.socket_path), "--no-raw", "LRANGE", key, "0", "-1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout
    lines = output.splitlines()
    assert len(lines) == 2, output
    assert lines[0].startswith('1) "1|'), output
    assert "|WorkflowExecutionStarted|" in lines[0]
    assert "card 42" in lines[0]
    assert lines[1].startswith('2) "2|'), output
    assert "|DecisionTaskScheduled|" in lines[1]

    with redis_server.client() as plain:
        entry = plain.lindex(key, 0)
    assert isinstance(entry, bytes)
    event_id, ts, event_type, attrs = entry.split(b"|", 3)
    assert event_id == b"1"
    assert event_type == b"WorkflowExecutionStarted"
    assert orjson.loads(attrs)["input"] == "card 42"
    assert float(ts) > 1.7e9


async def test_functions_reload_after_flush(
    redis_server: RunningServer, client: AsyncClient, domain: str
) -> None:
    await client.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1")
    with redis_server.client() as plain:
        plain.function_flush()
    detail = await client.describe_domain(name=domain)
    assert detail["domainInfo"]["name"] == domain
    await client.deprecate_domain(name=domain)
    detail = await client.describe_domain(name=domain)
    assert detail["domainInfo"]["status"] == "DEPRECATED"
    with redis_server.client() as plain:
        names = [entry[1] for entry in plain.function_list(library="redswf_*")]
    assert names == [library().name.encode()]


async def test_flush_then_one_library_load(tmp_path: Path, domain: str) -> None:
    server = start_server(tmp_path / "fresh")
    try:
        async with AsyncClient(server.url, poll_hold=0.5, max_domains=MAX_DOMAINS) as client:
            await register_all(client, domain)
            with server.client() as plain:
                plain.function_flush()
                plain.config_resetstat()
            runs = await asyncio.gather(
                *(
                    client.start_workflow_execution(
                        domain=domain, workflowId=f"w{i}", workflowType=WORKFLOW_TYPE
                    )
                    for i in range(20)
                )
            )
            assert len({run["runId"] for run in runs}) == 20
            with server.client() as plain:
                stats: Any = plain.info("commandstats")
            assert stats["cmdstat_function|load"]["calls"] == 1
            assert stats["cmdstat_fcall"]["calls"] >= 21
            count = await client.count_open_workflow_executions(
                domain=domain, startTimeFilter={"oldestDate": 0}
            )
            assert count["count"] == 20
    finally:
        server.stop()


async def test_two_versions_of_the_library_share_one_server(
    redis_server: RunningServer, client: AsyncClient, domain: str
) -> None:
    """Another redswf version's library (a rolling upgrade) neither breaks nor replaces ours."""
    ours = library()
    theirs = ours.source.replace(ours.name, "redswf_0000other0000").replace(
        ours.name.removeprefix("redswf_"), "0000other0000"
    )
    with redis_server.client() as plain:
        plain.function_load(theirs, replace=True)
    try:
        await run_one_activity_workflow(client, domain)
        with redis_server.client() as plain:
            names = {entry[1] for entry in plain.function_list(library="redswf_*")}
            assert {ours.name.encode(), b"redswf_0000other0000"} <= names
            prefix = domain_prefix("us-east-1", domain)
            function = ours.functions["domain_deprecate"].replace(
                ours.name.removeprefix("redswf_"), "0000other0000"
            )
            plain.fcall(function, 1, prefix, msgpack.packb({"name": domain}))
        detail = await client.describe_domain(name=domain)
        assert detail["domainInfo"]["status"] == "DEPRECATED"
    finally:
        with redis_server.client() as plain:
            plain.function_delete("redswf_0000other0000")


async def test_restart_keeps_data_and_functions(tmp_path: Path, domain: str) -> None:
    server = start_server(tmp_path / "aof", aof=True)
    try:
        async with AsyncClient(server.url, poll_hold=0.5, max_domains=MAX_DOMAINS) as client:
            run_id = await run_one_activity_workflow(client, domain)
        server.kill()
        server.restart()
        async with AsyncClient(server.url, poll_hold=0.5, max_domains=MAX_DOMAINS) as client:
            page = await client.get_workflow_execution_history(
                domain=domain, execution={"workflowId": "w1", "runId": run_id}
            )
            assert len(page["events"]) == 11
            assert page["events"][-1]["eventType"] == "WorkflowExecutionCompleted"
            # A transition after the restart runs the library that the AOF kept.
            await client.start_workflow_execution(
                domain=domain, workflowId="w2", workflowType=WORKFLOW_TYPE
            )
    finally:
        server.stop()


def free_port() -> int:
    """Return a free loopback port whose cluster bus port (port + 10000) is free too."""
    for _ in range(100):
        port = random.randrange(20000, 30000)
        try:
            for candidate in (port, port + 10000):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair found")


def start_cluster_node(binary: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start a cluster-enabled server on a free loopback port; retry if the port was taken."""
    for _ in range(5):
        port = free_port()
        process = subprocess.Popen(
            [
                binary,
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--cluster-enabled", "yes",
                "--cluster-config-file", str(data_dir / f"nodes-{port}.conf"),
                "--dir", str(data_dir),
                "--save", "",
                "--appendonly", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        plain: Any = redis.Redis(host="127.0.0.1", port=port)
        try:
            for _ in range(100):
                if process.poll() is not None:
                    break
                try:
                    plain.ping()
                    return process, port
                except redis.ConnectionError:
                    time.sleep(0.05)
        finally:
            plain.close()
        process.kill()
        process.wait()
    raise RuntimeError("no cluster node started after 5 ports")


@pytest.fixture
def cluster_node(tmp_path: Path) -> Iterator[str]:
    """A one-node Redis Cluster on loopback that owns all 16,384 slots."""
    binary = bundled_valkey_server()
    assert binary is not None
    process, port = start_cluster_node(binary, tmp_path)
    try:
        plain: Any = redis.Redis(host="127.0.0.1", port=port)
        plain.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        for _ in range(100):
            if b"cluster_state:ok" in plain.execute_command("CLUSTER", "INFO"):
                break
            time.sleep(0.05)
        plain.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_workflow_on_cluster_node(cluster_node: str, domain: str) -> None:
    async with AsyncClient(cluster_node, poll_hold=0.5, max_domains=MAX_DOMAINS) as client:
        redis_client: Any = client.service.redis
        info = await redis_client.execute_command("CLUSTER", "INFO")
        assert b"cluster_enabled:1" in info or b"cluster_state:ok" in info
        run_id = await run_one_activity_workflow(client, domain)
        page = await client.get_workflow_execution_history(
            domain=domain, execution={"workflowId": "w1", "runId": run_id}
        )
    assert [e["eventId"] for e in page["events"]] == list(range(1, 12))
