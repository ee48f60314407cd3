"""The consumer's side: :class:`DeviceUpdates`, the iterator, and the queue that feeds it.

The manager and an iterator meet in a :class:`Consumer`: the manager delivers statuses to
it (a snapshot of each device first, events held meanwhile), the iterator takes them. The
iterator asks nothing else of the manager than the four methods of :class:`ConsumerHub`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Protocol, Self

from andersen_ev.exceptions import AndersenError
from andersen_ev.models import DeviceStatus

__all__ = ["Consumer", "ConsumerHub", "DeviceUpdates", "Item", "StatusSnapshot"]


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


Item = DeviceStatus | AndersenError | None
"""What a consumer gets: a status, the error that ends it, or None for a quiet end."""


class Consumer:
    """One iterator's queue, fed by the manager: a snapshot of each device, then its events.

    The manager references this, never the :class:`DeviceUpdates` around it, so that an
    abandoned iterator can be garbage collected (and release its subscriptions). Nothing is
    dropped: items wait until taken. One task takes them.
    """

    __slots__ = ("_held", "_items", "_waiter", "device_ids")

    def __init__(self, device_ids: tuple[str, ...]) -> None:
        self.device_ids = device_ids
        self._items: deque[Item] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._held: dict[str, list[DeviceStatus]] = {}
        """Devices whose snapshot is awaited, with their events held meanwhile."""

    # -- the manager's side -----------------------------------------------------------------

    def expect_snapshots(self) -> None:
        """Hold each device's events until its snapshot (those held before are stale)."""
        self._held = {device_id: [] for device_id in self.device_ids}

    def expect_no_snapshot(self) -> None:
        """Deliver no snapshot any more, nor the events held for one (it was detached)."""
        self._held.clear()

    def awaits_snapshot(self, device_id: str) -> bool:
        """True while the device's snapshot is expected."""
        return device_id in self._held

    def deliver(self, device_id: str, status: DeviceStatus) -> None:
        """A live event of the device: now, or after the snapshot it awaits."""
        held = self._held.get(device_id) if self._held else None
        if held is None:
            self._push(status)
        else:
            held.append(status)

    def deliver_snapshot(self, device_id: str, snapshot: StatusSnapshot) -> None:
        """The device's snapshot, then the events held for it (if it still awaits one)."""
        held = self._held.pop(device_id, None)
        if held is not None:
            self._push(snapshot)
            for event in held:
                self._push(event)

    def end(self, error: AndersenError | None = None) -> None:
        """End the iteration after what was delivered: with ``error``, or quietly."""
        self._push(error)

    def _push(self, item: Item) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            self._waiter = None
            waiter.set_result(None)

    # -- the iterator's side ----------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """True when an item waits to be taken."""
        return bool(self._items)

    def take(self) -> Item:
        """The next item; call only when :attr:`ready`."""
        return self._items.popleft()

    async def wait(self) -> None:
        """Until an item is :attr:`ready`."""
        while not self._items:
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            except asyncio.CancelledError:
                self._waiter = None
                raise

    def discard(self) -> None:
        """Drop the items nobody will take."""
        self._items.clear()


class ConsumerHub(Protocol):
    """What :class:`DeviceUpdates` asks of the stream manager, and all it asks.

    :class:`~andersen_ev.stream.StreamManager` is the one implementation. A consumer is
    attached once, when its iteration starts, and released once, when it ends; the manager
    ends a consumer it failed or closed through :meth:`Consumer.end`.
    """

    def attach(self, consumer: Consumer) -> bool:
        """Start following the consumer's devices; False if the session is closed."""

    def release(self, consumer: Consumer) -> None:
        """Stop following them (idempotent, synchronous, in the event loop)."""

    def release_soon(self, consumer: Consumer) -> None:
        """:meth:`release` from anywhere (a finalizer, another thread), in the event loop."""

    async def leave(self, consumer: Consumer) -> None:
        """:meth:`release`; after the last consumer, until the websocket is closed."""


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

    def __init__(self, hub: ConsumerHub, consumer: Consumer) -> None:
        self._hub = hub
        self._consumer = consumer
        self._attached = False
        """Attached to the hub, and not released by this iterator yet."""
        self._finished = False

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
        if not consumer.ready:
            await self._wait()
        item = consumer.take()
        if isinstance(item, DeviceStatus):
            return item
        self._finish()
        if item is not None:
            raise item.with_traceback(None)
        raise StopAsyncIteration

    async def _wait(self) -> None:
        """Until an item is ready: attaches on the first call; a cancelled wait releases."""
        if self._finished:
            raise StopAsyncIteration
        if not self._attached:
            if not self._hub.attach(self._consumer):
                self._finished = True
                raise StopAsyncIteration
            self._attached = True
        try:
            await self._consumer.wait()
        except asyncio.CancelledError:
            self._finished = True
            self._attached = False
            self._hub.release(self._consumer)
            raise

    def _finish(self) -> None:
        self._finished = True
        self._consumer.discard()

    async def aclose(self) -> None:
        """Release the subscriptions now; with no other consumer, the websocket closes."""
        self._finish()
        self._attached = False
        await self._hub.leave(self._consumer)

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
        if self._attached:
            self._hub.release_soon(self._consumer)
