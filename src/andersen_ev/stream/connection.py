"""One websocket speaking one subprotocol: handshake, sending, receiving, keep-alive.

A :class:`Connection` knows operation ids and device ids, never consumers: it hands each
status, and each subscription the server rejects, to the callbacks of
:meth:`Connection.receive`, reports when it becomes suspect or recovers to the callback of
:meth:`Connection.start`, and says why it ended by raising
:class:`~andersen_ev.stream.protocol.ConnectionLostError` or
:class:`~andersen_ev.stream.protocol.AuthRefusedError`. Reconnecting is the manager's business.

Every websocket goes out on a new TCP (and TLS) connection, never on one the session pooled
for HTTP requests: a pooled connection may be dead without anybody knowing (the snapshot
queries' connection, after a half-open stall), and an upgrade sent on it would wait out the
whole ``connect_timeout``. aiohttp picks pooled connections by a key that includes the TLS
``server_hostname`` (since aiohttp 3.14.1, the declared floor); the websocket names its
host there (what TLS checks anyway), HTTP requests do not, so the two never share a
connection. Websocket connections are closed, not
pooled, when they end, so each connect finds no connection to reuse.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Final, NoReturn

import aiohttp
from pydantic import ValidationError
from yarl import URL

from andersen_ev.exceptions import ApiError
from andersen_ev.graphql import UNAUTHENTICATED, error_codes
from andersen_ev.models import DeviceStatus
from andersen_ev.stream.protocol import (
    FRAME,
    GRAPHQL_WS,
    MAX_FRAME_BYTES,
    OPERATION,
    PING,
    PONG,
    SUBPROTOCOLS,
    AuthRefusedError,
    ConnectionLostError,
    ControlFrame,
    DataFrame,
    KeepAlive,
    describe_errors,
    errors_of,
    init_message,
)
from andersen_ev.stream.settings import StreamSettings, StreamState, StreamStats

__all__ = ["Connection", "HealthHandler", "RejectionHandler", "StatusHandler"]

_LOG = logging.getLogger(__name__)

#: graphql-transport-ws close codes for a refused token (4401) or a refusing onConnect (4403).
_AUTH_CLOSE_CODES: Final = frozenset({4401, 4403})
_GOING_AWAY: Final = 1001
#: Frames decoded before the receiving task yields to the consumers. A backlog of decoded
#: models that nobody has taken yet survives into the garbage collector's older
#: generations, which costs more than the yield: 8 measured best (benchmarks/streams.py).
_FRAMES_PER_SLICE: Final = 8
_TEXT_OR_BINARY: Final = frozenset({aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY})
#: What failing to open a websocket raises (besides the handshake's own verdicts).
_CONNECT_ERRORS: Final = (aiohttp.ClientError, TimeoutError, ConnectionError)
_GOODBYE: Final = ""  # put in a connection's outbox: send what is queued before it, then stop
#: Seconds the receiving side may take to read what arrived before silence is final.
_SILENCE_GRACE: Final = 0.05
_PING: Final = aiohttp.WSMsgType.PING
_PONG: Final = aiohttp.WSMsgType.PONG

StatusHandler = Callable[[str, DeviceStatus], None]
"""Called with a device id and a live status of it."""
RejectionHandler = Callable[[str, ApiError], None]
"""Called with a device id whose subscription the server rejected, and why."""
HealthHandler = Callable[[StreamState], None]
"""Called with ``RECONNECTING`` when the connection becomes suspect, ``CONNECTED`` when it
recovers."""


class Connection:
    """One websocket, its subscriptions, and the tasks that live as long as it does.

    Made by :meth:`open`; :meth:`start` starts sending, :meth:`receive` dispatches what
    arrives until the connection ends, :meth:`close` ends it. Counts pings, dead
    connections and malformed frames in the manager's ``stats``.
    """

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        token: str,
        settings: StreamSettings,
        stats: StreamStats,
    ) -> None:
        self._ws = ws
        self._subprotocol = SUBPROTOCOLS.get(ws.protocol or "", SUBPROTOCOLS[GRAPHQL_WS])
        self._token = token
        """The IdToken that opened it (what to invalidate when it is refused)."""
        self._acked_at: float | None = None
        self._settings = settings
        self._stats = stats
        self._keepalive = KeepAlive(settings=settings, now=asyncio.get_running_loop().time())
        self._dead = False
        self._on_health: HealthHandler | None = None
        self._outbox: asyncio.Queue[str | bytes] = asyncio.Queue()
        """Text frames to send, in order; ``bytes``: a websocket pong with that payload."""
        self._device_of: dict[str, str] = {}
        """Operation id -> device id, for the running subscriptions."""
        self._operation_of: dict[str, str] = {}
        self._last_operation = 0
        self._writer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def protocol(self) -> str:
        """The subprotocol it speaks (``graphql-ws`` when the server named none)."""
        return self._subprotocol.name

    @classmethod
    async def open(
        cls,
        session: aiohttp.ClientSession,
        url: str,
        token: str,
        settings: StreamSettings,
        stats: StreamStats,
    ) -> Connection:
        """Open the websocket and get ``connection_ack``, within ``connect_timeout``.

        Raises:
            ConnectionLostError: it could not be opened, or ended before the ack.
            AuthRefusedError: the server refused ``token``.
        """
        conn: Connection | None = None
        try:
            async with asyncio.timeout(settings.connect_timeout):
                ws = await session.ws_connect(
                    url,
                    protocols=tuple(SUBPROTOCOLS),
                    # pings and pongs are the keep-alive's business (both subprotocols)
                    autoping=False,
                    # a key no pooled HTTP connection has: a new connection (module doc)
                    server_hostname=URL(url).host,
                    max_msg_size=MAX_FRAME_BYTES,
                    timeout=aiohttp.ClientWSTimeout(
                        ws_receive=None, ws_close=_close_timeout(settings)
                    ),
                )
                conn = cls(ws, token, settings, stats)
                await conn._handshake()
        except BaseException as exc:
            if conn is not None:
                await conn._ws.close()
            if isinstance(exc, _CONNECT_ERRORS):
                raise ConnectionLostError(
                    f"could not connect: {type(exc).__name__}: {exc}"
                ) from exc
            raise
        return conn

    async def _handshake(self) -> None:
        """``connection_init`` with the token, until ``connection_ack``."""
        ws = self._ws
        await ws.send_str(init_message(self._token))
        while True:
            message = await ws.receive()
            if message.type not in _TEXT_OR_BINARY:
                if message.type is _PING:
                    await ws.pong(message.data)
                    continue
                if message.type is _PONG:
                    continue
                raise self._ended(message)
            frame = self._parse(message.data)
            if frame is None or isinstance(frame, DataFrame):
                continue
            if frame.type == "connection_ack":
                self._acked_at = asyncio.get_running_loop().time()
                return
            if frame.type == "ping" and self._subprotocol.pings:
                await ws.send_str(PONG)
            elif frame.type in {"connection_error", "error"}:
                self._connection_error(frame)

    def uptime(self) -> float | None:
        """Seconds since ``connection_ack`` (None before it)."""
        acked_at = self._acked_at
        return None if acked_at is None else asyncio.get_running_loop().time() - acked_at

    # -- subscriptions ----------------------------------------------------------------------

    def subscribe(self, device_id: str) -> None:
        """Queue the start of the device's subscription."""
        self._last_operation += 1
        op_id = str(self._last_operation)
        self._device_of[op_id] = device_id
        self._operation_of[device_id] = op_id
        self._outbox.put_nowait(self._subprotocol.start_message(op_id, device_id))

    def unsubscribe(self, device_id: str) -> None:
        """Queue the stop of the device's subscription, if it runs."""
        op_id = self._operation_of.pop(device_id, None)
        if op_id is not None:
            del self._device_of[op_id]
            self._outbox.put_nowait(self._subprotocol.stop_message(op_id))

    def _forget(self, op_id: str) -> str | None:
        """Drop operation ``op_id`` that the server ended; its device, if it was running."""
        device_id = self._device_of.pop(op_id, None)
        if device_id is not None:
            del self._operation_of[device_id]
        return device_id

    # -- tasks and sending ------------------------------------------------------------------

    def start(self, on_health: HealthHandler) -> None:
        """Start sending what is queued, and the keep-alive pings and checks.

        ``on_health(StreamState.RECONNECTING)`` is called when the connection becomes
        suspect (a ping unanswered for ``suspect_after``), ``on_health(StreamState.CONNECTED)``
        when it recovers.
        """
        self._on_health = on_health
        self._writer = self.start_task(self._write(), "andersen-ev stream writer")

    def start_task(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Run ``work`` in a task while the connection lives: :meth:`close` cancels it."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            _LOG.error(  # pragma: no cover - only a bug gets here
                "stream task %s failed", task.get_name(), exc_info=error
            )

    async def _write(self) -> None:
        """Send queued frames; send pings and give the connection up when it goes silent."""
        ws = self._ws
        clock = asyncio.get_running_loop().time
        keepalive = self._keepalive
        try:
            while True:
                try:
                    async with asyncio.timeout_at(keepalive.next_check(clock())):
                        frame = await self._outbox.get()
                    if frame is _GOODBYE:
                        return None
                except TimeoutError:
                    verdict = keepalive.check(clock())
                    if verdict == "dead" and await self._still_silent():
                        return await self._give_up()
                    if verdict == "ping":
                        await self._ping()
                    elif verdict == "suspect":
                        self._suspect()
                    continue
                if isinstance(frame, bytes):
                    await ws.pong(frame)
                else:
                    await ws.send_str(frame)
        except (aiohttp.ClientError, ConnectionError) as exc:
            # the receiving side sees the connection end and reconnects
            _LOG.debug("stream: sending failed: %s", exc)

    async def _still_silent(self) -> bool:
        """Whether the connection is still silent once the receiving side had its turn.

        An event loop blocked for a while (a busy host) wakes this task late, maybe before
        the receiving task has read an answer that is already there: let it read first.
        """
        keepalive = self._keepalive
        answered_before = keepalive.last_rx
        await asyncio.sleep(_SILENCE_GRACE)
        return keepalive.last_rx == answered_before

    async def _ping(self) -> None:
        """A ping: the subprotocol's message, or a websocket ping frame (``graphql-ws``)."""
        self._stats.pings += 1
        if self._subprotocol.pings:
            await self._ws.send_str(PING)
        else:
            await self._ws.ping()

    def _suspect(self) -> None:
        """A ping went unanswered for ``suspect_after``: live events may not flow."""
        self._stats.suspects += 1
        _LOG.info(
            "stream (%s): no answer to a ping for %.1f s; the connection is suspect",
            self.protocol,
            self._settings.suspect_after,
        )
        if self._on_health is not None:
            self._on_health(StreamState.RECONNECTING)

    def _recovered(self) -> None:
        """A frame arrived after the connection was suspect."""
        self._keepalive.suspect = False
        _LOG.info("stream (%s): the server answered again", self.protocol)
        if self._on_health is not None:
            self._on_health(StreamState.CONNECTED)

    async def _give_up(self) -> None:
        """Close a connection that went silent; the receiving side then reconnects."""
        self._dead = True
        self._stats.keepalive_timeouts += 1
        silence = asyncio.get_running_loop().time() - self._keepalive.last_rx
        _LOG.warning(
            "stream (%s): nothing from the server for %.1f s; reconnecting", self.protocol, silence
        )
        await self._ws.close(code=_GOING_AWAY)

    async def close(self, *, goodbye: bool) -> None:
        """End its tasks and close the websocket (after the queued stops, if ``goodbye``)."""
        ws = self._ws
        writer = self._writer
        if goodbye and writer is not None and not ws.closed:
            # the stops queued by the consumers that left go out before the socket closes
            self._outbox.put_nowait(_GOODBYE)
            await asyncio.wait([writer], timeout=_close_timeout(self._settings))
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        await ws.close()

    # -- receiving ----------------------------------------------------------------------------

    async def receive(self, on_status: StatusHandler, on_rejected: RejectionHandler) -> NoReturn:
        """Dispatch frames until the connection ends (the hot path: keep it lean).

        Raises:
            ConnectionLostError: it ended, or broke the protocol.
            AuthRefusedError: the server refused its token.
        """
        ws = self._ws
        keepalive = self._keepalive
        clock = asyncio.get_running_loop().time
        validate = FRAME.validate_json
        slice_left = _FRAMES_PER_SLICE
        while True:
            slice_left -= 1
            if not slice_left:
                # receive() does not suspend while frames are buffered: let consumers take
                # these events before decoding more (and keep other tasks running)
                slice_left = _FRAMES_PER_SLICE
                await asyncio.sleep(0)
            message = await ws.receive()
            keepalive.last_rx = clock()
            if keepalive.suspect:
                self._recovered()
            if message.type not in _TEXT_OR_BINARY:
                if message.type is _PING:
                    self._outbox.put_nowait(message.data)  # the writer answers
                    continue
                if message.type is _PONG:
                    continue
                raise self._ended(message)
            try:
                frame = validate(message.data)
            except ValidationError as exc:
                self._invalid_frame(exc)
                continue
            if isinstance(frame, DataFrame):
                self._data(frame, on_status, on_rejected)
            else:
                self._control(frame, on_rejected)

    def _data(
        self, frame: DataFrame, on_status: StatusHandler, on_rejected: RejectionHandler
    ) -> None:
        """A ``data``/``next`` frame: a status of its device, or the subscription's errors."""
        device_id = self._device_of.get(frame.id)
        if device_id is None:
            return  # stopped already: the server had it in flight
        result = frame.payload
        if result.errors:
            self._rejected(device_id, result.errors, on_rejected)
            return
        status = result.data.device_status_updated if result.data else None
        if status is not None:
            on_status(device_id, status)

    def _control(self, frame: ControlFrame, on_rejected: RejectionHandler) -> None:
        kind = frame.type
        if kind == "ping" and self._subprotocol.pings:
            self._outbox.put_nowait(PONG)
        elif kind == "complete":
            device_id = self._forget(frame.id) if frame.id is not None else None
            if device_id is not None:
                # the server ended a subscription nobody stopped: start over, resynced
                raise ConnectionLostError(
                    f"the server completed the subscription of device {device_id}"
                )
        elif kind == "error":
            if frame.id is None:
                self._connection_error(frame)
            device_id = self._forget(frame.id)
            if device_id is not None:
                self._rejected(device_id, errors_of(frame.payload), on_rejected)
        elif kind == "connection_error":
            self._connection_error(frame)
        # connection_ack again, ka, pong: nothing to do (last_rx is updated already)

    def _rejected(self, device_id: str, errors: list[Any], on_rejected: RejectionHandler) -> None:
        """The server rejected a subscription (for the whole connection, if for its token)."""
        self._refuse_if_unauthenticated(errors)
        on_rejected(device_id, ApiError.from_errors(OPERATION, errors))

    def _parse(self, data: str | bytes) -> DataFrame | ControlFrame | None:
        try:
            return FRAME.validate_json(data)
        except ValidationError as exc:
            self._invalid_frame(exc)
            return None

    def _invalid_frame(self, exc: ValidationError) -> None:
        """Ignore a frame of a type this client does not know; a malformed one breaks."""
        error = exc.errors(include_url=False, include_input=False)[0]
        if error["type"] == "union_tag_invalid":
            _LOG.debug("stream: ignoring a frame of unknown type (%s)", error["msg"])
            return
        self._stats.malformed_frames += 1
        where = ".".join(str(part) for part in error["loc"]) or "frame"
        _LOG.warning(
            "stream (%s): malformed frame (%s: %s); reconnecting",
            self.protocol,
            where,
            error["msg"],
        )
        raise ConnectionLostError("malformed frame")

    def _connection_error(self, frame: ControlFrame) -> NoReturn:
        errors = errors_of(frame.payload)
        self._refuse_if_unauthenticated(errors)
        raise ConnectionLostError(f"the server answered {frame.type}: {describe_errors(errors)}")

    def _refuse_if_unauthenticated(self, errors: list[Any]) -> None:
        """Raise :class:`AuthRefusedError` when the errors say the token was refused."""
        if UNAUTHENTICATED in error_codes(errors):
            raise AuthRefusedError(self._token)

    def _ended(self, message: aiohttp.WSMessage) -> Exception:
        """Why the connection ended, from its last message and close code."""
        code = self._ws.close_code
        if self._dead:
            return ConnectionLostError("no keep-alive from the server in time")
        if code in _AUTH_CLOSE_CODES:
            return AuthRefusedError(self._token)
        if message.type is aiohttp.WSMsgType.ERROR:
            if _too_big(message.data):
                self._stats.malformed_frames += 1
                _LOG.warning(
                    "stream (%s): a frame larger than %d bytes; reconnecting",
                    self.protocol,
                    MAX_FRAME_BYTES,
                )
                return ConnectionLostError("a frame larger than the limit")
            return ConnectionLostError(f"connection error: {message.data!r}")
        return ConnectionLostError(f"closed by the server (code {code})")


def _too_big(error: object) -> bool:
    """Whether the websocket failed on a message over ``max_msg_size``."""
    return (
        isinstance(error, aiohttp.WebSocketError)
        and error.code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    )


def _close_timeout(settings: StreamSettings) -> float:
    """Seconds a goodbye (the queued stops and the close handshake) may take."""
    return min(settings.keepalive_timeout, 5.0)
