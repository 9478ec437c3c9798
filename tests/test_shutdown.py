"""Stopping `redswf serve` with SIGTERM: open long polls end at once, the process exits with
code 0, and the embedded server's AOF keeps the data for the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ServeProcess, make_boto3_client, start_serve
from tests.helpers import (
    ACTIVITY_LIST,
    DECISION_LIST,
    WORKFLOW_TYPE,
    poll_in_thread,
    register_all_sync,
)

# Liveness bounds, far above the expected times: a poll ends within a fraction of a second
# of SIGTERM or SIGINT, and the process exits soon after.
POLL_END_LIMIT_SECONDS = 15.0
EXIT_LIMIT_SECONDS = 20.0


def processes_using(path: Path) -> list[str]:
    """Return ``pid: command line`` of each running process whose command line contains
    ``path``."""
    needle = str(path).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:  # the process ended while the loop ran
            continue
        if needle in command:
            readable = command.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{entry.name}: {readable}")
    return found


@pytest.fixture
def servers() -> Iterator[list[ServeProcess]]:
    """Servers that the test starts and appends. Those still running stop at teardown."""
    started: list[ServeProcess] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.stop()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_ends_open_polls(
    domain: str,
    tmp_path: Path,
    redis_url: str,
    servers: list[ServeProcess],
    stop_signal: signal.Signals,
) -> None:
    hold = 30.0
    server = start_serve(tmp_path, "--redis", redis_url, poll_hold=hold)
    servers.append(server)
    swf = make_boto3_client(server.endpoint)
    register_all_sync(swf, domain)

    polls = {
        "activity": poll_in_thread(
            make_boto3_client(server.endpoint).poll_for_activity_task,
            domain=domain,
            taskList={"name": ACTIVITY_LIST},
        ),
        "decision": poll_in_thread(
            make_boto3_client(server.endpoint).poll_for_decision_task,
            domain=domain,
            taskList={"name": DECISION_LIST},
        ),
    }
    time.sleep(1.0)
    for kind, (thread, result) in polls.items():
        assert thread.is_alive(), (
            f"the {kind} poll returned before {stop_signal.name}: {result.response}"
        )

    signalled_at = time.monotonic()
    server.process.send_signal(stop_signal)
    for thread, _ in polls.values():
        thread.join(timeout=POLL_END_LIMIT_SECONDS)

    expected_outputs = {
        "activity": {"startedEventId": 0},
        "decision": {"startedEventId": 0, "previousStartedEventId": 0},
    }
    for kind, (thread, result) in polls.items():
        assert not thread.is_alive(), (
            f"the {kind} poll was still open {POLL_END_LIMIT_SECONDS:.0f} s after "
            f"{stop_signal.name} (poll hold {hold:.0f} s)\nserver log:\n{server.log()}"
        )
        assert result.error is None, (
            f"the {kind} poll failed after {stop_signal.name}: {result.error!r}\n"
            f"server log:\n{server.log()}"
        )
        assert result.response is not None
        status = result.response["ResponseMetadata"]["HTTPStatusCode"]
        assert status == 200, f"the {kind} poll returned HTTP {status}"
        output = {key: value for key, value in result.response.items() if key != "ResponseMetadata"}
        assert output == expected_outputs[kind], f"the {kind} poll returned {output}"
        waited = result.returned_at - signalled_at
        assert waited < POLL_END_LIMIT_SECONDS, (
            f"the {kind} poll ended {waited:.1f} s after {stop_signal.name}"
        )

    try:
        exit_code = server.process.wait(timeout=EXIT_LIMIT_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"redswf serve did not exit within {EXIT_LIMIT_SECONDS:.0f} s of {stop_signal.name}"
        )
    assert exit_code == 0, f"redswf serve exited with {exit_code}\nserver log:\n{server.log()}"


def test_embedded_data_survives_restart(
    domain: str, tmp_path: Path, servers: list[ServeProcess]
) -> None:
    data_dir = tmp_path / "data"
    first = start_serve(tmp_path, "--data-dir", str(data_dir))
    servers.append(first)
    swf = make_boto3_client(first.endpoint)
    register_all_sync(swf, domain)
    started = swf.start_workflow_execution(
        domain=domain, workflowId="survivor", workflowType=WORKFLOW_TYPE, input="kept"
    )
    execution = {"workflowId": "survivor", "runId": started["runId"]}
    history_before = swf.get_workflow_execution_history(domain=domain, execution=execution)

    running = processes_using(data_dir)
    embedded = [line for line in running if not line.startswith(f"{first.process.pid}:")]
    assert embedded, f"no embedded server process found for the data dir: {running}"

    exit_code = first.stop()
    assert exit_code == 0, f"the first server exited with {exit_code}\nlog:\n{first.log()}"
    leftovers = processes_using(data_dir)
    assert not leftovers, f"processes still use the data dir after the stop: {leftovers}"

    second = start_serve(tmp_path, "--data-dir", str(data_dir))
    servers.append(second)
    swf = make_boto3_client(second.endpoint)

    detail = swf.describe_domain(name=domain)
    assert detail["domainInfo"]["name"] == domain
    assert detail["domainInfo"]["status"] == "REGISTERED"
    listed = swf.list_domains(registrationStatus="REGISTERED")["domainInfos"]
    assert domain in [info["name"] for info in listed], f"{domain} missing from {listed}"

    workflow_type = swf.describe_workflow_type(domain=domain, workflowType=WORKFLOW_TYPE)
    assert workflow_type["typeInfo"]["status"] == "REGISTERED"
    execution_detail = swf.describe_workflow_execution(domain=domain, execution=execution)
    assert execution_detail["executionInfo"]["executionStatus"] == "OPEN"
    history_after = swf.get_workflow_execution_history(domain=domain, execution=execution)
    assert history_after["events"] == history_before["events"], "the history changed on restart"

    exit_code = second.stop()
    assert exit_code == 0, f"the second server exited with {exit_code}\nlog:\n{second.log()}"
    leftovers = processes_using(data_dir)
    assert not leftovers, f"processes still use the data dir after the stop: {leftovers}"
