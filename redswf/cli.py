"""The ``redswf`` command line."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import click
from redis.exceptions import RedisError

from . import ops_cli
from .cli_options import redis_option, retention_day_option
from .embedded import EmbeddedRedisError, default_data_dir
from .service import DEFAULT_POLL_HOLD, Settings


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a server coroutine; report a start-up failure as one line, not a traceback."""
    try:
        try:
            import uvloop
        except ImportError:  # uvloop is not built for every platform
            asyncio.run(coroutine)
        else:
            uvloop.run(coroutine)
    except (EmbeddedRedisError, RedisError, OSError, ValueError, RuntimeError) as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc


@click.group()
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Logging level of messages written to standard error.",
)
def main(log_level: str) -> None:
    """redswf: the Amazon SWF model on Redis."""
    logging.basicConfig(
        level=log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command()
@click.option(
    "--redis",
    "redis_url",
    envvar="REDSWF_REDIS_URL",
    show_envvar=True,
    help="Redis URL (redis://, rediss:// or unix://). Without it, redswf starts its own "
    "Redis-compatible server with AOF in --data-dir, on the unix socket "
    "<data dir>/redis.sock.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="REDSWF_DATA_DIR",
    show_envvar=True,
    default=default_data_dir,
    show_default="$XDG_DATA_HOME/redswf or ~/.local/share/redswf",
    help="Directory of the embedded server's AOF, config, log and socket.",
)
@click.option(
    "--appendfsync",
    type=click.Choice(["always", "everysec", "no"]),
    default="everysec",
    show_default=True,
    help="fsync policy of the embedded server's AOF: 'everysec' can lose about the last "
    "second of acknowledged writes on a machine crash, 'always' loses none.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="HTTP listen address.")
@click.option(
    "--port", default=8080, show_default=True, type=int, help="HTTP port; 0 picks a free one."
)
@click.option(
    "--port-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the bound HTTP port to this file once listening.",
)
@click.option(
    "--region", default="us-east-1", show_default=True, help="Region of unsigned requests."
)
@click.option("--account-id", default="123456789012", show_default=True, help="Account id in ARNs.")
@click.option(
    "--poll-hold",
    type=click.FloatRange(min=0.0, max=60.0),
    default=DEFAULT_POLL_HOLD,
    show_default=True,
    help="Seconds a long poll waits for a task before it returns empty.",
)
@retention_day_option
@click.option(
    "--empty-poll-token",
    is_flag=True,
    help='Send "taskToken": "" in empty polls instead of leaving the member out.',
)
@click.option(
    "--resp-port",
    type=click.IntRange(min=0, max=65535),
    help="Also serve the SWF operations over the Redis protocol (RESP) on this port; "
    "0 picks a free one. Off when not given.",
)
@click.option("--resp-host", help="RESP listen address [default: the --host value].")
@click.option(
    "--resp-port-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the bound RESP port to this file once listening.",
)
@click.option(
    "--max-domains",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Maximum number of domains per region, deprecated ones included (SWF allows 100).",
)
@click.option(
    "--no-timers",
    is_flag=True,
    help="Do not run the timer and timeout service in this process (run `redswf timers`).",
)
def serve(
    redis_url: str | None,
    data_dir: Path,
    appendfsync: str,
    host: str,
    port: int,
    port_file: Path | None,
    region: str,
    account_id: str,
    poll_hold: float,
    retention_day_seconds: float,
    empty_poll_token: bool,
    resp_port: int | None,
    resp_host: str | None,
    resp_port_file: Path | None,
    max_domains: int,
    no_timers: bool,
) -> None:
    """Serve the SWF HTTP API, with the timer and timeout service.

    Without --redis, the embedded server listens on the unix socket <data dir>/redis.sock
    (for example unix:///home/you/.local/share/redswf/redis.sock), where the library and
    the operator commands reach it.
    """
    from .server import ServeOptions
    from .server import serve as run_server

    settings = Settings(
        region=region,
        account_id=account_id,
        poll_hold=poll_hold,
        retention_day_seconds=retention_day_seconds,
        empty_poll_token=empty_poll_token,
        max_domains=max_domains,
    )
    options = ServeOptions(
        redis_url=redis_url,
        data_dir=data_dir,
        appendfsync=appendfsync,
        host=host,
        port=port,
        settings=settings,
        port_file=port_file,
        timers=not no_timers,
        resp_port=resp_port,
        resp_host=resp_host,
        resp_port_file=resp_port_file,
    )
    _run(run_server(options))


@main.command()
@redis_option
@retention_day_option
@click.option(
    "--interval",
    type=click.FloatRange(min=0.001),
    default=0.05,
    show_default=True,
    help="Seconds between two sweeps for due items.",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1, max=10000),
    default=200,
    show_default=True,
    help="Due items fired by one script call; smaller batches keep each call shorter.",
)
def timers(redis_url: str, retention_day_seconds: float, interval: float, batch: int) -> None:
    """Run only the timer and timeout service (any number may run against one Redis)."""
    from .server import run_timers

    _run(run_timers(redis_url, retention_day_seconds, interval, batch))


ops_cli.register(main)

if __name__ == "__main__":
    main()
