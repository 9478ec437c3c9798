"""A RESP server, so that redis-cli and every Redis client can call SWF operations.

``SWF <Operation> [<json>]`` runs one operation with a JSON object as its request and
replies with a bulk string holding the JSON result. Each operation is also a command of its
own: ``REGISTERDOMAIN <json>`` is ``SWF RegisterDomain <json>``. Faults are error replies
whose first word is the fault name, such as ``-UnknownResourceFault Unknown domain: x``.

Requests are RESP arrays of bulk strings, parsed by hiredis, or inline command lines.
Replies are RESP2 until the client sends ``HELLO 3``. After that the few replies that differ
between the versions (null, and the maps of HELLO and COMMAND DOCS) use RESP3. Commands of one
connection run one after another, so pipelined replies come back in order, and a long poll
keeps its connection busy until a task comes or the poll hold ends.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import shlex
import socket
import weakref
from collections.abc import Awaitable, Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import hiredis
import orjson

from . import __version__
from .errors import SWFError
from .model import METHOD_NAMES, OPERATIONS
from .service import REGION_PATTERN, CallContext, Service

logger = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1024 * 1024  # the JSON request of one operation, as in the HTTP API
# One whole command: the JSON request plus the command and operation names and RESP framing.
MAX_COMMAND_BYTES = MAX_REQUEST_BYTES + 1024
MAX_INLINE_BYTES = 64 * 1024  # one inline command line: Redis's PROTO_INLINE_MAX_SIZE
# Arguments of one command. The parser checks a command's array header before hiredis reads
# it, because hiredis allocates the whole list when it reads the header.
MAX_ARGUMENTS = 1024
READ_SIZE = 64 * 1024
# Commands of one connection parsed ahead of the one running, so that the server notices a
# client that closes its connection during a long poll.
MAX_QUEUED_COMMANDS = 128
MAX_QUEUED_BYTES = 2 * MAX_COMMAND_BYTES
# After a protocol error the server reads and drops the client's input for up to this many
# seconds before closing, so that the client reads the error instead of a connection reset.
LINGER_SECONDS = 5.0
SHUTDOWN_TIMEOUT = 10.0  # seconds a running command gets to finish in close_resp_server

# Operation names accepted after SWF: the API name in any case, or the snake_case name.
_OPERATION_NAMES: dict[str, str] = {op.lower(): op for op in OPERATIONS} | METHOD_NAMES
# Each operation as a command of its own, by its API name in any case.
_OPERATION_COMMANDS: dict[str, str] = {op.lower(): op for op in OPERATIONS}


class RequestError(Exception):
    """A request that breaks the RESP protocol. The server replies with an error and closes
    the connection."""


# -- replies --------------------------------------------------------------------------------


def _simple(text: str) -> bytes:
    return b"+" + text.encode() + b"\r\n"


def _error(code: str, message: str = "") -> bytes:
    """Encode an error reply whose first word is ``code``.

    Line breaks in the message become spaces, because a RESP error is a single line.
    """
    text = f"{code} {message}" if message else code
    return b"-" + text.replace("\r", " ").replace("\n", " ").encode() + b"\r\n"


def _bulk(data: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(data), data)


def _integer(value: int) -> bytes:
    return b":%d\r\n" % value


def _array(items: Iterable[bytes]) -> bytes:
    encoded = list(items)
    return b"*%d\r\n" % len(encoded) + b"".join(encoded)


def _null(protocol: int) -> bytes:
    return b"_\r\n" if protocol == 3 else b"$-1\r\n"


def _map(pairs: list[tuple[bytes, bytes]], protocol: int) -> bytes:
    """Encode a RESP3 map, or for RESP2 the flat array of keys and values that Redis sends."""
    body = b"".join(key + value for key, value in pairs)
    header = b"%%%d\r\n" % len(pairs) if protocol == 3 else b"*%d\r\n" % (2 * len(pairs))
    return header + body


def _printable(raw: bytes, limit: int = 128) -> str:
    """Return client-sent bytes as text fit for one line of an error or a log."""
    text = raw[:limit].decode("utf-8", "replace")
    return "".join(char if char.isprintable() else "?" for char in text)


def _wrong_arity(name: str) -> bytes:
    return _error("ERR", f"wrong number of arguments for '{name}' command")


# -- requests -------------------------------------------------------------------------------


def _too_large() -> RequestError:
    return RequestError(
        f"the command is larger than {MAX_COMMAND_BYTES} bytes "
        f"(a JSON request may have up to {MAX_REQUEST_BYTES} bytes)"
    )


class RequestParser:
    """Split a client's byte stream into commands.

    A command that starts with ``*`` is a RESP array of bulk strings, which hiredis reads.
    Any other line is an inline command, split by POSIX shell rules. hiredis does not
    report how many bytes a reply used. So the parser checks that the buffer starts with
    the standard encoding of the parsed array, and then removes exactly that many bytes.
    A request encoded in any other way, such as an array of integers, is a protocol error.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        # When set, the reader has been fed exactly the bytes of _buffer.
        self._reader: hiredis.Reader | None = None

    def feed(self, data: bytes) -> None:
        self._buffer += data
        if self._reader is not None:
            self._reader.feed(data)

    def next_command(self) -> list[bytes] | None:
        """Return the next complete command, or None until more data comes.

        Empty commands (an empty line or an empty array) are skipped. Raises RequestError.
        """
        while self._buffer:
            is_array = self._buffer[0] == ord("*")
            command = self._next_array() if is_array else self._next_inline()
            if command is None:
                return None
            if command:
                return command
        return None

    def _next_array(self) -> list[bytes] | None:
        self._check_array_header()
        if self._reader is None:
            self._reader = hiredis.Reader()
            self._reader.feed(bytes(self._buffer))
        try:
            reply: Any = self._reader.gets()
        except hiredis.HiredisError as exc:
            raise RequestError(str(exc)) from None
        except MemoryError:
            # NOTE: only the header of the command's own array is checked against
            # MAX_ARGUMENTS. A nested array header (rejected once complete) makes hiredis
            # allocate its list first, and a length that memory cannot hold lands here.
            raise RequestError("an array length is too large") from None
        if reply is False:
            if len(self._buffer) > MAX_COMMAND_BYTES:
                raise _too_large()
            return None
        command = [] if reply is None else reply
        size = self._standard_size(command, null=reply is None)
        if size > MAX_COMMAND_BYTES:
            raise _too_large()
        del self._buffer[:size]
        return command

    def _check_array_header(self) -> None:
        end = self._buffer.find(b"\r\n", 0, 32)
        if end == -1:
            if len(self._buffer) >= 32:
                raise RequestError("invalid multibulk length")
            return
        try:
            count = int(self._buffer[1:end])
        except ValueError:
            return  # hiredis rejects it with its own message
        if count > MAX_ARGUMENTS:
            raise RequestError(f"invalid multibulk length: more than {MAX_ARGUMENTS} arguments")

    def _standard_size(self, command: object, *, null: bool) -> int:
        """Return the byte length of the command's standard encoding, which must start the
        buffer. Raise RequestError when the client encoded the command differently."""
        if null:
            parts = [b"*-1\r\n"]
        else:
            if not isinstance(command, list):
                raise RequestError("a command must be an array of bulk strings")
            parts = [b"*%d\r\n" % len(command)]
            for argument in command:
                if not isinstance(argument, bytes):
                    raise RequestError("a command must be an array of bulk strings")
                parts += [b"$%d\r\n" % len(argument), argument, b"\r\n"]
        offset = 0
        with memoryview(self._buffer) as view:
            for part in parts:
                if view[offset : offset + len(part)] != part:
                    raise RequestError("a command must be an array of bulk strings")
                offset += len(part)
        return offset

    def _next_inline(self) -> list[bytes] | None:
        end = self._buffer.find(b"\n", 0, MAX_INLINE_BYTES + 1)
        if end == -1:
            if len(self._buffer) > MAX_INLINE_BYTES:
                raise RequestError(f"inline command longer than {MAX_INLINE_BYTES} bytes")
            return None
        line = bytes(self._buffer[:end]).removesuffix(b"\r")
        del self._buffer[: end + 1]
        self._reader = None  # it no longer matches the buffer
        try:
            words = shlex.split(line.decode("utf-8", "surrogateescape"))
        except ValueError:
            raise RequestError("unbalanced quotes in inline command") from None
        return [word.encode("utf-8", "surrogateescape") for word in words]


# -- commands -------------------------------------------------------------------------------

_Handler = Callable[["_Session", list[bytes]], Awaitable[bytes]]


@dataclass(frozen=True)
class _Command:
    handler: _Handler
    min_args: int
    max_args: int
    summary: str
    # Names of the arguments for COMMAND DOCS, each with whether it is optional.
    arguments: tuple[tuple[str, bool], ...] = ()

    @property
    def arity(self) -> int:
        """Redis's arity: the argument count with the name, negative when it is a minimum."""
        return self.min_args + 1 if self.min_args == self.max_args else -(self.min_args + 1)


class _Session:
    """The state of one client (protocol, name, region) and the commands that use it."""

    def __init__(
        self, service: Service, connection_id: int, peer: str, alive: Callable[[], bool]
    ) -> None:
        self.service = service
        self.id = connection_id
        self.peer = peer
        self.alive = alive
        self.protocol = 2
        self.name: bytes | None = None
        self.region = service.settings.region
        self.quit = False

    async def execute(self, command: list[bytes]) -> bytes:
        """Run one command and return its encoded reply, an error reply for a fault."""
        name = command[0].decode("utf-8", "replace").lower()
        args = command[1:]
        try:
            return await self._dispatch(command[0], name, args)
        except SWFError as error:
            logger.debug("RESP %s failed: %s", _label(name, args), error)
            return _error(error.code, error.message)
        except Exception:
            logger.exception(
                "RESP %s from %s failed with an internal error", _label(name, args), self.peer
            )
            return _error("InternalFailure", "Internal server error")

    async def _dispatch(self, raw_name: bytes, name: str, args: list[bytes]) -> bytes:
        command = COMMANDS.get(name)
        if command is not None:
            if not command.min_args <= len(args) <= command.max_args:
                return _wrong_arity(name)
            return await command.handler(self, args)
        operation = _OPERATION_COMMANDS.get(name)
        if operation is not None:
            if len(args) > 1:
                return _wrong_arity(name)
            return await self._run_operation(operation, args[0] if args else None)
        return _error(
            "ERR",
            f"unknown command '{_printable(raw_name)}'. "
            "Run SWF <Operation> [<json>], or COMMAND LIST to list the commands",
        )

    async def _run_operation(self, operation: str, body: bytes | None) -> bytes:
        if body is not None and len(body) > MAX_REQUEST_BYTES:
            raise SWFError(
                "ValidationException", f"The request is larger than {MAX_REQUEST_BYTES} bytes"
            )
        try:
            params: Any = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError as exc:
            raise SWFError("SerializationException", f"The request is not JSON: {exc}") from None
        context = CallContext(self.region, self.alive, raw_events=True)
        result = await self.service.call(operation, params, context)
        return _bulk(orjson.dumps(result))

    async def command_swf(self, args: list[bytes]) -> bytes:
        name = args[0].decode("utf-8", "replace")
        operation = _OPERATION_NAMES.get(name.lower())
        if operation is None:
            raise SWFError(
                "UnknownOperationException",
                f"Unknown SWF operation: {_printable(args[0])!r}. Use an API name such as "
                "RegisterDomain or its snake_case name register_domain",
            )
        return await self._run_operation(operation, args[1] if len(args) > 1 else None)

    async def command_region(self, args: list[bytes]) -> bytes:
        if not args:
            return _bulk(self.region.encode())
        region = args[0].decode("utf-8", "replace")
        if not REGION_PATTERN.fullmatch(region):
            raise SWFError(
                "ValidationException",
                f"Invalid region: {_printable(args[0])!r}. "
                "Expected 1 to 32 lowercase letters, digits or hyphens, such as us-east-1",
            )
        self.region = region
        return _simple("OK")

    async def command_ping(self, args: list[bytes]) -> bytes:
        return _bulk(args[0]) if args else _simple("PONG")

    async def command_echo(self, args: list[bytes]) -> bytes:
        return _bulk(args[0])

    async def command_quit(self, args: list[bytes]) -> bytes:
        self.quit = True
        return _simple("OK")

    async def command_auth(self, args: list[bytes]) -> bytes:
        return _error("ERR", "Client sent AUTH, but no password is set")

    async def command_select(self, args: list[bytes]) -> bytes:
        try:
            index = int(args[0])
        except ValueError:
            return _error("ERR", "value is not an integer or out of range")
        if index != 0:
            return _error("ERR", "DB index is out of range: this server has database 0 only")
        return _simple("OK")

    async def command_hello(self, args: list[bytes]) -> bytes:
        protocol = self.protocol
        if args:
            try:
                protocol = int(args[0])
            except ValueError:
                return _error("ERR", "Protocol version is not an integer or out of range")
            if protocol not in (2, 3):
                return _error("NOPROTO", "unsupported protocol version: use 2 or 3")
        name = self.name
        options = args[1:]
        while options:
            option = options[0].lower()
            if option == b"auth" and len(options) >= 3:
                return await self.command_auth(options[1:3])
            if option == b"setname" and len(options) >= 2:
                name = options[1]
                if not _valid_client_name(name):
                    return _invalid_client_name()
                options = options[2:]
                continue
            return _error("ERR", f"Syntax error in HELLO option '{_printable(options[0])}'")
        self.protocol = protocol
        self.name = name
        fields = [
            (_bulk(b"server"), _bulk(b"redswf")),
            (_bulk(b"version"), _bulk(__version__.encode())),
            (_bulk(b"proto"), _integer(protocol)),
            (_bulk(b"id"), _integer(self.id)),
            (_bulk(b"mode"), _bulk(b"standalone")),
            (_bulk(b"role"), _bulk(b"master")),
            (_bulk(b"modules"), _array([])),
        ]
        return _map(fields, protocol)

    async def command_client(self, args: list[bytes]) -> bytes:
        subcommand = args[0].lower()
        rest = args[1:]
        if subcommand == b"setname":
            if len(rest) != 1:
                return _wrong_arity("client|setname")
            if not _valid_client_name(rest[0]):
                return _invalid_client_name()
            self.name = rest[0] or None
            return _simple("OK")
        if subcommand == b"getname":
            if rest:
                return _wrong_arity("client|getname")
            return _null(self.protocol) if self.name is None else _bulk(self.name)
        if subcommand == b"setinfo":
            if len(rest) != 2:
                return _wrong_arity("client|setinfo")
            if rest[0].lower() not in (b"lib-name", b"lib-ver"):
                return _error("ERR", f"Unrecognized option '{_printable(rest[0])}'")
            return _simple("OK")
        if subcommand == b"id":
            if rest:
                return _wrong_arity("client|id")
            return _integer(self.id)
        return _error(
            "ERR",
            f"unknown subcommand '{_printable(args[0])}'. "
            "CLIENT supports SETNAME, GETNAME, SETINFO and ID",
        )

    async def command_command(self, args: list[bytes]) -> bytes:
        names = sorted(COMMANDS) + sorted(_OPERATION_COMMANDS)
        if not args:
            return _array(_command_info(name) for name in names)
        subcommand = args[0].lower()
        if subcommand == b"count" and len(args) == 1:
            return _integer(len(names))
        if subcommand == b"list" and len(args) == 1:
            return _array(_bulk(name.encode()) for name in names)
        if subcommand == b"docs":
            wanted = [arg.decode("utf-8", "replace").lower() for arg in args[1:]] or names
            known = [name for name in wanted if name in COMMANDS or name in _OPERATION_COMMANDS]
            return _map(
                [(_bulk(name.encode()), _command_docs(name, self.protocol)) for name in known],
                self.protocol,
            )
        return _error(
            "ERR",
            f"unknown subcommand or wrong number of arguments for '{_printable(args[0])}'. "
            "COMMAND supports COUNT, LIST and DOCS",
        )


def _command_docs(name: str, protocol: int) -> bytes:
    """Encode a COMMAND DOCS entry: summary, version, group and arguments, which redis-cli
    shows in its help and its hints."""
    operation = _OPERATION_COMMANDS.get(name)
    if operation is not None:
        summary = f"Run the SWF operation {operation} with a JSON request"
        group = "swf"
        arguments: tuple[tuple[str, bool], ...] = (("json", True),)
    else:
        summary = COMMANDS[name].summary
        group = "swf" if name.startswith("swf") else "connection"
        arguments = COMMANDS[name].arguments
    encoded_arguments = [
        _map(
            [
                (_bulk(b"name"), _bulk(argument.encode())),
                (_bulk(b"type"), _bulk(b"string")),
                (_bulk(b"flags"), _array([_simple("optional")] if optional else [])),
            ],
            protocol,
        )
        for argument, optional in arguments
    ]
    fields = [
        (_bulk(b"summary"), _bulk(summary.encode())),
        (_bulk(b"since"), _bulk(__version__.encode())),
        (_bulk(b"group"), _bulk(group.encode())),
        (_bulk(b"arguments"), _array(encoded_arguments)),
    ]
    return _map(fields, protocol)


def _valid_client_name(name: bytes) -> bool:
    return all(0x21 <= byte <= 0x7E for byte in name)


def _invalid_client_name() -> bytes:
    return _error("ERR", "Client names cannot contain spaces, newlines or special characters.")


def _label(name: str, args: list[bytes]) -> str:
    """Name a command for logs: the command, and for SWF the operation."""
    if name == "swf" and args:
        return f"SWF {_printable(args[0], 64)!r}"
    return repr(_printable(name.encode(), 64))


def _command_info(name: str) -> bytes:
    """Encode a COMMAND entry: name, arity, no flags, no keys, no categories, tips or specs."""
    arity = COMMANDS[name].arity if name in COMMANDS else -1
    empty = _array([])
    return _array([_bulk(name.encode()), _integer(arity), empty] + [_integer(0)] * 3 + [empty] * 4)


COMMANDS: dict[str, _Command] = {
    "swf": _Command(
        _Session.command_swf,
        1,
        2,
        "Run an SWF operation by its API or snake_case name, with a JSON request",
        (("operation", False), ("json", True)),
    ),
    "swf.region": _Command(
        _Session.command_region,
        0,
        1,
        "Set the region of this connection's later SWF calls, or show it",
        (("region", True),),
    ),
    "ping": _Command(
        _Session.command_ping, 0, 1, "Reply PONG, or the given message", (("message", True),)
    ),
    "echo": _Command(_Session.command_echo, 1, 1, "Reply the given message", (("message", False),)),
    "quit": _Command(_Session.command_quit, 0, 0, "Close the connection"),
    "auth": _Command(_Session.command_auth, 1, 2, "Fail: this server has no password"),
    "select": _Command(_Session.command_select, 1, 1, "Accept database 0, the only one"),
    "hello": _Command(
        _Session.command_hello, 0, 6, "Switch to RESP2 or RESP3 and show server facts"
    ),
    "client": _Command(_Session.command_client, 1, 3, "CLIENT SETNAME, GETNAME, SETINFO or ID"),
    "command": _Command(
        _Session.command_command, 0, MAX_ARGUMENTS, "COMMAND, COMMAND COUNT, LIST or DOCS"
    ),
}


# -- connections ----------------------------------------------------------------------------

# A queued entry: a command, the protocol error that ends the input, or None for its end.
_Entry = list[bytes] | RequestError | None


class _Connection:
    """The socket of one client: a task reads and parses commands, and another runs them
    in order and writes the replies."""

    def __init__(
        self,
        service: Service,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        connection_id: int,
    ) -> None:
        self.id = connection_id
        self.peer = _format_address(writer.get_extra_info("peername"))
        self.session = _Session(service, connection_id, self.peer, self.alive)
        self._reader = reader
        self._writer = writer
        self._queue: asyncio.Queue[tuple[_Entry, int]] = asyncio.Queue()
        self._queued_bytes = 0
        self._dequeued = asyncio.Event()
        self._input_ended = False
        self._stopping = False
        self._finished = asyncio.Event()
        self._task: asyncio.Task[Any] | None = None

    def alive(self) -> bool:
        """Return whether the client still waits for replies (checked before a poll leases)."""
        return (
            not self._input_ended and not self._stopping and not self._writer.transport.is_closing()
        )

    async def run(self) -> None:
        self._task = asyncio.current_task()
        reading = asyncio.create_task(self._read_commands(), name=f"redswf-resp-read-{self.id}")
        try:
            failed = await self._run_commands()
            if failed and not self._writer.transport.is_closing():
                # Half-close and keep reading, so that the error reaches the client before
                # the socket closes with unread input (which sends a reset).
                if self._writer.can_write_eof():
                    self._writer.write_eof()
                with suppress(TimeoutError):
                    await asyncio.wait_for(reading, LINGER_SECONDS)
        finally:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)
            self._writer.close()
            with suppress(OSError):
                await self._writer.wait_closed()
            self._finished.set()

    async def close(self, timeout: float) -> None:
        """Close the connection once the running command ends, and run no queued command.

        The running command gets ``timeout`` seconds, and is then cancelled.
        """
        self._stopping = True
        if self._queue.empty():
            self._queue.put_nowait((None, 0))  # wakes the idle command loop
        try:
            await asyncio.wait_for(self._finished.wait(), timeout)
        except TimeoutError:
            logger.warning(
                "RESP client %s: command still running after %.1f s, cancelling it",
                self.peer,
                timeout,
            )
            if self._task is not None:
                self._task.cancel()
            await self._finished.wait()

    # -- input ----------------------------------------------------------------------------

    async def _read_commands(self) -> None:
        parser = RequestParser()
        try:
            while True:
                while (command := parser.next_command()) is not None:
                    await self._enqueue(command, sum(map(len, command)) + 16 * len(command))
                data = await self._reader.read(READ_SIZE)
                if not data:
                    logger.debug("RESP client %s closed its connection", self.peer)
                    break
                parser.feed(data)
        except RequestError as error:
            logger.debug("RESP client %s sent an invalid request: %s", self.peer, error)
            await self._enqueue(error, 0)
            while await self._reader.read(READ_SIZE):
                pass  # dropped until the client closes or the linger time ends
        except OSError as exc:
            logger.debug("RESP client %s: read failed: %s", self.peer, exc)
        finally:
            self._input_ended = True
            self._queue.put_nowait((None, 0))

    async def _enqueue(self, entry: _Entry, size: int) -> None:
        # NOTE: while this waits for room, the server reads nothing more from the client, so
        # a client that queued this much behind a long poll and then left is noticed only
        # when its connection is reset.
        while not self._queue.empty() and (
            self._queue.qsize() >= MAX_QUEUED_COMMANDS
            or self._queued_bytes + size > MAX_QUEUED_BYTES
        ):
            self._dequeued.clear()
            await self._dequeued.wait()
        self._queued_bytes += size
        self._queue.put_nowait((entry, size))

    # -- commands -------------------------------------------------------------------------

    async def _run_commands(self) -> bool:
        """Run queued commands in order and write their replies.

        Return True after a protocol error, which ends the connection.
        """
        while not self._stopping:
            entry, size = await self._queue.get()
            self._queued_bytes -= size
            self._dequeued.set()
            if entry is None or self._writer.transport.is_closing():
                return False
            if isinstance(entry, RequestError):
                self._writer.write(_error("ERR", f"Protocol error: {entry}"))
                await self._drain()
                return True
            reply = await self.session.execute(entry)
            if self._writer.transport.is_closing():
                return False
            self._writer.write(reply)
            await self._drain()
            if self.session.quit:
                return False
        return False

    async def _drain(self) -> None:
        with suppress(ConnectionError):
            await self._writer.drain()


# -- server ---------------------------------------------------------------------------------


@dataclass
class _Clients:
    """The open connections of one server."""

    connections: set[_Connection] = field(default_factory=set)
    accepting: bool = True


_SERVERS: weakref.WeakKeyDictionary[asyncio.Server, _Clients] = weakref.WeakKeyDictionary()


def _format_address(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(address)


def _server_addresses(server: asyncio.Server) -> str:
    sockets: Iterable[socket.socket] = server.sockets
    return ", ".join(_format_address(sock.getsockname()) for sock in sockets)


async def start_resp_server(service: Service, host: str, port: int) -> asyncio.Server:
    """Start serving RESP on ``host:port`` and return the listening server.

    Port 0 picks a free port, which ``server.sockets`` shows. Stop the server with
    :func:`close_resp_server`.
    """
    clients = _Clients()
    connection_ids = itertools.count(1)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not clients.accepting:
            writer.close()
            return
        connection = _Connection(service, reader, writer, next(connection_ids))
        clients.connections.add(connection)
        logger.debug("RESP client %s connected (id %d)", connection.peer, connection.id)
        try:
            await connection.run()
        except Exception:
            logger.exception("RESP connection of %s failed", connection.peer)
        finally:
            clients.connections.discard(connection)
            logger.debug("RESP client %s disconnected (id %d)", connection.peer, connection.id)

    # Each waiting RESP poll keeps its own connection open, and a fleet of pollers may
    # connect at once. asyncio's default backlog of 100 would drop the connections beyond
    # it, so the RESP server uses the same backlog of 4096 as the HTTP server.
    server = await asyncio.start_server(handle, host, port, backlog=4096)
    _SERVERS[server] = clients
    logger.info("RESP server listening on %s", _server_addresses(server))
    return server


async def close_resp_server(server: asyncio.Server, timeout: float = SHUTDOWN_TIMEOUT) -> None:
    """Stop accepting, let each connection finish its running command (up to ``timeout``
    seconds), then close every connection.

    Close the service first (:meth:`Service.close`), so that open long polls return their
    empty replies at once.
    """
    addresses = _server_addresses(server)
    server.close()
    clients = _SERVERS.pop(server, _Clients())
    clients.accepting = False
    await asyncio.gather(*(connection.close(timeout) for connection in list(clients.connections)))
    await server.wait_closed()
    logger.info("RESP server on %s stopped", addresses)
