"""Load the Lua scripts, inline their includes, and call them by SHA.

A script file names its helpers with ``--@include <name>`` lines, which are replaced by
``lua/includes/<name>.lua`` at load time. redis-py's ``AsyncScript`` calls EVALSHA and, on
NOSCRIPT (after ``SCRIPT FLUSH``, a restart or a failover), loads the script and retries.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

import msgpack
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import ResponseError

from .errors import SWFError, parse_script_error

_INCLUDE = re.compile(r"^--@include (\w+)\s*$", re.MULTILINE)

SCRIPT_NAMES = (
    "domain_register",
    "domain_deprecate",
    "domain_undeprecate",
    "type_register",
    "type_change",
    "execution_start",
    "execution_signal",
    "execution_request_cancel",
    "execution_terminate",
    "decision_lease",
    "decision_complete",
    "activity_lease",
    "activity_close",
    "activity_heartbeat",
    "task_unlease",
    "timeouts_fire",
    "tags_change",
)


@cache
def script_source(name: str) -> str:
    """Return the source of script ``name`` with its includes inlined."""
    package = resources.files("redswf.lua")
    text = (package / f"{name}.lua").read_text(encoding="utf-8")

    def include(match: re.Match[str]) -> str:
        return (package / "includes" / f"{match.group(1)}.lua").read_text(encoding="utf-8")

    return _INCLUDE.sub(include, text)


def pack(args: dict[str, Any]) -> bytes:
    """Pack script arguments, leaving out members whose value is None."""
    packed: bytes = msgpack.packb(
        {k: v for k, v in args.items() if v is not None}, use_bin_type=True
    )
    return packed


class Scripts:
    """The registered scripts of one Redis client."""

    def __init__(self, redis: Redis) -> None:
        self._scripts: dict[str, AsyncScript] = {
            name: redis.register_script(script_source(name)) for name in SCRIPT_NAMES
        }

    async def run(self, name: str, prefix: str, args: dict[str, Any]) -> Any:
        """Run script ``name`` on the domain with key prefix ``prefix``; raise SWF faults."""
        try:
            raw = await self._scripts[name](keys=[prefix], args=[pack(args)])
        except ResponseError as exc:
            fault = parse_script_error(str(exc))
            if fault is None:
                raise
            raise fault from None
        return msgpack.unpackb(raw, raw=False)


__all__ = ["SCRIPT_NAMES", "SWFError", "Scripts", "pack", "script_source"]
