"""Live device status: ``async for`` over ``deviceStatusUpdated`` that survives what networks do.

Every :class:`~andersen_ev.AndersenA2` has one :class:`StreamManager` (``a2.streams``). It
multiplexes every device subscription of the session on ONE websocket, opened when the first
consumer starts iterating and closed when the last one leaves::

    async for status in a2.subscribe_device_updates(device_id):
        print(status.evse_state, status.charge_power)

What it guarantees:

* **Both subprotocols.** It offers ``graphql-transport-ws`` and ``graphql-ws`` and speaks the
  one the server picks (``graphql-ws``, Apollo's legacy protocol, when the server names none).
* **One server-side subscription per device**, fanned out to every local consumer of it.
* **Self-healing.** A dropped, refused or silent connection is reopened until the consumers
  leave or the session closes, after a capped exponential backoff with full jitter
  (:class:`StreamSettings`). ``connection_init`` carries ``{"authToken": "Bearer <IdToken>"}``
  with the current token, refreshed first when due; a connection refused for its token
  (``connection_error`` UNAUTHENTICATED, close 4401/4403) invalidates it and is retried at
  once with a refreshed one.
* **Dead connections are noticed.** ``graphql-transport-ws``: a ``ping`` is sent after
  ``ping_interval`` seconds without a message, and the connection is dead when nothing arrives
  within ``keepalive_timeout`` after it. ``graphql-ws``: once the server has sent a ``ka``
  keep-alive, silence longer than ``keepalive_timeout`` is dead (servers that never send
  ``ka`` are watched by websocket-level pings every ``keepalive_timeout`` seconds instead).
* **Resync after every gap.** After each (re)connect, and when a consumer joins, the
  consumer first gets a :class:`StatusSnapshot` of each of its devices (read with
  ``getDeviceStatus``), then live events. Events arriving while a device's snapshot is on its
  way are held and delivered after it, in order. A failed snapshot query is retried with the
  reconnect backoff.
* **Observable.** :attr:`StreamManager.state` (:class:`StreamState`) and
  :meth:`StreamManager.on_state` callbacks, for availability in a UI; :attr:`StreamManager.stats`
  counts connections, events, snapshots and malformed frames.
* **Clean exits.** Leaving the ``async for`` (``break``, an exception, cancelling the task),
  :meth:`DeviceUpdates.aclose` or closing the session sends ``stop``/``complete`` for the
  subscriptions nobody needs any more and, with the last consumer, closes the websocket: no
  task, socket or callback is left behind. ``async with`` (or ``contextlib.aclosing``) makes
  the release immediate; a plain ``break`` releases when the iterator is dropped (at once in
  CPython).

What the consumer sees:

* statuses (:class:`~andersen_ev.DeviceStatus`; snapshots are the :class:`StatusSnapshot`
  subclass), each with ``.id`` set to its device;
* :class:`~andersen_ev.DeviceNotFoundError` for a device the account does not have, or
  :class:`~andersen_ev.ApiError` for a subscription the server rejects: the iterator ends
  with it (other iterators go on);
* :class:`~andersen_ev.ReauthRequiredError` when the tokens cannot be refreshed (or the
  service refuses even freshly refreshed ones): every iterator ends with it;
* the end of iteration, quietly, when the session is closed (``a2.close()``);
* nothing for connection trouble: drops, refusals, expired tokens, malformed frames (logged,
  counted, and handled as a broken connection) and dead connections only show in
  :attr:`StreamManager.state`.

Things to know: iterate each :class:`DeviceUpdates` from one task; statuses wait in the
iterator until taken (nothing is dropped, so a consumer that stops reading without leaving
holds them in memory); a snapshot of ``n`` devices costs ``n`` status queries (at most
``snapshot_concurrency`` at once) after every reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Annotated, Any, Final, Literal, NoReturn, Self

import aiohttp
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from andersen_ev.exceptions import (
    AndersenError,
    ApiError,
    DeviceNotFoundError,
    InvalidInputError,
    ReauthRequiredError,
)
from andersen_ev.graphql import UNAUTHENTICATED, error_codes, operation_document
from andersen_ev.http import TokenSource
from andersen_ev.models import DeviceStatus
from andersen_ev.retry import backoff_delay
from andersen_ev.validation import check_id

__all__ = [
    "GRAPHQL_TRANSPORT_WS",
    "GRAPHQL_WS",
    "DeviceUpdates",
    "StatusSnapshot",
    "StreamManager",
    "StreamSettings",
    "StreamState",
    "StreamStats",
]

_LOG = logging.getLogger(__name__)

#: Apollo's legacy protocol (subscriptions-transport-ws).
GRAPHQL_WS: Final = "graphql-ws"
#: The graphql-ws library's protocol ("GraphQL over WebSocket").
GRAPHQL_TRANSPORT_WS: Final = "graphql-transport-ws"
_PROTOCOLS: Final = (GRAPHQL_TRANSPORT_WS, GRAPHQL_WS)
_OPERATION: Final = "deviceStatusUpdated"
#: graphql-transport-ws close codes for a refused token (4401) or a refusing onConnect (4403).
_AUTH_CLOSE_CODES: Final = frozenset({4401, 4403})
_GOING_AWAY: Final = 1001
#: Frames decoded before the receiving task yields to the consumers. A backlog of decoded
#: models that nobody has taken yet survives into the garbage collector's older
#: generations, which costs more than the yield: 8 measured best (benchmarks/streams.py).
_FRAMES_PER_SLICE: Final = 8
_TEXT_OR_BINARY: Final = frozenset({aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY})


class StreamState(StrEnum):
    """Where the session's websocket stands."""

    CLOSED = "closed"
    """No websocket: nobody is subscribed, or the session is closed."""
    CONNECTING = "connecting"
    """Opening the first connection for the current consumers."""
    CONNECTED = "connected"
    """The server acknowledged the connection: live events flow."""
    RECONNECTING = "reconnecting"
    """The connection was lost: waiting out the backoff, or opening a new one."""


@dataclass(frozen=True, kw_only=True)
class StreamSettings:
    """How streams reconnect and detect dead connections (seconds).

    Attributes:
        backoff: Upper bound of the first reconnect delay; doubles with each consecutive
            failure (full jitter: the delay is uniform between 0 and the bound).
        max_backoff: Cap of the reconnect delay. A connection that stayed up at least this
            long starts the backoff over; one that failed sooner keeps doubling it.
        keepalive_timeout: Silence (``graphql-ws``, after a first ``ka``) or time without
            an answer to a ping (``graphql-transport-ws``) after which the connection is dead.
        ping_interval: ``graphql-transport-ws``: seconds without a message before a ``ping``.
        connect_timeout: Time allowed to open the websocket and get ``connection_ack``.
        snapshot_concurrency: Snapshot queries in flight at once while resyncing.
    """

    backoff: float = 1.0
    max_backoff: float = 60.0
    keepalive_timeout: float = 30.0
    ping_interval: float = 15.0
    connect_timeout: float = 20.0
    snapshot_concurrency: int = 8

    def __post_init__(self) -> None:
        if self.backoff < 0 or self.max_backoff < 0:
            raise InvalidInputError("StreamSettings backoff delays must not be negative")
        for name in ("keepalive_timeout", "ping_interval", "connect_timeout"):
            if getattr(self, name) <= 0:
                raise InvalidInputError(f"StreamSettings.{name} must be positive")
        if self.snapshot_concurrency < 1:
            raise InvalidInputError("StreamSettings.snapshot_concurrency must be at least 1")

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failures (1 for the first)."""
        return backoff_delay(failures, self.backoff, self.max_backoff)


@dataclass
class StreamStats:
    """What the stream manager has seen since it was created (for diagnostics)."""

    connects: int = 0
    """Connections the server acknowledged."""
    events: int = 0
    """Live events received (each counted once, however many consumers got it)."""
    snapshots: int = 0
    """Snapshots read after a (re)connect or a new consumer."""
    malformed_frames: int = 0
    """Frames that were not JSON or did not fit the protocol (each cost a reconnect)."""
    keepalive_timeouts: int = 0
    """Connections given up as dead for lack of keep-alives or pongs."""
    pings: int = 0
    """Pings sent (``graphql-transport-ws``) after a silence of ``ping_interval``."""
    auth_refusals: int = 0
    """Connections the server refused for their token (each answered by a refresh)."""


class StatusSnapshot(DeviceStatus):
    """A device's full status read by a query (``getDeviceStatus``), not a live event.

    Every consumer gets one per device first, after each (re)connect: state is right after
    any gap. It is a :class:`~andersen_ev.DeviceStatus` in every other respect (test with
    ``isinstance(status, StatusSnapshot)``). Snapshots carry the fields of a status query,
    which are not quite those of an event (no ``cfg_lora*``; more ``sys_*`` diagnostics).
    """

    @classmethod
    def of(cls, status: DeviceStatus, device_id: str) -> StatusSnapshot:
        """``status`` as a snapshot of ``device_id`` (whose id it gets if it had none)."""
        values = dict(status.__dict__)
        if values.get("id") is None:
            values["id"] = device_id
        return cls.model_construct(status.model_fields_set | {"id"}, **values)


# -- frames -------------------------------------------------------------------------------------
# Each frame is validated straight from its JSON text into these models (one pass in
# pydantic-core), events included: a DeviceStatus costs little more than json.loads would.


class _EventData(BaseModel):
    device_status_updated: DeviceStatus | None = Field(default=None, alias="deviceStatusUpdated")


class _Result(BaseModel):
    data: _EventData | None = None
    errors: list[Any] | None = None


class _DataFrame(BaseModel):
    type: Literal["data", "next"]
    id: str
    payload: _Result


class _ControlFrame(BaseModel):
    type: Literal["connection_ack", "ka", "ping", "pong", "complete", "error", "connection_error"]
    id: str | None = None
    payload: Any = None


_FRAME: Final[TypeAdapter[_DataFrame | _ControlFrame]] = TypeAdapter(
    Annotated[_DataFrame | _ControlFrame, Field(discriminator="type")]
)
_PING: Final = json.dumps({"type": "ping"})
_GOODBYE: Final = ""  # put in a connection's outbox: send what is queued before it, then stop
_PONG: Final = json.dumps({"type": "pong"})


def _errors_of(payload: object) -> list[Any]:
    """The GraphQL errors of an ``error``/``connection_error`` payload, as a list."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        return [payload]
    return [] if payload is None else [{"message": str(payload)}]


# -- control flow between the parts of the manager ----------------------------------------------


class _LostError(Exception):
    """The connection ended or could not be made; reconnect after the backoff."""

    def __init__(self, reason: str, uptime: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.uptime = uptime
        """Seconds the connection was up after ``connection_ack`` (None: never acked)."""


class _AuthRefusedError(Exception):
    """The server refused the connection's token."""

    def __init__(self, token: str) -> None:
        super().__init__("the server refused the token")
        self.token = token


class _IdleError(Exception):
    """Every consumer left while the connection was up."""


class _End:
    """The session closed: end the iterator quietly."""


_END: Final = _End()
_Item = DeviceStatus | AndersenError | _End


class _Consumer:
    """One iterator's share of the manager: its devices and its queue of statuses.

    The manager references this, never the :class:`DeviceUpdates` around it, so that an
    abandoned iterator can be garbage collected (and release its subscriptions).
    """

    __slots__ = ("attached", "buffer", "device_ids", "done", "syncing", "waiter")

    def __init__(self, device_ids: tuple[str, ...]) -> None:
        self.device_ids = device_ids
        self.buffer: deque[_Item] = deque()
        self.waiter: asyncio.Future[None] | None = None
        self.attached = False
        self.done = False
        self.syncing: dict[str, list[DeviceStatus]] = {}
        """Devices whose snapshot this consumer awaits, with the events held meanwhile."""

    def push(self, item: _Item) -> None:
        self.buffer.append(item)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            self.waiter = None
            waiter.set_result(None)


class _Device:
    """One device somebody follows: its consumers share one server-side subscription."""

    __slots__ = ("consumers", "id")

    def __init__(self, device_id: str) -> None:
        self.id = device_id
        self.consumers: list[_Consumer] = []


class _Connection:
    """One websocket and everything that lives only as long as it does."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, token: str, now: float) -> None:
        self.ws = ws
        self.protocol = ws.protocol if ws.protocol in _PROTOCOLS else GRAPHQL_WS
        self.transport_ws = self.protocol == GRAPHQL_TRANSPORT_WS
        self.token = token
        self.last_rx = now
        self.acked_at: float | None = None
        self.ka_seen = False
        self.ping_sent_at: float | None = None
        self.dead = False
        self.outbox: asyncio.Queue[str] = asyncio.Queue()
        self.ops: dict[str, _Device] = {}
        self.op_of: dict[str, str] = {}
        self._next_op = 0
        self.snapshot_queue: deque[str] = deque()
        self.snapshot_queued: set[str] = set()
        self.writer: asyncio.Task[None] | None = None
        self.resync: asyncio.Task[None] | None = None

    def send(self, message: dict[str, Any]) -> None:
        self.outbox.put_nowait(json.dumps(message))

    def subscribe(self, device: _Device) -> None:
        self._next_op += 1
        op_id = str(self._next_op)
        self.ops[op_id] = device
        self.op_of[device.id] = op_id
        self.send(
            {
                "id": op_id,
                "type": "subscribe" if self.transport_ws else "start",
                "payload": {
                    "query": operation_document(_OPERATION),
                    "variables": {"id": device.id},
                    "operationName": _OPERATION,
                },
            }
        )

    def unsubscribe(self, device_id: str) -> None:
        op_id = self.op_of.pop(device_id, None)
        if op_id is not None:
            del self.ops[op_id]
            self.send({"id": op_id, "type": "complete" if self.transport_ws else "stop"})

    def forget(self, op_id: str) -> _Device | None:
        """Drop operation ``op_id`` that the server ended; its device, if it was running."""
        device = self.ops.pop(op_id, None)
        if device is not None:
            del self.op_of[device.id]
        return device

    def request_snapshot(self, device_id: str) -> None:
        if device_id not in self.snapshot_queued:
            self.snapshot_queued.add(device_id)
            self.snapshot_queue.append(device_id)

    def next_check(self, now: float, settings: StreamSettings) -> float:
        """When the keep-alive state must be looked at next (loop time)."""
        if self.transport_ws:
            if self.ping_sent_at is not None and self.last_rx < self.ping_sent_at:
                # wake up meanwhile too: once the pong is in, idleness counts from it
                return min(
                    self.ping_sent_at + settings.keepalive_timeout, now + settings.ping_interval
                )
            return self.last_rx + settings.ping_interval
        return (self.last_rx if self.ka_seen else now) + settings.keepalive_timeout

    def check(self, now: float, settings: StreamSettings) -> Literal["ok", "ping", "dead"]:
        """What the keep-alive state asks for now."""
        timeout = settings.keepalive_timeout
        if not self.transport_ws:
            return "dead" if self.ka_seen and now - self.last_rx >= timeout else "ok"
        if self.ping_sent_at is not None and self.last_rx < self.ping_sent_at:  # unanswered
            return "dead" if now - self.ping_sent_at >= timeout else "ok"
        if now - self.last_rx >= settings.ping_interval:
            self.ping_sent_at = now
            return "ping"
        return "ok"


StateCallback = Callable[[StreamState], object]
"""Called with the new :class:`StreamState` on every change (synchronously: do not block)."""


class StreamManager:
    """Every device subscription of one session, on one websocket (see the module docs).

    Created by :class:`~andersen_ev.AndersenA2` as ``a2.streams``; use
    ``a2.subscribe_device_updates()`` rather than this class directly.

    Args:
        session: Returns the shared aiohttp session.
        url: The websocket endpoint (``Endpoints.websocket_url``).
        tokens: Source of the IdToken for ``connection_init``.
        snapshot: Reads a device's full status (``AndersenA2.get_device_status``).
        settings: Backoff and keep-alive settings.
    """

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        url: str,
        tokens: TokenSource,
        snapshot: Callable[[str], Awaitable[DeviceStatus]],
        settings: StreamSettings | None = None,
    ) -> None:
        self._session = session
        self._url = url
        self._tokens = tokens
        self._snapshot = snapshot
        self.settings = settings or StreamSettings()
        self.stats = StreamStats()
        self._state = StreamState.CLOSED
        self._listeners: list[StateCallback] = []
        self._consumers: set[_Consumer] = set()
        self._devices: dict[str, _Device] = {}
        self._conn: _Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"StreamManager(url={self._url!r}, state={self._state.value}, "
            f"devices={len(self._devices)}, consumers={len(self._consumers)})"
        )

    @property
    def _close_timeout(self) -> float:
        """Seconds a goodbye (stops and the close handshake) may take."""
        return min(self.settings.keepalive_timeout, 5.0)

    # -- public surface ---------------------------------------------------------------------

    @property
    def state(self) -> StreamState:
        """The websocket's state now."""
        return self._state

    @property
    def protocol(self) -> str | None:
        """The subprotocol of the live connection (``graphql-ws`` ...); None when there is none."""
        conn = self._conn
        return conn.protocol if conn is not None else None

    @property
    def device_ids(self) -> tuple[str, ...]:
        """The devices somebody is following now."""
        return tuple(self._devices)

    def on_state(self, callback: StateCallback) -> Callable[[], None]:
        """Call ``callback(state)`` on every state change; returns a function that stops it.

        Callbacks run synchronously in the event loop: they must not block. An exception
        from a callback is logged and otherwise ignored.
        """
        self._listeners.append(callback)

        def remove() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return remove

    def subscribe(self, device_id: str, *more_device_ids: str) -> DeviceUpdates:
        """An async iterator of the statuses of these devices (see :class:`DeviceUpdates`).

        Raises:
            InvalidInputError: an id is not a non-empty string.
            AndersenError: the session is closed.
        """
        ids = tuple(dict.fromkeys(check_id(value) for value in (device_id, *more_device_ids)))
        if self._closed:
            raise AndersenError("this AndersenA2 is closed: create a new one")
        return DeviceUpdates(self, _Consumer(ids))

    async def close(self) -> None:
        """End every iterator quietly, stop the subscriptions and close the websocket.

        Idempotent. New subscriptions are refused afterwards.
        """
        self._closed = True
        for consumer in list(self._consumers):
            self._detach(consumer)
            consumer.push(_END)
        await self._stop_task()
        self._set_state(StreamState.CLOSED)

    # -- consumers ---------------------------------------------------------------------------

    def _attach(self, consumer: _Consumer) -> bool:
        """Start following the consumer's devices; False if the session is closed."""
        if self._closed:
            return False
        self._loop = asyncio.get_running_loop()
        consumer.attached = True
        self._consumers.add(consumer)
        conn = self._conn
        for device_id in consumer.device_ids:
            device = self._devices.get(device_id)
            if device is None:
                device = self._devices[device_id] = _Device(device_id)
                if conn is not None:
                    conn.subscribe(device)
            device.consumers.append(consumer)
            if conn is not None:
                consumer.syncing[device_id] = []
                conn.request_snapshot(device_id)
        if conn is not None:
            self._ensure_resync(conn)
        task = self._task
        if task is None or task.done() or task.cancelling():
            # a task that is stopping finishes its goodbyes before the new one connects
            self._task = self._loop.create_task(self._run(task), name="andersen-ev stream")
        return True

    def _detach(self, consumer: _Consumer) -> None:
        """Stop following the consumer's devices (idempotent, synchronous)."""
        if not consumer.attached:
            return
        consumer.attached = False
        consumer.syncing.clear()
        self._consumers.discard(consumer)
        conn = self._conn
        for device_id in consumer.device_ids:
            device = self._devices[device_id]  # followed as long as a consumer is attached
            device.consumers.remove(consumer)
            if not device.consumers:
                del self._devices[device_id]
                if conn is not None:
                    conn.unsubscribe(device_id)

    def _release(self, consumer: _Consumer) -> None:
        """A consumer left: detach it and, if it was the last, stop the manager task."""
        self._detach(consumer)
        task = self._task
        if (
            not self._consumers
            and task is not None
            and not task.done()
            and task is not asyncio.current_task()
        ):
            task.cancel()

    def _fail(self, consumer: _Consumer, error: AndersenError) -> None:
        """End one consumer's iterator with ``error`` (after what it has received)."""
        self._release(consumer)
        consumer.push(error)

    def _fail_device(self, device: _Device, error: AndersenError) -> None:
        _LOG.warning("stream of device %s ended: %s", device.id, error)
        for consumer in list(device.consumers):
            self._fail(consumer, error)

    def _fail_all(self, error: AndersenError) -> None:
        _LOG.warning("every device stream ended: %s", error)
        for consumer in list(self._consumers):
            self._fail(consumer, error)

    async def _stop_task(self) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])

    # -- state -------------------------------------------------------------------------------

    def _set_state(self, state: StreamState) -> None:
        if state is self._state:
            return
        _LOG.debug("stream state: %s -> %s", self._state.value, state.value)
        self._state = state
        for callback in list(self._listeners):
            try:
                callback(state)
            except Exception:  # noqa: BLE001 - an application's bug must not stop the stream
                _LOG.exception("stream state callback %r failed", callback)

    # -- the connection loop -----------------------------------------------------------------

    async def _run(self, previous: asyncio.Task[None] | None) -> None:
        """Keep a connection up while anybody is subscribed."""
        if previous is not None:
            await asyncio.wait([previous])
        settings = self.settings
        failures = 0
        auth_retried = False
        state = StreamState.CONNECTING
        try:
            while self._consumers:
                self._set_state(state)
                try:
                    await self._serve()
                except _IdleError:
                    continue
                except _AuthRefusedError as refused:
                    self.stats.auth_refusals += 1
                    if auth_retried:
                        self._fail_all(
                            ReauthRequiredError(
                                "the service refused the stream's connection even with freshly"
                                " refreshed tokens: log in again with authenticate()"
                            )
                        )
                        return
                    _LOG.info("stream connection refused for its token: refreshing it")
                    auth_retried = True
                    self._tokens.invalidate(refused.token)
                except _LostError as lost:
                    if lost.uptime is not None:
                        auth_retried = False
                    stable = lost.uptime is not None and lost.uptime >= settings.max_backoff
                    failures = 1 if stable else failures + 1
                    delay = settings.delay(failures)
                    _LOG.info("stream connection lost (%s); reconnecting in %.2f s", lost, delay)
                    self._set_state(StreamState.RECONNECTING)
                    await asyncio.sleep(delay)
                except AndersenError as exc:  # the session cannot go on (reauth, closed)
                    self._fail_all(exc)
                    return
                state = StreamState.RECONNECTING
        finally:
            if self._task is asyncio.current_task():
                self._set_state(StreamState.CLOSED)

    async def _serve(self) -> NoReturn:
        """Connect, subscribe everything, and dispatch frames until the connection ends."""
        try:
            token = await self._tokens.id_token()
        except ReauthRequiredError:
            raise
        except AndersenError as exc:
            raise _LostError(f"the token could not be refreshed: {exc}") from exc
        session = self._session()
        if session.closed:
            raise AndersenError(
                "the aiohttp session given to AndersenA2 was closed: streams cannot reconnect"
            )
        loop = asyncio.get_running_loop()
        conn: _Connection | None = None
        goodbye = False
        try:
            try:
                async with asyncio.timeout(self.settings.connect_timeout):
                    ws = await session.ws_connect(
                        self._url,
                        protocols=_PROTOCOLS,
                        heartbeat=self.settings.keepalive_timeout,
                        timeout=aiohttp.ClientWSTimeout(
                            ws_receive=None, ws_close=self._close_timeout
                        ),
                    )
                    conn = _Connection(ws, token, loop.time())
                    await self._handshake(conn)
            except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
                raise _LostError(f"could not connect: {type(exc).__name__}: {exc}") from exc
            conn.acked_at = loop.time()
            self.stats.connects += 1
            _LOG.debug("stream connected (%s)", conn.protocol)
            self._start(conn)
            self._set_state(StreamState.CONNECTED)
            await self._receive(conn)
        except _LostError as lost:
            if conn is not None and conn.acked_at is not None:
                lost.uptime = loop.time() - conn.acked_at
            raise
        except (asyncio.CancelledError, _IdleError):
            goodbye = True  # the consumers left or the session closes: end properly
            raise
        finally:
            if conn is not None:
                await self._teardown(conn, goodbye=goodbye)

    async def _handshake(self, conn: _Connection) -> None:
        """``connection_init`` with the token, until ``connection_ack``."""
        ws = conn.ws
        init = {"type": "connection_init", "payload": {"authToken": f"Bearer {conn.token}"}}
        await ws.send_str(json.dumps(init))
        while True:
            message = await ws.receive()
            if message.type not in _TEXT_OR_BINARY:
                raise self._ended(conn, message)
            frame = self._parse(conn, message.data)
            if frame is None or isinstance(frame, _DataFrame):
                continue
            if frame.type == "connection_ack":
                return
            if frame.type == "ping" and conn.transport_ws:
                await ws.send_str(_PONG)
            elif frame.type in {"connection_error", "error"}:
                self._connection_error(conn, frame)

    def _start(self, conn: _Connection) -> None:
        """Subscribe every followed device on a new connection and resync every consumer."""
        self._conn = conn
        for device in self._devices.values():
            conn.subscribe(device)
            conn.request_snapshot(device.id)
        for consumer in self._consumers:
            consumer.syncing = {device_id: [] for device_id in consumer.device_ids}
        conn.writer = asyncio.get_running_loop().create_task(
            self._write(conn), name="andersen-ev stream writer"
        )
        self._ensure_resync(conn)

    async def _teardown(self, conn: _Connection, *, goodbye: bool) -> None:
        """End the connection's tasks and close it (after the queued stops, if ``goodbye``)."""
        if self._conn is conn:
            self._conn = None
        ws = conn.ws
        writer = conn.writer
        if goodbye and writer is not None and not ws.closed:
            # the stops queued by the consumers that left go out before the socket closes
            conn.outbox.put_nowait(_GOODBYE)
            await asyncio.wait([writer], timeout=self._close_timeout)
        tasks = [task for task in (writer, conn.resync) if task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        for task in tasks:
            if not task.cancelled() and (error := task.exception()) is not None:
                _LOG.error(  # pragma: no cover - only a bug gets here
                    "stream task %s failed", task.get_name(), exc_info=error
                )
        await ws.close()

    # -- receiving ---------------------------------------------------------------------------

    async def _receive(self, conn: _Connection) -> NoReturn:
        """Dispatch frames until the connection ends (the hot path: keep it lean)."""
        ws = conn.ws
        clock = asyncio.get_running_loop().time
        validate = _FRAME.validate_json
        slice_left = _FRAMES_PER_SLICE
        while True:
            slice_left -= 1
            if not slice_left:
                # receive() does not suspend while frames are buffered: let consumers take
                # these events before decoding more (and keep other tasks running)
                slice_left = _FRAMES_PER_SLICE
                await asyncio.sleep(0)
            message = await ws.receive()
            if message.type not in _TEXT_OR_BINARY:
                raise self._ended(conn, message)
            conn.last_rx = clock()
            try:
                frame = validate(message.data)
            except ValidationError as exc:
                self._invalid_frame(conn, exc)
                continue
            if isinstance(frame, _DataFrame):
                self._data(conn, frame)
            else:
                self._control(conn, frame)

    def _data(self, conn: _Connection, frame: _DataFrame) -> None:
        """A ``data``/``next`` frame: an event for every consumer of its device."""
        device = conn.ops.get(frame.id)
        if device is None:
            return  # stopped already: the server had it in flight
        result = frame.payload
        if result.errors:
            self._operation_error(conn, frame.id, result.errors, ended=False)
            return
        status = result.data.device_status_updated if result.data else None
        if status is None:
            return
        self.stats.events += 1
        device_id = device.id
        if status.id is None:
            status = status.model_copy(update={"id": device_id})
        for consumer in device.consumers:
            held = consumer.syncing.get(device_id) if consumer.syncing else None
            if held is None:
                consumer.push(status)
            else:
                held.append(status)

    def _parse(self, conn: _Connection, data: str | bytes) -> _DataFrame | _ControlFrame | None:
        try:
            return _FRAME.validate_json(data)
        except ValidationError as exc:
            self._invalid_frame(conn, exc)
            return None

    def _invalid_frame(self, conn: _Connection, exc: ValidationError) -> None:
        """Ignore a frame of a type this client does not know; a malformed one breaks."""
        error = exc.errors(include_url=False, include_input=False)[0]
        if error["type"] == "union_tag_invalid":
            _LOG.debug("stream: ignoring a frame of unknown type (%s)", error["msg"])
            return
        self.stats.malformed_frames += 1
        where = ".".join(str(part) for part in error["loc"]) or "frame"
        _LOG.warning(
            "stream (%s): malformed frame (%s: %s); reconnecting",
            conn.protocol,
            where,
            error["msg"],
        )
        raise _LostError("malformed frame")

    def _control(self, conn: _Connection, frame: _ControlFrame) -> None:
        kind = frame.type
        if kind == "ka":
            conn.ka_seen = True
        elif kind == "ping" and conn.transport_ws:
            conn.outbox.put_nowait(_PONG)
        elif kind == "complete":
            device = conn.forget(frame.id) if frame.id is not None else None
            if device is not None:
                # the server ended a subscription nobody stopped: start over, resynced
                raise _LostError(f"the server completed the subscription of device {device.id}")
        elif kind == "error":
            if frame.id is None:
                self._connection_error(conn, frame)
            self._operation_error(conn, frame.id, _errors_of(frame.payload), ended=True)
        elif kind == "connection_error":
            self._connection_error(conn, frame)
        # connection_ack again, pong: nothing to do (last_rx is updated already)

    def _connection_error(self, conn: _Connection, frame: _ControlFrame) -> NoReturn:
        errors = _errors_of(frame.payload)
        if UNAUTHENTICATED in error_codes(errors):
            raise _AuthRefusedError(conn.token)
        raise _LostError(f"the server answered {frame.type}: {_messages(errors)}")

    def _operation_error(
        self, conn: _Connection, op_id: str | None, errors: list[Any], *, ended: bool
    ) -> None:
        """The server rejected a subscription: end its consumers (no endless retries)."""
        device = conn.forget(op_id) if ended and op_id is not None else conn.ops.get(op_id or "")
        if device is None:
            return
        if UNAUTHENTICATED in error_codes(errors):
            raise _AuthRefusedError(conn.token)
        self._fail_device(device, ApiError.from_errors(_OPERATION, errors))
        if not self._consumers:
            raise _IdleError

    def _ended(self, conn: _Connection, message: aiohttp.WSMessage) -> Exception:
        """Why the connection ended, from its last message and close code."""
        code = conn.ws.close_code
        if conn.dead:
            return _LostError("no keep-alive from the server in time")
        if code in _AUTH_CLOSE_CODES:
            return _AuthRefusedError(conn.token)
        if message.type is aiohttp.WSMsgType.ERROR:
            return _LostError(f"connection error: {message.data!r}")
        return _LostError(f"closed by the server (code {code})")

    # -- sending and keep-alives -------------------------------------------------------------

    async def _write(self, conn: _Connection) -> None:
        """Send queued frames; send pings and give the connection up when it goes silent."""
        ws = conn.ws
        loop = asyncio.get_running_loop()
        settings = self.settings
        try:
            while True:
                try:
                    async with asyncio.timeout_at(conn.next_check(loop.time(), settings)):
                        text = await conn.outbox.get()
                    if text is _GOODBYE:
                        return None
                except TimeoutError:
                    verdict = conn.check(loop.time(), settings)
                    if verdict == "dead":
                        return await self._give_up(conn)
                    if verdict == "ping":
                        self.stats.pings += 1
                        await ws.send_str(_PING)
                    continue
                await ws.send_str(text)
        except (aiohttp.ClientError, ConnectionError) as exc:
            # the receiving side sees the connection end and reconnects
            _LOG.debug("stream: sending failed: %s", exc)

    async def _give_up(self, conn: _Connection) -> None:
        """Close a connection that went silent; the receiving side then reconnects."""
        conn.dead = True
        self.stats.keepalive_timeouts += 1
        silence = asyncio.get_running_loop().time() - conn.last_rx
        _LOG.warning(
            "stream (%s): nothing from the server for %.1f s; reconnecting", conn.protocol, silence
        )
        await conn.ws.close(code=_GOING_AWAY)

    # -- snapshots ---------------------------------------------------------------------------

    def _ensure_resync(self, conn: _Connection) -> None:
        if conn.snapshot_queue and (conn.resync is None or conn.resync.done()):
            conn.resync = asyncio.get_running_loop().create_task(
                self._resync(conn), name="andersen-ev stream resync"
            )

    async def _resync(self, conn: _Connection) -> None:
        """Read the snapshots consumers wait for, a few at a time."""
        while conn.snapshot_queue:
            workers = min(self.settings.snapshot_concurrency, len(conn.snapshot_queue))
            async with asyncio.TaskGroup() as group:
                for _ in range(workers):
                    group.create_task(self._snapshot_worker(conn))

    async def _snapshot_worker(self, conn: _Connection) -> None:
        while conn.snapshot_queue:
            device_id = conn.snapshot_queue.popleft()
            conn.snapshot_queued.discard(device_id)
            await self._resync_device(device_id)

    async def _resync_device(self, device_id: str) -> None:
        """Deliver a fresh snapshot of the device to the consumers waiting for one."""
        failures = 0
        while True:
            device = self._devices.get(device_id)
            waiting = (
                [consumer for consumer in device.consumers if device_id in consumer.syncing]
                if device is not None
                else []
            )
            if device is None or not waiting:
                return
            try:
                status = await self._snapshot(device_id)
            except DeviceNotFoundError as exc:
                self._fail_device(device, exc)
                return
            except ReauthRequiredError as exc:
                self._fail_all(exc)
                return
            except Exception as exc:  # noqa: BLE001 - whatever failed, the next try may not
                failures += 1
                delay = self.settings.delay(failures)
                level = logging.INFO if isinstance(exc, AndersenError) else logging.ERROR
                _LOG.log(
                    level, "snapshot of %s failed (%r); retrying in %.2f s", device_id, exc, delay
                )
                await asyncio.sleep(delay)
                continue
            snapshot = StatusSnapshot.of(status, device_id)
            self.stats.snapshots += 1
            for consumer in waiting:
                held = consumer.syncing.pop(device_id, None)
                if held is not None:
                    consumer.push(snapshot)
                    for event in held:
                        consumer.push(event)
            return


def _messages(errors: list[Any]) -> str:
    return "; ".join(
        str(error.get("message", error)) if isinstance(error, dict) else str(error)
        for error in errors
    )


class DeviceUpdates(AsyncIterator[DeviceStatus]):
    """The statuses of one or more devices, as they change: ``async for status in updates``.

    Made by :meth:`andersen_ev.AndersenA2.subscribe_device_updates`. Nothing is subscribed
    until the first ``__anext__``; iterate it from one task. Each consumer first gets a
    :class:`StatusSnapshot` of each of its devices, after every (re)connect, then live
    events; ``status.id`` says which device. ``async with`` around the loop releases the
    subscriptions as soon as the block is left.

    Ends with :class:`~andersen_ev.DeviceNotFoundError` / :class:`~andersen_ev.ApiError` when
    one of its devices is unknown or its subscription rejected, with
    :class:`~andersen_ev.ReauthRequiredError` when the session needs a new login, and quietly
    when the session is closed. Leaving the loop, cancelling the task that iterates (a timeout
    around ``__anext__`` included) or :meth:`aclose` releases its subscriptions.
    """

    def __init__(self, manager: StreamManager, consumer: _Consumer) -> None:
        self._manager = manager
        self._consumer = consumer

    def __repr__(self) -> str:
        return f"DeviceUpdates(device_ids={self.device_ids!r})"

    @property
    def device_ids(self) -> tuple[str, ...]:
        """The devices followed, in the order given."""
        return self._consumer.device_ids

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> DeviceStatus:
        consumer = self._consumer
        buffer = consumer.buffer
        if not buffer:
            if consumer.done:
                raise StopAsyncIteration
            if not consumer.attached and not self._manager._attach(consumer):
                consumer.done = True
                raise StopAsyncIteration
            while not buffer:
                waiter = asyncio.get_running_loop().create_future()
                consumer.waiter = waiter
                try:
                    await waiter
                except asyncio.CancelledError:
                    consumer.waiter = None
                    consumer.done = True
                    self._manager._release(consumer)
                    raise
        item = buffer.popleft()
        if isinstance(item, DeviceStatus):
            return item
        consumer.done = True
        buffer.clear()
        if isinstance(item, AndersenError):
            raise item.with_traceback(None)
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Release the subscriptions now; with no other consumer, the websocket closes."""
        consumer = self._consumer
        consumer.done = True
        consumer.buffer.clear()
        manager = self._manager
        manager._release(consumer)
        if not manager._consumers:
            await manager._stop_task()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # An abandoned iterator (``break`` out of ``async for``) releases its subscriptions.
        consumer = self._consumer
        loop = self._manager._loop
        if consumer.attached and loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between
                loop.call_soon_threadsafe(self._manager._release, consumer)
