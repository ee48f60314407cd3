"""A simulated Andersen A2 charger, with a simulated car that tests drive step by step.

The charger keeps its state in the wire format of the GraphQL schema (camelCase keys):
:meth:`Charger.status` is a complete ``DeviceStatus`` object and :meth:`Charger.info` a
``DeviceInfo`` object. Every state change publishes the new status on the cloud's
:class:`~andersen_ev.testing.state.StatusHub`, which is what ``deviceStatusUpdated``
subscribers receive.

The model, in short:

* ``evseState`` is derived, never stored: 4 on a fault (:meth:`Charger.set_error`), 254
  when asleep (:meth:`Charger.set_sleeping`), 255 when user-locked or when schedules are
  enabled and the charger's local time is outside every enabled slot (``sysScheduleLock``),
  otherwise 1 with no car, 3 while the car draws power, and 2 when a car is plugged in but
  not drawing (just plugged in, full, or no power allowed by the solar settings).
* Time is simulated: :meth:`Charger.advance` moves the charger's clock. While charging,
  power ramps up at :data:`RAMP_KW_PER_SECOND` to the limit (the car's maximum, the
  charger's maximum and, in solar mode, the solar surplus plus the grid allowance),
  energy grows as the integral of power, and the session's ``duration`` counts charging
  seconds. The car stops drawing when it has the energy it wanted.
* A session starts when energy first flows after a plug-in (``chargeStatus.start``) and
  ends when the car is unplugged; a session that delivered energy is then appended to the
  charge log. ``chargeStatus`` shows the current or last session.
* Offline (:meth:`Charger.set_online`): the cloud keeps showing the last status it had
  (``online`` false, ``lastEventAge`` growing) while the device itself carries on; device
  commands (lock, unlock, schedules, solar, RCM reset) are queued and run, in order, when
  the device is back online. Cloud-side data (names, charge rates) changes at once.
* ``runAEVCommand`` with a function name other than ``userLock``, ``userUnlock`` and
  ``rcmReset`` is refused with a GraphQL error (``BAD_USER_INPUT``), as the device cloud
  answers "function not found"; known functions answer a null ``return_value``.
"""

from __future__ import annotations

import copy
import logging
import math
import re
import uuid
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from andersen_ev.testing import sample_data
from andersen_ev.testing.sample_data import ChargeSession, InputError, iso, parse_date
from andersen_ev.testing.state import StatusHub

__all__ = ["Car", "Charger", "InputError", "ScheduleSlot"]

_LOG = logging.getLogger(__name__)

#: The A2's maximum power (32 A), to which ``solarMaxGridChargePercent`` is relative.
RATED_POWER_KW: Final = 7.2
#: The least power the charger offers (6 A); solar mode pauses below it.
MIN_POWER_KW: Final = 1.4
#: How fast the charging power rises towards its limit.
RAMP_KW_PER_SECOND: Final = 1.0
#: Household consumption besides the car, for ``sysGridPower``.
HOUSE_LOAD_KW: Final = 0.4
#: Where a charger's clock starts unless told otherwise: a Monday noon, GMT.
DEFAULT_START: Final = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)

READY, CONNECTED, CHARGING, ERROR, SLEEPING, DISABLED = 1, 2, 3, 4, 254, 255
DAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SLOT_KEYS: Final = tuple(f"sch{n}" for n in range(5))
COMMANDS: Final = frozenset({"userLock", "userUnlock", "rcmReset"})

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE_US: Final = 60_000_000
_TIME_LOCAL = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def _lora(eui: str, rssi: int, *, on: bool) -> dict[str, Any]:
    return {"cfg": 1 if on else 0, "epow": 14 if on else 0, "on": on, "rssi": rssi, "eui": eui}


#: DeviceStatus fields the charger stores (everything else in ``status()`` is derived).
_STORED_STATUS: Final[dict[str, Any]] = {
    "konnectSerial": None,  # set per device in __init__
    "online": True,
    "evseResponseTime": 112,
    "evseChargeAmpCurrentLimit": 32.0,
    "sysUserLock": False,
    "sysRssi": -60,
    "sysSSID": "HomeWiFi",
    "sysLan": False,
    "sysTemperature": 31.5,
    "sysFreeMemory": 41872,
    "sysFwVersion": "1.0.31",
    "sysHwVersion": "A2-R3",
    "evseFwVersion": "7.1.3",
    "evseHwVersion": "OpenEVSE-A2",
    "sysBootup": None,  # set from the clock in __init__
    "sysOs": "4.2.0",
    "sysProductId": 13042,
    "sysProductName": "Andersen A2",
    "sysOtaUpdate": False,
    "sysRcmUserCleared": False,
    "sysButton": 0,
    "sysFaultCode": 0,
    "sysVoltageA": 240.3,
    "sysVoltageB": 239.8,
    "sysVoltageC": 241.1,
    "sysAmpB": 0.0,
    "sysAmpC": 0.0,
    "sysPowerB": 0.0,
    "sysPowerC": 0.0,
    "sysPhase": 1,
    "sysSolarCT": False,
    "sysGridCT": True,
    "sysAdaptiveFuse": True,
    "sysSolarPower": 0.0,
    "sysSchDSORandom": 600,
    "cfgPENEarthConnected": True,
    "cfgDebugEnable": False,
    "cfgChargeAmpMax": 32,
    "cfgChargeAmpMin": 6,
    "cfgAFEnable": True,
    "cfgAFAmpMax": 60,
    "cfgCTConfig": 1,
    "cfgLora0": _lora("70B3D57ED0051A2B", -87, on=True),
    "cfgLora1": _lora("", 0, on=False),
    "cfgLora2": _lora("", 0, on=False),
    "cfgLora3": _lora("", 0, on=False),
    "solarMaxGridChargePercent": 100,
    "solarChargeAlways": False,
    "solarOverride": False,
}

#: DeviceStatus fields computed from the model on every ``status()``.
DERIVED_STATUS: Final = frozenset(
    {
        "id",
        "lastEvent",
        "lastEventAge",
        "evseState",
        "sysSchEnabled",
        "sysScheduleLock",
        "sysRuntime",
        "sysAmpA",
        "sysPowerA",
        "sysTime",
        "sysChargingEnabled",
        "sysSchSet",
        "sysGridPower",
        "sysChargePower",
        "sysSolarEnergyDelta",
        "sysGridEnergyDelta",
        "cfgDSTActive",
        "chargeStatus",
        "scheduleSlotsArray",
        *(f"sysSch{n}" for n in range(5)),
    }
)

#: DeviceInfo fields the charger stores; ``id``, ``userLock``, ``solarChargeAlways`` and
#: ``loraDevices`` are derived from the status.
_STORED_INFO: Final[dict[str, Any]] = {
    "currency": "GBP",
    "enableThreePhaseMultiplier": False,
    "friendlyName": None,
    "locationLongitude": -0.5704,
    "locationLatitude": 51.2362,
    **{f"schedule{n}Name": f"Schedule {n}" for n in range(5)},
    "address": "1 Orchard Lane",
    "addressPlace": "Guildford",
    "addressDistrict": "Surrey",
    "addressPostcode": "GU1 1AA",
    "addressCountry": "United Kingdom",
    "solarOverrideStart": None,
    "notifyRcmErrorEnabled": True,
    "notifyWeeklyReportEnabled": False,
    "notifyDeviceOfflineEnabled": True,
    "purpose": "home",
    "timeZoneRegion": "Europe/London",
}

_RATE_DAYS: Final = ("dayMon", "dayTue", "dayWed", "dayThu", "dayFri", "daySat", "daySun")
_RATE_FIELDS: Final = (
    "price",
    "timeStartLocal",
    "timeStopLocal",
    "startDateTime",
    "stopDateTime",
    *_RATE_DAYS,
)


# -- time zones ---------------------------------------------------------------------------


def _last_sunday(year: int, month: int) -> datetime:
    day = datetime(year, month + 1, 1, 1, tzinfo=UTC) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() - 6) % 7)


def _british_time(moment: datetime) -> tuple[datetime, bool]:
    """UK civil time (GMT, or BST from the last Sunday of March to that of October)."""
    start, end = _last_sunday(moment.year, 3), _last_sunday(moment.year, 10)
    summer = start <= moment < end
    local = moment.astimezone(UTC) + timedelta(hours=1 if summer else 0)
    return local.replace(tzinfo=None), summer


@cache
def _zone(region: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(region)
    except (ZoneInfoNotFoundError, ValueError):
        _LOG.warning("unknown time zone %r: using UK time (the Andersen market)", region)
        return None


# the default zone's file is read here, at import, rather than in an event loop's first status
_zone(_STORED_INFO["timeZoneRegion"])


def local_time(moment: datetime, region: object) -> tuple[datetime, bool]:
    """``moment`` as naive local time in ``region``, and whether summer time is on.

    An unknown region, or a machine without the time zone database, falls back to UK
    time, where Andersen chargers are sold.
    """
    zone = _zone(region) if isinstance(region, str) and region else None
    if zone is None:
        return _british_time(moment)
    local = moment.astimezone(zone)
    return local.replace(tzinfo=None), bool(local.dst())


# -- schedules ------------------------------------------------------------------------------


def _in_window(minute: int, start: int, end: int) -> bool:
    """Whether minute-of-day ``minute`` is in the window ``[start, end)``.

    The window wraps past midnight when ``end < start``; ``start == end`` is the whole day.
    """
    if start == end:
        return True
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


def _whole(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    return value


@dataclass(frozen=True)
class ScheduleSlot:
    """One of the five schedule slots: a daily window and the days it applies to.

    A window whose end is before its start runs past midnight (it belongs to the day it
    starts on); a window whose start equals its end covers the whole day.
    """

    start_hour: int = 0
    start_minute: int = 0
    end_hour: int = 0
    end_minute: int = 0
    enabled: bool = False
    days: tuple[bool, ...] = (True,) * 7
    """Monday first."""

    @classmethod
    def from_wire(cls, slot: Mapping[str, Any], name: str = "slot") -> ScheduleSlot:
        """Build a slot from a ``ScheduleSlotInput``/``ScheduleSlot`` object.

        Raises:
            InputError: hours outside 0-23, minutes outside 0-59, or missing keys.
        """
        if not isinstance(slot, Mapping):
            raise InputError(f"{name} must be an object, got {slot!r}")
        day_map = slot.get("dayMap")
        if not isinstance(day_map, Mapping):
            raise InputError(f"{name}.dayMap must be an object, got {day_map!r}")
        return cls(
            start_hour=_whole(slot.get("startHour"), f"{name}.startHour", 0, 23),
            start_minute=_whole(slot.get("startMinute"), f"{name}.startMinute", 0, 59),
            end_hour=_whole(slot.get("endHour"), f"{name}.endHour", 0, 23),
            end_minute=_whole(slot.get("endMinute"), f"{name}.endMinute", 0, 59),
            enabled=bool(slot.get("enabled")),
            days=tuple(bool(day_map.get(day)) for day in DAYS),
        )

    def to_wire(self) -> dict[str, Any]:
        """The ``ScheduleSlot`` object."""
        return {
            "startHour": self.start_hour,
            "startMinute": self.start_minute,
            "endHour": self.end_hour,
            "endMinute": self.end_minute,
            "enabled": self.enabled,
            "dayMap": dict(zip(DAYS, self.days, strict=True)),
        }

    def sys_string(self) -> str:
        """The ``sysSchN`` string: ``enabled,start,end,days`` e.g. ``1,00:30,04:30,1111100``.

        The device's own encoding has not been observed; this one is the emulator's.
        """
        days = "".join("1" if day else "0" for day in self.days)
        return (
            f"{int(self.enabled)},{self.start_hour:02d}:{self.start_minute:02d},"
            f"{self.end_hour:02d}:{self.end_minute:02d},{days}"
        )

    @property
    def is_set(self) -> bool:
        """True when the window is not the blank 00:00-00:00 every day."""
        return self != ScheduleSlot(enabled=self.enabled)

    def covers(self, local: datetime) -> bool:
        """Whether the window contains the local time ``local`` (the enabled flag aside)."""
        minute = local.hour * 60 + local.minute
        start = self.start_hour * 60 + self.start_minute
        end = self.end_hour * 60 + self.end_minute
        if start <= end:
            return self.days[local.weekday()] and _in_window(minute, start, end)
        # past midnight: the early hours belong to the previous day's window
        today = self.days[local.weekday()] and minute >= start
        return today or (self.days[(local.weekday() - 1) % 7] and minute < end)


_DEFAULT_SLOTS: Final = (
    ScheduleSlot(start_hour=0, start_minute=30, end_hour=4, end_minute=30),
    *(ScheduleSlot() for _ in range(4)),
)


# -- the car and the session ------------------------------------------------------------


@dataclass
class Car:
    """A simulated car plugged into the charger."""

    energy_wanted: float | None
    """kWh the car takes before it is full (None: never full)."""
    max_power: float
    """kW the car's on-board charger accepts."""
    delivered: float = 0.0
    requesting: bool = False
    """False right after plug-in: the car asks for power once time moves on."""

    @property
    def remaining(self) -> float:
        """Energy (kWh) the car still takes."""
        if self.energy_wanted is None:
            return math.inf
        return max(0.0, self.energy_wanted - self.delivered)


@dataclass
class _Session:
    start: datetime | None = None
    energy: float = 0.0
    solar_energy: float = 0.0
    duration: float = 0.0
    power_max: float = 0.0


@dataclass
class _Step:
    seconds: float
    energy: float = 0.0
    solar_energy: float = 0.0


def _ramp_time(p0: float, energy_kwh: float) -> float:
    """Seconds until ``energy_kwh`` flowed, starting at ``p0`` kW and ramping up."""
    work = energy_kwh * 3600
    return (-p0 + math.sqrt(p0 * p0 + 2 * RAMP_KW_PER_SECOND * work)) / RAMP_KW_PER_SECOND


# -- the charger ------------------------------------------------------------------------


class Charger:
    """A stateful simulated Andersen A2 charger.

    Args:
        device_id: The device id (``getDevice(id:)``).
        friendly_name: ``deviceInfo.friendlyName``.
        device_name: The name printed on the unit (``Device.name``, ``claimDeviceByName``).
        hub: Where status changes are published.
        options: Initial state: any ``DeviceStatus`` or ``DeviceInfo`` field by its wire
            name (as :meth:`set` takes them), and ``now`` (aware datetime where the
            simulated clock starts; :data:`DEFAULT_START` by default),
            ``last_ip_address`` and ``history_sessions`` (how many past sessions the
            charge log holds; 12 by default).

    Raises:
        TypeError: an unknown option.
    """

    def __init__(
        self,
        *,
        device_id: str,
        friendly_name: str,
        device_name: str,
        hub: StatusHub,
        **options: Any,
    ) -> None:
        self.id = device_id
        self.name = device_name
        self.hub = hub
        start: datetime = options.pop("now", DEFAULT_START)
        if start.tzinfo is None:
            raise TypeError("now must be an aware datetime")
        self._clock_us = (start - _EPOCH) // timedelta(microseconds=1)
        self.last_ip_address: str = options.pop("last_ip_address", "203.0.113.47")
        history = int(options.pop("history_sessions", 12))
        self._status: dict[str, Any] = copy.deepcopy(_STORED_STATUS)
        self._status["konnectSerial"] = f"AK{zlib.crc32(device_id.encode()) % 10**8:08d}"
        self._status["sysBootup"] = iso(start - timedelta(days=3, hours=2, minutes=17))
        self._info: dict[str, Any] = dict(_STORED_INFO, friendlyName=friendly_name)
        self._overrides: dict[str, Any] = {}
        self._slots: list[ScheduleSlot] = list(_DEFAULT_SLOTS)
        self._rates: dict[str, dict[str, Any]] = {}
        self._car: Car | None = None
        self._session = _Session()
        self._power = 0.0
        self._deltas = (0.0, 0.0)
        self._sleeping = False
        self._frozen: dict[str, Any] | None = None
        self._pending: list[Callable[[], None]] = []
        self._last_event_us = self._clock_us
        self.charge_outside_schedules: bool | None = None
        """What ``setSolar(chargeOutsideSchedules:)`` last said (None: never said)."""
        self._sessions: list[ChargeSession] = sample_data.sample_history(
            device_id, start, history, self._status["sysFwVersion"]
        )
        self._apply_fields(options)

    def __repr__(self) -> str:
        return f"Charger(id={self.id!r}, name={self.name!r}, friendly_name={self.friendly_name!r})"

    # -- reading ----------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The charger's simulated clock (aware, UTC)."""
        return _EPOCH + timedelta(microseconds=self._clock_us)

    @property
    def friendly_name(self) -> str | None:
        """``deviceInfo.friendlyName``."""
        name: str | None = self._info["friendlyName"]
        return name

    @property
    def car(self) -> Car | None:
        """The plugged-in car, if any."""
        return self._car

    @property
    def online(self) -> bool:
        """Whether the device is connected to the cloud."""
        return self._frozen is None

    @property
    def pending_commands(self) -> int:
        """Device commands queued while offline."""
        return len(self._pending)

    @property
    def evse_state(self) -> int:
        """The device's actual EVSE state (also while offline, unlike :meth:`status`)."""
        state: int = self._live_status()["evseState"]
        return state

    def status(self) -> dict[str, Any]:
        """The ``DeviceStatus`` object the cloud serves (a fresh copy each call)."""
        if self._frozen is not None:
            frozen = copy.deepcopy(self._frozen)
            frozen["lastEventAge"] = (self._clock_us - self._last_event_us) // 1_000_000
            return frozen
        return self._live_status()

    def info(self) -> dict[str, Any]:
        """The ``DeviceInfo`` object the cloud serves (a fresh copy each call)."""
        info = {"id": self.id, **self._info}
        info["userLock"] = self._status["sysUserLock"]
        info["solarChargeAlways"] = self._status["solarChargeAlways"]
        devices = []
        for n in range(4):
            lora = self._status.get(f"cfgLora{n}")
            if isinstance(lora, dict) and lora.get("on") and lora.get("eui"):
                devices.append(
                    {"eui": lora["eui"], "name": f"LoRa sensor {n}", "rssi": lora["rssi"]}
                )
        info["loraDevices"] = devices
        return info

    def solar_settings(self) -> dict[str, Any]:
        """The ``SolarSettings`` object (``getSolar``)."""
        return {
            "deviceId": self.id,
            "override": self._status["solarOverride"],
            "chargeAlways": self._status["solarChargeAlways"],
            "maxGridChargePercent": self._status["solarMaxGridChargePercent"],
            "return_value": None,
        }

    def charge_rates(self) -> list[dict[str, Any]]:
        """The ``ChargeRate`` objects, oldest first."""
        return [dict(rate) for rate in self._rates.values()]

    def has_charge_rate(self, rate_id: str) -> bool:
        """Whether this charger holds the charge rate ``rate_id``."""
        return rate_id in self._rates

    @property
    def sessions(self) -> list[ChargeSession]:
        """Finished sessions, oldest first (the charge log, before paging)."""
        return list(self._sessions)

    def charge_logs(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        min_energy: float | None = None,
        date_from: str | None = None,
    ) -> list[dict[str, Any]]:
        """``ChargeLog`` objects, newest first, filtered and paged as the query asks.

        Raises:
            InputError: a negative limit or offset, or an unparsable ``date_from``.
        """
        if (limit is not None and limit < 0) or (offset is not None and offset < 0):
            raise InputError("limit and offset must not be negative")
        since = parse_date(date_from, "dateFrom") if date_from is not None else None
        chosen = [
            session
            for session in reversed(self._sessions)
            if (min_energy is None or session.energy >= min_energy)
            and (since is None or session.start >= since)
        ]
        first = offset or 0
        chosen = chosen[first:] if limit is None else chosen[first : first + limit]
        region = self._info["timeZoneRegion"]
        return [s.to_wire(self.id, local_time(s.start, region)[0]) for s in chosen]

    def power_logs_binned(
        self,
        *,
        date_from: str | None = None,
        date_to: str | None = None,
        binned_minutes: int | None = None,
        group_by: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[dict[str, Any]]:
        """Binned energy and power (``deviceCalculatedPowerLogsBinned``, opaque JSON).

        By default the last 24 hours in hourly bins. See
        :func:`~andersen_ev.testing.sample_data.bin_power_logs`.

        Raises:
            InputError: bad dates, bin size, limit or offset.
        """
        end = parse_date(date_to, "dateTo") if date_to is not None else self.now
        start = (
            parse_date(date_from, "dateFrom") if date_from is not None else end - timedelta(days=1)
        )
        return sample_data.bin_power_logs(
            self._sessions_with_current(),
            date_from=start,
            date_to=end,
            binned_minutes=binned_minutes,
            group_by=group_by,
            limit=limit,
            offset=offset,
        )

    # -- the simulated car and clock ------------------------------------------------------

    def plug_in(self, energy_wanted_kwh: float | None = 30.0, max_power_kw: float = 7.2) -> None:
        """Plug a car in: ``evseState`` 2 now, 3 once time moves on (if allowed to charge).

        Args:
            energy_wanted_kwh: kWh until the car is full (None: never full).
            max_power_kw: The car's maximum charging power.

        Raises:
            RuntimeError: a car is plugged in already.
            ValueError: non-positive energy or power.
        """
        if self._car is not None:
            raise RuntimeError("a car is plugged in already: unplug() it first")
        if (energy_wanted_kwh is not None and energy_wanted_kwh <= 0) or max_power_kw <= 0:
            raise ValueError("energy_wanted_kwh and max_power_kw must be positive")
        self._car = Car(energy_wanted=energy_wanted_kwh, max_power=max_power_kw)
        self._session = _Session()
        self._publish()

    def unplug(self) -> ChargeSession | None:
        """Unplug the car; the session, if it delivered energy, goes to the charge log.

        Returns:
            The logged session, or None (no car, or no energy delivered).
        """
        if self._car is None:
            return None
        self._car = None
        self._power = 0.0
        logged = self._finished_session()
        if logged is not None:
            self._sessions.append(logged)
        self._publish()
        return logged

    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward, charging the car as the state allows.

        Publishes the new status once (not while offline: the cloud hears nothing then).

        Raises:
            ValueError: ``seconds`` is negative.
        """
        if seconds < 0:
            raise ValueError("time only moves forward")
        remaining = round(seconds * 1_000_000)
        if remaining == 0:
            return
        energy = solar = 0.0
        while remaining > 0:
            until_minute = _MINUTE_US - self._clock_us % _MINUTE_US
            step = self._step(min(remaining, until_minute) / 1_000_000)
            step_us = max(1, min(remaining, round(step.seconds * 1_000_000)))
            self._clock_us += step_us
            remaining -= step_us
            energy += step.energy
            solar += step.solar_energy
        self._deltas = (solar, energy - solar)
        if self.online:
            self._publish()

    def _step(self, seconds: float) -> _Step:
        """Simulate up to ``seconds`` in which nothing but power changes (within a minute)."""
        car = self._car
        if car is not None:
            car.requesting = True
        if car is None or self._evse_state() != CHARGING:
            self._power = 0.0
            return _Step(seconds)
        target = self._power_limit()
        p0 = min(self._power, target)
        span = min(seconds, (target - p0) / RAMP_KW_PER_SECOND) if p0 < target else seconds
        p1 = p0 + RAMP_KW_PER_SECOND * span if p0 < target else p0
        energy = (p0 + p1) / 2 * span / 3600
        finished = energy >= car.remaining
        if finished:
            energy = car.remaining
            span = _ramp_time(p0, energy) if p1 > p0 else energy * 3600 / p0
            p1 = p0 + RAMP_KW_PER_SECOND * span if p1 > p0 else p0
        average = (p0 + p1) / 2
        solar = energy * min(1.0, self._status["sysSolarPower"] / average) if average else 0.0
        session = self._session
        if session.start is None:
            session.start = self.now
        session.energy += energy
        session.solar_energy += solar
        session.duration += span
        session.power_max = max(session.power_max, p1)
        car.delivered += energy
        self._power = 0.0 if finished else p1
        return _Step(span, energy, solar)

    def _power_limit(self) -> float:
        """Power (kW) the charger offers the car now (0: none)."""
        assert self._car is not None  # noqa: S101 - only asked while a car is plugged in
        charger_max = RATED_POWER_KW * self._number("cfgChargeAmpMax", 32) / 32
        limit = min(self._car.max_power, charger_max)
        if self._status["sysSolarCT"] and not self._status["solarOverride"]:
            allowance = charger_max * self._number("solarMaxGridChargePercent", 100) / 100
            limit = min(limit, self._number("sysSolarPower", 0) + allowance)
            if limit < MIN_POWER_KW:
                limit = MIN_POWER_KW if self._status["solarChargeAlways"] else 0.0
        return max(0.0, limit)

    def _number(self, key: str, default: float) -> float:
        value = self._status.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return default
        return float(value)

    # -- test knobs -------------------------------------------------------------------------

    def set(self, **fields: Any) -> None:
        """Set any ``DeviceStatus`` or ``DeviceInfo`` field by its wire name, then publish.

        Stored fields change the model (``sysUserLock``, ``sysSolarPower``,
        ``cfgChargeAmpMax``, ``friendlyName`` ...; ``scheduleSlotsArray`` sets the slots,
        ``online`` calls :meth:`set_online`). Derived fields (``evseState``,
        ``chargeStatus`` ...) are overridden until :meth:`reset` (a dict merges into a
        derived dict). While offline the cloud shows the frozen status: the change
        appears when the device comes back.

        Raises:
            TypeError: an unknown field, or ``id``.
            InputError: an invalid ``scheduleSlotsArray``.
        """
        self._apply_fields(fields)
        self._publish()

    def _apply_fields(self, fields: Mapping[str, Any]) -> None:
        unknown = [
            key
            for key in fields
            if key not in _STORED_STATUS
            and key not in DERIVED_STATUS - {"id"}
            and key not in _STORED_INFO
            and key not in {"online", "userLock"}
        ]
        if unknown:
            raise TypeError(f"unknown or read-only charger field(s): {', '.join(unknown)}")
        for key, value in fields.items():
            if key == "online":
                self._set_online_flag(bool(value))
            elif key == "userLock":
                self._status["sysUserLock"] = bool(value)
            elif key == "scheduleSlotsArray":
                self._slots = self._slots_from_array(value)
            elif key in _STORED_STATUS:
                self._status[key] = value
            elif key in _STORED_INFO:
                self._info[key] = value
            else:
                self._overrides[key] = value

    @staticmethod
    def _slots_from_array(value: object) -> list[ScheduleSlot]:
        if not isinstance(value, list | tuple) or len(value) != len(SLOT_KEYS):
            raise InputError("scheduleSlotsArray must be a list of 5 slots")
        return [ScheduleSlot.from_wire(slot, f"slot {n}") for n, slot in enumerate(value)]

    def reset(self, *names: str) -> None:
        """Drop overrides set by :meth:`set` on derived fields (all of them if no names)."""
        for name in names or list(self._overrides):
            self._overrides.pop(name, None)
        self._publish()

    def set_online(self, online: bool) -> None:
        """Connect or disconnect the device; reconnecting runs the queued commands."""
        self._set_online_flag(online)
        self._publish()

    def _set_online_flag(self, online: bool) -> None:
        if online == self.online:
            return
        if not online:
            self._frozen = self._live_status()
            self._frozen["online"] = False
            return
        self._frozen = None
        pending, self._pending = self._pending, []
        for command in pending:
            command()

    def set_error(self, code: int = 1) -> None:
        """Raise a fault (``sysFaultCode`` = code, ``evseState`` 4); 0 clears it.

        :meth:`rcm_reset` (``runAEVCommand rcmReset``) clears it too.
        """
        self._status["sysFaultCode"] = code
        if code:
            self._status["sysRcmUserCleared"] = False
        self._publish()

    def set_sleeping(self, sleeping: bool = True) -> None:
        """Put the EVSE to sleep (``evseState`` 254) or wake it."""
        self._sleeping = sleeping
        self._publish()

    # -- device commands (queued while offline) -----------------------------------------

    def run_command(self, function_name: str, params: str | None = None) -> dict[str, Any]:
        """``runAEVCommand``: run ``userLock``, ``userUnlock`` or ``rcmReset``.

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
        return self._device_command(action)

    def user_lock(self) -> dict[str, Any]:
        """Lock the charger (``sysUserLock`` true, ``evseState`` 255)."""
        return self._device_command(self._lock)

    def user_unlock(self) -> dict[str, Any]:
        """Unlock the charger (``evseState`` recomputed)."""
        return self._device_command(self._unlock)

    def rcm_reset(self) -> dict[str, Any]:
        """Clear a fault (``sysFaultCode`` 0, ``sysRcmUserCleared`` true)."""
        return self._device_command(self._rcm_reset)

    def set_schedules(self, slots: Mapping[str, Any]) -> dict[str, Any]:
        """``setSchedules``: replace the given slots (``sch0``..``sch4``) only.

        The whole input is validated before anything changes.

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

        return self._device_command(apply)

    def disable_all_schedules(self) -> dict[str, Any]:
        """``setAllSchedulesDisabled``: disable every slot and unlock the charger."""

        def apply() -> None:
            self._slots = [replace(slot, enabled=False) for slot in self._slots]
            self._status["sysUserLock"] = False

        return self._device_command(apply)

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
            _whole(max_grid_charge_percent, "maxGridChargePercent", 0, 100)

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

        return self._device_command(apply)

    def _lock(self) -> None:
        self._status["sysUserLock"] = True

    def _unlock(self) -> None:
        self._status["sysUserLock"] = False

    def _rcm_reset(self) -> None:
        if self._status["sysFaultCode"]:
            self._status["sysFaultCode"] = 0
            self._status["sysRcmUserCleared"] = True

    def _device_command(self, action: Callable[[], None]) -> dict[str, Any]:
        if self.online:
            action()
            self._publish()
        else:
            self._pending.append(action)
        return {
            "id": self.id,
            "name": self.name,
            "last_app": "",
            "connected": self.online,
            "return_value": None,
        }

    # -- cloud-side records -----------------------------------------------------------------

    def update_info(self, **fields: str | None) -> dict[str, Any]:
        """``upsertDeviceInfo``: set the given names (None leaves one as it is).

        Raises:
            InputError: a field other than ``friendlyName`` or ``scheduleNName``.
        """
        allowed = {"friendlyName", *(f"schedule{n}Name" for n in range(5))}
        unknown = set(fields) - allowed
        if unknown:
            raise InputError(f"cannot set {', '.join(sorted(unknown))}")
        self._info.update({key: value for key, value in fields.items() if value is not None})
        self._publish()
        return self.info()

    def create_charge_rate(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``createChargeRate``: store a new rate; days not given default to true.

        Raises:
            InputError: invalid times, dates or price.
        """
        rate: dict[str, Any] = {"id": str(uuid.uuid4())}
        rate |= dict.fromkeys(_RATE_FIELDS) | dict.fromkeys(_RATE_DAYS, True)
        rate |= self._valid_rate_fields(fields)
        self._rates[rate["id"]] = rate
        self._publish()
        return dict(rate)

    def update_charge_rate(self, rate_id: str, fields: Mapping[str, Any]) -> None:
        """``updateChargeRate``: change the given fields of one rate.

        Raises:
            KeyError: no such rate on this charger.
            InputError: invalid times, dates or price.
        """
        rate = self._rates[rate_id]
        rate |= self._valid_rate_fields(fields)
        self._publish()

    def delete_charge_rate(self, rate_id: str) -> None:
        """``deleteChargeRate``.

        Raises:
            KeyError: no such rate on this charger.
        """
        del self._rates[rate_id]
        self._publish()

    @staticmethod
    def _valid_rate_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(fields) - set(_RATE_FIELDS)
        if unknown:
            raise InputError(f"unknown charge rate field(s): {', '.join(sorted(unknown))}")
        given = {key: value for key, value in fields.items() if value is not None}
        price = given.get("price")
        if price is not None and (
            isinstance(price, bool)
            or not isinstance(price, int | float)
            or not math.isfinite(price)
        ):
            raise InputError(f"price must be a number, got {price!r}")
        for key in ("timeStartLocal", "timeStopLocal"):
            if key in given:
                _minutes_of_day(given[key], key)
        for key in ("startDateTime", "stopDateTime"):
            if key in given:
                parse_date(given[key], key)
        return given

    def _price_at(self, moment: datetime) -> float:
        """Grid price per kWh at ``moment``: the first charge rate covering it, or default."""
        local, _ = local_time(moment, self._info["timeZoneRegion"])
        minute = local.hour * 60 + local.minute
        for rate in self._rates.values():
            if not rate[_RATE_DAYS[local.weekday()]]:
                continue
            if rate["startDateTime"] and moment < parse_date(rate["startDateTime"], "start"):
                continue
            if rate["stopDateTime"] and moment >= parse_date(rate["stopDateTime"], "stop"):
                continue
            start = _minutes_of_day(rate["timeStartLocal"] or "00:00", "timeStartLocal")
            stop = _minutes_of_day(rate["timeStopLocal"] or "00:00", "timeStopLocal")
            if _in_window(minute, start, stop):
                return float(rate["price"])
        return sample_data.DEFAULT_PRICE

    # -- derivation -------------------------------------------------------------------------

    def _schedule_lock(self) -> bool:
        enabled = [slot for slot in self._slots if slot.enabled]
        if not enabled:
            return False
        local, _ = local_time(self.now, self._info["timeZoneRegion"])
        return not any(slot.covers(local) for slot in enabled)

    def _evse_state(self) -> int:
        if self._status["sysFaultCode"]:
            return ERROR
        if self._sleeping:
            return SLEEPING
        if self._status["sysUserLock"] or self._schedule_lock():
            return DISABLED
        car = self._car
        if car is None:
            return READY
        if car.requesting and car.remaining > 0 and self._power_limit() > 0:
            return CHARGING
        return CONNECTED

    def _finished_session(self) -> ChargeSession | None:
        session = self._session
        if session.start is None or session.energy <= 0:
            return None
        return ChargeSession(
            uuid=str(uuid.uuid4()),
            start=session.start,
            duration=round(session.duration),
            energy=session.energy,
            solar_energy=session.solar_energy,
            price=self._price_at(session.start),
            fw_version=str(self._status["sysFwVersion"]),
        )

    def _sessions_with_current(self) -> list[ChargeSession]:
        current = self._finished_session() if self._car is not None else None
        return [*self._sessions, current] if current else list(self._sessions)

    def _live_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"id": self.id, **copy.deepcopy(self._status)}
        state = self._evse_state()
        power = self._power if state == CHARGING else 0.0
        local_dst = local_time(self.now, self._info["timeZoneRegion"])[1]
        solar_power = min(power, self._number("sysSolarPower", 0))
        session = self._session
        voltage = self._number("sysVoltageA", 240.0) or 240.0
        slots = [slot.to_wire() for slot in self._slots]
        try:
            runtime: int | None = int(
                (self.now - parse_date(status["sysBootup"], "sysBootup")).total_seconds()
            )
        except InputError:
            runtime = None
        status |= {
            "lastEvent": iso(_EPOCH + timedelta(microseconds=self._last_event_us)),
            "lastEventAge": (self._clock_us - self._last_event_us) // 1_000_000,
            "evseState": state,
            "sysSchEnabled": any(slot.enabled for slot in self._slots),
            "sysScheduleLock": self._schedule_lock(),
            "sysRuntime": runtime,
            "sysAmpA": round(power * 1000 / voltage, 2),
            "sysPowerA": round(power, 3),
            "sysTime": iso(self.now),
            "sysChargingEnabled": state in (READY, CONNECTED, CHARGING),
            "sysSchSet": any(slot.is_set for slot in self._slots),
            "sysGridPower": round(HOUSE_LOAD_KW + power - self._number("sysSolarPower", 0), 3),
            "sysChargePower": round(power, 3),
            "sysSolarEnergyDelta": round(self._deltas[0], 4),
            "sysGridEnergyDelta": round(self._deltas[1], 4),
            "cfgDSTActive": local_dst,
            "chargeStatus": {
                "start": iso(session.start) if session.start else None,
                "chargeEnergyTotal": round(session.energy, 4),
                "solarEnergyTotal": round(session.solar_energy, 4),
                "gridEnergyTotal": round(session.energy - session.solar_energy, 4),
                "chargePower": round(power, 3),
                "chargePowerMax": round(session.power_max, 3),
                "solarPower": round(solar_power, 3),
                "gridPower": round(power - solar_power, 3),
                "duration": round(session.duration),
            },
            "scheduleSlotsArray": slots,
            **{f"sysSch{n}": slot.sys_string() for n, slot in enumerate(self._slots)},
        }
        for key, value in self._overrides.items():
            if isinstance(value, dict) and isinstance(status.get(key), dict):
                status[key] = {**status[key], **value}
            else:
                status[key] = copy.deepcopy(value)
        return status

    def _publish(self) -> None:
        if self.online:
            self._last_event_us = self._clock_us
        self.hub.publish(self.id, self.status())


def _minutes_of_day(value: object, name: str) -> int:
    """Minutes since midnight of an ``HH:MM`` (or ``HH:MM:SS``) string.

    Raises:
        InputError: not such a string, or hours/minutes out of range.
    """
    match = _TIME_LOCAL.match(value) if isinstance(value, str) else None
    if match is None:
        raise InputError(f"{name} must look like HH:MM, got {value!r}")
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59 or int(match[3] or 0) > 59:  # noqa: PLR2004 - clock limits
        raise InputError(f"{name} must be a time of day, got {value!r}")
    return hour * 60 + minute
