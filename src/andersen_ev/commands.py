"""The commands of :class:`~andersen_ev.AndersenA2`: every mutation, and ``confirm=``.

Each method checks all its arguments before anything is sent
(:class:`~andersen_ev.exceptions.InvalidInputError`), then sends one mutation of
:mod:`andersen_ev.operations` through its typed call path. Mutations are sent at most
once: never retried once they may have reached the service.

The service answers null whether or not a device command took effect, so the methods that
change the charger take ``confirm=``: False (the default) returns at once; True waits up
to 30 s for the status to show the change, and a number waits that many seconds;
:class:`~andersen_ev.exceptions.CommandNotConfirmedError` says it never showed. Waiting
(:meth:`Commands.wait_for`) follows the device's update stream and polls the status while
the stream is down (:mod:`andersen_ev.waiting`). When a confirmed command's answer is lost
(:class:`~andersen_ev.exceptions.OutcomeUnknownError`: it may or may not have been applied),
the status is read back the same way instead of failing blindly.

``timeout=`` is a deadline for sending the command, every read it needs first included;
``confirm=`` adds its own wait after that.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, TypeVar

from andersen_ev import operations as ops
from andersen_ev.account_commands import AccountCommands
from andersen_ev.exceptions import (
    AndersenTimeoutError,
    CommandNotConfirmedError,
    InvalidInputError,
    OutcomeUnknownError,
    ResponseError,
)
from andersen_ev.models import (
    CommandResult,
    DeviceStatus,
    Schedule,
    ScheduleSlot,
)
from andersen_ev.operations import call
from andersen_ev.stream import StreamManager
from andersen_ev.validation import (
    SlotSchedules,
    check_id,
    check_percentage,
    check_schedule,
    check_seconds,
    check_slot,
    check_slots,
    check_text,
)
from andersen_ev.waiting import StatusPredicate, wait_for_status

__all__ = [
    "DEFAULT_CONFIRM_INTERVAL",
    "DEFAULT_CONFIRM_TIMEOUT",
    "DEFAULT_SCHEDULE",
    "Commands",
    "Confirm",
    "confirm_timeout",
]

#: Seconds ``confirm=True`` waits for a command's effect to show in the status.
DEFAULT_CONFIRM_TIMEOUT: Final = 30.0
#: Seconds between status reads while confirming (other clients wait ~1.5 s).
DEFAULT_CONFIRM_INTERVAL: Final = 1.5
#: The schedule ``create_schedule`` writes when given none (the seed's default).
DEFAULT_SCHEDULE: Final = Schedule.model_construct(  # valid; built without building Schedule
    start_hour=0, start_minute=30, end_hour=4, end_minute=30
)
_LOG = logging.getLogger(__name__)
_R = TypeVar("_R")

Confirm = bool | float
"""``confirm=``: False (default), True (wait up to 30 s) or a timeout in seconds."""


def confirm_timeout(confirm: object) -> float | None:
    """Seconds to wait for ``confirm=`` (None: do not wait), checked before sending.

    Raises:
        InvalidInputError: neither a bool nor a positive number of seconds.
    """
    if confirm is False:
        return None
    if confirm is True:
        return DEFAULT_CONFIRM_TIMEOUT
    try:
        return check_seconds(confirm, "confirm")
    except InvalidInputError:
        raise InvalidInputError(
            f"confirm must be True or a positive timeout, got {confirm!r}"
        ) from None


class Commands(AccountCommands):
    """The methods of :class:`~andersen_ev.AndersenA2` that change something (a mixin of it).

    Every method takes ``timeout=``: the deadline, in seconds, for sending the command
    (retries and any read it needs first included) instead of the session's; ``confirm=``
    has its own limit, after that.
    """

    streams: StreamManager
    confirm_interval: float

    async def run_aev_command(
        self,
        device_id: str,
        function_name: str,
        param_string: str | None = None,
        *,
        timeout: float | None = None,
    ) -> CommandResult | None:
        """Run a device function (``userLock``, ``userUnlock``, ``rcmReset``).

        The service answers null ``return_value`` whether or not the command took effect:
        use the ``confirm=`` option of :meth:`user_lock` and friends, or read the status.
        """
        variables = {
            "deviceId": check_id(device_id),
            "functionName": check_id(function_name, "function_name"),
            "params": check_text(param_string, "param_string"),
        }
        return await call(self._graphql, ops.RUN_AEV_COMMAND, variables, timeout=timeout)

    async def user_lock(
        self, device_id: str, *, confirm: Confirm = False, timeout: float | None = None
    ) -> CommandResult | None:
        """Lock the charger: connected cars do not charge, schedules do not start charging.

        Args:
            confirm: Wait until the status shows the lock (True: up to 30 s; or seconds).

        Raises:
            CommandNotConfirmedError: ``confirm`` was asked and the lock never showed.
        """
        return await self._set_lock(device_id, locked=True, confirm=confirm, timeout=timeout)

    async def user_unlock(
        self, device_id: str, *, confirm: Confirm = False, timeout: float | None = None
    ) -> CommandResult | None:
        """Unlock the charger: a connected car charges (unless a schedule holds it).

        Args:
            confirm: Wait until the status shows the unlock (True: up to 30 s; or seconds).

        Raises:
            CommandNotConfirmedError: ``confirm`` was asked and the unlock never showed.
        """
        return await self._set_lock(device_id, locked=False, confirm=confirm, timeout=timeout)

    async def rcm_reset(
        self, device_id: str, *, confirm: Confirm = False, timeout: float | None = None
    ) -> CommandResult | None:
        """Reset the charger after a residual-current (RCM) fault, as the app's button does.

        Sends the device command ``rcmReset``. A charger without a fault is left as it is.

        Args:
            confirm: Wait until the status shows no fault (``sys_fault_code`` 0; True: up
                to 30 s; or seconds).

        Raises:
            CommandNotConfirmedError: ``confirm`` was asked and the fault never cleared
                (a fault that persists needs an electrician, not another reset).
        """
        limit = confirm_timeout(confirm)
        return await self._confirmed(
            device_id,
            "rcmReset",
            limit,
            lambda s: s.sys_fault_code == 0,
            self.run_aev_command(device_id, "rcmReset", timeout=timeout),
        )

    async def _set_lock(
        self, device_id: str, *, locked: bool, confirm: Confirm, timeout: float | None
    ) -> CommandResult | None:
        limit = confirm_timeout(confirm)
        command = "userLock" if locked else "userUnlock"
        return await self._confirmed(
            device_id,
            command,
            limit,
            lambda s: s.sys_user_lock is locked,
            self.run_aev_command(device_id, command, timeout=timeout),
        )

    async def set_schedules(
        self,
        device_id: str,
        slots: SlotSchedules,
        *,
        confirm: Confirm = False,
        timeout: float | None = None,
    ) -> CommandResult | None:
        """Write the given schedule slots (others are left as they are).

        The charger applies the write a second or two after the service answers (null, on
        the real service): a read straight after it still shows the old slots. Confirm
        before reading them back or changing them again (as ``enable_schedule`` does).

        Args:
            slots: Schedules keyed by slot, ``0``-``4`` or the seed's ``"sch0"``-``"sch4"``;
                each a :class:`Schedule` or the seed's camelCase dict. All are validated
                before anything is sent.
            confirm: Wait until the status shows every slot written (True: up to 30 s; or
                seconds).

        Raises:
            CommandNotConfirmedError: ``confirm`` was asked and the slots never showed.
        """
        wire = check_slots(slots)
        variables = {"deviceId": check_id(device_id), "scheduleSlots": wire}
        limit = confirm_timeout(confirm)
        send = call(self._graphql, ops.SET_SCHEDULES, variables, timeout=timeout)
        return await self._confirmed(
            device_id, ops.SET_SCHEDULES.name, limit, _slots_shown(wire), send
        )

    async def create_schedule(
        self,
        device_id: str,
        slot_number: int,
        schedule: Schedule | Mapping[str, Any] | None = None,
        *,
        confirm: Confirm = False,
        timeout: float | None = None,
    ) -> CommandResult | None:
        """Write one schedule slot (0-4); without ``schedule``, 00:30-04:30 every day.

        Args:
            confirm: Wait until the status shows the slot (see :meth:`set_schedules`).
        """
        slot = check_slot(slot_number)
        chosen = DEFAULT_SCHEDULE if schedule is None else check_schedule(schedule, slot)
        return await self.set_schedules(device_id, {slot: chosen}, confirm=confirm, timeout=timeout)

    async def enable_schedule(
        self,
        device_id: str,
        slot_number: int,
        enabled: bool = True,
        *,
        confirm: Confirm = False,
        timeout: float | None = None,
    ) -> CommandResult | None:
        """Enable (or, with ``enabled=False``, disable) one schedule slot, keeping its times.

        Raises:
            ResponseError: the slot is incomplete on the charger (set it with create_schedule).
            CommandNotConfirmedError: ``confirm`` was asked and the change never showed.
        """
        check_id(device_id)
        slot = check_slot(slot_number)
        limit = confirm_timeout(confirm)
        wanted = bool(enabled)
        deadline = self._graphql.deadline(timeout)

        async def read_then_write() -> CommandResult | None:
            with deadline:  # the read and the write share the one deadline
                current = await self.get_schedule(device_id, slot)
                schedule = _with_enabled(current, slot, enabled=wanted)
                return await self.set_schedules(device_id, {slot: schedule})

        def applied(status: DeviceStatus) -> bool:
            slots = status.schedules
            reported = slots[slot] if slot < len(slots) else None
            return reported is not None and reported.enabled is wanted

        return await self._confirmed(device_id, "setSchedules", limit, applied, read_then_write())

    async def set_all_schedules_disabled(
        self, device_id: str, *, confirm: Confirm = False, timeout: float | None = None
    ) -> CommandResult | None:
        """Disable every schedule and unlock the charger: a connected car starts charging.

        Raises:
            CommandNotConfirmedError: ``confirm`` was asked and the change never showed.
        """
        variables = {"deviceId": check_id(device_id)}
        limit = confirm_timeout(confirm)
        operation = ops.SET_ALL_SCHEDULES_DISABLED

        def applied(status: DeviceStatus) -> bool:
            return status.sys_user_lock is False and all(
                slot is None or not slot.enabled for slot in status.schedules
            )

        send = call(self._graphql, operation, variables, timeout=timeout)
        return await self._confirmed(device_id, operation.name, limit, applied, send)

    async def set_solar(
        self,
        device_id: str,
        override: bool = False,
        charge_always: bool = False,
        max_grid_charge_percent: int = 10,
        charge_outside_schedules: bool | None = None,
        *,
        confirm: Confirm = False,
        timeout: float | None = None,
    ) -> CommandResult | None:
        """Set solar charging: override, charge always, and the grid share (0-100 %).

        ``max_grid_charge_percent`` is relative to the charger's maximum (7.2 kW = 100 %).

        Raises:
            CommandNotConfirmedError: ``confirm`` was asked and the change never showed.
        """
        percent = check_percentage(max_grid_charge_percent)
        variables = {
            "deviceId": check_id(device_id),
            "override": bool(override),
            "chargeAlways": bool(charge_always),
            "maxGridChargePercent": percent,
            "chargeOutsideSchedules": _optional_flag(charge_outside_schedules),
        }
        limit = confirm_timeout(confirm)

        def applied(status: DeviceStatus) -> bool:
            return (
                status.solar_override is variables["override"]
                and status.solar_charge_always is variables["chargeAlways"]
                and status.solar_max_grid_charge_percent == percent
            )

        send = call(self._graphql, ops.SET_SOLAR, variables, timeout=timeout)
        return await self._confirmed(device_id, ops.SET_SOLAR.name, limit, applied, send)

    # -- waiting for a state ----------------------------------------------------------------

    async def wait_for(
        self,
        device_id: str,
        predicate: Callable[[DeviceStatus], bool],
        timeout: float | None = None,
    ) -> DeviceStatus:
        """Wait until the charger's status satisfies ``predicate``; returns that status.

        Follows the device's update stream (which starts with a fresh snapshot, so a
        change made just before is seen too) and polls the full status every
        ``confirm_interval`` seconds while the session's websocket is not connected.

        Args:
            timeout: Seconds (30 by default).

        Raises:
            AndersenTimeoutError: not within ``timeout``.
            ReauthRequiredError: the session cannot continue.
        """
        limit = DEFAULT_CONFIRM_TIMEOUT if timeout is None else check_seconds(timeout)
        return await wait_for_status(
            self.streams,
            self.get_device_status,
            check_id(device_id),
            predicate,
            timeout=limit,
            interval=self.confirm_interval,
        )

    async def _confirmed(
        self,
        device_id: str,
        command: str,
        limit: float | None,
        applied: StatusPredicate,
        send: Awaitable[_R],
    ) -> _R | None:
        """Await ``send``, then wait until ``applied`` holds if ``confirm=`` asked (``limit``).

        A lost answer (:class:`OutcomeUnknownError`) is settled by reading the status: the
        result is then None, or :class:`CommandNotConfirmedError` with ``answer_lost``.
        """
        try:
            result = await send
        except OutcomeUnknownError as lost:
            if limit is None:
                raise
            _LOG.debug("%s: answer lost (%s); reading the status back", command, lost)
            await self._confirm(device_id, command, limit, applied, lost=lost)
            return None
        await self._confirm(device_id, command, limit, applied)
        return result

    async def _confirm(
        self,
        device_id: str,
        command: str,
        limit: float | None,
        applied: StatusPredicate,
        *,
        lost: OutcomeUnknownError | None = None,
    ) -> None:
        """Wait until ``applied`` holds, if ``confirm=`` asked for it (``limit``)."""
        if limit is None:
            return
        try:
            await self.wait_for(device_id, applied, limit)
        except AndersenTimeoutError:
            raise CommandNotConfirmedError(
                device_id=device_id, command=command, timeout=limit, answer_lost=lost is not None
            ) from lost


def _slots_shown(wire: Mapping[str, Mapping[str, Any]]) -> StatusPredicate:
    """A test of a status: every slot of ``wire`` (``{"sch0": {...}}``) is reported so."""
    wanted = {int(key.removeprefix("sch")): dict(slot) for key, slot in wire.items()}

    def shown(status: DeviceStatus) -> bool:
        reported = status.schedules
        for number, slot in wanted.items():
            found = reported[number] if number < len(reported) else None
            if found is None or found.model_dump(by_alias=True, exclude_none=True) != slot:
                return False
        return True

    return shown


def _optional_flag(value: object) -> bool | None:
    return None if value is None else bool(value)


def _with_enabled(current: ScheduleSlot, slot: int, *, enabled: bool) -> Schedule:
    """The reported slot with ``enabled`` changed, complete enough to be written back.

    Raises:
        ResponseError: the charger reported the slot incompletely.
    """
    try:
        return check_schedule(current.model_dump(exclude_none=True) | {"enabled": enabled})
    except InvalidInputError:
        raise ResponseError(
            f"getDevice: schedule slot {slot} is incomplete on the charger; write it"
            " with create_schedule() first",
            operation="getDevice",
            path=f"getDevice.deviceStatus.scheduleSlotsArray.{slot}",
        ) from None
