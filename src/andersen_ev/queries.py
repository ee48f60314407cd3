"""The queries of :class:`~andersen_ev.AndersenA2`: chargers, statuses, logs, tariffs, addresses.

Each method checks its arguments (:class:`~andersen_ev.exceptions.InvalidInputError`
before anything is sent), then sends one operation of :mod:`andersen_ev.operations`
through its typed call path, :func:`~andersen_ev.operations.call`. Queries are retried on
connection errors, 5xx and 429 (see :class:`~andersen_ev.RetryPolicy`).

Finding a charger by what a person calls it follows one rule, :meth:`Queries.find_device`,
which the command line uses too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

from andersen_ev import operations as ops
from andersen_ev.exceptions import DeviceNotFoundError, InvalidInputError, ResponseError
from andersen_ev.http import GraphQLHttp
from andersen_ev.models import (
    Address,
    ChargeLog,
    ChargeRate,
    Device,
    DeviceInfo,
    DeviceStatus,
    JsonValue,
    ScheduleSlot,
    SolarSettings,
)
from andersen_ev.operations import call
from andersen_ev.validation import (
    check_amount,
    check_count,
    check_date,
    check_group_by,
    check_id,
    check_slot,
    check_text,
)

__all__ = ["Queries", "device_listing"]


class Queries:
    """The read-only methods of :class:`~andersen_ev.AndersenA2` (a mixin of it).

    Every method takes ``timeout=``: seconds for this call instead of the session's.
    """

    _graphql: GraphQLHttp

    async def get_support_message(self, *, timeout: float | None = None) -> str | None:
        """The banner message the Konnect+ app shows to every user, if any."""
        return await call(self._graphql, ops.GET_SUPPORT_MESSAGE, timeout=timeout)

    async def get_current_user_devices(self, *, timeout: float | None = None) -> list[Device]:
        """The chargers of the logged-in account (id, name, friendly name, firmware)."""
        return await call(self._graphql, ops.GET_CURRENT_USER_DEVICES, timeout=timeout)

    async def get_device(self, device_id: str, *, timeout: float | None = None) -> Device:
        """One charger with its settings (``device_info``) and basic status and schedules.

        Raises:
            DeviceNotFoundError: no such device in this account.
        """
        return await call(
            self._graphql, ops.GET_DEVICE, {"id": check_id(device_id)}, timeout=timeout
        )

    async def get_device_status_simple(
        self, device_id: str, *, timeout: float | None = None
    ) -> DeviceStatus:
        """The few status fields needed most: online, state, schedule and lock flags."""
        variables = {"id": check_id(device_id)}
        return await call(self._graphql, ops.GET_DEVICE_STATUS_SIMPLE, variables, timeout=timeout)

    async def get_device_status(
        self, device_id: str, *, timeout: float | None = None
    ) -> DeviceStatus:
        """The charger's full status: state, power, energy, schedules, solar, diagnostics."""
        variables = {"id": check_id(device_id)}
        return await call(self._graphql, ops.GET_DEVICE_STATUS, variables, timeout=timeout)

    async def get_device_charge_rates(
        self, device_id: str, *, timeout: float | None = None
    ) -> list[ChargeRate]:
        """The electricity tariff periods used to cost charging sessions."""
        variables = {"id": check_id(device_id)}
        return await call(self._graphql, ops.GET_DEVICE_CHARGE_RATES, variables, timeout=timeout)

    async def get_device_lora(self, device_id: str, *, timeout: float | None = None) -> JsonValue:
        """The LoRa devices paired with the charger, as the opaque JSON the API returns."""
        variables = {"id": check_id(device_id)}
        return await call(self._graphql, ops.GET_DEVICE_LORA, variables, timeout=timeout)

    async def get_device_solar(self, device_id: str, *, timeout: float | None = None) -> DeviceInfo:
        """When the solar override started (``solar_override_start`` of the result)."""
        variables = {"id": check_id(device_id)}
        return await call(self._graphql, ops.GET_DEVICE_SOLAR, variables, timeout=timeout)

    async def get_calculated_power_logs_binned(
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
        """Power logs grouped into bins, as the opaque JSON the API returns.

        Args:
            group_by: ``HOUR``, ``DAY``, ``WEEK`` or ``MONTH`` (as reported by users).
        """
        variables = {
            "id": check_id(device_id),
            "dateFrom": check_date(date_from, "date_from"),
            "dateTo": check_date(date_to, "date_to"),
            "binnedMinutes": check_count(binned_minutes, "binned_minutes"),
            "limit": check_count(limit, "limit"),
            "offset": check_count(offset, "offset"),
            "groupBy": check_group_by(group_by),
        }
        operation = ops.GET_CALCULATED_POWER_LOGS_BINNED
        return await call(self._graphql, operation, variables, timeout=timeout)

    async def search_address(
        self,
        address_fragment: str,
        country_code: str | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Address]:
        """Postal addresses matching a fragment (the app's installation wizard)."""
        variables = {
            "addressFragment": check_id(address_fragment, "address_fragment"),
            "countryCode": check_text(country_code, "country_code"),
        }
        return await call(self._graphql, ops.SEARCH_ADDRESS, variables, timeout=timeout)

    async def get_device_calculated_charge_logs(
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
        variables = {
            "id": check_id(device_id),
            "limit": check_count(limit, "limit"),
            "offset": check_count(offset, "offset"),
            "minEnergy": None if min_energy is None else check_amount(min_energy, "min_energy"),
            "dateFrom": check_date(date_from, "date_from"),
        }
        operation = ops.GET_DEVICE_CALCULATED_CHARGE_LOGS
        return await call(self._graphql, operation, variables, timeout=timeout)

    async def get_schedule(
        self, device_id: str, slot_number: int, *, timeout: float | None = None
    ) -> ScheduleSlot:
        """One schedule slot (0-4) as the charger reports it.

        Raises:
            ResponseError: the device did not report that slot.
        """
        slot = check_slot(slot_number)
        device = await self.get_device(device_id, timeout=timeout)
        slots = device.device_status.schedules if device.device_status else ()
        found = slots[slot] if slot < len(slots) else None
        if found is None:
            raise ResponseError(
                f"getDevice: the device reported no schedule slot {slot}",
                operation="getDevice",
                path=f"getDevice.deviceStatus.scheduleSlotsArray.{slot}",
            )
        return found

    async def get_solar(self, device_id: str, *, timeout: float | None = None) -> SolarSettings:
        """The charger's solar settings: override, charge always, grid share (0-100 %).

        Read from the device's status (``solarOverride``, ``solarChargeAlways``,
        ``solarMaxGridChargePercent``), not from the ``getSolar`` query: the real service's
        ``getSolar`` is reported non-functional, and the Home Assistant client that found
        so reads the status instead (see the service notes). The status has no
        ``chargeOutsideSchedules``; ``return_value`` is always None.

        Raises:
            DeviceNotFoundError: no such device in this account.
        """
        status = await self.get_device_status(device_id, timeout=timeout)
        return SolarSettings(
            device_id=status.id or device_id,
            override=status.solar_override,
            charge_always=status.solar_charge_always,
            max_grid_charge_percent=status.solar_max_grid_charge_percent,
        )

    # -- finding a charger ------------------------------------------------------------------

    async def find_device(self, name_or_id: str, *, timeout: float | None = None) -> Device:
        """The charger a person means by ``name_or_id``: the rule the command line uses too.

        Tried in order, the first rule that matches anything decides:

        1. the device id, exactly;
        2. the friendly name (as in the app), exactly;
        3. the friendly name or the device name printed on the unit, ignoring case.

        Raises:
            DeviceNotFoundError: no charger matches; the message lists the account's.
            InvalidInputError: several chargers match the deciding rule: the message lists
                their ids, which are unique.
        """
        wanted = check_id(name_or_id, "name_or_id")
        folded = wanted.casefold()
        devices = await self.get_current_user_devices(timeout=timeout)
        found = _choose(
            devices,
            wanted,
            "called",
            (
                lambda device: device.id == wanted,
                lambda device: device.friendly_name == wanted,
                lambda device: folded in _folded_names(device),
            ),
        )
        if found is None:
            raise DeviceNotFoundError(
                f"no charger called {wanted!r} in this account (by id, friendly name or"
                f" device name); it has {device_listing(devices)}",
                operation=ops.GET_CURRENT_USER_DEVICES.name,
                errors=[],
            )
        return found

    async def device_by_name(self, name: str, *, timeout: float | None = None) -> Device:
        """The charger whose friendly name (as in the app) is exactly ``name``.

        :meth:`find_device` also takes an id, or a name in any case.

        Raises:
            DeviceNotFoundError: no charger has that name.
            InvalidInputError: several chargers share it: use their ids.
        """
        wanted = check_id(name, "name")
        devices = await self.get_current_user_devices(timeout=timeout)
        found = _choose(devices, wanted, "named", (lambda device: device.friendly_name == wanted,))
        if found is None:
            raise DeviceNotFoundError(
                f"no charger named {wanted!r} in this account"
                " (names are case-sensitive; list them with get_current_user_devices())",
                operation=ops.GET_CURRENT_USER_DEVICES.name,
                errors=[],
            )
        return found

    async def device_id_from_name(self, name: str, *, timeout: float | None = None) -> str:
        """The id of the charger whose friendly name is ``name`` (see :meth:`device_by_name`)."""
        return (await self.device_by_name(name, timeout=timeout)).id


def _choose(
    devices: list[Device],
    wanted: str,
    verb: str,
    rules: Sequence[Callable[[Device], bool]],
) -> Device | None:
    """The device matched by the first rule that matches any, or None if none does.

    Raises:
        InvalidInputError: that rule matches several devices.
    """
    for rule in rules:
        matches = [device for device in devices if rule(device)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            ids = ", ".join(device.id for device in matches)
            raise InvalidInputError(
                f"{len(matches)} chargers are {verb} {wanted!r} ({ids}): use a device id instead"
            )
    return None


def _folded_names(device: Device) -> set[str]:
    return {name.casefold() for name in (device.friendly_name, device.name) if name}


def device_listing(devices: list[Device]) -> str:
    """Chargers for a message: ``'Driveway' (id), ...`` (the id alone if unnamed)."""
    if not devices:
        return "no charger"
    return ", ".join(
        f"{device.friendly_name!r} ({device.id})" if device.friendly_name else device.id
        for device in devices
    )
