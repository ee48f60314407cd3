"""The two GraphQL websocket subprotocols the emulator speaks (see :mod:`.websocket`).

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
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Final

from graphql import GraphQLFormattedError

from andersen_ev.testing.websocket_connection import (
    UNAUTHENTICATED,
    CloseCode,
    Connection,
    operation_id,
    request_payload,
)

__all__ = ["GRAPHQL_TRANSPORT_WS", "GRAPHQL_WS", "LegacyConnection", "TransportConnection"]

#: The legacy Apollo protocol (subscriptions-transport-ws).
GRAPHQL_WS: Final = "graphql-ws"
#: The protocol of the graphql-ws library ("GraphQL over WebSocket").
GRAPHQL_TRANSPORT_WS: Final = "graphql-transport-ws"


class LegacyConnection(Connection):
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
        await self._error(operation_id(message), "Invalid message type!")

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
        op_id = operation_id(message)
        if op_id is None:
            await self._error(None, 'Invalid start: "id" must be a non-empty string')
            return
        payload = request_payload(message.get("payload"))
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
        op_id = operation_id(message)
        if op_id is not None and await self.stop(op_id):
            await self.send_complete(op_id)


class TransportConnection(Connection):
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
        op_id = operation_id(message)
        if op_id is None:
            await self.close(CloseCode.BAD_REQUEST, 'Invalid subscribe: "id" must be a string')
            return
        payload = request_payload(message.get("payload"))
        if isinstance(payload, str):
            await self.close(CloseCode.BAD_REQUEST, f"Invalid subscribe: {payload}")
            return
        if self.is_running(op_id):
            await self.close(CloseCode.SUBSCRIBER_EXISTS, f"Subscriber for {op_id} already exists")
            return
        self.start(op_id, payload, self.user)

    async def _complete(self, message: dict[str, Any]) -> None:
        op_id = operation_id(message)
        if op_id is None:
            await self.close(CloseCode.BAD_REQUEST, 'Invalid complete: "id" must be a string')
            return
        await self.stop(op_id)
