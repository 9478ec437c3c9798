"""Server-side validation of SWF API requests, compiled from botocore's SWF service model.

botocore clients check only required members and minimums before they send a request. The
server therefore applies the rest of the model: JSON types, lengths, value ranges and enums.
It also applies the rules that the model cannot express for resource names, durations,
retention days and task priorities. Each operation's validator is built once at import.

Wrong JSON types raise ``SerializationException`` at the first one found, because AWS fails
while deserializing the body. All other problems of a request are collected and raised
together as one ``ValidationException`` in the AWS message format.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botocore.loaders import Loader

from redswf.errors import SWFError, serialization_error, validation_error

__all__ = ["OPERATIONS", "validate_request"]

_MODEL: Mapping[str, Any] = Loader().load_service_model("swf", "service-2", "2012-01-25")
_SHAPES: Mapping[str, Mapping[str, Any]] = _MODEL["shapes"]

# A validator takes a decoded JSON value and its path in the request. It returns the value
# without null members, appends ValidationException problems to the list and raises
# SerializationException for a wrong JSON type.
_Validator = Callable[[Any, str, list[str]], Any]
# A rule returns True when a string value fails its constraint.
_StringRule = tuple[Callable[[str], bool], str]

_SHOWN_VALUE_MAX = 100
_JAVA_INT_MIN = -(2**31)
_JAVA_INT_MAX = 2**31 - 1
_JAVA_LONG_MIN = -(2**63)
_JAVA_LONG_MAX = 2**63 - 1
_ONE_YEAR_IN_SECONDS = 31_536_000
_RETENTION_DAYS_MAX = 90

_NOT_NULL = "Member must not be null"
_NAME_CONSTRAINT = (
    "Member must not contain ':', '/', '|', control characters or the literal string 'arn'"
)
_WHITESPACE_CONSTRAINT = "Member must not start or end with whitespace"
_SECONDS_OR_NONE_CONSTRAINT = "Member must be a whole number of seconds or NONE"
_SECONDS_CONSTRAINT = "Member must be a whole number of seconds"
_EXECUTION_TIMEOUT_CONSTRAINT = (
    f"Member must be a whole number of seconds from 0 to {_ONE_YEAR_IN_SECONDS}"
)
_DAYS_CONSTRAINT = f"Member must be a whole number of days from 0 to {_RETENTION_DAYS_MAX} or NONE"
_PRIORITY_CONSTRAINT = f"Member must be an integer from {_JAVA_INT_MIN} to {_JAVA_INT_MAX}"

# Shapes of SWF resource names and ids. AWS rejects ':', '/', '|', control characters and
# the literal 'arn' in them.
_NAME_SHAPES = frozenset(
    {"DomainName", "Name", "Version", "VersionOptional", "WorkflowId", "ActivityId", "TimerId"}
)
_SECONDS_SHAPES = frozenset({"DurationInSeconds", "DurationInSecondsOptional"})
_DAYS_SHAPES = frozenset({"DurationInDays"})
_PRIORITY_SHAPES = frozenset({"TaskPriority"})
# Domain names and task list names must not start or end with whitespace.
_TRIMMED_SHAPES = frozenset({"DomainName"})
_TRIMMED_MEMBERS = frozenset({("TaskList", "name")})
# Durations whose rule is stricter than that of their shape, keyed by (structure, member).
_EXECUTION_TIMEOUT_MEMBERS = frozenset(
    {
        ("StartWorkflowExecutionInput", "executionStartToCloseTimeout"),
        ("RegisterWorkflowTypeInput", "defaultExecutionStartToCloseTimeout"),
    }
)
_SECONDS_ONLY_MEMBERS = frozenset({("StartTimerDecisionAttributes", "startToFireTimeout")})

# AWS lists the decision types in this order in its enum messages, not in model order.
_ENUM_MESSAGE_ORDER: Mapping[str, Sequence[str]] = {
    "DecisionType": (
        "CompleteWorkflowExecution",
        "StartTimer",
        "RequestCancelExternalWorkflowExecution",
        "SignalExternalWorkflowExecution",
        "CancelTimer",
        "RecordMarker",
        "ScheduleActivityTask",
        "ContinueAsNewWorkflowExecution",
        "ScheduleLambdaFunction",
        "FailWorkflowExecution",
        "RequestCancelActivityTask",
        "StartChildWorkflowExecution",
        "CancelWorkflowExecution",
    )
}

_NAME_FORBIDDEN = re.compile(r"[:/|\x00-\x1f\x7f-\x9f]")
_DIGITS = re.compile(r"[0-9]+")
_SIGNED_DIGITS = re.compile(r"[+-]?[0-9]+")


# Rendering of values in messages.


def _truncate(text: str) -> str:
    if len(text) > _SHOWN_VALUE_MAX:
        return text[:_SHOWN_VALUE_MAX] + "..."
    return text


def _show(value: object) -> str:
    """Render a value for a validation message, with strings and lists in single quotes.

    NOTE: lists are rendered like Java's ``List.toString`` (``'[a, b]'``), a form not yet
    compared with a real AWS response.
    """
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"'{_truncate(value)}'"
    if isinstance(value, list):
        items = ", ".join("null" if item is None else str(item) for item in value)
        return f"'{_truncate('[' + items + ']')}'"
    return _truncate(str(value))


def _show_json(value: object) -> str:
    """Render a value of the wrong type as compact JSON, with strings in single quotes."""
    if isinstance(value, str):
        return f"'{_truncate(value)}'"
    return _truncate(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=repr))


def _problem(value: object, path: str, constraint: str) -> str:
    return f"Value {_show(value)} at '{path}' failed to satisfy constraint: {constraint}"


def _wrong_type(value: object, path: str, expected: str) -> SWFError:
    return serialization_error(
        f"Value {_show_json(value)} at '{path}' has the wrong type: expected {expected}"
    )


# String rules beyond the model. Each returns True when the value fails the rule.


def _is_whole_number_at_most(text: str, limit: int) -> bool:
    """Return whether ``text`` is an unsigned decimal integer from 0 to ``limit``."""
    if _DIGITS.fullmatch(text) is None:
        return False
    # Compare lengths first so that a huge digit string is never converted to int.
    significant = text.lstrip("0")
    if len(significant) > len(str(limit)):
        return False
    return int(text) <= limit


def _fails_name(value: str) -> bool:
    return value != "" and (value == "arn" or _NAME_FORBIDDEN.search(value) is not None)


def _fails_trimmed(value: str) -> bool:
    return value != "" and (value[0].isspace() or value[-1].isspace())


def _fails_seconds_or_none(value: str) -> bool:
    return value != "" and value != "NONE" and _DIGITS.fullmatch(value) is None


def _fails_seconds(value: str) -> bool:
    return value != "" and _DIGITS.fullmatch(value) is None


def _fails_execution_timeout(value: str) -> bool:
    return value != "" and not _is_whole_number_at_most(value, _ONE_YEAR_IN_SECONDS)


def _fails_days(value: str) -> bool:
    return (
        value != "" and value != "NONE" and not _is_whole_number_at_most(value, _RETENTION_DAYS_MAX)
    )


def _fails_priority(value: str) -> bool:
    if _SIGNED_DIGITS.fullmatch(value) is None:
        return True
    significant = value.lstrip("+-").lstrip("0")
    if len(significant) > len(str(_JAVA_INT_MAX)):
        return True
    return not _JAVA_INT_MIN <= int(value) <= _JAVA_INT_MAX


# Compilation of the model into validators.


def _string_rules(structure: str, member: str, shape_name: str) -> list[_StringRule]:
    shape = _SHAPES[shape_name]
    rules: list[_StringRule] = []

    minimum = shape.get("min", 0)
    if minimum > 0:
        rules.append(
            (
                lambda value: len(value) < minimum,
                f"Member must have length greater than or equal to {minimum}",
            )
        )
    maximum = shape.get("max")
    if maximum is not None:
        rules.append(
            (
                lambda value: len(value) > maximum,
                f"Member must have length less than or equal to {maximum}",
            )
        )

    enum = shape.get("enum")
    if enum is not None:
        allowed = frozenset(enum)
        listed = ", ".join(_ENUM_MESSAGE_ORDER.get(shape_name, enum))
        rules.append(
            (lambda value: value not in allowed, f"Member must satisfy enum value set: [{listed}]")
        )

    if shape_name in _NAME_SHAPES:
        rules.append((_fails_name, _NAME_CONSTRAINT))
    if shape_name in _TRIMMED_SHAPES or (structure, member) in _TRIMMED_MEMBERS:
        rules.append((_fails_trimmed, _WHITESPACE_CONSTRAINT))

    if (structure, member) in _EXECUTION_TIMEOUT_MEMBERS:
        rules.append((_fails_execution_timeout, _EXECUTION_TIMEOUT_CONSTRAINT))
    elif (structure, member) in _SECONDS_ONLY_MEMBERS:
        rules.append((_fails_seconds, _SECONDS_CONSTRAINT))
    elif shape_name in _SECONDS_SHAPES:
        rules.append((_fails_seconds_or_none, _SECONDS_OR_NONE_CONSTRAINT))
    if shape_name in _DAYS_SHAPES:
        rules.append((_fails_days, _DAYS_CONSTRAINT))
    if shape_name in _PRIORITY_SHAPES:
        rules.append((_fails_priority, _PRIORITY_CONSTRAINT))
    return rules


def _compile_string(structure: str, member: str, shape_name: str) -> _Validator:
    rules = tuple(_string_rules(structure, member, shape_name))

    def validate_string(value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, str):
            raise _wrong_type(value, path, "a string")
        for fails, constraint in rules:
            if fails(value):
                errors.append(_problem(value, path, constraint))
        return value

    return validate_string


def _compile_integer(shape_name: str) -> _Validator:
    shape = _SHAPES[shape_name]
    if shape["type"] == "integer":
        lowest, highest, expected = _JAVA_INT_MIN, _JAVA_INT_MAX, "a 32-bit integer"
    else:
        lowest, highest, expected = _JAVA_LONG_MIN, _JAVA_LONG_MAX, "a 64-bit integer"
    minimum: int | None = shape.get("min")
    maximum: int | None = shape.get("max")

    def validate_integer(value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _wrong_type(value, path, "an integer")
        # The model's integer and long are 32-bit and 64-bit types, so a number outside
        # their range has the wrong type.
        if not lowest <= value <= highest:
            raise _wrong_type(value, path, expected)
        if minimum is not None and value < minimum:
            errors.append(
                _problem(value, path, f"Member must have value greater than or equal to {minimum}")
            )
        if maximum is not None and value > maximum:
            errors.append(
                _problem(value, path, f"Member must have value less than or equal to {maximum}")
            )
        return value

    return validate_integer


def _validate_boolean(value: Any, path: str, errors: list[str]) -> Any:
    if not isinstance(value, bool):
        raise _wrong_type(value, path, "a boolean")
    return value


def _validate_timestamp(value: Any, path: str, errors: list[str]) -> Any:
    """Accept epoch seconds as a JSON integer or float."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise _wrong_type(value, path, "a number")
    return value


def _compile_list(structure: str, member: str, shape_name: str) -> _Validator:
    shape = _SHAPES[shape_name]
    validate_item = _compile_shape(structure, member, shape["member"]["shape"])
    minimum: int = shape.get("min", 0)
    maximum: int | None = shape.get("max")

    def validate_list(value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, list):
            raise _wrong_type(value, path, "a list")
        if maximum is not None and len(value) > maximum:
            errors.append(
                _problem(value, path, f"Member must have length less than or equal to {maximum}")
            )
        if len(value) < minimum:
            errors.append(
                _problem(value, path, f"Member must have length greater than or equal to {minimum}")
            )
        cleaned: list[Any] = []
        for index, item in enumerate(value, 1):
            item_path = f"{path}.{index}.member"
            if item is None:
                errors.append(_problem(None, item_path, _NOT_NULL))
                cleaned.append(None)
            else:
                cleaned.append(validate_item(item, item_path, errors))
        return cleaned

    return validate_list


def _decision_attribute_members(shape: Mapping[str, Any]) -> dict[str, str]:
    """Map each decision type to its attributes member when that member has required members.

    A ``Decision`` carries ``decisionType`` and one ``<lowerCamelType>DecisionAttributes``
    member. The model marks none of the attribute members required, but AWS rejects a
    decision that lacks the attributes its type needs.
    """
    members: Mapping[str, Any] = shape["members"]
    type_ref = members.get("decisionType")
    if type_ref is None:
        return {}
    attribute_members: dict[str, str] = {}
    for decision_type in _SHAPES[type_ref["shape"]].get("enum", ()):
        member = decision_type[0].lower() + decision_type[1:] + "DecisionAttributes"
        ref = members.get(member)
        if ref is not None and _SHAPES[ref["shape"]].get("required"):
            attribute_members[decision_type] = member
    return attribute_members


def _compile_structure(shape_name: str) -> _Validator:
    shape = _SHAPES[shape_name]
    required = frozenset(shape.get("required", ()))
    members = tuple(
        (name, _compile_shape(shape_name, name, ref["shape"]), name in required)
        for name, ref in shape["members"].items()
    )
    attribute_members = _decision_attribute_members(shape)

    def validate_structure(value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, dict):
            raise _wrong_type(value, path, "an object")
        prefix = f"{path}." if path else ""
        # Members outside the model are ignored, as AWS does, so they are not copied.
        cleaned: dict[str, Any] = {}
        for name, validate_member, is_required in members:
            item = value.get(name)
            if item is None:
                if is_required:
                    errors.append(_problem(None, prefix + name, _NOT_NULL))
                continue
            cleaned[name] = validate_member(item, prefix + name, errors)
        if attribute_members:
            attributes = attribute_members.get(cleaned.get("decisionType", ""))
            if attributes is not None and attributes not in cleaned:
                errors.append(_problem(None, prefix + attributes, _NOT_NULL))
        return cleaned

    return validate_structure


def _compile_shape(structure: str, member: str, shape_name: str) -> _Validator:
    """Build the validator of ``member`` of ``structure``, whose shape is ``shape_name``.

    String rules may depend on the member as well as the shape, so only structures are
    cached by shape name.
    """
    shape_type = _SHAPES[shape_name]["type"]
    if shape_type == "structure":
        validator = _STRUCTURES.get(shape_name)
        if validator is None:
            validator = _STRUCTURES[shape_name] = _compile_structure(shape_name)
        return validator
    if shape_type == "string":
        return _compile_string(structure, member, shape_name)
    if shape_type in ("integer", "long"):
        return _compile_integer(shape_name)
    if shape_type == "boolean":
        return _validate_boolean
    if shape_type == "timestamp":
        return _validate_timestamp
    if shape_type == "list":
        return _compile_list(structure, member, shape_name)
    raise ValueError(f"SWF model shape {shape_name} has unsupported type {shape_type}")


_STRUCTURES: dict[str, _Validator] = {}
_OPERATION_VALIDATORS: dict[str, _Validator] = {
    name: _compile_structure(operation["input"]["shape"])
    for name, operation in _MODEL["operations"].items()
}

OPERATIONS: frozenset[str] = frozenset(_OPERATION_VALIDATORS)


def validate_request(operation: str, params: object) -> dict[str, Any]:
    """Validate the decoded JSON body of ``operation`` and return it without null members.

    Members that the model does not define are left out of the result. Raises SWFError:
    ``UnknownOperationException`` for an operation outside :data:`OPERATIONS`,
    ``SerializationException`` for the first value of a wrong JSON type, and
    ``ValidationException`` listing every constraint that the request fails.
    """
    validator = _OPERATION_VALIDATORS.get(operation)
    if validator is None:
        raise SWFError("UnknownOperationException", f"Unknown SWF operation: {operation!r}")
    if not isinstance(params, dict):
        raise serialization_error(
            f"Value {_show_json(params)} of the request body has the wrong type: expected an object"
        )

    errors: list[str] = []
    cleaned: dict[str, Any] = validator(params, "", errors)
    if errors:
        noun = "error" if len(errors) == 1 else "errors"
        raise validation_error(f"{len(errors)} validation {noun} detected: " + "; ".join(errors))
    return cleaned
