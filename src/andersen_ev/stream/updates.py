"""The consumer's side: :class:`DeviceUpdates`, the iterator, and the queue that feeds it.

The manager and an iterator meet in a :class:`Consumer`: the manager delivers complete
statuses to it (a snapshot of each device first, after each (re)connect), the iterator
takes them. The queue is bounded: a consumer that falls behind gets the latest status of
each device instead of every intermediate one (see :meth:`Consumer.deliver`). The iterator
asks nothing else of the manager than the four methods of :class:`ConsumerHub`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Protocol, Self

from andersen_ev.exceptions import AndersenError
from andersen_ev.models import DeviceStatus
from andersen_ev.stream.settings import DEFAULT_PENDING, MIN_PENDING, StreamStats
from andersen_ev.stream.statuses import StatusSnapshot, StatusUpdate

__all__ = ["Consumer", "ConsumerHub", "DeviceUpdates", "Item", "StatusSnapshot", "StatusUpdate"]


Item = DeviceStatus | AndersenError | None
"""What a consumer gets: a status, the error that ends it, or None for a quiet end."""


class Consumer:
    """One iterator's queue, fed by the manager: a snapshot of each device, then updates.

    The manager references this, never the :class:`DeviceUpdates` around it, so that an
    abandoned iterator can be garbage collected (and release its subscriptions). One task
    takes the items.

    Bounded: when more than ``max_pending`` statuses per device wait, the queue is
    coalesced. Per device it keeps the latest snapshot and the latest update after it (its
    :attr:`~StatusUpdate.event_fields` naming every field sent since), in the order they
    came; the end of the iteration is kept. Nothing a consumer needs is lost, since every
    status is complete; :attr:`coalesced` counts what was dropped.
    """

    __slots__ = (
        "_awaiting",
        "_ended",
        "_items",
        "_limit",
        "_stats",
        "_waiter",
        "coalesced",
        "device_ids",
    )

    def __init__(
        self,
        device_ids: tuple[str, ...],
        *,
        max_pending: int = DEFAULT_PENDING,
        stats: StreamStats | None = None,
    ) -> None:
        self.device_ids = device_ids
        self._items: deque[Item] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._awaiting: set[str] = set()
        """Devices whose snapshot is expected: their updates are not given meanwhile."""
        self._limit = max(max_pending, MIN_PENDING) * len(device_ids)
        self._stats = stats
        self._ended = False
        self.coalesced = 0
        """Statuses dropped because a later one of the same device replaced them."""

    # -- the manager's side -----------------------------------------------------------------

    def expect_snapshots(self) -> None:
        """Take no update of any device until its snapshot (which supersedes them)."""
        self._awaiting = set(self.device_ids)

    def expect_no_snapshot(self) -> None:
        """Deliver no snapshot any more (it was detached)."""
        self._awaiting.clear()

    def awaits_snapshot(self, device_id: str) -> bool:
        """True while the device's snapshot is expected."""
        return device_id in self._awaiting

    def deliver(self, device_id: str, status: DeviceStatus) -> None:
        """A complete status of the device, unless its snapshot is awaited."""
        if device_id not in self._awaiting:
            self._push(status)

    def deliver_snapshot(self, device_id: str, snapshot: StatusSnapshot) -> bool:
        """The device's snapshot, if it awaits one; True if it did (and took it)."""
        if device_id not in self._awaiting:
            return False
        self._awaiting.discard(device_id)
        self._push(snapshot)
        return True

    def end(self, error: AndersenError | None = None) -> None:
        """End the iteration after what was delivered: with ``error``, or quietly."""
        self._push(error)
        self._ended = True

    def _push(self, item: Item) -> None:
        if self._ended:
            return
        items = self._items
        items.append(item)
        if len(items) > self._limit:
            self._coalesce()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            self._waiter = None
            waiter.set_result(None)

    def _coalesce(self) -> None:
        """Keep per device the latest snapshot and the latest update after it, in order."""
        kept: list[Item] = []
        snapshot_kept: set[str] = set()
        update_kept: dict[str, int] = {}  # device -> index in ``kept``
        folded: dict[str, set[str]] = {}  # device -> event fields of dropped updates
        dropped = 0
        for item in reversed(self._items):  # newest first
            if not isinstance(item, DeviceStatus):
                kept.append(item)
                continue
            device = item.id or ""
            if isinstance(item, StatusSnapshot):
                if device in snapshot_kept:
                    dropped += 1
                    continue
                snapshot_kept.add(device)
            elif device in snapshot_kept or device in update_kept:
                dropped += 1
                if device not in snapshot_kept and isinstance(item, StatusUpdate):
                    folded.setdefault(device, set()).update(item.event_fields)
                continue
            else:
                update_kept[device] = len(kept)
            kept.append(item)
        for device, fields in folded.items():
            latest = kept[update_kept[device]]
            if isinstance(latest, StatusUpdate):
                kept[update_kept[device]] = latest.with_event_fields(fields)
        kept.reverse()
        self._items = deque(kept)
        self.coalesced += dropped
        if self._stats is not None:
            self._stats.coalesced += dropped

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
    :class:`StatusSnapshot` of each of its devices, after every (re)connect, then a
    :class:`StatusUpdate` per live event; ``status.id`` says which device. Every status is
    complete (events are merged over the latest snapshot). A consumer that falls behind is
    given the latest status of each device instead of every intermediate one
    (:attr:`coalesced` counts the others). ``async with`` around the loop releases the
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

    @property
    def coalesced(self) -> int:
        """Statuses this iterator was spared: later ones replaced them (it fell behind).

        It falls behind when more than ``StreamSettings.max_pending`` statuses per device
        wait for it.
        """
        return self._consumer.coalesced

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
