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


# Each event type's attributes member, as in "activityTaskStartedEventAttributes".
_ATTRIBUTE_KEYS: dict[str, str] = {}


def attributes_key(event_type: str) -> str:
    """Return the HistoryEvent member that holds the attributes of ``event_type``."""
    key = _ATTRIBUTE_KEYS.get(event_type)
    if key is None:
        key = _ATTRIBUTE_KEYS[event_type] = camel_name(event_type) + "EventAttributes"
    return key


def _split_entry(entry: bytes | str) -> list[str]:
    """Split a history list entry ``<id>|<timestamp>|<type>|<attrs json>`` into its parts.

    The entry is bytes when read from Redis, and text when it came inside a msgpack result.
    """
    text = entry.decode() if isinstance(entry, bytes) else entry
    return text.split("|", 3)


def stored_event(entry: bytes | str) -> dict[str, Any]:
    """Turn a history list entry into a HistoryEvent."""
    event_id, ts, event_type, attrs = _split_entry(entry)
    return {
        "eventId": int(event_id),
        "eventTimestamp": float(ts),
        "eventType": event_type,
        attributes_key(event_type): orjson.loads(attrs),
    }


def stored_events(entries: list[bytes] | list[str], raw: bool = False) -> Any:
    """Turn history list entries into a list of HistoryEvents.

    With ``raw`` the result is the list's JSON text, an ``orjson.Fragment`` that
    ``orjson.dumps`` writes out as it is: the servers send events without decoding their
    attributes, which every entry stores as JSON already, and without a dict per event.
    """
    if not raw:
        return [stored_event(entry) for entry in entries]
    parts = []
    for entry in entries:
        event_id, ts, event_type, attrs = _split_entry(entry)
        parts.append(
            f'{{"eventId":{event_id},"eventTimestamp":{ts},"eventType":"{event_type}",'
            f'"{attributes_key(event_type)}":{attrs}}}'
        )
    return orjson.Fragment("[" + ",".join(parts) + "]")


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
