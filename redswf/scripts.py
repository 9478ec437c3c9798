"""Build the Lua transitions into one Redis Functions library and call them with FCALL.

The library is ``lua/includes/common.lua`` and ``lua/includes/execution.lua`` (the shared
helpers, defined once) followed by one function per ``lua/<name>.lua``: the file's body,
wrapped as ``redis.register_function('redswf_<name>_<version>', function(keys, args) ...)``,
so every function can call every helper.

The library is named ``redswf_<version>``, where the version is a hash of its source, so
servers of two redswf versions (a rolling upgrade) can share one Redis without replacing
each other's functions. Redis keeps a loaded library in its RDB and AOF files and sends it
to replicas. When a call finds no function (a new server, ``FUNCTION FLUSH``, a failover to
a replica that missed it), the client loads the library and calls again.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import msgpack
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from .errors import SWFError, parse_script_error

_INCLUDES = ("common", "execution")
LIBRARY_PREFIX = "redswf_"

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


@dataclass(frozen=True)
class Library:
    """The built library: its name, its FUNCTION LOAD source and its function names."""

    name: str
    source: str
    functions: dict[str, str]


def _read(*parts: str) -> str:
    path = resources.files("redswf.lua")
    for part in parts:
        path = path / part
    return path.read_text(encoding="utf-8")


@cache
def library() -> Library:
    """Return the library built from the Lua files of this redswf."""
    helpers = [_read("includes", f"{name}.lua") for name in _INCLUDES]
    bodies = {name: _read(f"{name}.lua") for name in SCRIPT_NAMES}
    version = hashlib.sha1("\0".join([*helpers, *bodies.values()]).encode()).hexdigest()[:12]
    functions = {name: f"{LIBRARY_PREFIX}{name}_{version}" for name in SCRIPT_NAMES}
    parts = [f"#!lua name={LIBRARY_PREFIX}{version}\n", *helpers]
    for name, body in bodies.items():
        parts.append(
            f"\nredis.register_function('{functions[name]}', function(keys, args)\n"
            f"bind(keys, args)\n{body}\nend)\n"
        )
    return Library(f"{LIBRARY_PREFIX}{version}", "".join(parts), functions)


def pack(args: dict[str, Any]) -> bytes:
    """Pack script arguments, leaving out members whose value is None."""
    packed: bytes = msgpack.packb(
        {k: v for k, v in args.items() if v is not None}, use_bin_type=True
    )
    return packed


def _missing_function(exc: ResponseError) -> bool:
    return str(exc).startswith("Function not found")


class Scripts:
    """Calls the library's functions on one Redis client, loading the library when missing."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._library = library()
        self._loading = asyncio.Lock()
        self._loads = 0

    async def load(self) -> None:
        """Load the library, replacing a library of the same name (and so the same source)."""
        await self._redis.function_load(self._library.source, replace=True)
        self._loads += 1

    async def run(self, name: str, prefix: str, args: dict[str, Any]) -> Any:
        """Run transition ``name`` on the domain with key prefix ``prefix``; raise SWF faults."""
        function = self._library.functions[name]
        packed = pack(args)
        loads = self._loads
        try:
            try:
                raw = await self._redis.fcall(function, 1, prefix, packed)
            except ResponseError as exc:
                if not _missing_function(exc):
                    raise
                await self._reload(loads)
                raw = await self._redis.fcall(function, 1, prefix, packed)
        except ResponseError as exc:
            fault = parse_script_error(str(exc))
            if fault is None:
                raise
            raise fault from None
        return msgpack.unpackb(raw, raw=False)

    async def _reload(self, seen: int) -> None:
        # Many calls can miss the library at once; the first loads it, the rest wait for it.
        # ``seen`` is the load count when the failed call was sent: a load since then has
        # already put the library back.
        async with self._loading:
            if self._loads == seen:
                await self.load()


__all__ = ["SCRIPT_NAMES", "Library", "SWFError", "Scripts", "library", "pack"]
