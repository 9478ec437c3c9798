"""Run the redswf service: Redis (embedded or given), the HTTP API, clean shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from .connection import connect
from .embedded import EmbeddedRedis, EmbeddedRedisConfig
from .http import create_app
from .resp import close_resp_server, start_resp_server
from .scripts import Scripts
from .service import Service, Settings
from .timers import TimerService

logger = logging.getLogger(__name__)

MIN_REDIS_VERSION = (7, 0)  # Functions and SPUBLISH (sharded pub/sub) need Redis 7.0 or Valkey


@dataclass
class ServeOptions:
    redis_url: str | None
    data_dir: Path
    appendfsync: str
    host: str
    port: int
    settings: Settings
    port_file: Path | None = None
    shutdown_timeout: float = 10.0
    timers: bool = True
    resp_port: int | None = None  # None: no RESP server
    resp_host: str | None = None  # None: the HTTP host
    resp_port_file: Path | None = None


async def check_redis(redis: Redis) -> str:
    """Refuse a server that could lose workflow state or lacks the commands redswf uses."""
    info: Any = await redis.info("server")
    # Valkey reports the Redis version it is compatible with as redis_version.
    compatible = str(info.get("redis_version"))
    numbers = tuple(int(part) for part in compatible.split(".")[:2])
    if numbers < MIN_REDIS_VERSION:
        raise RuntimeError(f"Redis {compatible} is too old: redswf needs Redis 7.0 or later")
    policy: Any = await redis.config_get("maxmemory-policy")
    value = policy.get(b"maxmemory-policy") or policy.get("maxmemory-policy")
    if isinstance(value, bytes):
        value = value.decode()
    if value and value != "noeviction":
        raise RuntimeError(
            f"maxmemory-policy is {value!r}: it may evict workflow state. "
            "Set it to 'noeviction' (CONFIG SET maxmemory-policy noeviction)."
        )
    # Load the transitions now, so that a server or user that may not load functions
    # (an ACL without @scripting, a managed Redis that disables FUNCTION) fails the start
    # instead of the first request.
    try:
        await Scripts(redis).load()
    except ResponseError as exc:
        raise RuntimeError(
            f"cannot load the redswf Functions library: {exc}. redswf needs FUNCTION LOAD "
            "and FCALL (ACL category @scripting)."
        ) from None
    if info.get("valkey_version"):
        return f"Valkey {info['valkey_version']}"
    return f"Redis {compatible}"


async def serve(options: ServeOptions, stop: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set or SIGINT/SIGTERM arrives, then shut down cleanly."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    embedded: EmbeddedRedis | None = None
    supervisor: asyncio.Task[None] | None = None
    redis_url = options.redis_url
    if redis_url is None:
        embedded = EmbeddedRedis(
            EmbeddedRedisConfig(data_dir=options.data_dir, appendfsync=options.appendfsync)
        )
        await embedded.start()
        supervisor = asyncio.create_task(embedded.supervise(), name="redswf-embedded-redis")
        redis_url = embedded.url

    redis = connect(redis_url)
    runner: web.AppRunner | None = None
    service: Service | None = None
    timer_task: asyncio.Task[None] | None = None
    resp_server: asyncio.Server | None = None
    try:
        version = await check_redis(redis)
        logger.info("using %s at %s", version, redis_url)
        service = Service(redis, options.settings)
        if options.timers:
            timer_service = TimerService(
                redis, retention_day_seconds=options.settings.retention_day_seconds
            )
            timer_task = asyncio.create_task(timer_service.run(stop), name="redswf-timers")
        # Per-request access lines only at DEBUG: worker fleets make thousands of calls a second.
        access_log = logging.getLogger("aiohttp.access")
        runner = web.AppRunner(
            create_app(service),
            shutdown_timeout=options.shutdown_timeout,
            access_log=access_log if access_log.isEnabledFor(logging.DEBUG) else None,
        )
        await runner.setup()
        # A fleet of pollers may connect all at once; the default backlog of 128 drops many.
        site = web.TCPSite(runner, options.host, options.port, backlog=4096)
        await site.start()
        port = _bound_port(runner)
        logger.info(
            "redswf listening on http://%s:%d (region %s, poll hold %.1f s)",
            options.host,
            port,
            options.settings.region,
            options.settings.poll_hold,
        )
        if options.port_file is not None:
            options.port_file.write_text(f"{port}\n")
        if options.resp_port is not None:
            resp_host = options.resp_host or options.host
            resp_server = await start_resp_server(service, resp_host, options.resp_port)
            resp_port = resp_server.sockets[0].getsockname()[1]
            if options.resp_port_file is not None:
                options.resp_port_file.write_text(f"{resp_port}\n")
        await stop.wait()
        logger.info("stopping: ending open long polls")
    finally:
        stop.set()
        if timer_task is not None:
            await timer_task
        if service is not None:
            await service.close()
        if resp_server is not None:
            await close_resp_server(resp_server, options.shutdown_timeout)
        if runner is not None:
            await runner.cleanup()
        await redis.aclose()
        if supervisor is not None:
            supervisor.cancel()
            await asyncio.gather(supervisor, return_exceptions=True)
        if embedded is not None:
            await embedded.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        logger.info("redswf stopped")


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    raise RuntimeError("the HTTP server has no TCP address")


async def run_timers(
    redis_url: str, retention_day_seconds: float, interval: float, batch: int
) -> None:
    """Run the timer service alone until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    redis = connect(redis_url)
    try:
        version = await check_redis(redis)
        logger.info("timer service using %s at %s", version, redis_url)
        service = TimerService(
            redis, retention_day_seconds=retention_day_seconds, interval=interval, batch=batch
        )
        await service.run(stop)
    finally:
        await redis.aclose()
