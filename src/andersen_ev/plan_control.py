"""Carrying out a charging plan on a charger: its windows as schedule slots, then put back.

A :class:`~andersen_ev.planning.ChargePlan` lives in the charger's own schedules, which keep
working when the house's internet or the automation host goes down. Applying one (through
:class:`~andersen_ev.AndersenA2`: ``apply_charging_plan``, ``charging_plan``, ``restore``):

* reads and keeps the lock state and the five schedule slots first (as ``charge_now`` does),
  refusing to touch a charger whose state could not be put back exactly;
* checks that the plan is in the charger's time zone, when the charger reports one;
* writes every slot in one ``setSchedules``: the plan's windows in the first slots, the
  other slots as they were but disabled, so the charger charges in the windows and only in
  them; then unlocks the charger if it was locked;
* puts everything back (the slots, then the lock) on :meth:`AppliedPlan.restore`, on leaving
  the ``async with`` block, on error and on cancellation; a failure part-way through applying
  puts the saved state back before the error is raised.

The slots repeat every week: restore them once the plan is over (at ``plan.ready_by``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from andersen_ev.commands import confirm_timeout
from andersen_ev.control import ChargeNow, SavedChargeState
from andersen_ev.exceptions import (
    AndersenError,
    AndersenTimeoutError,
    CommandNotConfirmedError,
    InvalidInputError,
)
from andersen_ev.models import SCHEDULE_SLOTS, DeviceStatus, Schedule
from andersen_ev.planning import ChargePlan, plan_schedules

if TYPE_CHECKING:
    from andersen_ev.client import AndersenA2
    from andersen_ev.commands import Confirm

__all__ = ["AppliedPlan", "apply_plan", "charging_plan", "plan_slots"]

_LOG = logging.getLogger(__name__)


class AppliedPlan(ChargeNow):
    """A charging plan in force on one charger, and how to put the charger back.

    Returned by :meth:`andersen_ev.AndersenA2.apply_charging_plan`. :meth:`restore` (inherited
    from :class:`~andersen_ev.ChargeNow`, idempotent) writes back the five slots and the lock
    state saved before the plan was applied.

    Attributes:
        plan: The plan applied.
        slots: The five schedule slots written for it, slot 0 first.
        saved: What was there before, and is put back by :meth:`restore`.
    """

    def __init__(
        self,
        client: AndersenA2,
        saved: SavedChargeState,
        plan: ChargePlan,
        slots: tuple[Schedule, ...],
    ) -> None:
        super().__init__(client, saved)
        self.plan = plan
        self.slots = slots

    def __repr__(self) -> str:
        return (
            f"AppliedPlan(device_id={self.saved.device_id!r}, windows={len(self.plan.windows)},"
            f" ready_by={self.plan.ready_by.isoformat()!r}, restored={self.restored})"
        )


def plan_slots(plan: ChargePlan, saved: SavedChargeState) -> tuple[Schedule, ...]:
    """The five slots that carry out ``plan``: its windows first, the others kept but disabled.

    Raises:
        InvalidInputError: the plan has no window (applying it would leave a charger with
            every slot disabled, which charges at any time) or more windows than slots.
    """
    windows = plan_schedules(plan)
    if not windows:
        raise InvalidInputError(
            "the plan has no charging window: there is nothing to apply (a charger with every"
            " schedule disabled would charge at any time)"
        )
    if len(windows) > SCHEDULE_SLOTS:
        raise InvalidInputError(
            f"the plan needs {len(windows)} schedule slots; the charger has {SCHEDULE_SLOTS}"
        )
    kept = tuple(slot.model_copy(update={"enabled": False}) for slot in saved.slots[len(windows) :])
    return (*windows, *kept)


def _slots_shown(slots: tuple[Schedule, ...]) -> Callable[[DeviceStatus], bool]:
    """A predicate: the status shows these five slots and the charger unlocked."""

    def shown(status: DeviceStatus) -> bool:
        reported = status.schedules
        return (
            status.sys_user_lock is False
            and len(reported) >= SCHEDULE_SLOTS
            and all(
                have is not None and have.model_dump(exclude_none=True) == want.model_dump()
                for have, want in zip(reported, slots, strict=False)
            )
        )

    return shown


async def _check_time_zone(client: AndersenA2, device_id: str, plan: ChargePlan) -> None:
    device = await client.get_device(device_id)
    region = device.device_info.time_zone_region if device.device_info else None
    if region and region != plan.time_zone:
        raise InvalidInputError(
            f"the plan is in {plan.time_zone} but charger {device_id} keeps its schedules in"
            f" {region}: plan again with time_zone={region!r}"
        )


async def apply_plan(
    client: AndersenA2, device_id: str, plan: ChargePlan, *, confirm: Confirm
) -> AppliedPlan:
    """Save the lock and schedules, write the plan's slots, unlock; put back on failure."""
    limit = confirm_timeout(confirm)
    if not isinstance(plan, ChargePlan):
        raise InvalidInputError(
            f"plan must be a ChargePlan (from andersen_ev.planning.plan_charging), got {plan!r}"
        )
    await _check_time_zone(client, device_id, plan)
    status = await client.get_device_status(device_id)
    saved = SavedChargeState.from_status(device_id, status)
    slots = plan_slots(plan, saved)
    handle = AppliedPlan(client, saved, plan, slots)
    try:
        await client.set_schedules(device_id, dict(enumerate(slots)))
        if saved.locked:
            await client.user_unlock(device_id)
        if limit is not None:
            try:
                await client.wait_for(device_id, _slots_shown(slots), limit)
            except AndersenTimeoutError:
                raise CommandNotConfirmedError(
                    device_id=device_id, command="setSchedules", timeout=limit
                ) from None
    except BaseException:
        # the charger may be half-changed: put it back before reporting the failure
        with contextlib.suppress(AndersenError):
            await asyncio.shield(handle.restore(confirm=False))
        raise
    _LOG.debug("applied a plan of %d windows to device %s", len(plan.windows), device_id)
    return handle


@contextlib.asynccontextmanager
async def charging_plan(
    client: AndersenA2, device_id: str, plan: ChargePlan, *, confirm: Confirm
) -> AsyncIterator[AppliedPlan]:
    """The plan in force for the duration of the block; restored on exit, error or cancel."""
    handle = await client.apply_charging_plan(device_id, plan, confirm=confirm)
    try:
        yield handle
    finally:
        # shielded: a cancelled task still puts the charger back before it unwinds
        await asyncio.shield(handle.restore())
