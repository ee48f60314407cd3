"""Charging control the API lacks: charge now and restore, probe for a car.

The service has no "charge now" mutation and no "car plugged in" field, and its commands
answer null whether or not they took effect. These building blocks, used through
:class:`~andersen_ev.AndersenA2` (``charge_now``, ``restore``, ``temporarily_unlocked``,
``is_car_connected``), are built on its commands and on ``wait_for``
(:mod:`andersen_ev.commands`), and make the common automations safe:

* what ``charge_now`` changes (the lock and the five schedule slots) is read first and kept
  in a :class:`ChargeNow` handle, so ``restore`` puts back exactly what was there;
* restoring only sends idempotent writes (these slots, this lock state), so each step is
  retried a few times; what still cannot be put back is named in a :class:`RestoreError`;
* the context manager restores on exit, on error and on cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from pydantic import ValidationError

from andersen_ev.commands import confirm_timeout
from andersen_ev.exceptions import (
    AndersenError,
    AndersenTimeoutError,
    ResponseError,
    RestoreError,
)
from andersen_ev.models import SCHEDULE_SLOTS, DeviceStatus, EvseState, Schedule

if TYPE_CHECKING:
    from andersen_ev.client import AndersenA2

__all__ = ["ChargeNow", "SavedChargeState"]

_LOG = logging.getLogger(__name__)

#: Tries per restore step; the writes are idempotent, so repeating them is safe.
RESTORE_ATTEMPTS: Final = 3
_RESTORE_PAUSE: Final = 0.5


@dataclass(frozen=True)
class SavedChargeState:
    """The lock state and the five schedule slots as they were before ``charge_now``."""

    device_id: str
    locked: bool
    slots: tuple[Schedule, ...]

    @classmethod
    def from_status(cls, device_id: str, status: DeviceStatus) -> SavedChargeState:
        """Read what ``charge_now`` will change from a full status.

        Raises:
            ResponseError: the status lacks the lock flag or a complete schedule slot, so
                it could not be restored exactly (nothing has been changed yet).
        """
        if status.sys_user_lock is None:
            raise ResponseError(
                "getDeviceStatus: the charger did not report its lock state, so it could"
                " not be restored; nothing was changed",
                operation="getDeviceStatus",
                path="getDevice.deviceStatus.sysUserLock",
            )
        slots: list[Schedule] = []
        for number in range(SCHEDULE_SLOTS):
            reported = status.schedules[number] if number < len(status.schedules) else None
            try:
                slots.append(
                    Schedule.model_validate(
                        reported.model_dump(exclude_none=True) if reported else {}
                    )
                )
            except ValidationError:
                raise ResponseError(
                    f"getDeviceStatus: schedule slot {number} is incomplete, so it could not"
                    " be restored exactly; nothing was changed",
                    operation="getDeviceStatus",
                    path=f"getDevice.deviceStatus.scheduleSlotsArray.{number}",
                ) from None
        return cls(device_id=device_id, locked=status.sys_user_lock, slots=tuple(slots))

    def matches(self, status: DeviceStatus) -> bool:
        """True when ``status`` shows this lock state and these five slots."""
        if status.sys_user_lock is not self.locked or len(status.schedules) < SCHEDULE_SLOTS:
            return False
        for saved, reported in zip(self.slots, status.schedules, strict=False):
            if reported is None or reported.model_dump(exclude_none=True) != saved.model_dump():
                return False
        return True


class ChargeNow:
    """What ``charge_now`` changed on one charger, and how to put it back.

    Returned by :meth:`andersen_ev.AndersenA2.charge_now`; :meth:`restore` is idempotent.
    """

    def __init__(self, client: AndersenA2, saved: SavedChargeState) -> None:
        self._client = client
        self.saved = saved
        self.restored = False

    def __repr__(self) -> str:
        return (
            f"ChargeNow(device_id={self.saved.device_id!r}, was_locked={self.saved.locked},"
            f" restored={self.restored})"
        )

    async def restore(self, *, confirm: bool | float = True) -> None:
        """Put back the saved schedule slots, then the saved lock state.

        Args:
            confirm: Wait until the status shows the restored state (True: up to 30 s).

        Raises:
            RestoreError: a step still failed after retrying; its message says what.
        """
        limit = confirm_timeout(confirm)
        saved = self.saved
        client = self._client
        steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            (
                "schedule slots 0-4",
                lambda: client.set_schedules(saved.device_id, dict(enumerate(saved.slots))),
            ),
        ]
        if saved.locked:
            steps.append(("lock", lambda: client.user_lock(saved.device_id)))
        else:
            steps.append(("unlocked state", lambda: client.user_unlock(saved.device_id)))
        failed: list[str] = []
        cause = ""
        for name, step in steps:
            error = await _retried(step)
            if error is not None:
                failed.append(name)
                cause = str(error)
        if failed:
            raise _restore_error(saved, failed, cause)
        if limit is not None:
            try:
                await client.wait_for(saved.device_id, saved.matches, timeout=limit)
            except AndersenTimeoutError as exc:
                raise _restore_error(
                    saved, ["lock and schedules (not confirmed)"], str(exc)
                ) from exc
        self.restored = True
        _LOG.debug("restored device %s (locked=%s)", saved.device_id, saved.locked)


def _restore_error(saved: SavedChargeState, not_restored: list[str], cause: str) -> RestoreError:
    wanted = "locked" if saved.locked else "unlocked"
    return RestoreError(
        device_id=saved.device_id,
        not_restored=not_restored,
        cause=cause,
        wanted=f"it should be {wanted}, schedules as before",
        saved=saved,
    )


async def _retried(step: Callable[[], Awaitable[object]]) -> AndersenError | None:
    """Run an idempotent write up to RESTORE_ATTEMPTS times; the last error, or None."""
    last: AndersenError | None = None
    for attempt in range(RESTORE_ATTEMPTS):
        try:
            await step()
        except AndersenError as exc:
            last = exc
            _LOG.debug("restore step failed (attempt %d): %s", attempt + 1, exc)
            if attempt + 1 < RESTORE_ATTEMPTS:
                await asyncio.sleep(_RESTORE_PAUSE * (attempt + 1))
        else:
            return None
    return last


async def charge_now(client: AndersenA2, device_id: str, *, confirm: bool | float) -> ChargeNow:
    """Save the lock and schedules, then disable every schedule and unlock."""
    status = await client.get_device_status(device_id)
    saved = SavedChargeState.from_status(device_id, status)
    handle = ChargeNow(client, saved)
    try:
        await client.set_all_schedules_disabled(device_id, confirm=confirm)
    except BaseException:
        # the charger may be half-changed: put it back before reporting the failure
        with contextlib.suppress(AndersenError):
            await asyncio.shield(handle.restore(confirm=False))
        raise
    return handle


@contextlib.asynccontextmanager
async def temporarily_unlocked(
    client: AndersenA2, device_id: str, *, confirm: bool | float
) -> AsyncIterator[ChargeNow]:
    """``charge_now`` for the duration of the block; restored on exit, error or cancel."""
    handle = await client.charge_now(device_id, confirm=confirm)
    try:
        yield handle
    finally:
        # shielded: a cancelled task still puts the charger back before it unwinds
        await asyncio.shield(handle.restore())


async def is_car_connected(
    client: AndersenA2, device_id: str, *, probe: bool, probe_timeout: float
) -> bool | None:
    """Whether a car is plugged in: from ``evseState``, or by a brief, restored unlock."""
    status = await client.get_device_status_simple(device_id)
    known = status.is_car_connected
    if known is not None or not probe or status.evse_state is not EvseState.DISABLED:
        return known
    async with temporarily_unlocked(client, device_id, confirm=True):
        try:
            seen = await client.wait_for(
                device_id, lambda s: s.is_car_connected is not None, timeout=probe_timeout
            )
        except AndersenTimeoutError:
            return None
        return seen.is_car_connected
