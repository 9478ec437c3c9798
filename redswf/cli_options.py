"""Options shared by several ``redswf`` commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from .embedded import default_redis_url

F = TypeVar("F", bound=Callable[..., Any])

redis_option: Callable[[F], F] = click.option(
    "--redis",
    "redis_url",
    envvar="REDSWF_REDIS_URL",
    show_envvar=True,
    default=default_redis_url,
    show_default="unix://<data dir>/redis.sock, the socket of `redswf serve` on the default "
    "data dir: $REDSWF_DATA_DIR, else $XDG_DATA_HOME/redswf, else ~/.local/share/redswf",
    help="Redis URL (redis://, rediss:// or unix://) of the redswf data.",
)

retention_day_option: Callable[[F], F] = click.option(
    "--retention-day-seconds",
    type=click.FloatRange(min=0.001),
    default=86400.0,
    show_default=True,
    help="Length of one retention day in seconds (shorten it to watch expiry in tests).",
)
