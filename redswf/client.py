"""Library clients whose methods, parameters, results and exceptions match boto3's SWF client.

``await AsyncClient(...).poll_for_activity_task(domain=..., taskList={"name": ...})`` reads as
it would with boto3, and ``except client.exceptions.UnknownResourceFault`` catches the same
faults: every error is a ``botocore.exceptions.ClientError`` subclass named after the SWF
fault. Results carry datetimes where boto3 gives datetimes. Unlike boto3, which checks
required members before sending, every check happens in the service and raises
``ClientError`` with code ``ValidationException``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any, TypeVar

from botocore.errorfactory import ClientExceptionsFactory
from botocore.exceptions import ClientError
from botocore.model import ServiceModel
from redis.asyncio import Redis

from .connection import connect
from .errors import SWFError
from .model import METHOD_NAMES, MODEL, OUTPUT_CONVERTERS, TIMESTAMP_INPUT_OPERATIONS
from .service import DEFAULT_POLL_HOLD, MAX_DOMAINS, CallContext, Service, Settings
from .timers import TimerService
from .tokens import new_request_id

T = TypeVar("T")

_EXCEPTIONS = ClientExceptionsFactory().create_client_exceptions(
    ServiceModel(MODEL, service_name="swf")
)


def _epoch_seconds(value: Any) -> Any:
    """Turn datetimes anywhere in request parameters into epoch seconds, as boto3 sends them."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _epoch_seconds(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_epoch_seconds(v) for v in value]
    return value


def _client_error(error: SWFError, operation: str) -> ClientError:
    response: dict[str, Any] = {
        "Error": {"Code": error.code, "Message": error.message},
        "ResponseMetadata": {"RequestId": new_request_id(), "HTTPStatusCode": error.http_status},
    }
    error_class = getattr(_EXCEPTIONS, error.code, ClientError)
    exc: ClientError = error_class(response, operation)
    return exc


class AsyncClient:
    """An asyncio SWF client that runs the service in this process, on the given Redis."""

    exceptions = _EXCEPTIONS

    def __init__(
        self,
        redis_url: str | None = None,
        *,
        redis: Redis | None = None,
        region_name: str = "us-east-1",
        account_id: str = "123456789012",
        poll_hold: float = DEFAULT_POLL_HOLD,
        retention_day_seconds: float = 86400.0,
        max_domains: int = MAX_DOMAINS,
        run_timers: bool = False,
    ) -> None:
        """Connect to Redis; with ``run_timers`` also run the timer service in this client.

        Timeouts and timers fire only where a timer service runs: in every ``redswf serve``
        process, in ``redswf timers``, or in a client started with ``run_timers=True``.
        """
        if redis is None:
            if redis_url is None:
                raise ValueError("AsyncClient needs redis_url or redis")
            redis = connect(redis_url)
            self._owns_redis = True
        else:
            self._owns_redis = False
        settings = Settings(
            region=region_name,
            account_id=account_id,
            poll_hold=poll_hold,
            retention_day_seconds=retention_day_seconds,
            max_domains=max_domains,
        )
        self.service = Service(redis, settings)
        self._context = CallContext(region_name)
        self._timers_stop = asyncio.Event()
        self._timers: asyncio.Task[None] | None = None
        if run_timers:
            timer_service = TimerService(redis, retention_day_seconds=retention_day_seconds)
            self._timers = asyncio.get_running_loop().create_task(
                timer_service.run(self._timers_stop), name="redswf-client-timers"
            )

    async def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """Run an SWF operation by its API name, e.g. ``call("RegisterDomain", name=...)``."""
        try:
            if operation in TIMESTAMP_INPUT_OPERATIONS:
                params = _epoch_seconds(params)
            result = await self.service.call(operation, params, self._context)
        except SWFError as error:
            raise _client_error(error, operation) from None
        convert = OUTPUT_CONVERTERS.get(operation)
        if convert is not None:
            result = convert(result)
        result["ResponseMetadata"] = {"RequestId": new_request_id(), "HTTPStatusCode": 200}
        return result

    def __getattr__(self, name: str) -> Callable[..., Awaitable[dict[str, Any]]]:
        operation = METHOD_NAMES.get(name)
        if operation is None:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

        async def method(**params: Any) -> dict[str, Any]:
            return await self.call(operation, **params)

        method.__name__ = name
        return method

    async def close(self) -> None:
        self._timers_stop.set()
        if self._timers is not None:
            await self._timers
        await self.service.close()
        if self._owns_redis:
            await self.service.redis.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class Client:
    """A blocking SWF client: an :class:`AsyncClient` on an event loop in its own thread."""

    exceptions = _EXCEPTIONS

    def __init__(self, redis_url: str, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="redswf-client", daemon=True
        )
        self._thread.start()

        async def create() -> AsyncClient:
            return AsyncClient(redis_url, **options)

        self._client = self._run(create())

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        return self._run(self._client.call(operation, **params))

    def __getattr__(self, name: str) -> Callable[..., dict[str, Any]]:
        operation = METHOD_NAMES.get(name)
        if operation is None:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

        def method(**params: Any) -> dict[str, Any]:
            return self.call(operation, **params)

        method.__name__ = name
        return method

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._run(self._client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
