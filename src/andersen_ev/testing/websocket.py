"""GraphQL over websockets (``GET /graphql``): subscriptions in both subprotocols.

The real service is Apollo Server, whose subscriptions take ``{"authToken": "Bearer <IdToken>"}``
as connection parameters; that points to the legacy ``graphql-ws`` protocol of
subscriptions-transport-ws, but the reference leaves it unconfirmed. The emulator therefore
speaks both and picks one from the subprotocols the client offers, in the order of
:attr:`AndersenCloud.websocket_protocols <andersen_ev.testing.AndersenCloud>` (the server's
preference, legacy first by default). A client that offers none gets ``graphql-ws``, as Apollo
clients expect; a client that offers only unknown ones is closed with 1002.

``graphql-ws`` (legacy Apollo)
    ``connection_init`` -> ``connection_ack`` then ``ka`` at once and every
    ``websocket_keepalive`` seconds; ``start`` -> ``data``... ``complete`` or ``error``;
    ``stop`` -> ``complete``; ``connection_terminate`` closes. Bad tokens get
    ``connection_error`` and a 1011 close, bad frames ``connection_error`` (not JSON) or
    ``error`` (unknown type), as subscriptions-transport-ws answers them.
``graphql-transport-ws`` (the graphql-ws library)
    ``connection_init`` -> ``connection_ack``; ``ping``/``pong`` both ways; ``subscribe`` ->
    ``next``... ``complete`` or ``error``; ``complete`` from the client ends an operation.
    Protocol violations close the socket: 4400 bad message, 4401 unauthorized, 4408 no
    ``connection_init`` in time, 4409 duplicate operation id, 4429 second ``connection_init``.

Every operation runs in its own task, multiplexed by id; queries and mutations are answered
once and completed, subscriptions stream until either side ends them. When a socket closes,
every task is cancelled and awaited, so no subscriber is left in the status hub.
"""

from __future__ import annotations

import asyncio
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass
from enum import IntEnum
from functools import partial
from inspect import isawaitable
from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeVar, cast

from aiohttp import WSMsgType, web
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLFormattedError,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    subscribe,
    validate,
)
from graphql.pyutils import AwaitableOrValue

from andersen_ev.testing._keys import CLOUD_KEY
from andersen_ev.testing.executable_schema import RequestContext, executable_schema
from andersen_ev.testing.graphql_http import UNAUTHENTICATED_MESSAGE
from andersen_ev.testing.tokens import TokenError

if TYPE_CHECKING:
    from andersen_ev.testing.cloud import AndersenCloud
    from andersen_ev.testing.state import EmulatedUser

__all__ = [
    "GRAPHQL_TRANSPORT_WS",
    "GRAPHQL_WS",
    "UNAUTHENTICATED",
    "CloseCode",
    "negotiate_protocol",
    "setup_routes",
]

_LOG = logging.getLogger(__name__)
_T = TypeVar("_T")

#: The legacy Apollo protocol (subscriptions-transport-ws).
GRAPHQL_WS: Final = "graphql-ws"
#: The protocol of the graphql-ws library ("GraphQL over WebSocket").
GRAPHQL_TRANSPORT_WS: Final = "graphql-transport-ws"

#: What Apollo answers for a missing, invalid or expired token (see the reference).
UNAUTHENTICATED: Final[dict[str, Any]] = {
    "message": UNAUTHENTICATED_MESSAGE,
    "extensions": {"code": "UNAUTHENTICATED"},
}

# The connection_init payload keys that may carry "Bearer <IdToken>", in order of preference.
_AUTH_KEYS: Final = ("authToken", "Authorization", "authorization")
_END_OF_STREAM: Final = frozenset(
    {WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR}
)


class CloseCode(IntEnum):
    """Websocket close codes: RFC 6455's, and the graphql-ws library's 44xx ones.

    ``FORBIDDEN`` is what graphql-ws servers send when their ``onConnect`` refuses; the
    emulator answers a bad token with ``UNAUTHORIZED`` instead, like an auth failure.
    """

    NORMAL = 1000
    PROTOCOL_ERROR = 1002
    INTERNAL_ERROR = 1011
    BAD_REQUEST = 4400
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403
    INIT_TIMEOUT = 4408
    SUBSCRIBER_EXISTS = 4409
    TOO_MANY_INIT_REQUESTS = 4429


def setup_routes(app: web.Application) -> None:
    """Add ``GET /graphql``, the websocket endpoint, to the Andersen API application."""
    app.router.add_get("/graphql", _graphql_websocket)


def negotiate_protocol(offered: Iterable[str], served: Iterable[str]) -> str | None:
    """The subprotocol to speak: the first of ``served`` the client offered.

    A client that offers nothing is taken to speak ``graphql-ws``, as Apollo did. None means
    the client and the server have no protocol in common.
    """
    offered = set(offered) or {GRAPHQL_WS}
    return next((protocol for protocol in served if protocol in offered), None)


def _offered_protocols(request: web.Request) -> list[str]:
    header = ",".join(request.headers.getall("Sec-WebSocket-Protocol", ()))
    return [name.strip() for name in header.split(",") if name.strip()]


async def _graphql_websocket(request: web.Request) -> web.StreamResponse:
    """``GET /graphql``: upgrade to a websocket and serve GraphQL operations on it."""
    cloud = request.app[CLOUD_KEY]
    if cloud.faults.take("refused_websockets"):
        cloud.stats.faults_injected["websocket_refused"] += 1
        _LOG.info("websocket from %s refused (injected fault)", request.remote)
        return web.Response(status=503, text="503 Service Unavailable")
    protocol = negotiate_protocol(_offered_protocols(request), cloud.websocket_protocols)
    ws: web.WebSocketResponse = web.WebSocketResponse(protocols=(protocol,) if protocol else ())
    await ws.prepare(request)
    cloud.websockets.add(ws)
    cloud.stats.websocket_connects += 1
    cloud.stats.websockets_open += 1
    peer = f"{request.remote}:{id(ws):x}"
    try:
        if protocol is None:
            _LOG.warning("websocket %s: no supported subprotocol offered", peer)
            await ws.close(code=CloseCode.PROTOCOL_ERROR, message=b"Unsupported subprotocol")
        else:
            connection_class = _LegacyConnection if protocol == GRAPHQL_WS else _TransportConnection
            await connection_class(cloud, ws, peer).serve()
    finally:
        cloud.websockets.discard(ws)
        cloud.stats.websockets_open -= 1
        _LOG.debug("websocket %s closed (code %s)", peer, ws.close_code)
    return ws


@dataclass(frozen=True)
class _Request:
    """A GraphQL request from a ``start``/``subscribe`` payload, parsed and validated."""

    document: DocumentNode
    operation: OperationType
    variables: dict[str, Any] | None
    operation_name: str | None


def _request_payload(payload: object) -> dict[str, Any] | str:
    """A ``start``/``subscribe`` payload as a GraphQL request, or why it is not one."""
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return 'the payload must be an object with a string "query"'
    if not isinstance(payload.get("variables", {}), dict | None):
        return '"variables" must be an object'
    if not isinstance(payload.get("operationName", ""), str | None):
        return '"operationName" must be a string'
    return payload


def _prepare(payload: dict[str, Any]) -> _Request | list[GraphQLError]:
    """Parse and validate a request; the GraphQL errors when it cannot run."""
    try:
        document = parse(payload["query"])
    except GraphQLError as error:
        return [error]
    errors = validate(executable_schema(), document)
    if errors:
        return list(errors)
    operation_name = payload.get("operationName") or None
    operation = get_operation_ast(document, operation_name)
    if operation is None:  # graphql-js's messages, as Apollo's executor answered them
        message = (
            f'Unknown operation named "{operation_name}".'
            if operation_name
            else "Must provide operation name if query contains multiple operations."
        )
        return [GraphQLError(message)]
    return _Request(document, operation.operation, payload.get("variables"), operation_name)


class _Connection(ABC):
    """One websocket: its protocol state, its operations and the frames it sends.

    Subclasses implement one subprotocol; everything that does not depend on the protocol
    (authentication, running operations, fault injection, cleanup) lives here.
    """

    protocol: ClassVar[str]
    data_type: ClassVar[str]
    """The message type of a result: ``data`` or ``next``."""
    keepalive: ClassVar[dict[str, str]]
    """The server's keep-alive message."""
    keepalive_at_once: ClassVar[bool]
    """Send a keep-alive right after ``connection_ack`` (Apollo does), not an interval later."""

    def __init__(self, cloud: AndersenCloud, ws: web.WebSocketResponse, peer: str) -> None:
        self.cloud = cloud
        self.ws = ws
        self.peer = peer
        self.init_received = False
        self.user: EmulatedUser | None = None
        self._operations: dict[str, asyncio.Task[None]] = {}
        self._keepalive_task: asyncio.Task[None] | None = None

    # -- the receive loop -----------------------------------------------------------------

    async def serve(self) -> None:
        """Handle frames until the socket closes, then end every operation."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.cloud.websocket_init_timeout
        try:
            while not self.ws.closed:
                # Until connection_init arrives, wait no longer than the init timeout.
                timeout = None if self.init_received else max(deadline - loop.time(), 1e-3)
                try:
                    message = await self.ws.receive(timeout=timeout)
                except TimeoutError:
                    _LOG.warning("websocket %s: no connection_init in time", self.peer)
                    await self.init_timed_out()
                    break
                if message.type in _END_OF_STREAM:
                    # ERROR: a frame aiohttp could not read (bad UTF-8, too big ...); it closed.
                    level = logging.WARNING if message.type == WSMsgType.ERROR else logging.DEBUG
                    _LOG.log(level, "websocket %s: %s %s", self.peer, message.type, message.data)
                    break
                await self._frame(message.type, message.data)
        finally:
            await self._shutdown()

    async def _frame(self, frame_type: WSMsgType, data: Any) -> None:
        if frame_type != WSMsgType.TEXT:
            # aiohttp answers pings itself: anything else here is a binary frame.
            await self._garbage("Binary frames are not supported")
            return
        try:
            message = json.loads(data)
        except (ValueError, RecursionError):
            await self._garbage("Message is not valid JSON")
            return
        if not isinstance(message, dict):
            message = {}
        message_type = message.get("type")
        _LOG.debug("websocket %s: <<< %r (id %r)", self.peer, message_type, message.get("id"))
        handler = self.handlers().get(message_type) if isinstance(message_type, str) else None
        if handler is None:
            _LOG.warning("websocket %s: unexpected message type %r", self.peer, message_type)
            await self.unknown_message(message)
        else:
            await handler(message)

    async def _garbage(self, reason: str) -> None:
        _LOG.warning("websocket %s (%s): %s", self.peer, self.protocol, reason)
        await self.garbage(reason)

    async def _shutdown(self) -> None:
        tasks = list(self._operations.values())
        if self._keepalive_task is not None:
            tasks.append(self._keepalive_task)
        self._operations.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    # -- what each protocol defines ---------------------------------------------------------

    @abstractmethod
    def handlers(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[None]]]:
        """The handler of each message type the client may send."""

    @abstractmethod
    async def garbage(self, reason: str) -> None:
        """Answer a frame that is not a JSON message (``reason`` says why)."""

    @abstractmethod
    async def unknown_message(self, message: dict[str, Any]) -> None:
        """Answer a JSON message of an unknown type."""

    @abstractmethod
    async def init_timed_out(self) -> None:
        """End a connection that sent no ``connection_init`` in time."""

    @abstractmethod
    def error_payload(self, errors: list[GraphQLFormattedError]) -> Any:
        """The payload of an ``error`` message carrying these formatted GraphQL errors."""

    # -- helpers for the protocols ----------------------------------------------------------

    def authenticate(self, payload: object) -> EmulatedUser | None:
        """The user a ``connection_init`` payload's bearer token belongs to; None if invalid."""
        token = None
        if isinstance(payload, dict):
            token = next((v for k in _AUTH_KEYS if isinstance(v := payload.get(k), str)), None)
        try:
            return self.cloud.user_for_bearer(token)
        except TokenError as error:
            _LOG.info("websocket %s: connection_init rejected (%s token)", self.peer, error.reason)
            return None

    async def acknowledge(self, user: EmulatedUser) -> None:
        """Accept the connection for ``user``: ``connection_ack`` and keep-alives."""
        self.user = user
        await self.send({"type": "connection_ack"})
        interval = self.cloud.websocket_keepalive
        if interval is not None and self._keepalive_task is None:
            self._keepalive_task = asyncio.create_task(
                self._keep_alive(interval), name=f"websocket-keepalive-{self.peer}"
            )

    async def _keep_alive(self, interval: float) -> None:
        if not self.keepalive_at_once:
            await asyncio.sleep(interval)
        while True:
            await self.send(self.keepalive)
            await asyncio.sleep(interval)

    async def send(self, message: dict[str, Any]) -> None:
        """Send one JSON message after the injected latency; a closed socket drops it."""
        await self.cloud.delay()
        await self._send_text(json.dumps(message))

    async def _send_text(self, text: str) -> None:
        if self.ws.closed:
            return
        try:
            await self.ws.send_str(text)
        except ConnectionError:
            _LOG.debug("websocket %s: closed while sending", self.peer)

    async def close(self, code: int, reason: str) -> None:
        """Close the socket with ``code`` and ``reason``."""
        _LOG.info("websocket %s: closing with %d (%s)", self.peer, code, reason)
        await self.ws.close(code=code, message=reason.encode())

    async def send_errors(self, op_id: str, errors: list[GraphQLError]) -> None:
        """Fail operation ``op_id`` with these errors (an ``error`` message, no ``complete``)."""
        payload = self.error_payload([error.formatted for error in errors])
        await self.send({"id": op_id, "type": "error", "payload": payload})

    async def send_result(self, op_id: str, result: ExecutionResult) -> None:
        """Send one result of ``op_id``, unless a malformed-frame fault replaces it."""
        if self.cloud.faults.take("malformed_frames"):
            self.cloud.stats.faults_injected["malformed_frame"] += 1
            await self.cloud.delay()
            # The real frame cut in half: never JSON (the object's braces do not balance).
            frame = json.dumps({"id": op_id, "type": self.data_type, "payload": result.formatted})
            await self._send_text(frame[: len(frame) // 2])
            return
        await self.send({"id": op_id, "type": self.data_type, "payload": result.formatted})

    async def send_complete(self, op_id: str) -> None:
        """Tell the client operation ``op_id`` is over."""
        await self.send({"id": op_id, "type": "complete"})

    # -- operations -----------------------------------------------------------------------

    def is_running(self, op_id: str) -> bool:
        """True while operation ``op_id`` runs on this socket."""
        return op_id in self._operations

    def start(self, op_id: str, payload: dict[str, Any], user: EmulatedUser) -> None:
        """Run the GraphQL request ``payload`` as operation ``op_id`` in its own task."""
        task = asyncio.create_task(
            self._run(op_id, payload, RequestContext(self.cloud, user)),
            name=f"websocket-operation-{self.peer}-{op_id}",
        )
        self._operations[op_id] = task
        task.add_done_callback(partial(self._forget, op_id))

    def _forget(self, op_id: str, task: asyncio.Task[None]) -> None:
        if self._operations.get(op_id) is task:
            del self._operations[op_id]
        if not task.cancelled() and (error := task.exception()) is not None:
            _LOG.error("websocket %s: operation %r failed", self.peer, op_id, exc_info=error)

    async def stop(self, op_id: str) -> bool:
        """End operation ``op_id`` at the client's request; False if it is not running."""
        task = self._operations.pop(op_id, None)
        if task is None:
            return False
        task.cancel()
        await asyncio.wait([task])
        self.cloud.stats.subscriptions_stopped_by_client += 1
        _LOG.debug("websocket %s: operation %r stopped by the client", self.peer, op_id)
        return True

    async def _run(self, op_id: str, payload: dict[str, Any], context: RequestContext) -> None:
        request = _prepare(payload)
        results = request if isinstance(request, list) else await self._results(request, context)
        if isinstance(results, list):
            await self.send_errors(op_id, results)
            return
        try:
            async with aclosing(results) as stream:
                async for result in stream:
                    await self.send_result(op_id, result)
        except GraphQLError as error:
            # raised by the subscription resolver itself, e.g. NOT_FOUND for a foreign device
            await self.send_errors(op_id, [error])
            return
        await self.send_complete(op_id)

    async def _results(
        self, request: _Request, context: RequestContext
    ) -> AsyncGenerator[ExecutionResult, None] | list[GraphQLError]:
        """The results of a request, or the errors that kept a subscription from starting.

        A query or mutation has one result, as a stream of one (as Apollo served it).
        """
        arguments: dict[str, Any] = {
            "context_value": context,
            "variable_values": request.variables,
            "operation_name": request.operation_name,
        }
        if request.operation is not OperationType.SUBSCRIPTION:
            result = await _settled(execute(executable_schema(), request.document, **arguments))
            return _one(result)
        stream = await _settled(subscribe(executable_schema(), request.document, **arguments))
        if isinstance(stream, ExecutionResult):
            return list(stream.errors or ())
        self.cloud.stats.subscriptions_started += 1
        # graphql-core maps the source stream with an async generator; closing it (as _run
        # does on every exit) makes the status hub forget this subscriber.
        return cast(AsyncGenerator[ExecutionResult, None], stream)


async def _settled(value: AwaitableOrValue[_T]) -> _T:
    """A graphql-core result, awaited when it is an awaitable (async resolvers)."""
    return await cast(Awaitable[_T], value) if isawaitable(value) else value


async def _one(result: ExecutionResult) -> AsyncGenerator[ExecutionResult, None]:
    yield result


def _operation_id(message: dict[str, Any]) -> str | None:
    op_id = message.get("id")
    return op_id if isinstance(op_id, str) and op_id else None


class _LegacyConnection(_Connection):
    """``graphql-ws``: Apollo's subscriptions-transport-ws, as Apollo Server answered it."""

    protocol = GRAPHQL_WS
    data_type = "data"
    keepalive: ClassVar[dict[str, str]] = {"type": "ka"}
    keepalive_at_once = True

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[None]]]:
        """The messages a subscriptions-transport-ws client sends."""
        return {
            "connection_init": self._connection_init,
            "connection_terminate": self._connection_terminate,
            "start": self._start,
            "stop": self._stop,
        }

    async def _connection_error(self, payload: dict[str, Any]) -> None:
        await self.send({"type": "connection_error", "payload": payload})

    async def garbage(self, reason: str) -> None:
        """Apollo answers an unparsable frame with ``connection_error`` and stays open."""
        await self._connection_error({"message": reason})

    async def unknown_message(self, message: dict[str, Any]) -> None:
        """Apollo answers an unknown type with ``error``."""
        await self._error(_operation_id(message), "Invalid message type!")

    async def _error(self, op_id: str | None, text: str) -> None:
        reply: dict[str, Any] = {"type": "error", "payload": {"message": text}}
        if op_id is not None:
            reply["id"] = op_id
        await self.send(reply)

    async def init_timed_out(self) -> None:
        """Say why, then close as Apollo closes a refused connection."""
        await self._connection_error({"message": "Connection initialisation timeout"})
        await self.close(CloseCode.INTERNAL_ERROR, "Connection initialisation timeout")

    def error_payload(self, errors: list[GraphQLFormattedError]) -> Any:
        """The legacy ``error`` payload is one error object."""
        return errors[0]

    async def _connection_init(self, message: dict[str, Any]) -> None:
        self.init_received = True
        user = self.authenticate(message.get("payload"))
        if user is None:
            await self._connection_error(UNAUTHENTICATED)
            await self.close(CloseCode.INTERNAL_ERROR, "Unauthenticated")
            return
        await self.acknowledge(user)

    async def _connection_terminate(self, _message: dict[str, Any]) -> None:
        await self.close(CloseCode.NORMAL, "connection_terminate")

    async def _start(self, message: dict[str, Any]) -> None:
        op_id = _operation_id(message)
        if op_id is None:
            await self._error(None, 'Invalid start: "id" must be a non-empty string')
            return
        payload = _request_payload(message.get("payload"))
        if isinstance(payload, str):
            await self._error(op_id, f"Invalid start: {payload}")
            return
        if self.user is None:
            await self.send({"id": op_id, "type": "error", "payload": UNAUTHENTICATED})
            return
        if self.is_running(op_id):
            # Apollo ends the old operation with this id before starting the new one.
            await self.stop(op_id)
        self.start(op_id, payload, self.user)

    async def _stop(self, message: dict[str, Any]) -> None:
        op_id = _operation_id(message)
        if op_id is not None and await self.stop(op_id):
            await self.send_complete(op_id)


class _TransportConnection(_Connection):
    """``graphql-transport-ws``: the graphql-ws library's protocol, strict about violations."""

    protocol = GRAPHQL_TRANSPORT_WS
    data_type = "next"
    keepalive: ClassVar[dict[str, str]] = {"type": "ping"}
    keepalive_at_once = False

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[None]]]:
        """The messages a graphql-transport-ws client sends."""
        return {
            "connection_init": self._connection_init,
            "ping": self._ping,
            "pong": self._pong,
            "subscribe": self._subscribe,
            "complete": self._complete,
        }

    async def garbage(self, reason: str) -> None:
        """Any invalid message closes the socket with 4400."""
        await self.close(CloseCode.BAD_REQUEST, reason)

    async def unknown_message(self, message: dict[str, Any]) -> None:
        """An unknown or missing type is a bad message: 4400."""
        await self.close(CloseCode.BAD_REQUEST, f"Invalid message type {message.get('type')!r}")

    async def init_timed_out(self) -> None:
        """4408, as the graphql-ws server closes it."""
        await self.close(CloseCode.INIT_TIMEOUT, "Connection initialisation timeout")

    def error_payload(self, errors: list[GraphQLFormattedError]) -> Any:
        """The ``error`` payload is the list of GraphQL errors."""
        return errors

    async def _connection_init(self, message: dict[str, Any]) -> None:
        if self.init_received:
            await self.close(CloseCode.TOO_MANY_INIT_REQUESTS, "Too many initialisation requests")
            return
        self.init_received = True
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            await self.close(CloseCode.BAD_REQUEST, '"payload" must be an object')
            return
        user = self.authenticate(payload)
        if user is None:
            await self.close(CloseCode.UNAUTHORIZED, "Unauthorized")
            return
        await self.acknowledge(user)

    async def _ping(self, message: dict[str, Any]) -> None:
        pong: dict[str, Any] = {"type": "pong"}
        if "payload" in message:
            pong["payload"] = message["payload"]
        await self.send(pong)

    async def _pong(self, _message: dict[str, Any]) -> None:
        """A pong answers our keep-alive ping: nothing to do."""

    async def _subscribe(self, message: dict[str, Any]) -> None:
        if self.user is None:
            await self.close(CloseCode.UNAUTHORIZED, "Unauthorized")
            return
        op_id = _operation_id(message)
        if op_id is None:
            await self.close(CloseCode.BAD_REQUEST, 'Invalid subscribe: "id" must be a string')
            return
        payload = _request_payload(message.get("payload"))
        if isinstance(payload, str):
            await self.close(CloseCode.BAD_REQUEST, f"Invalid subscribe: {payload}")
            return
        if self.is_running(op_id):
            await self.close(CloseCode.SUBSCRIBER_EXISTS, f"Subscriber for {op_id} already exists")
            return
        self.start(op_id, payload, self.user)

    async def _complete(self, message: dict[str, Any]) -> None:
        op_id = _operation_id(message)
        if op_id is None:
            await self.close(CloseCode.BAD_REQUEST, 'Invalid complete: "id" must be a string')
            return
        await self.stop(op_id)
