"""One GraphQL websocket: what both subprotocols share (see :mod:`.websocket`).

:class:`Connection` authenticates ``connection_init``, runs every operation in its own
task (multiplexed by id), injects the cloud's faults into what it sends, and cancels and
awaits every task when the socket closes, so no subscriber is left in the status hub. A
client that goes away is not an error: sends to a closing socket are dropped (logged at
DEBUG). The subprotocols themselves are in :mod:`.websocket_protocols`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Awaitable, Callable
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
    subscribe,
)
from graphql.pyutils import AwaitableOrValue

from andersen_ev.testing.checked_documents import checked_document
from andersen_ev.testing.executable_schema import RequestContext, executable_schema
from andersen_ev.testing.graphql_http import UNAUTHENTICATED_MESSAGE
from andersen_ev.testing.leaf_executor import LeafExecutor, LeafSubscriptionExecutor
from andersen_ev.testing.tokens import TokenError
from andersen_ev.testing.wire_variants import vary

if TYPE_CHECKING:
    from andersen_ev.testing.cloud import AndersenCloud
    from andersen_ev.testing.state import EmulatedUser

__all__ = ["UNAUTHENTICATED", "CloseCode", "Connection", "operation_id", "request_payload"]

_LOG = logging.getLogger(__name__)
_T = TypeVar("_T")

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


@dataclass(frozen=True)
class _Request:
    """A GraphQL request from a ``start``/``subscribe`` payload, parsed and validated."""

    document: DocumentNode
    operation: OperationType
    variables: dict[str, Any] | None
    operation_name: str | None


def request_payload(payload: object) -> dict[str, Any] | str:
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
    checked = checked_document(payload["query"])
    if checked.parse_error is not None:
        return [checked.parse_error]
    if checked.document is None:
        return list(checked.validation_errors)
    document = checked.document
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


class Connection(ABC):
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
        """Send one result of ``op_id`` (wire variants if asked) unless a fault garbles it."""
        payload: dict[str, Any] = dict(result.formatted)
        if self.cloud.realism.wire_variants:
            payload["data"] = vary(payload.get("data"))
        if self.cloud.faults.take("malformed_frames"):
            self.cloud.stats.faults_injected["malformed_frame"] += 1
            await self.cloud.delay()
            # The real frame cut in half: never JSON (the object's braces do not balance).
            frame = json.dumps({"id": op_id, "type": self.data_type, "payload": payload})
            await self._send_text(frame[: len(frame) // 2])
            return
        await self.send({"id": op_id, "type": self.data_type, "payload": payload})

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
            document = request.document
            outcome = execute(
                executable_schema(), document, executor_class=LeafExecutor, **arguments
            )
            result = await _settled(outcome)
            return _one(result)
        schema, document = executable_schema(), request.document
        subscribing = subscribe(
            schema, document, executor_class=LeafSubscriptionExecutor, **arguments
        )
        stream = await _settled(subscribing)
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


def operation_id(message: dict[str, Any]) -> str | None:
    """The message's operation ``id``, if it is a non-empty string."""
    op_id = message.get("id")
    return op_id if isinstance(op_id, str) and op_id else None
