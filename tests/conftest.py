"""Fixtures: real Redis-compatible servers and real `redswf serve` processes on loopback.

One server and one `redswf serve` process per test session; tests isolate themselves with
unique domain names. AWS clients get dummy keys and never look up the instance metadata.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from redswf import AsyncClient
from tests.servers import RunningServer, available_binaries, start_server

# Set before any AWS client exists, so that nothing queries the instance-metadata address.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
os.environ.update(AWS_ENV)
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SWF"):
    os.environ.pop(_name, None)

POLL_HOLD = 2.0  # seconds; short, so idle polls end quickly in tests
# Every test registers its own domains in one region of one server, far past SWF's 100.
MAX_DOMAINS = 100_000


@dataclass
class ServeProcess:
    """A `redswf serve` child process and the endpoint it listens on."""

    process: subprocess.Popen[bytes]
    endpoint: str
    log_path: Path

    def stop(self) -> int:
        self.process.terminate()
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_serve(tmp: Path, *args: str, poll_hold: float = POLL_HOLD) -> ServeProcess:
    """Start `redswf serve` with the given arguments on a free port; wait until it listens."""
    tmp.mkdir(parents=True, exist_ok=True)
    port_file = tmp / f"port-{uuid.uuid4().hex}"
    log_path = tmp / f"serve-{uuid.uuid4().hex}.log"
    command = [
        sys.executable,
        "-m",
        "redswf.cli",
        "serve",
        "--port",
        "0",
        "--port-file",
        str(port_file),
        "--poll-hold",
        str(poll_hold),
        "--max-domains",
        str(MAX_DOMAINS),
        *args,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text().strip():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"redswf serve did not start:\n{log_path.read_text()}")
        time.sleep(0.05)
    port = int(port_file.read_text())
    return ServeProcess(process, f"http://127.0.0.1:{port}", log_path)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A valkey-server (or the binary named by REDSWF_TEST_SERVER) for the whole session."""
    binary = os.environ.get("REDSWF_TEST_SERVER")
    if binary and binary in available_binaries():
        binary = available_binaries()[binary]
    server = start_server(tmp_path_factory.mktemp("redis"), binary=binary)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: RunningServer) -> str:
    return redis_server.url


@pytest.fixture(scope="session")
def serve(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """One `redswf serve` process on the session's Redis."""
    process = start_serve(tmp_path_factory.mktemp("serve"), "--redis", redis_url)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def endpoint(serve: ServeProcess) -> str:
    return serve.endpoint


def make_boto3_client(endpoint: str, region: str = "us-east-1") -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "swf",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(read_timeout=70, retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="session")
def swf(endpoint: str) -> Any:
    """A boto3 SWF client of the session's `redswf serve`."""
    return make_boto3_client(endpoint)


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[AsyncClient]:
    """A library client (asyncio) on the session's Redis."""
    async with AsyncClient(redis_url, poll_hold=1.0, max_domains=MAX_DOMAINS) as library_client:
        yield library_client


@pytest.fixture
def domain() -> str:
    """A domain name of this test alone."""
    return f"test-{uuid.uuid4().hex[:12]}"
