"""What `redswf serve` and `redswf timers` check about a Redis given with --redis."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from redswf.connection import connect
from redswf.scripts import library
from redswf.server import check_redis
from tests.servers import RunningServer, start_server


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(tmp_path / "redis")
    yield server
    server.stop()


async def test_check_loads_the_functions_library(own_server: RunningServer) -> None:
    redis = connect(own_server.url)
    try:
        version = await check_redis(redis)
    finally:
        await redis.aclose()
    assert version.startswith(("Valkey ", "Redis "))
    with own_server.client() as plain:
        names = [entry[1] for entry in plain.function_list(library="redswf_*")]
    assert names == [library().name.encode()]


async def test_check_refuses_an_evicting_server(own_server: RunningServer) -> None:
    with own_server.client() as plain:
        plain.config_set("maxmemory-policy", "allkeys-lru")
    redis = connect(own_server.url)
    try:
        with pytest.raises(RuntimeError, match="maxmemory-policy is 'allkeys-lru'"):
            await check_redis(redis)
    finally:
        await redis.aclose()


def test_serve_rejects_user_without_scripting(own_server: RunningServer) -> None:
    with own_server.client() as plain:
        plain.acl_setuser(
            "noscript",
            enabled=True,
            passwords=["+secret"],
            keys=["*"],
            channels=["*"],
            commands=["+@all", "-@scripting"],
        )
    url = own_server.url.replace("unix://", "unix://noscript:secret@", 1)
    result = subprocess.run(
        [sys.executable, "-m", "redswf.cli", "serve", "--redis", url, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "cannot load the redswf Functions library" in output, output
    assert "@scripting" in output, output
    assert "Traceback" not in output, output
