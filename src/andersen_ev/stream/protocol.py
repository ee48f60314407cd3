"""The wire format, without I/O: frames, the two subprotocols, and the keep-alive rules.

``graphql-transport-ws`` (the graphql-ws library's) and ``graphql-ws`` (Apollo's legacy
subscriptions-transport-ws) differ in the names of a few messages and in how the client
pings: :class:`Subprotocol` holds the differences, :class:`KeepAlive` the liveness rules,
the same for both. Each frame is validated straight from its JSON text into the models below
(one pass in pydantic-core), events included: a ``DeviceStatus`` costs little more than
``json.loads``. The websocket that carries them is :mod:`andersen_ev.stream.connection`.

Frames obey the reply rules of :mod:`andersen_ev.wire`: at most :data:`MAX_FRAME_BYTES`
(refused from the frame's header, before its payload is read), and nesting too deep for the
parser is a malformed frame, not a ``RecursionError``. Either costs a reconnect.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from andersen_ev.graphql import operation_document
from andersen_ev.models import DeviceStatus
from andersen_ev.models.base import LazyAdapter
from andersen_ev.stream.settings import StreamSettings
from andersen_ev.wire import MAX_REPLY_BYTES

__all__ = [
    "FRAME",
    "GRAPHQL_TRANSPORT_WS",
    "GRAPHQL_WS",
    "MAX_FRAME_BYTES",
    "OPERATION",
    "PING",
    "PONG",
    "SUBPROTOCOLS",
    "AuthRefusedError",
    "ConnectionLostError",
    "ControlFrame",
    "DataFrame",
    "KeepAlive",
    "Subprotocol",
    "describe_errors",
    "errors_of",
    "init_message",
]

#: Apollo's legacy protocol (subscriptions-transport-ws).
GRAPHQL_WS: Final = "graphql-ws"
#: The graphql-ws library's protocol ("GraphQL over WebSocket").
GRAPHQL_TRANSPORT_WS: Final = "graphql-transport-ws"
#: The one operation streams subscribe to.
OPERATION: Final = "deviceStatusUpdated"
#: The largest websocket message taken (a frame is a reply: the bound of every reply). An
#: event is about 2 KB.
MAX_FRAME_BYTES: Final = MAX_REPLY_BYTES


@dataclass(frozen=True)
class Subprotocol:
    """Where the two subprotocols differ: the messages that start and stop, and liveness."""

    name: str
    start: str
    """The type of the message that starts a subscription."""
    stop: str
    """The type of the message that stops one."""
    pings: bool
    """Has ``ping``/``pong`` messages, both ways; otherwise the client pings with websocket
    ping frames (the server's ``ka`` only counts as traffic)."""

    def start_message(self, op_id: str, device_id: str) -> str:
        """The message that subscribes operation ``op_id`` to the device's statuses."""
        payload = {
            "query": operation_document(OPERATION),
            "variables": {"id": device_id},
            "operationName": OPERATION,
        }
        return json.dumps({"id": op_id, "type": self.start, "payload": payload})

    def stop_message(self, op_id: str) -> str:
        """The message that stops operation ``op_id``."""
        return json.dumps({"id": op_id, "type": self.stop})


#: Both, offered in this order of preference. A server that names none speaks ``graphql-ws``.
SUBPROTOCOLS: Final = {
    GRAPHQL_TRANSPORT_WS: Subprotocol(GRAPHQL_TRANSPORT_WS, "subscribe", "complete", pings=True),
    GRAPHQL_WS: Subprotocol(GRAPHQL_WS, "start", "stop", pings=False),
}
PING: Final = json.dumps({"type": "ping"})
PONG: Final = json.dumps({"type": "pong"})


def init_message(token: str) -> str:
    """``connection_init``, carrying the IdToken the way the service expects it."""
    return json.dumps({"type": "connection_init", "payload": {"authToken": f"Bearer {token}"}})


# -- frames -------------------------------------------------------------------------------------


class _EventData(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built on the first frame, not at import
    device_status_updated: DeviceStatus | None = Field(default=None, alias="deviceStatusUpdated")


class _Result(BaseModel):
    model_config = ConfigDict(defer_build=True)
    data: _EventData | None = None
    errors: list[Any] | None = None


class DataFrame(BaseModel):
    """``data`` (``graphql-ws``) or ``next`` (``graphql-transport-ws``): an operation's result."""

    model_config = ConfigDict(defer_build=True)

    type: Literal["data", "next"]
    id: str
    payload: _Result


class ControlFrame(BaseModel):
    """Every other frame this client knows; other types fail with ``union_tag_invalid``."""

    model_config = ConfigDict(defer_build=True)

    type: Literal["connection_ack", "ka", "ping", "pong", "complete", "error", "connection_error"]
    id: str | None = None
    payload: Any = None


#: Validates a frame's JSON text (``FRAME.validate_json``): raises ``ValidationError``.
#: Built on the first frame (a module-level ``TypeAdapter`` would build at import).
FRAME: Final[LazyAdapter[DataFrame | ControlFrame]] = LazyAdapter(
    Annotated[DataFrame | ControlFrame, Field(discriminator="type")]
)


def errors_of(payload: object) -> list[Any]:
    """The GraphQL errors of an ``error``/``connection_error`` payload, as a list."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        return [payload]
    return [] if payload is None else [{"message": str(payload)}]


def describe_errors(errors: list[Any]) -> str:
    """The messages of GraphQL errors, for a log line."""
    return "; ".join(
        str(error.get("message", error)) if isinstance(error, dict) else str(error)
        for error in errors
    )


# -- why a connection ends ----------------------------------------------------------------------


class ConnectionLostError(Exception):
    """The connection ended or could not be made: reconnect after the backoff."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.uptime: float | None = None
        """Seconds the connection was up after ``connection_ack`` (None: never acked)."""


class AuthRefusedError(Exception):
    """The server refused the connection's token: refresh it, then reconnect."""

    def __init__(self, token: str) -> None:
        super().__init__("the server refused the token")
        self.token = token


# -- keep-alive ---------------------------------------------------------------------------------


class KeepAlive:
    """When a connection needs a ping, when it is suspect, and when it is dead.

    The same rule for both subprotocols: after ``ping_interval`` without a frame, a ping
    goes out (a ``ping`` message in ``graphql-transport-ws``; a websocket ping frame in
    ``graphql-ws``, whose protocol has no ping of its own), and any frame answers it (pong,
    ``ka``, data). Unanswered for ``suspect_after`` seconds the connection is suspect; for
    ``keepalive_timeout`` seconds, dead. A connection that dies silently is thus given up
    at worst ``ping_interval + keepalive_timeout`` after its last frame. The server's own
    keep-alives (``ka``, pings) only count as frames: their interval is not known for the
    real service. Times are the event loop's.
    """

    __slots__ = ("_settings", "last_rx", "ping_sent_at", "suspect")

    def __init__(self, *, settings: StreamSettings, now: float) -> None:
        self._settings = settings
        self.last_rx = now
        """When the last frame arrived (set by the receiving side)."""
        self.ping_sent_at: float | None = None
        self.suspect = False
        """A ping went unanswered for ``suspect_after`` (cleared by the receiving side)."""

    def next_check(self, now: float) -> float:
        """When :meth:`check` must be called next."""
        settings = self._settings
        sent = self.ping_sent_at
        if sent is None or self.last_rx >= sent:
            return self.last_rx + settings.ping_interval
        due = sent + (settings.keepalive_timeout if self.suspect else settings.suspect_after)
        # wake up meanwhile too: once the answer is in, idleness counts from it
        return min(due, now + settings.ping_interval)

    def check(self, now: float) -> Literal["ok", "ping", "suspect", "dead"]:
        """What the connection needs now (``ping``: one is due, and counted as sent).

        ``suspect`` is answered once per unanswered ping.
        """
        settings = self._settings
        sent = self.ping_sent_at
        if sent is not None and self.last_rx < sent:  # unanswered
            waited = now - sent
            if waited >= settings.keepalive_timeout:
                return "dead"
            if not self.suspect and waited >= settings.suspect_after:
                self.suspect = True
                return "suspect"
            return "ok"
        if now - self.last_rx >= settings.ping_interval:
            self.ping_sent_at = now
            return "ping"
        return "ok"
