"""Conversions between stored values and SWF JSON shapes, shared by the operation groups."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from .errors import validation_error

if TYPE_CHECKING:
    from .service import CallContext

MAX_PAGE_SIZE = 1000

# An operation handler: (call context, validated request) -> response dict or None.
Handler = Callable[["CallContext", dict[str, Any]], Awaitable[Any]]


def camel_name(name: str) -> str:
    return name[0].lower() + name[1:]


def ms_to_timestamp(ms: str | int) -> float:
    return int(ms) / 1000.0


def event_dict(entry: list[Any], raw: bool = False) -> dict[str, Any]:
    """Turn a stored event ``[id, type, ts, attrs json]`` into an SWF HistoryEvent.

    With ``raw`` the attributes stay the stored JSON text, as an ``orjson.Fragment`` that
    ``orjson.dumps`` writes out as it is: the servers send events without decoding them.
    """
    event_id, event_type, ts, attrs = entry
    return {
        "eventId": int(event_id),
        "eventTimestamp": float(ts),
        "eventType": event_type,
        camel_name(event_type) + "EventAttributes": (
            orjson.Fragment(attrs) if raw else orjson.loads(attrs)
        ),
    }


def stored_event(entry: bytes, raw: bool = False) -> dict[str, Any]:
    """Turn a history list entry ``<id>|<timestamp>|<type>|<attrs json>`` into a HistoryEvent."""
    event_id, ts, event_type, attrs = entry.split(b"|", 3)
    return event_dict([event_id, event_type.decode(), ts, attrs], raw)


def text_map(raw: Any) -> dict[str, str]:
    """Decode a HGETALL reply."""
    return {k.decode(): v.decode() for k, v in raw.items()}


def page_size(params: dict[str, Any]) -> int:
    return int(params.get("maximumPageSize") or MAX_PAGE_SIZE)


def page_token_int(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise validation_error("Invalid token")
    return value
