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
* Time is simulated: :meth:`Charger.advance` moves the charger's clock, and the car
  charges meanwhile (:mod:`andersen_ev.testing.charging`).
* A session starts when energy first flows after a plug-in (``chargeStatus.start``) and
  ends when the car is unplugged; a session that delivered energy is then appended to the
  charge log. ``chargeStatus`` shows the current or last session.
* Device commands (lock, unlock, schedules, solar, RCM reset) are queued and applied, in
  order, after the cloud's command delay (:mod:`andersen_ev.testing.device_commands`); a
  charger built outside a cloud applies them at once. Cloud-side data (names, charge
  rates) changes at once.
* Offline (:meth:`Charger.set_online`): the cloud keeps showing the last status it had
  (``online`` false, ``lastEventAge`` growing) while the device itself carries on; device
  commands wait until the device is back online.
* ``runAEVCommand`` with a function name other than ``userLock``, ``userUnlock`` and
  ``rcmReset`` is refused with a GraphQL error (``BAD_USER_INPUT``), as the device cloud
  answers "function not found"; known functions answer a null ``return_value``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from andersen_ev.testing import sample_data
from andersen_ev.testing.charger_commands import DeviceCommands
from andersen_ev.testing.charging import (
    MIN_POWER_KW,
    RAMP_KW_PER_SECOND,
    RATED_POWER_KW,
    Car,
    Step,
)
from andersen_ev.testing.device_commands import IMMEDIATE, DeviceLink
from andersen_ev.testing.device_fields import DERIVED_STATUS, STORED_INFO, STORED_STATUS
from andersen_ev.testing.device_state import CHARGING
from andersen_ev.testing.sample_data import ChargeSession, InputError, parse_date
from andersen_ev.testing.schedules import SLOT_KEYS, ScheduleSlot, local_time
from andersen_ev.testing.state import StatusHub

__all__ = [
    "DEFAULT_START",
    "MIN_POWER_KW",
    "RAMP_KW_PER_SECOND",
    "RATED_POWER_KW",
    "Car",
    "Charger",
    "InputError",
    "ScheduleSlot",
    "local_time",
]

#: Where a charger's clock starts unless told otherwise: a Monday noon, GMT.
DEFAULT_START: Final = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)

_SOLAR_KEYS: Final = ("solarOverride", "solarChargeAlways", "solarMaxGridChargePercent")
_MINUTE_US: Final = 60_000_000


class Charger(DeviceCommands):
    """A stateful simulated Andersen A2 charger.

    Args:
        device_id: The device id (``getDevice(id:)``).
        friendly_name: ``deviceInfo.friendlyName``.
        device_name: The name printed on the unit (``Device.name``, ``claimDeviceByName``).
        hub: Where status changes are published.
        link: How device commands reach it (the cloud's delay); at once by default.
        options: Initial state: any ``DeviceStatus`` or ``DeviceInfo`` field by its wire
            name (as :meth:`set` takes them), and ``now`` (aware datetime where the
            simulated clock starts; :data:`DEFAULT_START` by default),
            ``last_ip_address``, ``history_sessions`` (how many past sessions the
            charge log holds; 12 by default) and ``legacy_user_lock`` (see
            :attr:`legacy_user_lock`).

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
        link: DeviceLink = IMMEDIATE,
        **options: Any,
    ) -> None:
        start: datetime = options.pop("now", DEFAULT_START)
        if start.tzinfo is None:
            raise TypeError("now must be an aware datetime")
        super().__init__(
            device_id=device_id,
            device_name=device_name,
            friendly_name=friendly_name,
            hub=hub,
            link=link,
            start=start,
        )
        self.last_ip_address: str = options.pop("last_ip_address", "203.0.113.47")
        self.legacy_user_lock: bool | None = options.pop("legacy_user_lock", None)
        """Whether ``GET /api/getDevices`` reports ``userLock`` for this charger; None:
        decided by the device id (the key is sometimes missing on the real service)."""
        history = int(options.pop("history_sessions", 12))
        self._sessions: list[ChargeSession] = sample_data.sample_history(
            device_id, start, history, self._status["sysFwVersion"]
        )
        self._apply_fields(options)
        self._registered_solar = {key: self._status[key] for key in _SOLAR_KEYS}

    def __repr__(self) -> str:
        return f"Charger(id={self.id!r}, name={self.name!r}, friendly_name={self.friendly_name!r})"

    # -- reading ----------------------------------------------------------------------------

    def solar_settings(self, *, as_registered: bool = False) -> dict[str, Any]:
        """The ``SolarSettings`` object (``getSolar``).

        Args:
            as_registered: The settings as they were when the charger was added, not as
                they are: what a stale ``getSolar`` answers.
        """
        values = self._registered_solar if as_registered else self._status
        return {
            "deviceId": self.id,
            "override": values["solarOverride"],
            "chargeAlways": values["solarChargeAlways"],
            "maxGridChargePercent": values["solarMaxGridChargePercent"],
            "return_value": None,
        }

    def charge_rates(self) -> list[dict[str, Any]]:
        """The ``ChargeRate`` objects, oldest first."""
        return self._rates.all()

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
        self._charging.plug_in(energy_wanted_kwh, max_power_kw)
        self._publish()

    def unplug(self) -> ChargeSession | None:
        """Unplug the car; the session, if it delivered energy, goes to the charge log.

        Returns:
            The logged session, or None (no car, or no energy delivered).
        """
        if self._charging.car is None:
            return None
        self._charging.unplug()
        logged = self._finished_session()
        if logged is not None:
            self._sessions.append(logged)
        self._publish()
        return logged

    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward, charging the car as the state allows.

        Device commands that come due meanwhile are applied at their time (each one
        publishes the status, as the device reports the change). Publishes the new status
        at the end (not while offline: the cloud hears nothing then).

        Raises:
            ValueError: ``seconds`` is negative.
        """
        if seconds < 0:
            raise ValueError("time only moves forward")
        target = self._clock_us + round(seconds * 1_000_000)
        if target == self._clock_us:
            return
        energy = solar = 0.0
        while True:
            self._apply_ready()
            if self._clock_us >= target:
                break
            stop = target
            due = self._commands.next_due_us() if self.online else None
            if due is not None and due < stop:
                stop = max(due, self._clock_us + 1)
            moved = self._run_until(stop)
            energy += moved.energy
            solar += moved.solar_energy
        self._deltas = (solar, energy - solar)
        if self.online:
            self._publish()

    def _run_until(self, stop_us: int) -> Step:
        """Simulate up to ``stop_us``, in steps that end at every minute (for schedules)."""
        total = Step(0.0)
        while self._clock_us < stop_us:
            remaining = stop_us - self._clock_us
            until_minute = _MINUTE_US - self._clock_us % _MINUTE_US
            step = self._step(min(remaining, until_minute) / 1_000_000)
            step_us = max(1, min(remaining, round(step.seconds * 1_000_000)))
            self._clock_us += step_us
            total.energy += step.energy
            total.solar_energy += step.solar_energy
        return total

    def _step(self, seconds: float) -> Step:
        """Simulate up to ``seconds`` in which nothing but power changes (within a minute)."""
        car = self._charging.car
        if car is not None:
            car.requesting = True
        if car is None or self._evse_state() != CHARGING:
            return self._charging.idle(seconds)
        solar_power = self._status["sysSolarPower"]
        return self._charging.draw(seconds, self._power_limit(), solar_power, self.now)

    # -- test knobs -------------------------------------------------------------------------

    def set(self, **fields: Any) -> None:
        """Set any ``DeviceStatus`` or ``DeviceInfo`` field by its wire name, then publish.

        Stored fields change the model (``sysUserLock``, ``sysSolarPower``,
        ``cfgChargeAmpMax``, ``friendlyName`` ...; ``scheduleSlotsArray`` sets the slots,
        ``online`` calls :meth:`set_online`). Derived fields (``evseState``,
        ``chargeStatus`` ...) are overridden until :meth:`reset` (a dict merges into a
        derived dict). While offline the cloud shows the frozen status: the change
        appears when the device comes back. A test knob, not a command: no delay.

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
            if key not in STORED_STATUS
            and key not in DERIVED_STATUS - {"id"}
            and key not in STORED_INFO
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
            elif key in STORED_STATUS:
                self._status[key] = value
            elif key in STORED_INFO:
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
        """Connect or disconnect the device; back online, it applies the commands now due."""
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
        for command in self._commands.take_ready(self._clock_us):
            command.action()

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

    # -- cloud-side records -----------------------------------------------------------------

    def update_info(self, **fields: str | None) -> dict[str, Any]:
        """``upsertDeviceInfo``: set the given names (None leaves one as it is), at once.

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
        rate = self._rates.create(fields)
        self._publish()
        return rate

    def update_charge_rate(self, rate_id: str, fields: Mapping[str, Any]) -> None:
        """``updateChargeRate``: change the given fields of one rate.

        Raises:
            KeyError: no such rate on this charger.
            InputError: invalid times, dates or price.
        """
        self._rates.update(rate_id, fields)
        self._publish()

    def delete_charge_rate(self, rate_id: str) -> None:
        """``deleteChargeRate``.

        Raises:
            KeyError: no such rate on this charger.
        """
        self._rates.delete(rate_id)
        self._publish()

    def _sessions_with_current(self) -> list[ChargeSession]:
        current = self._finished_session() if self._charging.car is not None else None
        return [*self._sessions, current] if current else list(self._sessions)
