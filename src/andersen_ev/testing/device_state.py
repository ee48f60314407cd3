"""What a simulated charger reports: its stored fields, and the status derived from them.

:class:`DeviceState` is the base of :class:`~andersen_ev.testing.charger.Charger`: it
holds the device's state in the wire format of the GraphQL schema (camelCase keys) and
derives from it, on every read, the fields that follow from the model (``evseState``,
``chargeStatus``, the schedule flags ...; see :data:`DERIVED_STATUS`).

``evseState`` is 4 on a fault, 254 when asleep, 255 when user-locked or when schedules are
enabled and the charger's local time is outside every enabled slot (``sysScheduleLock``),
otherwise 1 with no car, 3 while the car draws power, and 2 when a car is plugged in but
not drawing (just plugged in, full, or no power allowed by the solar settings).
"""

from __future__ import annotations

import copy
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from andersen_ev.testing.charge_rates import ChargeRates
from andersen_ev.testing.charging import HOUSE_LOAD_KW, Car, Charging, SolarLimits, power_limit
from andersen_ev.testing.device_commands import CommandQueue, DeviceLink
from andersen_ev.testing.device_fields import STORED_INFO, STORED_STATUS
from andersen_ev.testing.sample_data import ChargeSession, InputError, iso, parse_date
from andersen_ev.testing.schedules import DEFAULT_SLOTS, ScheduleSlot, local_time
from andersen_ev.testing.state import StatusHub

__all__ = [
    "CHARGING",
    "CONNECTED",
    "DISABLED",
    "EPOCH",
    "ERROR",
    "READY",
    "SLEEPING",
    "DeviceState",
]

READY, CONNECTED, CHARGING, ERROR, SLEEPING, DISABLED = 1, 2, 3, 4, 254, 255
#: The origin of the charger's clock (kept in integer microseconds).
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class DeviceState:
    """The state of one simulated charger, and the ``DeviceStatus``/``DeviceInfo`` it shows.

    Args:
        device_id: The device id.
        device_name: The name printed on the unit.
        friendly_name: ``deviceInfo.friendlyName``.
        hub: Where status changes are published.
        link: How device commands reach it.
        start: Where its simulated clock starts (aware).
    """

    def __init__(
        self,
        *,
        device_id: str,
        device_name: str,
        friendly_name: str,
        hub: StatusHub,
        link: DeviceLink,
        start: datetime,
    ) -> None:
        self.id = device_id
        self.name = device_name
        self.hub = hub
        self._link = link
        self._clock_us = (start - EPOCH) // timedelta(microseconds=1)
        self._status: dict[str, Any] = copy.deepcopy(STORED_STATUS)
        self._status["konnectSerial"] = f"AK{zlib.crc32(device_id.encode()) % 10**8:08d}"
        self._status["sysBootup"] = iso(start - timedelta(days=3, hours=2, minutes=17))
        self._info: dict[str, Any] = dict(STORED_INFO, friendlyName=friendly_name)
        self._overrides: dict[str, Any] = {}
        self._slots: list[ScheduleSlot] = list(DEFAULT_SLOTS)
        self._rates = ChargeRates()
        self._charging = Charging()
        self._deltas = (0.0, 0.0)
        self._sleeping = False
        self._frozen: dict[str, Any] | None = None
        self._commands = CommandQueue()
        self._last_event_us = self._clock_us
        self.charge_outside_schedules: bool | None = None
        """What ``setSolar(chargeOutsideSchedules:)`` last said (None: never said)."""

    @property
    def now(self) -> datetime:
        """The charger's simulated clock (aware, UTC)."""
        return EPOCH + timedelta(microseconds=self._clock_us)

    @property
    def friendly_name(self) -> str | None:
        """``deviceInfo.friendlyName``."""
        name: str | None = self._info["friendlyName"]
        return name

    @property
    def car(self) -> Car | None:
        """The plugged-in car, if any."""
        return self._charging.car

    @property
    def online(self) -> bool:
        """Whether the device is connected to the cloud."""
        return self._frozen is None

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

    def _power_limit(self) -> float:
        """Power (kW) the charger offers the car now (0: none)."""
        car = self._charging.car
        assert car is not None  # noqa: S101 - only asked while a car is plugged in
        limits = SolarLimits(
            charge_amp_max=self._number("cfgChargeAmpMax", 32),
            solar_ct=bool(self._status["sysSolarCT"]),
            override=bool(self._status["solarOverride"]),
            max_grid_percent=self._number("solarMaxGridChargePercent", 100),
            solar_power=self._number("sysSolarPower", 0),
            charge_always=bool(self._status["solarChargeAlways"]),
        )
        return power_limit(car, limits)

    def _number(self, key: str, default: float) -> float:
        value = self._status.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return default
        return float(value)

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
        car = self._charging.car
        if car is None:
            return READY
        if car.requesting and car.remaining > 0 and self._power_limit() > 0:
            return CHARGING
        return CONNECTED

    def _finished_session(self) -> ChargeSession | None:
        session = self._charging.session
        if session.start is None or session.energy <= 0:
            return None
        return ChargeSession(
            uuid=str(uuid.uuid4()),
            start=session.start,
            duration=round(session.duration),
            energy=session.energy,
            solar_energy=session.solar_energy,
            price=self._rates.price_at(session.start, self._info["timeZoneRegion"]),
            fw_version=str(self._status["sysFwVersion"]),
        )

    def _live_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"id": self.id, **copy.deepcopy(self._status)}
        state = self._evse_state()
        power = self._charging.power if state == CHARGING else 0.0
        status |= self._derived_status(state, power)
        status["chargeStatus"] = self._charge_status(power)
        for key, value in self._overrides.items():
            if isinstance(value, dict) and isinstance(status.get(key), dict):
                status[key] = {**status[key], **value}
            else:
                status[key] = copy.deepcopy(value)
        return status

    def _derived_status(self, state: int, power: float) -> dict[str, Any]:
        """The derived fields of the status, but ``chargeStatus``."""
        voltage = self._number("sysVoltageA", 240.0) or 240.0
        try:
            bootup = parse_date(self._status["sysBootup"], "sysBootup")
            runtime: int | None = int((self.now - bootup).total_seconds())
        except InputError:
            runtime = None
        return {
            "lastEvent": iso(EPOCH + timedelta(microseconds=self._last_event_us)),
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
            "cfgDSTActive": local_time(self.now, self._info["timeZoneRegion"])[1],
            "scheduleSlotsArray": [slot.to_wire() for slot in self._slots],
            **{f"sysSch{n}": slot.sys_string() for n, slot in enumerate(self._slots)},
        }

    def _charge_status(self, power: float) -> dict[str, Any]:
        """``chargeStatus``: the current or last session."""
        session = self._charging.session
        solar_power = min(power, self._number("sysSolarPower", 0))
        return {
            "start": iso(session.start) if session.start else None,
            "chargeEnergyTotal": round(session.energy, 4),
            "solarEnergyTotal": round(session.solar_energy, 4),
            "gridEnergyTotal": round(session.energy - session.solar_energy, 4),
            "chargePower": round(power, 3),
            "chargePowerMax": round(session.power_max, 3),
            "solarPower": round(solar_power, 3),
            "gridPower": round(power - solar_power, 3),
            "duration": round(session.duration),
        }

    def _publish(self) -> None:
        if self.online:
            self._last_event_us = self._clock_us
        self.hub.publish(self.id, self.status())
