"""The multiplexer: every consumer's devices on the session's one websocket, kept alive.

:class:`StreamManager` opens the websocket (a
:class:`~andersen_ev.stream.connection.Connection`) when the first consumer attaches and
closes it after the last one leaves; in between it reopens it after every loss (backoff,
token refresh), resyncs the consumers with snapshots (read in batches), keeps the latest
complete status of each device (:class:`~andersen_ev.stream.cache.StatusCache`), and
reports its state. Consumers reach it only through the methods of
:class:`~andersen_ev.stream.updates.ConsumerHub`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

import aiohttp

from andersen_ev.exceptions import (
    AndersenError,
    ApiError,
    DeviceNotFoundError,
    ReauthRequiredError,
)
from andersen_ev.http import TokenSource
from andersen_ev.models import DeviceStatus
from andersen_ev.stream.cache import StatusCache
from andersen_ev.stream.connection import Connection
from andersen_ev.stream.protocol import AuthRefusedError, ConnectionLostError
from andersen_ev.stream.resync import Resync, SnapshotReader
from andersen_ev.stream.settings import StateCallback, StreamSettings, StreamState, StreamStats
from andersen_ev.stream.updates import Consumer, ConsumerHub, DeviceUpdates
from andersen_ev.validation import check_id

__all__ = ["StreamManager"]

_LOG = logging.getLogger(__name__)


class _IdleError(Exception):
    """Every consumer left while the connection was up."""


@dataclass
class _Attempts:
    """The connection loop's memory of consecutive failures."""

    failures: int = 0
    """Connections lost in a row (the backoff doubles with each)."""
    auth_retried: bool = False
    """A refused token was refreshed, and no connection has been acked since."""


class StreamManager(ConsumerHub):
    """Every device subscription of one session, on one websocket (see :mod:`andersen_ev.stream`).

    Created by :class:`~andersen_ev.AndersenA2` as ``a2.streams``; use
    ``a2.subscribe_device_updates()`` rather than this class directly.

    Args:
        session: Returns the shared aiohttp session.
        url: The websocket endpoint (``Endpoints.websocket_url``).
        tokens: Source of the IdToken for ``connection_init``.
        snapshots: Reads the full statuses of up to ``settings.snapshot_batch`` devices
            (in one request: :func:`andersen_ev.batch.read_batch`).
        settings: Backoff, keep-alive, resync and buffer settings.
    """

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        url: str,
        tokens: TokenSource,
        snapshots: SnapshotReader,
        settings: StreamSettings | None = None,
    ) -> None:
        self._session = session
        self._url = url
        self._tokens = tokens
        self.settings = settings = settings or StreamSettings()
        self.stats = StreamStats()
        self._cache = StatusCache(self.stats, max_held=settings.max_pending)
        self._resync = Resync(self, snapshots, self._cache, settings, self.stats)
        self._state = StreamState.CLOSED
        self._listeners: list[StateCallback] = []
        self._consumers: set[Consumer] = set()
        self._devices: dict[str, list[Consumer]] = {}
        """The devices followed, each with its consumers."""
        self._conn: Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"StreamManager(url={self._url!r}, state={self._state.value}, "
            f"devices={len(self._devices)}, consumers={len(self._consumers)})"
        )

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

    def latest(self, device_id: str) -> DeviceStatus | None:
        """The device's latest complete status, without a request; None unless it is fresh.

        Fresh means: somebody follows the device, the stream is ``CONNECTED``, and the
        device's snapshot has arrived since the connection opened; from then on every event
        is merged into it as it arrives. It is what the device's consumers were last given
        (a :class:`~andersen_ev.stream.StatusSnapshot` or
        :class:`~andersen_ev.stream.StatusUpdate`). None otherwise: before the first
        snapshot, while reconnecting or suspect, after the last consumer left; read
        ``get_device_status()`` then.
        """
        if self._state is not StreamState.CONNECTED:
            return None
        return self._cache.latest(device_id)

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
        consumer = Consumer(ids, max_pending=self.settings.max_pending, stats=self.stats)
        return DeviceUpdates(self, consumer)

    async def close(self) -> None:
        """End every iterator quietly, stop the subscriptions and close the websocket.

        Idempotent. New subscriptions are refused afterwards.
        """
        self._closed = True
        for consumer in list(self._consumers):
            self._detach(consumer)
            consumer.end()
        await self._stop_task()
        self._set_state(StreamState.CLOSED)

    # -- what DeviceUpdates uses (ConsumerHub) ------------------------------------------------

    def attach(self, consumer: Consumer) -> bool:
        """Start following the consumer's devices; False if the session is closed.

        Used by :class:`DeviceUpdates` when its iteration starts. A consumer that joins a
        live connection gets snapshots of its devices first, like everybody after a connect.
        """
        if self._closed:
            return False
        self._loop = loop = asyncio.get_running_loop()
        self._consumers.add(consumer)
        self._follow(consumer)
        task = self._task
        if task is None or task.done() or task.cancelling():
            # a task that is stopping finishes its goodbyes before the new one connects
            self._task = loop.create_task(self._run(task), name="andersen-ev stream")
        return True

    def release(self, consumer: Consumer) -> None:
        """Stop following the consumer's devices (idempotent); after the last, disconnect.

        Used by :class:`DeviceUpdates` when its iteration ends; synchronous, in the loop.
        """
        self._detach(consumer)
        task = self._task
        if (
            not self._consumers
            and task is not None
            and not task.done()
            and task is not asyncio.current_task()
        ):
            task.cancel()

    def release_soon(self, consumer: Consumer) -> None:
        """:meth:`release`, scheduled in the event loop: safe in a finalizer or a thread."""
        loop = self._loop
        if consumer in self._consumers and loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between
                loop.call_soon_threadsafe(self.release, consumer)

    async def leave(self, consumer: Consumer) -> None:
        """:meth:`release`, and after the last consumer, wait until the websocket is closed."""
        self.release(consumer)
        if not self._consumers:
            await self._stop_task()

    # -- consumers ---------------------------------------------------------------------------

    def _follow(self, consumer: Consumer) -> None:
        """Add the consumer to its devices (subscribed and resynced if connected)."""
        conn = self._conn
        for device_id in consumer.device_ids:
            consumers = self._devices.get(device_id)
            if consumers is None:
                consumers = self._devices[device_id] = []
                self._cache.follow(device_id)
                if conn is not None:
                    conn.subscribe(device_id)
            consumers.append(consumer)
            if conn is not None:
                self._resync.add(device_id)
        if conn is not None:
            consumer.expect_snapshots()
            self._resync.ensure(conn)

    def _detach(self, consumer: Consumer) -> None:
        """Stop following the consumer's devices (idempotent, synchronous)."""
        if consumer not in self._consumers:
            return
        self._consumers.remove(consumer)
        consumer.expect_no_snapshot()
        conn = self._conn
        for device_id in consumer.device_ids:
            consumers = self._devices[device_id]  # followed as long as a consumer is attached
            consumers.remove(consumer)
            if not consumers:
                del self._devices[device_id]
                self._cache.forget(device_id)
                if conn is not None:
                    conn.unsubscribe(device_id)

    def _fail(self, consumer: Consumer, error: AndersenError) -> None:
        """End one consumer's iterator with ``error`` (after what it has received)."""
        self.release(consumer)
        consumer.end(error)

    def _fail_device(self, device_id: str, consumers: list[Consumer], error: AndersenError) -> None:
        """End the iterators of the device's ``consumers`` (its list in ``_devices``)."""
        _LOG.warning("stream of device %s ended: %s", device_id, error)
        for consumer in list(consumers):
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
        attempts = _Attempts()
        state = StreamState.CONNECTING
        try:
            while self._consumers:
                self._set_state(state)
                try:
                    await self._serve()
                except _IdleError:
                    continue
                except AuthRefusedError as refused:
                    if not self._refresh_refused(refused, attempts):
                        return
                except ConnectionLostError as lost:
                    await self._back_off(lost, attempts)
                except AndersenError as exc:  # the session cannot go on (reauth, closed)
                    self._fail_all(exc)
                    return
                state = StreamState.RECONNECTING
        finally:
            if self._task is asyncio.current_task():
                self._set_state(StreamState.CLOSED)

    def _refresh_refused(self, refused: AuthRefusedError, attempts: _Attempts) -> bool:
        """Invalidate a refused token once; refused again, end every consumer (False)."""
        self.stats.auth_refusals += 1
        if attempts.auth_retried:
            self._fail_all(
                ReauthRequiredError(
                    "the service refused the stream's connection even with freshly"
                    " refreshed tokens: log in again with authenticate()"
                )
            )
            return False
        _LOG.info("stream connection refused for its token: refreshing it")
        attempts.auth_retried = True
        self._tokens.invalidate(refused.token)
        return True

    async def _back_off(self, lost: ConnectionLostError, attempts: _Attempts) -> None:
        """Wait before reconnecting; a connection that was up long starts the backoff over."""
        settings = self.settings
        if lost.uptime is not None:
            attempts.auth_retried = False
        stable = lost.uptime is not None and lost.uptime >= settings.max_backoff
        attempts.failures = 1 if stable else attempts.failures + 1
        delay = settings.delay(attempts.failures)
        _LOG.info("stream connection lost (%s); reconnecting in %.2f s", lost, delay)
        self._set_state(StreamState.RECONNECTING)
        await asyncio.sleep(delay)

    async def _serve(self) -> NoReturn:
        """Connect, subscribe everything, and dispatch frames until the connection ends."""
        token = await self._id_token()
        session = self._session()
        if session.closed:
            raise AndersenError(
                "the aiohttp session given to AndersenA2 was closed: streams cannot reconnect"
            )
        conn = await Connection.open(session, self._url, token, self.settings, self.stats)
        goodbye = False
        try:
            self.stats.connects += 1
            _LOG.debug("stream connected (%s)", conn.protocol)
            self._start(conn)
            self._set_state(StreamState.CONNECTED)
            await conn.receive(self._on_status, self._on_rejected)
        except ConnectionLostError as lost:
            lost.uptime = conn.uptime()
            raise
        except (asyncio.CancelledError, _IdleError):
            goodbye = True  # the consumers left or the session closes: end properly
            raise
        finally:
            await self._disconnect(conn, goodbye=goodbye)

    async def _id_token(self) -> str:
        """The token for ``connection_init``; a failed refresh is a lost connection."""
        try:
            return await self._tokens.id_token()
        except ReauthRequiredError:
            raise
        except AndersenError as exc:
            raise ConnectionLostError(f"the token could not be refreshed: {exc}") from exc

    def _start(self, conn: Connection) -> None:
        """Subscribe every followed device on a new connection and resync every consumer."""
        self._conn = conn
        for device_id in self._devices:
            conn.subscribe(device_id)
            self._resync.add(device_id)
        for consumer in self._consumers:
            consumer.expect_snapshots()
        conn.start(self._on_health(conn))
        self._resync.ensure(conn)

    async def _disconnect(self, conn: Connection, *, goodbye: bool) -> None:
        """Close the connection, with the resync that belonged to it."""
        self._conn = None
        self._resync.clear()
        self._cache.disconnected()
        await conn.close(goodbye=goodbye)

    def _on_health(self, conn: Connection) -> Callable[[StreamState], None]:
        """What ``conn`` calls when it becomes suspect or recovers: the state, if it is live."""

        def report(state: StreamState) -> None:
            if self._conn is conn:
                self._set_state(state)

        return report

    def _on_status(self, device_id: str, event: DeviceStatus) -> None:
        """A live event: merged once, to every consumer of its device (the hot path)."""
        self.stats.events += 1
        status = self._cache.event(device_id, event)
        if status is not None:
            for consumer in self._devices.get(device_id, ()):
                consumer.deliver(device_id, status)

    def _on_rejected(self, device_id: str, error: ApiError) -> None:
        """The server rejected a subscription: end its consumers (no endless retries)."""
        self._fail_device(device_id, self._devices.get(device_id, []), error)
        if not self._consumers:
            raise _IdleError

    # -- snapshots (ResyncTarget) -----------------------------------------------------------

    def awaits_snapshot(self, device_id: str) -> bool:
        """True while a consumer of the device waits for its snapshot."""
        return any(c.awaits_snapshot(device_id) for c in self._devices.get(device_id, ()))

    def deliver_snapshot(self, device_id: str, status: DeviceStatus) -> None:
        """A device's fresh status: to the consumers that wait, with the events held since."""
        given = self._cache.snapshot(device_id, status)
        self.stats.snapshots += 1
        if given is None:
            return
        snapshot, updates = given
        for consumer in self._devices.get(device_id, ()):
            if consumer.deliver_snapshot(device_id, snapshot):
                for update in updates:
                    consumer.deliver(device_id, update)

    def not_found(self, device_id: str, error: DeviceNotFoundError) -> None:
        """The device is not in the account: end its consumers (no endless retries)."""
        self._fail_device(device_id, self._devices.get(device_id, []), error)

    def session_over(self, error: ReauthRequiredError) -> None:
        """The session needs a new login: end every consumer."""
        self._fail_all(error)
