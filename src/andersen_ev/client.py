"""`AndersenA2`: the session object of the library and every operation of the API.

One ``AndersenA2`` owns, for its lifetime, the Cognito tokens (through an
:class:`~andersen_ev.auth.Authenticator`) and one ``aiohttp.ClientSession``, which it creates
lazily when none is given and closes only if it created it. Every method of the original
(synchronous) ``andersen-ev`` library is here under the same name and with the same
positional arguments, awaited, returning typed models instead of dicts.
"""

from __future__ import annotations

import math
import platform
import ssl
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from types import TracebackType
from typing import Any, Final, Self, TypeVar

import aiohttp
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, create_model

from andersen_ev import control, diagnostics
from andersen_ev.auth import DEFAULT_REFRESH_MARGIN, Authenticator, Tokens, TokensCallback
from andersen_ev.const import DEFAULT_TIMEOUT, PRODUCTION, Endpoints
from andersen_ev.control import ChargeNow
from andersen_ev.exceptions import (
    AndersenError,
    AndersenTimeoutError,
    CommandNotConfirmedError,
    DeviceNotFoundError,
    InvalidInputError,
    ResponseError,
)
from andersen_ev.http import GraphQLHttp
from andersen_ev.models import (
    Address,
    ChargeLog,
    ChargeRate,
    CommandResult,
    Device,
    DeviceInfo,
    DeviceStatus,
    Schedule,
    ScheduleSlot,
    SolarSettings,
)
from andersen_ev.retry import RetryPolicy
from andersen_ev.stream import (
    DeviceUpdates,
    StateCallback,
    StreamManager,
    StreamSettings,
    StreamState,
)
from andersen_ev.validation import (
    SlotSchedules,
    check_id,
    check_percentage,
    check_schedule,
    check_slot,
    check_slots,
)

__all__ = ["AndersenA2"]

_M = TypeVar("_M", bound=BaseModel)

#: Seconds ``confirm=True`` waits for a command's effect to show in the status.
DEFAULT_CONFIRM_TIMEOUT: Final = 30.0
#: Seconds between status reads while confirming (other clients wait ~1.5 s).
DEFAULT_CONFIRM_INTERVAL: Final = 1.5
#: The schedule ``create_schedule`` writes when given none (the seed's default).
DEFAULT_SCHEDULE: Final = Schedule(start_hour=0, start_minute=30, end_hour=4, end_minute=30)
_WEEKDAY_ARGS: Final = ("dayMon", "dayTue", "dayWed", "dayThu", "dayFri", "daySat", "daySun")

Confirm = bool | float
"""``confirm=``: False (default), True (wait up to 30 s) or a timeout in seconds."""


class AndersenA2:
    """An asyncio session with the Andersen cloud, for one user.

    Args:
        session: An aiohttp session to share; by default one is created on first use and
            closed by :meth:`close`. A session passed in is never closed here.
        endpoints: Where the cloud lives: production by default, or an emulator's
            ``AndersenCloud.endpoints``.
        tokens: Saved :class:`~andersen_ev.Tokens` to start from: no password is needed
            while their refresh token is valid.
        on_tokens_updated: Called (sync or async) with the new tokens whenever they change
            (login, refresh, device confirmation), and with None after :meth:`sign_out`:
            save them there, e.g. ``TokenStore(path).update``.
        refresh_margin: Seconds before expiry at which tokens are refreshed.
        timeout: Seconds allowed per request (Cognito and GraphQL); each method also takes
            ``timeout=`` for one call.
        retry: How queries are retried on connection errors, 5xx and 429 (mutations are
            never retried once they may have reached the service).
        confirm_interval: Seconds between status reads while a command is confirmed.
        stream_settings: How device update streams reconnect and detect dead connections.
        verify_tls: How the TLS certificates of the cloud and of Cognito are checked, for
            every request and websocket of the session this object creates: True (the
            default) verifies them against the system's trusted CAs; an
            ``ssl.SSLContext`` verifies with it (e.g. one that trusts a private CA);
            False turns verification off, which lets anyone on the network read and
            change the traffic, tokens included: only for tests against a local server.
            With ``session=``, that session's own settings apply and this must stay True.

    Attributes:
        endpoints: Where the cloud lives.
        auth: The token lifecycle (``id_token()``, ``invalidate()``, ``refresh()`` ...).
        streams: The websocket shared by every device update stream (state, stats).

    Use it as an async context manager::

        async with AndersenA2() as a2:
            await a2.authenticate(email, password)
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        endpoints: Endpoints = PRODUCTION,
        tokens: Tokens | None = None,
        on_tokens_updated: TokensCallback | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        confirm_interval: float = DEFAULT_CONFIRM_INTERVAL,
        stream_settings: StreamSettings | None = None,
        verify_tls: bool | ssl.SSLContext = True,
    ) -> None:
        if session is not None and verify_tls is not True:
            raise InvalidInputError(
                "verify_tls applies to the aiohttp session AndersenA2 creates: configure the"
                " connector of the session you pass instead (aiohttp.TCPConnector(ssl=...))"
            )
        self._verify_tls = verify_tls
        self.endpoints = endpoints
        self.confirm_interval = confirm_interval
        self._saved_states: dict[str, ChargeNow] = {}
        self._session = session
        self._owns_session = session is None
        self._closed = False
        self.auth = Authenticator(
            self._http,
            endpoints,
            tokens=tokens,
            on_tokens_updated=on_tokens_updated,
            refresh_margin=refresh_margin,
            timeout=timeout,
        )
        self._graphql = GraphQLHttp(
            self._http,
            endpoints.graphql_url,
            self.auth,
            timeout=timeout,
            retry=retry or RetryPolicy(),
        )
        self.streams = StreamManager(
            self._http, endpoints.websocket_url, self.auth, self.get_device_status, stream_settings
        )

    def __repr__(self) -> str:
        return f"AndersenA2(graphql_url={self.endpoints.graphql_url!r}, auth={self.auth!r})"

    def _http(self) -> aiohttp.ClientSession:
        """The shared aiohttp session, created on first use when none was given."""
        if self._closed:
            raise AndersenError("this AndersenA2 is closed: create a new one")
        if self._session is None:
            # TLS settings live on the connector: GraphQL, Cognito and websockets all use it
            connector = aiohttp.TCPConnector(ssl=self._verify_tls)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    @property
    def tokens(self) -> Tokens | None:
        """The current tokens (None before :meth:`authenticate` and after :meth:`sign_out`).

        ``a2.tokens.model_dump_json()`` is what to save; ``AndersenA2(tokens=...)`` resumes.
        """
        return self.auth.tokens

    async def authenticate(self, email: str, password: str) -> Tokens:
        """Log in with the Konnect+ email and password.

        Needed once: afterwards the tokens are refreshed without the password, and, after
        :meth:`confirm_device`, saved tokens let later sessions start without it.

        Returns:
            The new tokens (the seed returned the id token string instead; use
            ``tokens.id_token.get_secret_value()`` for that).

        Raises:
            InvalidCredentialsError: unknown email or wrong password.
            UnsupportedChallengeError: the account needs MFA or a new password.
            AuthenticationError: the account is locked, unconfirmed or disabled.
        """
        return await self.auth.login(email, password)

    async def confirm_device(self, name: str | None = None) -> Tokens:
        """Remember this device at Cognito (see :meth:`Authenticator.confirm_device`).

        Args:
            name: How the device shows in the account's device list; by default
                ``andersen-ev on <host name>``.

        Returns:
            The tokens, now holding the device secret: save them instead of the password.
        """
        return await self.auth.confirm_device(name or f"andersen-ev on {platform.node()}")

    async def forget_device(self) -> None:
        """Stop remembering this device (see :meth:`Authenticator.forget_device`)."""
        await self.auth.forget_device()

    async def sign_out(self) -> None:
        """Revoke the tokens at Cognito and forget them (see :meth:`Authenticator.sign_out`)."""
        await self.auth.sign_out()

    # -- live status -------------------------------------------------------------------------

    def subscribe_device_updates(self, device_id: str, *more_device_ids: str) -> DeviceUpdates:
        """Live statuses of one or more chargers: ``async for status in ...``.

        Every stream of this session shares one websocket, which reconnects by itself
        (see :mod:`andersen_ev.stream`). Each iteration first yields a
        :class:`~andersen_ev.stream.StatusSnapshot` of every device, after each
        (re)connect, then live events; ``status.id`` says which charger.

        Raises:
            InvalidInputError: an id is not a non-empty string.
            DeviceNotFoundError: (while iterating) a device is not in this account.
            ApiError: (while iterating) the service rejected the subscription.
            ReauthRequiredError: (while iterating) the session needs a new login.
        """
        return self.streams.subscribe(device_id, *more_device_ids)

    @property
    def stream_state(self) -> StreamState:
        """Whether live updates flow: connected, connecting, reconnecting or closed."""
        return self.streams.state

    def on_stream_state(self, callback: StateCallback) -> Callable[[], None]:
        """Call ``callback(state)`` on every stream state change; returns its remover."""
        return self.streams.on_state(callback)

    # -- plumbing ----------------------------------------------------------------------------

    async def _run(
        self,
        operation: str,
        variables: Mapping[str, Any] | None = None,
        *,
        mutation: bool = False,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        result = await self._graphql.execute(
            operation, variables, mutation=mutation, timeout=timeout
        )
        return result.data

    async def _mutate_scalar(
        self, operation: str, variables: Mapping[str, Any], timeout: float | None
    ) -> Any:
        """Run a mutation whose root field (named like it) answers a bare value."""
        data = await self._run(operation, variables, mutation=True, timeout=timeout)
        return data.get(operation)

    @staticmethod
    def _parse(adapter: TypeAdapter[_T], value: Any, operation: str, path: str) -> _T:
        """Validate part of a reply; a mismatch becomes a ResponseError naming the path."""
        try:
            return adapter.validate_python(value)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join([path, *(str(part) for part in error["loc"])])
            raise ResponseError(
                f"{operation}: unexpected value at {where}: {error['msg']}",
                operation=operation,
                path=where,
            ) from None

    async def _device(
        self, operation: str, device_id: str, *, timeout: float | None, **variables: Any
    ) -> dict[str, Any]:
        """Run a ``getDevice``-rooted query; the device must exist."""
        data = await self._run(operation, {"id": check_id(device_id), **variables}, timeout=timeout)
        return _device_of(operation, device_id, data)

    # -- queries -----------------------------------------------------------------------------

    async def get_support_message(self, *, timeout: float | None = None) -> str | None:
        """The banner message the Konnect+ app shows to every user, if any."""
        data = await self._run("getSupportMessage", timeout=timeout)
        return self._parse(
            _OPTIONAL_TEXT, data.get("getSupportMessage"), "getSupportMessage", "getSupportMessage"
        )

    async def get_current_user_devices(self, *, timeout: float | None = None) -> list[Device]:
        """The chargers of the logged-in account (id, name, friendly name, firmware)."""
        data = await self._run("getCurrentUserDevices", timeout=timeout)
        devices = self._parse(
            _DEVICES,
            data.get("getCurrentUserDevices") or [],
            "getCurrentUserDevices",
            "getCurrentUserDevices",
        )
        return [device for device in devices if device is not None]

    async def get_device(self, device_id: str, *, timeout: float | None = None) -> Device:
        """One charger with its settings (``device_info``) and basic status and schedules.

        Raises:
            DeviceNotFoundError: no such device in this account.
        """
        device = await self._device("getDevice", device_id, timeout=timeout)
        return self._parse(_DEVICE, device, "getDevice", "getDevice")

    async def get_device_status_simple(
        self, device_id: str, *, timeout: float | None = None
    ) -> DeviceStatus:
        """The few status fields needed most: online, state, schedule and lock flags."""
        return await self._status("getDeviceStatusSimple", device_id, timeout)

    async def get_device_status(
        self, device_id: str, *, timeout: float | None = None
    ) -> DeviceStatus:
        """The charger's full status: state, power, energy, schedules, solar, diagnostics."""
        return await self._status("getDeviceStatus", device_id, timeout)

    async def _status(self, operation: str, device_id: str, timeout: float | None) -> DeviceStatus:
        result = await self._graphql.execute(
            operation, {"id": check_id(device_id)}, timeout=timeout
        )
        fast = result.validate(_STATUS_ENVELOPE)
        if fast is not None:  # the common case: validated straight from the JSON text
            status: DeviceStatus = fast.data.getDevice.deviceStatus
            return status
        device = _device_of(operation, device_id, result.data)
        status_or_none = self._parse(
            _OPTIONAL_STATUS, device.get("deviceStatus"), operation, "getDevice.deviceStatus"
        )
        if status_or_none is None:
            raise ResponseError(
                f"{operation}: the device has no status",
                operation=operation,
                path="getDevice.deviceStatus",
            )
        return status_or_none

    async def get_device_charge_rates(
        self, device_id: str, *, timeout: float | None = None
    ) -> list[ChargeRate]:
        """The electricity tariff periods used to cost charging sessions."""
        device = await self._device("getDeviceChargeRates", device_id, timeout=timeout)
        rates = self._parse(
            _RATES,
            device.get("deviceChargeRates") or [],
            "getDeviceChargeRates",
            "getDevice.deviceChargeRates",
        )
        return [rate for rate in rates if rate is not None]

    async def get_device_lora(self, device_id: str, *, timeout: float | None = None) -> Any:
        """The LoRa devices paired with the charger, as the opaque JSON the API returns."""
        device = await self._device("getDeviceLora", device_id, timeout=timeout)
        info = device.get("deviceInfo")
        return info.get("loraDevices") if isinstance(info, dict) else None

    async def get_device_solar(self, device_id: str, *, timeout: float | None = None) -> DeviceInfo:
        """When the solar override started (``solar_override_start`` of the result)."""
        device = await self._device("getDeviceSolar", device_id, timeout=timeout)
        return self._parse(
            _INFO, device.get("deviceInfo") or {}, "getDeviceSolar", "getDevice.deviceInfo"
        )

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
    ) -> Any:
        """Power logs grouped into bins, as the opaque JSON the API returns.

        Args:
            group_by: ``HOUR``, ``DAY``, ``WEEK`` or ``MONTH`` (as reported by users).
        """
        variables = {
            "dateFrom": _iso(date_from),
            "dateTo": _iso(date_to),
            "binnedMinutes": _optional_count(binned_minutes, "binned_minutes"),
            "limit": _optional_count(limit, "limit"),
            "offset": _optional_count(offset, "offset"),
            "groupBy": _group_by(group_by),
        }
        device = await self._device(
            "getCalculatedPowerLogsBinned", device_id, timeout=timeout, **variables
        )
        return device.get("deviceCalculatedPowerLogsBinned")

    async def search_address(
        self,
        address_fragment: str,
        country_code: str | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Address]:
        """Postal addresses matching a fragment (the app's installation wizard)."""
        fragment = check_id(address_fragment, "address_fragment")
        data = await self._run(
            "searchAddress",
            {"addressFragment": fragment, "countryCode": country_code},
            timeout=timeout,
        )
        addresses = self._parse(
            _ADDRESSES, data.get("searchAddress") or [], "searchAddress", "searchAddress"
        )
        return [address for address in addresses if address is not None]

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
        if min_energy is not None and not _non_negative(min_energy):
            raise InvalidInputError(f"min_energy must be a non-negative number, got {min_energy!r}")
        variables = {
            "limit": _optional_count(limit, "limit"),
            "offset": _optional_count(offset, "offset"),
            "minEnergy": min_energy,
            "dateFrom": _iso(date_from),
        }
        device = await self._device(
            "getDeviceCalculatedChargeLogs", device_id, timeout=timeout, **variables
        )
        logs = self._parse(
            _LOGS,
            device.get("deviceCalculatedChargeLogs") or [],
            "getDeviceCalculatedChargeLogs",
            "getDevice.deviceCalculatedChargeLogs",
        )
        return [log for log in logs if log is not None]

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
        """Solar settings from ``getSolar``.

        Reported unreliable on some accounts: the same values are in
        :meth:`get_device_status` as ``solar_override``, ``solar_charge_always`` and
        ``solar_max_grid_charge_percent``.
        """
        data = await self._run("getSolar", {"deviceId": check_id(device_id)}, timeout=timeout)
        solar = self._parse(_OPTIONAL_SOLAR, data.get("getSolar"), "getSolar", "getSolar")
        return solar or SolarSettings(device_id=device_id)

    async def device_by_name(self, name: str, *, timeout: float | None = None) -> Device:
        """The charger whose friendly name (as in the app) is ``name``.

        Raises:
            DeviceNotFoundError: no charger has that name.
            InvalidInputError: several chargers share it: use their ids.
        """
        wanted = check_id(name, "name")
        matches = [
            device
            for device in await self.get_current_user_devices(timeout=timeout)
            if device.friendly_name == wanted
        ]
        if not matches:
            raise DeviceNotFoundError(
                f"no charger named {wanted!r} in this account"
                " (names are case-sensitive; list them with get_current_user_devices())",
                operation="getCurrentUserDevices",
                errors=[],
            )
        if len(matches) > 1:
            ids = ", ".join(device.id for device in matches)
            raise InvalidInputError(
                f"{len(matches)} chargers are named {wanted!r} ({ids}): use a device id instead"
            )
        return matches[0]

    async def device_id_from_name(self, name: str, *, timeout: float | None = None) -> str:
        """The id of the charger whose friendly name is ``name`` (see :meth:`device_by_name`)."""
        return (await self.device_by_name(name, timeout=timeout)).id

    # -- mutations ---------------------------------------------------------------------------

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
        data = await self._run(
            "runAEVCommand",
            {
                "deviceId": check_id(device_id),
                "functionName": check_id(function_name, "function_name"),
                "params": param_string,
            },
            mutation=True,
            timeout=timeout,
        )
        return self._parse(
            _OPTIONAL_RESULT, data.get("runAEVCommand"), "runAEVCommand", "runAEVCommand"
        )

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

    async def _set_lock(
        self, device_id: str, *, locked: bool, confirm: Confirm, timeout: float | None
    ) -> CommandResult | None:
        command = "userLock" if locked else "userUnlock"
        result = await self.run_aev_command(device_id, command, timeout=timeout)
        await self._confirm(device_id, command, confirm, lambda s: s.sys_user_lock is locked)
        return result

    async def set_schedules(
        self,
        device_id: str,
        slots: SlotSchedules,
        *,
        timeout: float | None = None,
    ) -> CommandResult | None:
        """Write the given schedule slots (others are left as they are).

        Args:
            slots: Schedules keyed by slot, ``0``-``4`` or the seed's ``"sch0"``-``"sch4"``;
                each a :class:`Schedule` or the seed's camelCase dict. All are validated
                before anything is sent.
        """
        variables = {"deviceId": check_id(device_id), "scheduleSlots": check_slots(slots)}
        data = await self._run("setSchedules", variables, mutation=True, timeout=timeout)
        return self._parse(
            _OPTIONAL_RESULT, data.get("setSchedules"), "setSchedules", "setSchedules"
        )

    async def create_schedule(
        self,
        device_id: str,
        slot_number: int,
        schedule: Schedule | Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> CommandResult | None:
        """Write one schedule slot (0-4); without ``schedule``, 00:30-04:30 every day."""
        slot = check_slot(slot_number)
        chosen = DEFAULT_SCHEDULE if schedule is None else check_schedule(schedule, slot)
        return await self.set_schedules(device_id, {slot: chosen}, timeout=timeout)

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
        current = await self.get_schedule(device_id, slot, timeout=timeout)
        try:
            schedule = Schedule.model_validate(
                current.model_dump(exclude_none=True) | {"enabled": bool(enabled)}
            )
        except ValidationError:
            raise ResponseError(
                f"getDevice: schedule slot {slot} is incomplete on the charger; write it"
                " with create_schedule() first",
                operation="getDevice",
                path=f"getDevice.deviceStatus.scheduleSlotsArray.{slot}",
            ) from None
        result = await self.set_schedules(device_id, {slot: schedule}, timeout=timeout)

        def applied(status: DeviceStatus) -> bool:
            slots = status.schedules
            return (
                slot < len(slots)
                and slots[slot] is not None
                and (
                    slots[slot].enabled is bool(enabled)  # type: ignore[union-attr]
                )
            )

        await self._confirm(device_id, "setSchedules", confirm, applied)
        return result

    async def set_all_schedules_disabled(
        self, device_id: str, *, confirm: Confirm = False, timeout: float | None = None
    ) -> CommandResult | None:
        """Disable every schedule and unlock the charger: a connected car starts charging.

        Raises:
            CommandNotConfirmedError: ``confirm`` was asked and the change never showed.
        """
        data = await self._run(
            "setAllSchedulesDisabled",
            {"deviceId": check_id(device_id)},
            mutation=True,
            timeout=timeout,
        )
        result = self._parse(
            _OPTIONAL_RESULT,
            data.get("setAllSchedulesDisabled"),
            "setAllSchedulesDisabled",
            "setAllSchedulesDisabled",
        )

        def applied(status: DeviceStatus) -> bool:
            return status.sys_user_lock is False and all(
                slot is None or not slot.enabled for slot in status.schedules
            )

        await self._confirm(device_id, "setAllSchedulesDisabled", confirm, applied)
        return result

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
            "chargeOutsideSchedules": charge_outside_schedules,
        }
        data = await self._run("setSolar", variables, mutation=True, timeout=timeout)
        result = self._parse(_OPTIONAL_RESULT, data.get("setSolar"), "setSolar", "setSolar")

        def applied(status: DeviceStatus) -> bool:
            return (
                status.solar_override is bool(override)
                and status.solar_charge_always is bool(charge_always)
                and status.solar_max_grid_charge_percent == percent
            )

        await self._confirm(device_id, "setSolar", confirm, applied)
        return result

    async def upsert_device_friendly_name(
        self, device_id: str, friendly_name: str, *, timeout: float | None = None
    ) -> str | None:
        """Rename the charger (as shown in the app); returns the name now stored."""
        variables = {
            "deviceId": check_id(device_id),
            "friendlyName": check_id(friendly_name, "friendly_name"),
        }
        data = await self._run(
            "upsertDeviceFriendlyName", variables, mutation=True, timeout=timeout
        )
        info = self._parse(
            _OPTIONAL_INFO,
            data.get("upsertDeviceInfo"),
            "upsertDeviceFriendlyName",
            "upsertDeviceInfo",
        )
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
        pairs = names.items() if isinstance(names, Mapping) else enumerate(names)
        variables: dict[str, Any] = {"deviceId": check_id(device_id)}
        for slot_number, name in pairs:
            slot = check_slot(slot_number)
            if name is not None:
                if not isinstance(name, str):
                    raise InvalidInputError(f"schedule name for slot {slot} must be a string")
                variables[f"schedule{slot}Name"] = name
        if len(variables) == 1:
            raise InvalidInputError("names must give at least one schedule name")
        data = await self._run("setScheduleNames", variables, mutation=True, timeout=timeout)
        return self._parse(
            _INFO, data.get("upsertDeviceInfo") or {}, "setScheduleNames", "upsertDeviceInfo"
        )

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
        data = await self._run("createChargeRate", variables, mutation=True, timeout=timeout)
        return self._parse(
            _RATE, data.get("createChargeRate"), "createChargeRate", "createChargeRate"
        )

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
    ) -> Any:
        """Change a tariff period (``updateChargeRate``); returns the service's answer."""
        variables = {"id": check_id(charge_id, "charge_id")} | _rate_variables(
            price, time_start_local, time_stop_local, start_date_time, stop_date_time, days
        )
        return await self._mutate_scalar("updateChargeRate", variables, timeout)

    async def delete_charge_rate(self, charge_id: str, *, timeout: float | None = None) -> Any:
        """Delete a tariff period; returns the service's answer."""
        return await self._mutate_scalar(
            "deleteChargeRate", {"id": check_id(charge_id, "charge_id")}, timeout
        )

    async def unclaim_device(self, device_id: str, *, timeout: float | None = None) -> Any:
        """Release the charger from this account (it must be claimed again to be used)."""
        return await self._mutate_scalar(
            "unclaimDevice", {"deviceId": check_id(device_id)}, timeout
        )

    async def claim_device_by_name(
        self, device_name: str, *, timeout: float | None = None
    ) -> Device | None:
        """Claim a charger by the device name printed on it; returns it (id and name)."""
        data = await self._run(
            "claimDeviceByName",
            {"deviceName": check_id(device_name, "device_name")},
            mutation=True,
            timeout=timeout,
        )
        return self._parse(
            _OPTIONAL_DEVICE,
            data.get("claimDeviceByName"),
            "claimDeviceByName",
            "claimDeviceByName",
        )

    async def upsert_account(
        self, first_name: str | None, last_name: str | None, *, timeout: float | None = None
    ) -> Any:
        """Set the account holder's name; returns the service's answer."""
        return await self._mutate_scalar(
            "upsertAccount", {"firstName": first_name, "lastName": last_name}, timeout
        )

    async def register_mobile_device(self, token: str, *, timeout: float | None = None) -> Any:
        """Register a push-notification token for this account (rarely needed)."""
        return await self._mutate_scalar(
            "registerMobileDevice", {"token": check_id(token, "token")}, timeout
        )

    async def unregister_mobile_device(self, token: str, *, timeout: float | None = None) -> Any:
        """Remove a push-notification token from this account."""
        return await self._mutate_scalar(
            "unregisterMobileDevice", {"token": check_id(token, "token")}, timeout
        )

    # -- charging control -------------------------------------------------------------------

    async def charge_now(self, device_id: str, *, confirm: Confirm = True) -> ChargeNow:
        """Start charging regardless of schedules: disable every schedule and unlock.

        The lock state and the five schedule slots are read first and kept, so that
        :meth:`restore` (or the returned handle's ``restore()``) puts back exactly what
        was there. A failure part-way puts the saved state back before raising.

        Raises:
            ResponseError: the charger reported no lock state or an incomplete schedule,
                which could not be restored exactly (nothing was changed).
            CommandNotConfirmedError: the change never showed in the status.
        """
        handle = await control.charge_now(self, check_id(device_id), confirm=confirm)
        self._saved_states[device_id] = handle
        return handle

    async def restore(self, device_id: str, *, confirm: Confirm = True) -> None:
        """Put back what the last :meth:`charge_now` on this charger changed.

        Raises:
            InvalidInputError: nothing was saved for this charger.
            RestoreError: some of it could not be put back; the message says what.
        """
        handle = self._saved_states.get(check_id(device_id))
        if handle is None or handle.restored:
            raise InvalidInputError(
                f"nothing to restore on device {device_id}: charge_now() was not called"
                " on this session, or it was restored already"
            )
        await handle.restore(confirm=confirm)

    def temporarily_unlocked(
        self, device_id: str, *, confirm: Confirm = True
    ) -> AbstractAsyncContextManager[ChargeNow]:
        """``async with``: :meth:`charge_now` for the block, restored on exit, error or cancel.

        Example::

            async with a2.temporarily_unlocked(device_id):
                await a2.wait_for(device_id, lambda s: s.is_charging, timeout=60)
        """
        return control.temporarily_unlocked(self, check_id(device_id), confirm=confirm)

    async def is_car_connected(
        self, device_id: str, probe: bool = False, *, probe_timeout: float = 30.0
    ) -> bool | None:
        """Whether a car is plugged in.

        From ``evseState``: connected or charging means yes, ready means no. When the
        charger is locked or held by a schedule (255) the state cannot tell, and the answer
        is None unless ``probe=True``: then the charger is briefly unlocked (with schedules
        disabled), the state is watched, and everything is restored, also on error.
        """
        return await control.is_car_connected(
            self, check_id(device_id), probe=probe, probe_timeout=probe_timeout
        )

    async def wait_for(
        self,
        device_id: str,
        predicate: Callable[[DeviceStatus], bool],
        timeout: float | None = None,
    ) -> DeviceStatus:
        """Wait until the charger's status satisfies ``predicate``; returns that status.

        Args:
            timeout: Seconds (30 by default).

        Raises:
            AndersenTimeoutError: not within ``timeout``.
        """
        return await control.wait_for_status(
            self,
            check_id(device_id),
            predicate,
            timeout=DEFAULT_CONFIRM_TIMEOUT if timeout is None else timeout,
            interval=self.confirm_interval,
        )

    async def diagnostics(self) -> dict[str, Any]:
        """A redacted snapshot to attach to a bug report.

        Library and schema versions, token expiry and whether a device is remembered,
        and each charger's status; never a secret, address, location, IP address or
        Wi-Fi name.
        """
        return await diagnostics.snapshot(self)

    async def _confirm(
        self,
        device_id: str,
        command: str,
        confirm: Confirm,
        applied: Callable[[DeviceStatus], bool],
    ) -> None:
        """Wait until ``applied`` holds, if ``confirm`` asks for it."""
        if confirm is False:
            return
        limit = DEFAULT_CONFIRM_TIMEOUT if confirm is True else float(confirm)
        if limit <= 0:
            raise InvalidInputError(f"confirm must be True or a positive timeout, got {confirm!r}")
        try:
            await self.wait_for(device_id, applied, limit)
        except AndersenTimeoutError:
            raise CommandNotConfirmedError(
                device_id=device_id, command=command, timeout=limit
            ) from None

    async def close(self) -> None:
        """End the streams, then close the aiohttp session if this object created it.

        Idempotent. Device update iterators end quietly.
        """
        await self.streams.close()
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _device_of(operation: str, device_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The ``getDevice`` object of a reply; the device must exist."""
    device = data.get("getDevice")
    if device is None:
        raise DeviceNotFoundError(
            f"{operation}: no device {device_id!r} in this account"
            " (check the id with get_current_user_devices())",
            operation=operation,
            errors=[],
        )
    if not isinstance(device, dict):
        raise ResponseError(
            f"{operation}: getDevice is not an object", operation=operation, path="getDevice"
        )
    return device


def _envelope(leaf: Any, *path: str) -> TypeAdapter[Any]:
    """An adapter validating a whole reply ``{"data": {path...: leaf}}`` from its JSON."""
    inner: Any = leaf
    for key in reversed(("data", *path)):
        fields: dict[str, Any] = {key: (inner, ...)}
        inner = create_model(f"_Reply_{key}", __config__=_ENVELOPE_CONFIG, **fields)
    return TypeAdapter(inner)


def _iso(value: date | datetime | str | None) -> str | None:
    """A ``Date`` variable: ISO-8601 text."""
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def _non_negative(value: object) -> bool:
    """A finite number >= 0 (JSON has no NaN or infinity: the service would refuse them)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _optional_count(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError(f"{name} must be a non-negative integer, got {value!r}")
    return value


_GROUPS: Final = ("HOUR", "DAY", "WEEK", "MONTH")


def _group_by(value: str | None) -> str | None:
    if value is None:
        return None
    upper = value.upper() if isinstance(value, str) else value
    if upper not in _GROUPS:
        raise InvalidInputError(f"group_by must be one of {', '.join(_GROUPS)}, got {value!r}")
    return upper


def _rate_variables(
    price: float,
    time_start_local: str | None,
    time_stop_local: str | None,
    start_date_time: date | datetime | str | None,
    stop_date_time: date | datetime | str | None,
    days: Sequence[bool] | None,
) -> dict[str, Any]:
    if not _non_negative(price):
        raise InvalidInputError(f"price must be a non-negative number, got {price!r}")
    chosen = [True] * 7 if days is None else list(days)
    if len(chosen) != 7 or not all(isinstance(day, bool) for day in chosen):  # noqa: PLR2004
        raise InvalidInputError("days must be seven booleans, Monday first")
    return {
        "price": float(price),
        "timeStartLocal": time_start_local,
        "timeStopLocal": time_stop_local,
        "startDateTime": _iso(start_date_time),
        "stopDateTime": _iso(stop_date_time),
        **dict(zip(_WEEKDAY_ARGS, chosen, strict=True)),
    }


_T = TypeVar("_T")
_OPTIONAL_TEXT: Final = TypeAdapter(str | None)
_DEVICE: Final = TypeAdapter(Device)
_OPTIONAL_DEVICE: Final = TypeAdapter(Device | None)
_DEVICES: Final = TypeAdapter(list[Device | None])
_OPTIONAL_STATUS: Final = TypeAdapter(DeviceStatus | None)
_INFO: Final = TypeAdapter(DeviceInfo)
_OPTIONAL_INFO: Final = TypeAdapter(DeviceInfo | None)
_RATE: Final = TypeAdapter(ChargeRate)
_RATES: Final = TypeAdapter(list[ChargeRate | None])
_LOGS: Final = TypeAdapter(list[ChargeLog | None])
_ADDRESSES: Final = TypeAdapter(list[Address | None])
_OPTIONAL_RESULT: Final = TypeAdapter(CommandResult | None)
_OPTIONAL_SOLAR: Final = TypeAdapter(SolarSettings | None)
_ENVELOPE_CONFIG: Final = ConfigDict(extra="ignore", frozen=True)
_STATUS_ENVELOPE: Final = _envelope(DeviceStatus, "getDevice", "deviceStatus")
