"""The queries and commands of :class:`andersen_ev.sync.AndersenA2`, blocking.

Each waits for the async client's method of the same name: same parameters, same result,
same exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from andersen_ev import (
    Address,
    ChargeLog,
    ChargeRate,
    CommandResult,
    Device,
    DeviceInfo,
    DeviceStatus,
    JsonValue,
    Schedule,
    ScheduleSlot,
    SolarSettings,
)
from andersen_ev import AndersenA2 as _AsyncA2
from andersen_ev.sync._runtime import LoopThread

__all__ = ["Operations"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


class Operations:
    """The API's queries and commands, blocking: the base of the facade."""

    _client: _AsyncA2
    _runner: LoopThread

    def _call(
        self,
        method: Callable[Concatenate[_AsyncA2, _P], Coroutine[Any, Any, _R]],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _R:
        """Run the async client's ``method`` on the loop and wait for its outcome."""
        client = self._client
        return self._runner.call(method.__name__, lambda: method(client, *args, **kwargs))

    # -- queries -----------------------------------------------------------------------------

    def get_support_message(self, *, timeout: float | None = None) -> str | None:
        """The banner message the Konnect+ app shows to every user, if any."""
        return self._call(_AsyncA2.get_support_message, timeout=timeout)

    def get_current_user_devices(self, *, timeout: float | None = None) -> list[Device]:
        """The chargers of the account (0.1: ``result["getCurrentUserDevices"]``)."""
        return self._call(_AsyncA2.get_current_user_devices, timeout=timeout)

    def get_device(self, device_id: str, *, timeout: float | None = None) -> Device:
        """One charger with its settings (``device_info``), basic status and schedules.

        Raises:
            DeviceNotFoundError: no such device in this account.
        """
        return self._call(_AsyncA2.get_device, device_id, timeout=timeout)

    def get_device_status_simple(
        self, device_id: str, *, timeout: float | None = None
    ) -> DeviceStatus:
        """The few status fields needed most: online, state, schedule and lock flags."""
        return self._call(_AsyncA2.get_device_status_simple, device_id, timeout=timeout)

    def get_device_status(self, device_id: str, *, timeout: float | None = None) -> DeviceStatus:
        """The charger's full status: state, power, energy, schedules, solar, diagnostics."""
        return self._call(_AsyncA2.get_device_status, device_id, timeout=timeout)

    def get_device_charge_rates(
        self, device_id: str, *, timeout: float | None = None
    ) -> list[ChargeRate]:
        """The electricity tariff periods used to cost charging sessions."""
        return self._call(_AsyncA2.get_device_charge_rates, device_id, timeout=timeout)

    def get_device_lora(self, device_id: str, *, timeout: float | None = None) -> JsonValue:
        """The LoRa devices paired with the charger, as the opaque JSON the API returns."""
        return self._call(_AsyncA2.get_device_lora, device_id, timeout=timeout)

    def get_device_solar(self, device_id: str, *, timeout: float | None = None) -> DeviceInfo:
        """When the solar override started (``solar_override_start`` of the result)."""
        return self._call(_AsyncA2.get_device_solar, device_id, timeout=timeout)

    def get_calculated_power_logs_binned(
        self,
        device_id: str,
        date_from: date | datetime | str | None = None,
        date_to: date | datetime | str | None = None,
        binned_minutes: int | None = None,
        limit: int | None = None,
        offset: int | None = None,
        group_by: str | None = None,
        *,
        timeout: float | None = None,
    ) -> JsonValue:
        """Power logs grouped into bins (0.1's ``get_device_solar_binned`` never worked)."""
        return self._call(
            _AsyncA2.get_calculated_power_logs_binned,
            device_id,
            date_from,
            date_to,
            binned_minutes,
            limit,
            offset,
            group_by,
            timeout=timeout,
        )

    def search_address(
        self,
        address_fragment: str,
        country_code: str | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Address]:
        """Postal addresses matching a fragment (the app's installation wizard)."""
        return self._call(_AsyncA2.search_address, address_fragment, country_code, timeout=timeout)

    def get_device_calculated_charge_logs(
        self,
        device_id: str,
        limit: int | None = None,
        offset: int | None = None,
        min_energy: float | None = None,
        date_from: date | datetime | str | None = None,
        *,
        timeout: float | None = None,
    ) -> list[ChargeLog]:
        """Past charging sessions with energy and cost split by source, newest first."""
        return self._call(
            _AsyncA2.get_device_calculated_charge_logs,
            device_id,
            limit,
            offset,
            min_energy,
            date_from,
            timeout=timeout,
        )

    def get_schedule(
        self, device_id: str, slot_number: int, *, timeout: float | None = None
    ) -> ScheduleSlot:
        """One schedule slot (0-4) as the charger reports it."""
        return self._call(_AsyncA2.get_schedule, device_id, slot_number, timeout=timeout)

    def get_solar(self, device_id: str, *, timeout: float | None = None) -> SolarSettings:
        """The charger's solar settings, read from its status (see the async ``get_solar``)."""
        return self._call(_AsyncA2.get_solar, device_id, timeout=timeout)

    def find_device(self, name_or_id: str, *, timeout: float | None = None) -> Device:
        """The charger meant by ``name_or_id`` (the command line's rule).

        Its id, else its exact friendly name, else its friendly or device name in any case.

        Raises:
            DeviceNotFoundError: no charger matches; the message lists the account's.
            InvalidInputError: several chargers match: the message lists their ids.
        """
        return self._call(_AsyncA2.find_device, name_or_id, timeout=timeout)

    def device_by_name(self, name: str, *, timeout: float | None = None) -> Device:
        """The charger whose friendly name (as in the app) is ``name``.

        Raises:
            DeviceNotFoundError: no charger has that name (0.1 returned None).
            InvalidInputError: several chargers share it: use their ids.
        """
        return self._call(_AsyncA2.device_by_name, name, timeout=timeout)

    def device_id_from_name(self, name: str, *, timeout: float | None = None) -> str:
        """The id of the charger whose friendly name is ``name`` (see device_by_name)."""
        return self._call(_AsyncA2.device_id_from_name, name, timeout=timeout)

    # -- commands ----------------------------------------------------------------------------

    def run_aev_command(
        self,
        device_id: str,
        function_name: str,
        param_string: str | None = None,
        *,
        timeout: float | None = None,
    ) -> CommandResult | None:
        """Run a device function (``userLock``, ``userUnlock``, ``rcmReset``)."""
        return self._call(
            _AsyncA2.run_aev_command, device_id, function_name, param_string, timeout=timeout
        )

    def user_lock(
        self, device_id: str, *, confirm: bool | float = False, timeout: float | None = None
    ) -> CommandResult | None:
        """Lock the charger; ``confirm=True`` waits until the status shows it (30 s)."""
        return self._call(_AsyncA2.user_lock, device_id, confirm=confirm, timeout=timeout)

    def user_unlock(
        self, device_id: str, *, confirm: bool | float = False, timeout: float | None = None
    ) -> CommandResult | None:
        """Unlock the charger; ``confirm=True`` waits until the status shows it (30 s)."""
        return self._call(_AsyncA2.user_unlock, device_id, confirm=confirm, timeout=timeout)

    def set_schedules(
        self,
        device_id: str,
        slots: Mapping[Any, Schedule | Mapping[str, Any]],
        *,
        confirm: bool | float = False,
        timeout: float | None = None,
    ) -> CommandResult | None:
        """Write the given slots (``{0: ...}`` or 0.1's ``{"sch0": {...}}``); others stay."""
        return self._call(
            _AsyncA2.set_schedules, device_id, slots, confirm=confirm, timeout=timeout
        )

    def create_schedule(
        self,
        device_id: str,
        slot_number: int,
        schedule: Schedule | Mapping[str, Any] | None = None,
        *,
        confirm: bool | float = False,
        timeout: float | None = None,
    ) -> CommandResult | None:
        """Write one slot (0-4): a ``Schedule`` or 0.1's dict; by default 00:30-04:30."""
        return self._call(
            _AsyncA2.create_schedule,
            device_id,
            slot_number,
            schedule,
            confirm=confirm,
            timeout=timeout,
        )

    def enable_schedule(
        self,
        device_id: str,
        slot_number: int,
        enabled: bool = True,
        *,
        confirm: bool | float = False,
        timeout: float | None = None,
    ) -> CommandResult | None:
        """Enable (or, with ``enabled=False``, disable) one slot, keeping its times."""
        return self._call(
            _AsyncA2.enable_schedule,
            device_id,
            slot_number,
            enabled,
            confirm=confirm,
            timeout=timeout,
        )

    def set_all_schedules_disabled(
        self, device_id: str, *, confirm: bool | float = False, timeout: float | None = None
    ) -> CommandResult | None:
        """Disable every schedule and unlock: a connected car starts charging."""
        return self._call(
            _AsyncA2.set_all_schedules_disabled, device_id, confirm=confirm, timeout=timeout
        )

    def set_solar(
        self,
        device_id: str,
        override: bool = False,
        charge_always: bool = False,
        max_grid_charge_percent: int = 10,
        charge_outside_schedules: bool | None = None,
        *,
        confirm: bool | float = False,
        timeout: float | None = None,
    ) -> CommandResult | None:
        """Set solar charging: override, charge always, and the grid share (0-100 %)."""
        return self._call(
            _AsyncA2.set_solar,
            device_id,
            override,
            charge_always,
            max_grid_charge_percent,
            charge_outside_schedules,
            confirm=confirm,
            timeout=timeout,
        )

    def upsert_device_friendly_name(
        self, device_id: str, friendly_name: str, *, timeout: float | None = None
    ) -> str | None:
        """Rename the charger (as shown in the app); returns the name now stored."""
        return self._call(
            _AsyncA2.upsert_device_friendly_name, device_id, friendly_name, timeout=timeout
        )

    def set_schedule_names(
        self,
        device_id: str,
        names: Mapping[int, str] | Sequence[str | None],
        *,
        timeout: float | None = None,
    ) -> DeviceInfo:
        """Name schedule slots: ``{0: "Night"}`` or a sequence indexed by slot."""
        return self._call(_AsyncA2.set_schedule_names, device_id, names, timeout=timeout)

    def create_charge_rate(
        self,
        device_id: str,
        price: float,
        *,
        time_start_local: str | None = None,
        time_stop_local: str | None = None,
        start_date_time: date | datetime | str | None = None,
        stop_date_time: date | datetime | str | None = None,
        days: Sequence[bool] | None = None,
        timeout: float | None = None,
    ) -> ChargeRate:
        """Add a tariff period (price per kWh); returns it with its new id."""
        return self._call(
            _AsyncA2.create_charge_rate,
            device_id,
            price,
            time_start_local=time_start_local,
            time_stop_local=time_stop_local,
            start_date_time=start_date_time,
            stop_date_time=stop_date_time,
            days=days,
            timeout=timeout,
        )

    def set_charge_rate(
        self,
        charge_id: str,
        price: float,
        *,
        time_start_local: str | None = None,
        time_stop_local: str | None = None,
        start_date_time: date | datetime | str | None = None,
        stop_date_time: date | datetime | str | None = None,
        days: Sequence[bool] | None = None,
        timeout: float | None = None,
    ) -> bool | None:
        """Change a tariff period; returns the service's flag."""
        return self._call(
            _AsyncA2.set_charge_rate,
            charge_id,
            price,
            time_start_local=time_start_local,
            time_stop_local=time_stop_local,
            start_date_time=start_date_time,
            stop_date_time=stop_date_time,
            days=days,
            timeout=timeout,
        )

    def delete_charge_rate(self, charge_id: str, *, timeout: float | None = None) -> bool | None:
        """Delete a tariff period; returns the service's flag."""
        return self._call(_AsyncA2.delete_charge_rate, charge_id, timeout=timeout)

    def unclaim_device(self, device_id: str, *, timeout: float | None = None) -> bool | None:
        """Release the charger from this account (it must be claimed again to be used)."""
        return self._call(_AsyncA2.unclaim_device, device_id, timeout=timeout)

    def claim_device_by_name(
        self, device_name: str, *, timeout: float | None = None
    ) -> Device | None:
        """Claim a charger by the device name printed on it; returns it (id and name)."""
        return self._call(_AsyncA2.claim_device_by_name, device_name, timeout=timeout)

    def upsert_account(
        self, first_name: str | None, last_name: str | None, *, timeout: float | None = None
    ) -> bool | None:
        """Set the account holder's name; returns the service's flag."""
        return self._call(_AsyncA2.upsert_account, first_name, last_name, timeout=timeout)

    def register_mobile_device(self, token: str, *, timeout: float | None = None) -> bool | None:
        """Register a push-notification token for this account (rarely needed)."""
        return self._call(_AsyncA2.register_mobile_device, token, timeout=timeout)

    def unregister_mobile_device(self, token: str, *, timeout: float | None = None) -> bool | None:
        """Remove a push-notification token from this account."""
        return self._call(_AsyncA2.unregister_mobile_device, token, timeout=timeout)
