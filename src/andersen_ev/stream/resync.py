"""Resync: the snapshots consumers wait for, read in batches, a few requests at a time.

After every (re)connect, and when a consumer joins, the manager marks devices as due
(:meth:`Resync.add`); :meth:`Resync.ensure` runs a task on the live connection that reads
them, ``snapshot_batch`` devices per request (:func:`andersen_ev.batch.read_batch`) and
``snapshot_concurrency`` requests at once. A device that is not found fails its own
consumers only; one whose status could not be read is tried again, with the others that
failed, after the reconnect backoff; a session that needs a new login ends every consumer.
The manager is reached only through :class:`ResyncTarget`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Final, Protocol

from andersen_ev.exceptions import AndersenError, DeviceNotFoundError, ReauthRequiredError
from andersen_ev.models import DeviceStatus
from andersen_ev.stream.cache import StatusCache
from andersen_ev.stream.connection import Connection
from andersen_ev.stream.settings import StreamSettings, StreamStats

__all__ = ["Resync", "ResyncTarget", "SnapshotReader"]

_LOG = logging.getLogger(__name__)
#: Devices named in a log line; more are counted.
_NAMED_IN_LOGS: Final = 3

SnapshotReader = Callable[[list[str]], Awaitable[Mapping[str, DeviceStatus | AndersenError]]]
"""Reads the full statuses of a few devices at once (:func:`andersen_ev.batch.read_batch`):
each device's status, or its own error; an error of the whole read is raised."""


class ResyncTarget(Protocol):
    """What the resync asks of the stream manager."""

    def awaits_snapshot(self, device_id: str) -> bool:
        """True while a consumer of the device waits for its snapshot."""

    def deliver_snapshot(self, device_id: str, status: DeviceStatus) -> None:
        """The device's fresh status, for the consumers that wait."""

    def not_found(self, device_id: str, error: DeviceNotFoundError) -> None:
        """The device is not in the account: end its consumers."""

    def session_over(self, error: ReauthRequiredError) -> None:
        """The session needs a new login: end every consumer."""


class Resync:
    """The devices whose snapshot is due on the live connection, and the task reading them."""

    def __init__(
        self,
        target: ResyncTarget,
        reader: SnapshotReader,
        cache: StatusCache,
        settings: StreamSettings,
        stats: StreamStats,
    ) -> None:
        self._target = target
        self._reader = reader
        self._cache = cache
        self._settings = settings
        self._stats = stats
        self._due: dict[str, None] = {}
        """Devices whose snapshot somebody waits for (an ordered set)."""
        self._task: asyncio.Task[None] | None = None

    def add(self, device_id: str) -> None:
        """Read the device's snapshot; its events are held until it arrives.

        Once, however often it is added before it is read.
        """
        self._due[device_id] = None
        self._cache.expect_snapshot(device_id)

    def clear(self) -> None:
        """Forget what was due: the connection ended (its task ends with it)."""
        self._due = {}
        self._task = None

    def ensure(self, conn: Connection) -> None:
        """Read what is due, in a task of ``conn`` (unless one runs already)."""
        if self._due and (self._task is None or self._task.done()):
            self._task = conn.start_task(self._read(), "andersen-ev stream resync")

    async def _read(self) -> None:
        settings = self._settings
        while self._due:
            batches = -(-len(self._due) // settings.snapshot_batch)
            async with asyncio.TaskGroup() as group:
                for _ in range(min(settings.snapshot_concurrency, batches)):
                    group.create_task(self._worker())

    async def _worker(self) -> None:
        due = self._due
        size = self._settings.snapshot_batch
        while due:
            batch = []
            for device_id in due:
                batch.append(device_id)
                if len(batch) == size:
                    break
            for device_id in batch:
                del due[device_id]
            await self._read_batch(batch)

    async def _read_batch(self, device_ids: list[str]) -> None:
        """Read these devices' snapshots until each is delivered, failed, or not awaited."""
        target = self._target
        failures = 0
        while True:
            device_ids = [
                device_id for device_id in device_ids if target.awaits_snapshot(device_id)
            ]
            if not device_ids:
                return
            self._stats.snapshot_requests += 1
            try:
                outcomes = await self._reader(device_ids)
            except ReauthRequiredError as exc:
                target.session_over(exc)
                return
            except Exception as exc:  # noqa: BLE001 - whatever failed, the next try may not
                failed: dict[str, BaseException] = dict.fromkeys(device_ids, exc)
            else:
                failed = {}
                for device_id in device_ids:
                    outcome = outcomes.get(device_id)
                    if isinstance(outcome, DeviceStatus):
                        target.deliver_snapshot(device_id, outcome)
                    elif isinstance(outcome, DeviceNotFoundError):
                        target.not_found(device_id, outcome)
                    else:
                        failed[device_id] = outcome or AndersenError("no status in the reply")
            if not failed:
                return
            failures += 1
            await self._back_off(failed, failures)
            device_ids = list(failed)

    async def _back_off(self, failed: Mapping[str, BaseException], failures: int) -> None:
        """Log why snapshots failed and wait out the backoff before trying them again."""
        delay = self._settings.delay(failures)
        exc = next(iter(failed.values()))
        level = logging.INFO if isinstance(exc, AndersenError) else logging.ERROR
        who = ", ".join(failed) if len(failed) <= _NAMED_IN_LOGS else f"{len(failed)} devices"
        _LOG.log(level, "snapshot of %s failed (%r); retrying in %.2f s", who, exc, delay)
        await asyncio.sleep(delay)
