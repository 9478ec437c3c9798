"""The SWF JSON 1.0 protocol over HTTP, so boto3, the AWS CLI and every AWS SDK work.

Every request is ``POST /`` with ``X-Amz-Target: SimpleWorkflowService.<Operation>`` and a
JSON body. Success is HTTP 200 with the output shape as JSON, or an empty body for
operations without output. Faults are HTTP 400 with ``{"__type", "message"}``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import orjson
from aiohttp import web

from .errors import SWFError
from .model import OPERATIONS, VOID_OPERATIONS
from .service import CallContext, Service
from .tokens import new_request_id

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/x-amz-json-1.0"
TARGET_PREFIXES = (
    "SimpleWorkflowService.",
    "com.amazonaws.swf.service.model.SimpleWorkflowService.",
)
MAX_REQUEST_BYTES = 1024 * 1024  # SWF's request size limit
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/")
_OPERATIONS = frozenset(OPERATIONS)

SERVICE_KEY = web.AppKey("service", Service)


def _region(request: web.Request, default: str) -> str:
    """Take the region from the SigV4 credential scope; unsigned requests get the default."""
    match = _CREDENTIAL_SCOPE.search(request.headers.get("Authorization", ""))
    return match.group(1) if match else default


def _operation(request: web.Request) -> str:
    target = request.headers.get("X-Amz-Target", "")
    for prefix in TARGET_PREFIXES:
        if target.startswith(prefix) and target[len(prefix) :] in _OPERATIONS:
            return target[len(prefix) :]
    raise SWFError(
        "UnknownOperationException",
        f"Unknown X-Amz-Target {target!r}: expected SimpleWorkflowService.<Operation>",
    )


def _response(status: int, body: bytes, request_id: str) -> web.Response:
    return web.Response(
        status=status,
        body=body,
        headers={"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id},
    )


def _error_response(error: SWFError, request_id: str) -> web.Response:
    body = orjson.dumps({"__type": error.wire_type, "message": error.message})
    return _response(error.http_status, body, request_id)


async def handle(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
    request_id = new_request_id()
    operation = "?"
    try:
        operation = _operation(request)
        raw = await request.read()
        try:
            params: Any = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError as exc:
            raise SWFError(
                "SerializationException", f"The request body is not JSON: {exc}"
            ) from None

        def alive() -> bool:
            transport = request.transport
            return transport is not None and not transport.is_closing()

        context = CallContext(_region(request, service.settings.region), alive, raw_events=True)
        result = await service.call(operation, params, context)
    except SWFError as error:
        logger.debug("%s failed: %s", operation, error)
        return _error_response(error, request_id)
    except web.HTTPRequestEntityTooLarge:
        too_large = SWFError(
            "ValidationException", f"The request is larger than {MAX_REQUEST_BYTES} bytes"
        )
        return _error_response(too_large, request_id)
    except Exception:
        logger.exception("%s failed with an internal error, requestId=%s", operation, request_id)
        return _error_response(SWFError("InternalFailure", "Internal server error"), request_id)
    body = b"" if operation in VOID_OPERATIONS else orjson.dumps(result)
    return _response(200, body, request_id)


def create_app(service: Service) -> web.Application:
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[SERVICE_KEY] = service
    app.router.add_post("/", handle)
    return app
