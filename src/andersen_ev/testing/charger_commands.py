"""The device commands of a simulated charger: lock, unlock, RCM reset, schedules, solar.

Each command is checked at once (bad input is refused before anything is queued), then
queued and applied after the cloud's command delay, in order, while the device is online
(:mod:`andersen_ev.testing.device_commands`). The mutations answer what the device cloud
answers (``return_value`` null); whether a mutation's answer is that object or null is
the resolvers' business.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from andersen_ev.testing.device_state import DeviceState
from andersen_ev.testing.sample_data import InputError, iso
from andersen_ev.testing.schedules import SLOT_KEYS, ScheduleSlot, whole

__all__ = ["DeviceCommands"]


class DeviceCommands(DeviceState):
    """The commands a charger takes from the cloud (the base of ``Charger``)."""

    @property
    def pending_commands(self) -> int:
        """Device commands sent but not applied yet (delayed, or waiting for the device)."""
        return len(self._commands)

    def pending_command_names(self) -> list[str]:
        """The names of the commands not applied yet, oldest first."""
        return [command.name for command in self._commands]

    def seconds_until_applied(self) -> float:
        """Simulated seconds until every pending command is due (0: none is pending)."""
        last = self._commands.last_due_us()
        return 0.0 if last is None else max(0, last - self._clock_us) / 1_000_000

    def run_command(self, function_name: str, params: str | None = None) -> dict[str, Any]:
        """``runAEVCommand``: queue ``userLock``, ``userUnlock`` or ``rcmReset``.

        ``params`` is accepted and unused, as on the real service.

        Returns:
            The ``CommandResult`` (``return_value`` null, as the real service answers).

        Raises:
            InputError: an unknown function name.
        """
        del params
        actions: dict[str, Callable[[], None]] = {
            "userLock": self._lock,
            "userUnlock": self._unlock,
            "rcmReset": self._rcm_reset,
        }
        action = actions.get(function_name)
        if action is None:
            raise InputError(f"Function {function_name!r} not found")
        return self._device_command(function_name, action)

    def user_lock(self) -> dict[str, Any]:
        """Lock the charger (``sysUserLock`` true, ``evseState`` 255), after the delay."""
        return self._device_command("userLock", self._lock)

    def user_unlock(self) -> dict[str, Any]:
        """Unlock the charger (``evseState`` recomputed), after the delay."""
        return self._device_command("userUnlock", self._unlock)

    def rcm_reset(self) -> dict[str, Any]:
        """Clear a fault (``sysFaultCode`` 0, ``sysRcmUserCleared`` true), after the delay."""
        return self._device_command("rcmReset", self._rcm_reset)

    def set_schedules(self, slots: Mapping[str, Any]) -> dict[str, Any]:
        """``setSchedules``: replace the given slots (``sch0``..``sch4``) only.

        The whole input is validated before anything is queued.

        Raises:
            InputError: an unknown slot key or an invalid slot.
        """
        unknown = [key for key in slots if key not in SLOT_KEYS]
        if unknown:
            raise InputError(f"unknown schedule slot(s): {', '.join(unknown)}")
        changes = {
            SLOT_KEYS.index(key): ScheduleSlot.from_wire(value, key)
            for key, value in slots.items()
            if value is not None
        }

        def apply() -> None:
            for index, slot in changes.items():
                self._slots[index] = slot

        return self._device_command("setSchedules", apply)

    def disable_all_schedules(self) -> dict[str, Any]:
        """``setAllSchedulesDisabled``: disable every slot and unlock the charger."""

        def apply() -> None:
            self._slots = [replace(slot, enabled=False) for slot in self._slots]
            self._status["sysUserLock"] = False

        return self._device_command("setAllSchedulesDisabled", apply)

    def set_solar(
        self,
        *,
        override: bool | None = None,
        charge_always: bool | None = None,
        max_grid_charge_percent: int | None = None,
        charge_outside_schedules: bool | None = None,
    ) -> dict[str, Any]:
        """``setSolar``: change the given solar settings (None leaves one as it is).

        Raises:
            InputError: ``max_grid_charge_percent`` outside 0-100.
        """
        if max_grid_charge_percent is not None:
            whole(max_grid_charge_percent, "maxGridChargePercent", 0, 100)

        def apply() -> None:
            if override is not None:
                self._status["solarOverride"] = override
                self._info["solarOverrideStart"] = iso(self.now) if override else None
            if charge_always is not None:
                self._status["solarChargeAlways"] = charge_always
            if max_grid_charge_percent is not None:
                self._status["solarMaxGridChargePercent"] = max_grid_charge_percent
            if charge_outside_schedules is not None:
                self.charge_outside_schedules = charge_outside_schedules

        return self._device_command("setSolar", apply)

    def _lock(self) -> None:
        self._status["sysUserLock"] = True

    def _unlock(self) -> None:
        self._status["sysUserLock"] = False

    def _rcm_reset(self) -> None:
        if self._status["sysFaultCode"]:
            self._status["sysFaultCode"] = 0
            self._status["sysRcmUserCleared"] = True

    def _device_command(self, name: str, action: Callable[[], None]) -> dict[str, Any]:
        """Apply ``action`` at once, or queue it for after the link's delay."""
        delay = self._link.command_delay()
        if delay <= 0 and self.online and not self._commands:
            action()
            self._publish()
        else:
            due = self._clock_us + round(delay * 1_000_000)
            command = self._commands.push(name, action, due)
            self._link.command_queued(self, command, delay)
        return {
            "id": self.id,
            "name": self.name,
            "last_app": "",
            "connected": self.online,
            "return_value": None,
        }

    def land(self, seq: int) -> None:
        """Apply command ``seq`` and those before it now: their delay passed in real time.

        While offline they are applied as soon as the device is back.
        """
        self._commands.ripen(seq)
        self._apply_ready()

    def _apply_ready(self) -> bool:
        """Apply the commands now due (in order) and publish; False if none was."""
        if not self.online:
            return False
        ready = self._commands.take_ready(self._clock_us)
        for command in ready:
            command.action()
        if ready:
            self._publish()
        return bool(ready)
