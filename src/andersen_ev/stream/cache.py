"""The latest complete status of each followed device: one per device, shared by its consumers.

Every event of a device is merged once, over the entry's latest status, and that one
:class:`~andersen_ev.stream.statuses.StatusUpdate` goes to each of its consumers. An entry
is **fresh** from the device's first snapshot on the current connection until the
connection ends; before that, events cannot be made complete and are not given to anybody.

Events and snapshots race: a snapshot query answers with the state of some moment after it
was sent, and events travel on another connection, so which is newer cannot be known. So,
from the moment a device's snapshot is due (a (re)connect, a consumer joining) until it
arrives, its events are also **held**; they are merged over the snapshot when it arrives
and given, in order, after it to the consumers that waited for it (see
:meth:`StatusCache.snapshot`): an event older than the snapshot is corrected by the next
one, and none is lost. Held events are bounded: beyond ``max_held`` the oldest two are
folded into one (a status is a state: folding loses no field's latest value).
"""

from __future__ import annotations

from dataclasses import dataclass

from andersen_ev.models import DeviceStatus
from andersen_ev.stream.settings import StreamStats
from andersen_ev.stream.statuses import StatusSnapshot, StatusUpdate, merge_event, merge_snapshot

__all__ = ["StatusCache"]


@dataclass(slots=True)
class _Entry:
    status: DeviceStatus | None = None
    """The latest complete status (kept across reconnects: it fills what events lack)."""
    fresh: bool = False
    """A snapshot arrived on the current connection: events are merged and given out."""
    held: list[DeviceStatus] | None = None
    """Events since the device's snapshot became due (None: no snapshot is due)."""


class StatusCache:
    """The latest complete status of each followed device (see the module documentation)."""

    __slots__ = ("_entries", "_max_held", "_stats")

    def __init__(self, stats: StreamStats, *, max_held: int) -> None:
        self._entries: dict[str, _Entry] = {}
        self._stats = stats
        self._max_held = max_held

    def follow(self, device_id: str) -> None:
        """Start keeping the device's status (idempotent)."""
        if device_id not in self._entries:
            self._entries[device_id] = _Entry()

    def forget(self, device_id: str) -> None:
        """Stop keeping it (nobody follows it any more)."""
        self._entries.pop(device_id, None)

    def latest(self, device_id: str) -> DeviceStatus | None:
        """The device's latest complete status while it is fresh, else None."""
        entry = self._entries.get(device_id)
        return entry.status if entry is not None and entry.fresh else None

    def disconnected(self) -> None:
        """The connection ended: nothing is fresh, no snapshot is due."""
        for entry in self._entries.values():
            entry.fresh = False
            entry.held = None

    def expect_snapshot(self, device_id: str) -> None:
        """The device's snapshot is due: hold its events until it arrives (idempotent)."""
        entry = self._entries.get(device_id)
        if entry is not None and entry.held is None:
            entry.held = []

    def event(self, device_id: str, event: DeviceStatus) -> StatusUpdate | None:
        """A live event: the complete status to give its consumers, or None (not fresh)."""
        entry = self._entries.get(device_id)
        if entry is None:
            return None
        held = entry.held
        if held is not None:
            held.append(event)
            if len(held) > self._max_held:
                held[0:2] = [merge_event(held[0], held[1], device_id)]
                self._stats.coalesced += 1
        base = entry.status
        if not entry.fresh or base is None:
            return None
        update = merge_event(base, event, device_id)
        entry.status = update
        return update

    def snapshot(
        self, device_id: str, status: DeviceStatus
    ) -> tuple[StatusSnapshot, list[StatusUpdate]] | None:
        """A snapshot arrived: what to give the consumers that waited for it, in order.

        The snapshot (merged over what events left), and each event held since it became
        due, merged over it; the last becomes the device's latest status. None when nobody
        follows the device any more.
        """
        entry = self._entries.get(device_id)
        if entry is None:
            return None
        snapshot = merge_snapshot(entry.status, status, device_id)
        updates: list[StatusUpdate] = []
        latest: DeviceStatus = snapshot
        for event in entry.held or ():
            latest = merge_event(latest, event, device_id)
            updates.append(latest)
        entry.status = latest
        entry.fresh = True
        entry.held = None
        return snapshot, updates
