"""The commands of :class:`~andersen_ev.AndersenA2` on the account and its records.

Names, tariff periods (charge rates), claiming and releasing a charger, the account
holder's name and push-notification tokens: mutations the service stores, which the
charger does not act on, so none of them takes ``confirm=``. Like every command, each
checks all its arguments before anything is sent
(:class:`~andersen_ev.exceptions.InvalidInputError`) and is sent at most once. The
commands that change the charger are in :mod:`andersen_ev.commands`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final

from andersen_ev import operations as ops
from andersen_ev.models import ChargeRate, Device, DeviceInfo
from andersen_ev.operations import call
from andersen_ev.queries import Queries
from andersen_ev.validation import (
    check_amount,
    check_date,
    check_days,
    check_id,
    check_schedule_names,
    check_text,
)

__all__ = ["AccountCommands"]

_WEEKDAY_ARGS: Final = ("dayMon", "dayTue", "dayWed", "dayThu", "dayFri", "daySat", "daySun")


class AccountCommands(Queries):
    """The account's and records' commands of :class:`~andersen_ev.AndersenA2` (a mixin)."""

    async def upsert_device_friendly_name(
        self, device_id: str, friendly_name: str, *, timeout: float | None = None
    ) -> str | None:
        """Rename the charger (as shown in the app); returns the name now stored."""
        variables = {
            "deviceId": check_id(device_id),
            "friendlyName": check_id(friendly_name, "friendly_name"),
        }
        operation = ops.UPSERT_DEVICE_FRIENDLY_NAME
        info = await call(self._graphql, operation, variables, timeout=timeout)
        return info.friendly_name if info else None

    async def set_schedule_names(
        self,
        device_id: str,
        names: Mapping[int, str] | Sequence[str | None],
        *,
        timeout: float | None = None,
    ) -> DeviceInfo:
        """Name schedule slots: ``{0: "Night"}`` or a sequence indexed by slot (None skips).

        Fixes the seed, whose ``set_schedule_names`` sent no names at all.
        """
        variables = {"deviceId": check_id(device_id)} | check_schedule_names(names)
        return await call(self._graphql, ops.SET_SCHEDULE_NAMES, variables, timeout=timeout)

    async def create_charge_rate(
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
        """Add a tariff period (price per kWh); returns it with its new id.

        Fixes the seed, whose ``create_charge_rate`` took no arguments and could not work.

        Args:
            days: Seven booleans, Monday first; every day by default.
        """
        variables = {"deviceId": check_id(device_id)} | _rate_variables(
            price, time_start_local, time_stop_local, start_date_time, stop_date_time, days
        )
        return await call(self._graphql, ops.CREATE_CHARGE_RATE, variables, timeout=timeout)

    async def set_charge_rate(
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
        """Change a tariff period (``updateChargeRate``); returns the service's flag.

        Args:
            days: Seven booleans, Monday first; every day by default.
        """
        variables = {"id": check_id(charge_id, "charge_id")} | _rate_variables(
            price, time_start_local, time_stop_local, start_date_time, stop_date_time, days
        )
        return await call(self._graphql, ops.UPDATE_CHARGE_RATE, variables, timeout=timeout)

    async def delete_charge_rate(
        self, charge_id: str, *, timeout: float | None = None
    ) -> bool | None:
        """Delete a tariff period; returns the service's flag."""
        variables = {"id": check_id(charge_id, "charge_id")}
        return await call(self._graphql, ops.DELETE_CHARGE_RATE, variables, timeout=timeout)

    async def unclaim_device(self, device_id: str, *, timeout: float | None = None) -> bool | None:
        """Release the charger from this account (it must be claimed again to be used)."""
        variables = {"deviceId": check_id(device_id)}
        return await call(self._graphql, ops.UNCLAIM_DEVICE, variables, timeout=timeout)

    async def claim_device_by_name(
        self, device_name: str, *, timeout: float | None = None
    ) -> Device | None:
        """Claim a charger by the device name printed on it; returns it (id and name)."""
        variables = {"deviceName": check_id(device_name, "device_name")}
        return await call(self._graphql, ops.CLAIM_DEVICE_BY_NAME, variables, timeout=timeout)

    async def upsert_account(
        self, first_name: str | None, last_name: str | None, *, timeout: float | None = None
    ) -> bool | None:
        """Set the account holder's name; returns the service's flag."""
        variables = {
            "firstName": check_text(first_name, "first_name"),
            "lastName": check_text(last_name, "last_name"),
        }
        return await call(self._graphql, ops.UPSERT_ACCOUNT, variables, timeout=timeout)

    async def register_mobile_device(
        self, token: str, *, timeout: float | None = None
    ) -> bool | None:
        """Register a push-notification token for this account (rarely needed)."""
        variables = {"token": check_id(token, "token")}
        return await call(self._graphql, ops.REGISTER_MOBILE_DEVICE, variables, timeout=timeout)

    async def unregister_mobile_device(
        self, token: str, *, timeout: float | None = None
    ) -> bool | None:
        """Remove a push-notification token from this account."""
        variables = {"token": check_id(token, "token")}
        operation = ops.UNREGISTER_MOBILE_DEVICE
        return await call(self._graphql, operation, variables, timeout=timeout)


def _rate_variables(
    price: object,
    time_start_local: object,
    time_stop_local: object,
    start_date_time: object,
    stop_date_time: object,
    days: object,
) -> dict[str, Any]:
    """The tariff variables of ``createChargeRate`` and ``updateChargeRate``, checked."""
    return {
        "price": check_amount(price, "price"),
        "timeStartLocal": check_text(time_start_local, "time_start_local"),
        "timeStopLocal": check_text(time_stop_local, "time_stop_local"),
        "startDateTime": check_date(start_date_time, "start_date_time"),
        "stopDateTime": check_date(stop_date_time, "stop_date_time"),
        **dict(zip(_WEEKDAY_ARGS, check_days(days), strict=True)),
    }
