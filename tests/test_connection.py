"""The connection pool: a bound on connections, waiting for a free one, reuse, reconnects."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from redswf.connection import WaitingPool, connect


def pool_of(client: Redis) -> WaitingPool:
    pool = client.connection_pool
    assert isinstance(pool, WaitingPool)
    return pool


async def test_pool_makes_commands_beyond_the_bound_wait(redis_url: str) -> None:
    client = connect(redis_url, max_connections=2)
    key = f"test:pool:{uuid.uuid4().hex}"
    try:
        # Two BLPOPs hold both connections until the pushes below; the third command waits.
        blocked = [asyncio.ensure_future(client.blpop([f"{key}:{i}"], timeout=5)) for i in (0, 1)]
        await asyncio.sleep(0.1)
        waiting = asyncio.ensure_future(client.set(key, "third"))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        pusher = Redis.from_url(redis_url)
        try:
            await pusher.rpush(f"{key}:0", "a")
            await pusher.rpush(f"{key}:1", "b")
        finally:
            await pusher.aclose()
        assert await asyncio.wait_for(waiting, 5) is True
        popped = await asyncio.gather(*blocked)
        assert [tuple(item or ()) for item in popped] == [
            (f"{key}:0".encode(), b"a"),
            (f"{key}:1".encode(), b"b"),
        ]
        assert await client.get(key) == b"third"
        pool = pool_of(client)
        assert len(pool._in_use_connections) == 0
        assert len(pool._available_connections) == 2
    finally:
        await client.delete(key)
        await client.aclose()


async def test_pool_fails_a_command_that_waits_too_long(redis_url: str) -> None:
    client = connect(redis_url, max_connections=1)
    pool_of(client)._wait_timeout = 0.2
    key = f"test:pool:{uuid.uuid4().hex}"
    try:
        blocked = asyncio.ensure_future(client.blpop([key], timeout=2))
        await asyncio.sleep(0.1)
        with pytest.raises(RedisConnectionError, match="No connection available"):
            await client.ping()
        assert await blocked is None
        # The connection came back: the pool works again.
        assert await client.ping() is True
    finally:
        await client.aclose()


async def test_pool_replaces_a_connection_the_server_closed(redis_url: str) -> None:
    client = connect(redis_url, max_connections=1)
    try:
        name = f"pool-{uuid.uuid4().hex}"
        await client.client_setname(name)
        admin = Redis.from_url(redis_url)
        try:
            clients = await admin.client_list()
            victim = next(c for c in clients if c.get("name") == name)
            await admin.client_kill_filter(_id=victim["id"])
        finally:
            await admin.aclose()
        assert await client.ping() is True
    finally:
        await client.aclose()


async def test_pool_keeps_its_bound_when_released_twice(redis_url: str) -> None:
    client = connect(redis_url, max_connections=1)
    try:
        pool = pool_of(client)
        connection = await pool.get_connection()
        await pool.release(connection)
        await pool.release(connection)
        first = await pool.get_connection()
        pool._wait_timeout = 0.1
        with pytest.raises(RedisConnectionError):
            await pool.get_connection()
        await pool.release(first)
    finally:
        await client.aclose()


async def test_socket_timeout_only_from_url() -> None:
    plain = connect("redis://127.0.0.1:1/0")
    timed = connect("redis://127.0.0.1:1/0?socket_timeout=5")
    unix = connect("unix:///nonexistent/redis.sock")
    try:
        assert plain.connection_pool.connection_kwargs["socket_timeout"] is None
        assert timed.connection_pool.connection_kwargs["socket_timeout"] == 5.0
        assert unix.connection_pool.connection_kwargs["socket_timeout"] is None
        # TCP connections probe an idle peer; a unix socket has no keepalive to set.
        assert plain.connection_pool.connection_kwargs["socket_keepalive"] is True
        assert "socket_keepalive" not in unix.connection_pool.connection_kwargs
    finally:
        for client in (plain, timed, unix):
            await client.aclose()
