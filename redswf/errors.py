"""SWF faults and errors, and the one table that maps them to wire names and exceptions.

The Lua functions return faults as ``{err = "<FaultName>: <message>"}``. The Python layer turns
them into :class:`SWFError`, the HTTP server into a 400 response with a namespaced
``__type``, and the library client into botocore ``ClientError`` subclasses of the same name.
"""

from __future__ import annotations

# The eleven faults of the SWF service model. Their ``__type`` is namespaced with
# ``com.amazonaws.swf.base.model#`` on the wire, and boto3 turns each into a typed exception.
MODELED_FAULTS = frozenset(
    {
        "DefaultUndefinedFault",
        "DomainAlreadyExistsFault",
        "DomainDeprecatedFault",
        "LimitExceededFault",
        "OperationNotPermittedFault",
        "TooManyTagsFault",
        "TypeAlreadyExistsFault",
        "TypeDeprecatedFault",
        "TypeNotDeprecatedFault",
        "UnknownResourceFault",
        "WorkflowExecutionAlreadyStartedFault",
    }
)

FAULT_NAMESPACE = "com.amazonaws.swf.base.model#"

# Errors outside the model, with the namespace AWS uses for each and its HTTP status.
UNMODELED_ERRORS: dict[str, tuple[str, int]] = {
    "ValidationException": ("com.amazon.coral.validate#", 400),
    "SerializationException": ("com.amazon.coral.service#", 400),
    "UnknownOperationException": ("com.amazon.coral.service#", 400),
    "ThrottlingException": ("com.amazon.coral.availability#", 400),
    "InternalFailure": ("com.amazon.coral.service#", 500),
    "ServiceUnavailable": ("com.amazon.coral.availability#", 503),
}


class SWFError(Exception):
    """An SWF fault or error with its wire name (``code``) and message."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message

    @property
    def wire_type(self) -> str:
        """Return the namespaced ``__type`` that AWS sends for this error."""
        if self.code in MODELED_FAULTS:
            return FAULT_NAMESPACE + self.code
        namespace, _ = UNMODELED_ERRORS.get(self.code, ("com.amazon.coral.service#", 400))
        return namespace + self.code

    @property
    def http_status(self) -> int:
        if self.code in MODELED_FAULTS:
            return 400
        return UNMODELED_ERRORS.get(self.code, ("", 400))[1]


def validation_error(message: str) -> SWFError:
    return SWFError("ValidationException", message)


def serialization_error(message: str) -> SWFError:
    return SWFError("SerializationException", message)


def parse_script_error(text: str) -> SWFError | None:
    """Turn a Lua ``error_reply`` text of the form ``<FaultName>: <message>`` into an SWFError.

    Returns None for text that is not an SWF fault (a genuine Redis error).
    """
    name, sep, message = text.partition(": ")
    if not sep:
        name, message = text.strip(), ""
    if name in MODELED_FAULTS or name in UNMODELED_ERRORS:
        return SWFError(name, message)
    return None
