"""The processes a benchmark run starts, and the facts of the machine it runs on.

Every server listens on a unix socket or a loopback port in a temporary folder. Each
process started here is registered for cleanup, so an error or Ctrl-C stops it too.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

import redswf.scripts
from tests.servers import RunningServer, start_server

REPO = Path(__file__).resolve().parent.parent
# Folder for results, the page and the arq virtualenv: the checkout the command was started
# in, also when ``--commit`` runs the code from an exported snapshot.
OUTPUT_ROOT = Path(os.environ.get("REDSWF_BENCH_OUTPUT", REPO))
ARQ_VENV = OUTPUT_ROOT / "benchmarks" / ".venv-arq"
ARQ_VERSION = "0.28.0"
REDIS_SERVER = "/usr/bin/redis-server"

# Transition name of each FCALL function, for the slow log. ``--commit`` may measure a
# redswf from before the Functions library, whose scripts run as EVALSHA.
FUNCTION_NAMES: dict[str, str] = (
    {function: name for name, function in redswf.scripts.library().functions.items()}
    if hasattr(redswf.scripts, "library")
    else {}
)

_children: list[subprocess.Popen[bytes]] = []
_servers: list[RunningServer] = []


def raise_open_file_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit; children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def register_child(process: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
    _children.append(process)
    return process


def stop_child(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Stop one child with SIGTERM, then SIGKILL after ``timeout`` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with contextlib.suppress(ValueError):
        _children.remove(process)


@atexit.register
def stop_everything() -> None:
    """Stop every child process and server this run started and has not stopped yet."""
    for process in list(_children):
        stop_child(process, timeout=5.0)
    for server in list(_servers):
        with contextlib.suppress(Exception):
            server.stop()
        _servers.remove(server)


def start_redis(tmp: Path, binary: str | None = None) -> RunningServer:
    """Start valkey-server (default) or another binary on a unix socket, with AOF everysec.

    The settings are those that ``redswf serve`` gives its embedded server. The slow log
    keeps every command over 1 ms, and the latency monitor records events over 1 ms.
    """
    server = start_server(tmp, binary=binary, aof=True)
    _servers.append(server)
    with server.client() as client:
        client.config_set("slowlog-log-slower-than", 1000)
        client.config_set("slowlog-max-len", 4096)
        client.config_set("latency-monitor-threshold", 1)
    return server


def stop_redis(server: RunningServer) -> None:
    server.stop()
    with contextlib.suppress(ValueError):
        _servers.remove(server)


def server_info(server: RunningServer) -> dict[str, str]:
    with server.client() as client:
        info: Any = client.info("server")
        memory: Any = client.info("memory")
    product = "valkey" if "valkey_version" in info else "redis"
    return {
        "binary": server.binary,
        "product": product,
        "version": str(info.get("valkey_version") or info["redis_version"]),
        "allocator": str(memory["mem_allocator"]),
    }


@dataclass
class Serve:
    """A ``redswf serve`` child process."""

    process: subprocess.Popen[bytes]
    endpoint: str
    port: int
    log_path: Path
    resp_port: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        stop_child(self.process)

    def require_resp_port(self) -> int:
        """Return the RESP port; raise RuntimeError when it was started without ``resp``."""
        if self.resp_port is None:
            raise RuntimeError("this redswf serve has no RESP port: start it with resp=True")
        return self.resp_port


def start_serve(
    tmp: Path, redis_url: str, poll_hold: float, *extra: str, resp: bool = False
) -> Serve:
    """Start ``redswf serve`` on a free loopback port and wait until it listens.

    With ``resp`` it also serves RESP on a second free loopback port.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    port_file = tmp / f"port-{uuid.uuid4().hex}"
    resp_port_file = tmp / f"resp-port-{uuid.uuid4().hex}"
    log_path = tmp / f"serve-{uuid.uuid4().hex}.log"
    command = [
        sys.executable,
        "-m",
        "redswf.cli",
        "--log-level",
        "WARNING",
        "serve",
        "--redis",
        redis_url,
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--port-file",
        str(port_file),
        "--poll-hold",
        str(poll_hold),
        "--max-domains",
        "100000",
        *extra,
    ]
    port_files = [port_file]
    if resp:
        command += ["--resp-port", "0", "--resp-port-file", str(resp_port_file)]
        port_files.append(resp_port_file)
    with log_path.open("wb") as log:
        process = register_child(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 30
    while not all(f.exists() and f.read_text().strip() for f in port_files):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_child(process)
            raise RuntimeError(f"redswf serve did not start:\n{log_path.read_text()}")
        time.sleep(0.05)
    port = int(port_file.read_text())
    resp_port = int(resp_port_file.read_text()) if resp else None
    return Serve(process, f"http://127.0.0.1:{port}", port, log_path, resp_port)


def start_timers(tmp: Path, redis_url: str) -> subprocess.Popen[bytes]:
    """Start ``redswf timers``, the timer and timeout service alone."""
    log = (tmp / "timers.log").open("wb")
    command = [sys.executable, "-m", "redswf.cli", "--log-level", "WARNING", "timers"]
    command += ["--redis", redis_url]
    return register_child(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_moto(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start moto's server mode on a free loopback port; return it and its endpoint."""
    port = free_port()
    moto = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    if moto is None:
        raise RuntimeError(
            "moto_server not found: install the bench extra (pip install -e '.[bench]')"
        )
    log = (tmp / "moto.log").open("wb")
    process = register_child(
        subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    )
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            break
        if process.poll() is not None or time.monotonic() > deadline:
            stop_child(process)
            raise RuntimeError(f"moto_server did not start; see {tmp / 'moto.log'}")
        time.sleep(0.1)
    return process, f"http://127.0.0.1:{port}"


def ensure_arq_venv() -> Path | None:
    """Return the python of the arq virtualenv, creating it on first use.

    arq 0.28 requires redis-py < 6, older than the redis-py redswf runs on, so arq gets a
    virtualenv of its own (benchmarks/.venv-arq, ignored by git) instead of the bench extra.
    """
    python = ARQ_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {ARQ_VENV} with arq=={ARQ_VERSION} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(ARQ_VENV)], check=True)
        result = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", f"arq=={ARQ_VERSION}", "uvloop"],
            check=False,
        )
        if result.returncode != 0:
            shutil.rmtree(ARQ_VENV, ignore_errors=True)
            return None
    return python


def temp_dir(label: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"redswf-bench-{label}-"))


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (VmRSS in /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kb = int(line.split()[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": platform.platform(),
    }


def versions(valkey: dict[str, str], redis_server: dict[str, str] | None) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str] = {"python": platform.python_version()}
    for package in ("redswf", "redis", "hiredis", "aiohttp", "boto3", "moto", "uvloop", "msgpack"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    found["arq"] = f"{ARQ_VERSION} (own virtualenv, redis-py {arq_redis_version()})"
    found["valkey-server"] = f"{valkey['version']} ({valkey['allocator']})"
    if redis_server is not None:
        found["redis-server"] = f"{redis_server['version']} ({redis_server['allocator']})"
    return found


def arq_redis_version() -> str:
    python = ARQ_VENV / "bin" / "python"
    if not python.exists():
        return "?"
    result = subprocess.run(
        [str(python), "-c", "import redis; print(redis.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or "?"


def slowlog_summary(server: RunningServer) -> list[dict[str, Any]]:
    """Group the slow log by command (scripts by name): count, max and total duration."""
    with server.client() as client:
        entries: Any = client.slowlog_get(4096)
    groups: dict[str, dict[str, Any]] = {}
    for entry in entries:
        command = entry["command"]
        if isinstance(command, bytes):
            command = command.decode(errors="replace")
        parts = command.split()
        name = parts[0].upper() if parts else "?"
        if name == "FCALL" and len(parts) > 1:
            name = f"FCALL {FUNCTION_NAMES.get(parts[1], parts[1])}"
        group = groups.setdefault(
            name, {"command": name, "count": 0, "max_ms": 0.0, "total_ms": 0.0}
        )
        group["count"] += 1
        group["max_ms"] = max(group["max_ms"], entry["duration"] / 1000)
        group["total_ms"] += entry["duration"] / 1000
    return sorted(groups.values(), key=lambda g: -g["total_ms"])


def flush(server: RunningServer) -> None:
    """Empty every database and reset the statistics and the slow log."""
    with server.client() as client:
        client.execute_command("FLUSHALL", "SYNC")
        client.config_resetstat()
        client.slowlog_reset()


def client_of(server: RunningServer) -> redis.Redis:
    return server.client()
