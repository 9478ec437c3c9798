"""Facts taken from botocore's SWF service model (API 2012-01-25), computed once."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.loaders import Loader

MODEL: Mapping[str, Any] = Loader().load_service_model("swf", "service-2", "2012-01-25")
_SHAPES: Mapping[str, Any] = MODEL["shapes"]

OPERATIONS: tuple[str, ...] = tuple(MODEL["operations"])

# Operations without an output shape return HTTP 200 with an empty body.
VOID_OPERATIONS = frozenset(op for op, spec in MODEL["operations"].items() if "output" not in spec)


def snake_name(operation: str) -> str:
    """Return the boto3 method name of an operation: RegisterDomain -> register_domain."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


METHOD_NAMES: dict[str, str] = {snake_name(op): op for op in OPERATIONS}

Converter = Callable[[Any], Any]


def _timestamp(value: Any) -> Any:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, (int, float)) else value


def _compile(shape_name: str, seen: frozenset[str]) -> Converter | None:
    """Build a function that turns the shape's epoch-second timestamps into datetimes."""
    shape = _SHAPES[shape_name]
    kind = shape["type"]
    if kind == "timestamp":
        return _timestamp
    if shape_name in seen:
        return None
    seen = seen | {shape_name}
    if kind == "list":
        item = _compile(shape["member"]["shape"], seen)
        if item is None:
            return None
        return lambda values: [item(v) for v in values]
    if kind != "structure":
        return None
    members = {
        name: conv
        for name, spec in shape["members"].items()
        if (conv := _compile(spec["shape"], seen)) is not None
    }
    if not members:
        return None

    def convert(value: dict[str, Any]) -> dict[str, Any]:
        for name, conv in members.items():
            if name in value:
                value[name] = conv(value[name])
        return value

    return convert


# Per operation: a function that converts an output dict in place as boto3 would parse it.
OUTPUT_CONVERTERS: dict[str, Converter | None] = {
    op: _compile(spec["output"]["shape"], frozenset()) if "output" in spec else None
    for op, spec in MODEL["operations"].items()
}


def _has_timestamp(shape_name: str, seen: frozenset[str] = frozenset()) -> bool:
    shape = _SHAPES[shape_name]
    if shape["type"] == "timestamp":
        return True
    if shape_name in seen:
        return False
    seen = seen | {shape_name}
    if shape["type"] == "list":
        return _has_timestamp(shape["member"]["shape"], seen)
    if shape["type"] == "structure":
        return any(_has_timestamp(m["shape"], seen) for m in shape["members"].values())
    return False


# Operations whose requests may carry timestamps (the visibility time filters).
TIMESTAMP_INPUT_OPERATIONS = frozenset(
    op for op, spec in MODEL["operations"].items() if _has_timestamp(spec["input"]["shape"])
)
