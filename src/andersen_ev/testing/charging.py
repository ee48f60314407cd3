"""The car side of a simulated charger: the plugged-in car, the session, the power it draws.

While charging, power ramps up at :data:`RAMP_KW_PER_SECOND` to the limit the charger
offers (:func:`power_limit`: the car's maximum, the charger's maximum and, in solar mode,
the solar surplus plus the grid allowance); energy is the integral of power, and the
session's ``duration`` counts charging seconds. The car stops drawing when it has the
energy it wanted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Final

__all__ = [
    "HOUSE_LOAD_KW",
    "MIN_POWER_KW",
    "RAMP_KW_PER_SECOND",
    "RATED_POWER_KW",
    "Car",
    "Charging",
    "Session",
    "Step",
    "power_limit",
]

#: The A2's maximum power (32 A), to which ``solarMaxGridChargePercent`` is relative.
RATED_POWER_KW: Final = 7.2
#: The least power the charger offers (6 A); solar mode pauses below it.
MIN_POWER_KW: Final = 1.4
#: How fast the charging power rises towards its limit.
RAMP_KW_PER_SECOND: Final = 1.0
#: Household consumption besides the car, for ``sysGridPower``.
HOUSE_LOAD_KW: Final = 0.4


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
class Session:
    """The current (or last) charging session, as ``chargeStatus`` shows it."""

    start: datetime | None = None
    energy: float = 0.0
    solar_energy: float = 0.0
    duration: float = 0.0
    power_max: float = 0.0


@dataclass
class Step:
    """What one simulated step did: its length (seconds) and the energy (kWh) it moved."""

    seconds: float
    energy: float = 0.0
    solar_energy: float = 0.0


@dataclass(frozen=True)
class SolarLimits:
    """The charger's settings that bound the power it offers (see :func:`power_limit`)."""

    charge_amp_max: float
    solar_ct: bool
    override: bool
    max_grid_percent: float
    solar_power: float
    charge_always: bool


def power_limit(car: Car, limits: SolarLimits) -> float:
    """Power (kW) the charger offers ``car`` under ``limits`` (0: none)."""
    charger_max = RATED_POWER_KW * limits.charge_amp_max / 32
    limit = min(car.max_power, charger_max)
    if limits.solar_ct and not limits.override:
        allowance = charger_max * limits.max_grid_percent / 100
        limit = min(limit, limits.solar_power + allowance)
        if limit < MIN_POWER_KW:
            limit = MIN_POWER_KW if limits.charge_always else 0.0
    return max(0.0, limit)


def _ramp_time(p0: float, energy_kwh: float) -> float:
    """Seconds until ``energy_kwh`` flowed, starting at ``p0`` kW and ramping up."""
    work = energy_kwh * 3600
    return (-p0 + math.sqrt(p0 * p0 + 2 * RAMP_KW_PER_SECOND * work)) / RAMP_KW_PER_SECOND


class Charging:
    """The car, the session and the power drawn now, of one charger."""

    def __init__(self) -> None:
        self.car: Car | None = None
        self.session = Session()
        self.power = 0.0

    def plug_in(self, energy_wanted_kwh: float | None, max_power_kw: float) -> None:
        """Plug a car in and start a new (empty) session.

        Raises:
            RuntimeError: a car is plugged in already.
            ValueError: non-positive energy or power.
        """
        if self.car is not None:
            raise RuntimeError("a car is plugged in already: unplug() it first")
        if (energy_wanted_kwh is not None and energy_wanted_kwh <= 0) or max_power_kw <= 0:
            raise ValueError("energy_wanted_kwh and max_power_kw must be positive")
        self.car = Car(energy_wanted=energy_wanted_kwh, max_power=max_power_kw)
        self.session = Session()

    def unplug(self) -> None:
        """Take the car away (the session stays, as ``chargeStatus`` shows the last one)."""
        self.car = None
        self.power = 0.0

    def idle(self, seconds: float) -> Step:
        """A step in which the car draws nothing."""
        self.power = 0.0
        return Step(seconds)

    def draw(self, seconds: float, target: float, solar_power: float, now: datetime) -> Step:
        """Charge for up to ``seconds`` towards ``target`` kW; ends early when the car is full.

        ``solar_power`` (kW) is the surplus that covers part of the energy.
        """
        car = self.car
        assert car is not None  # noqa: S101 - only called while a car is plugged in
        p0 = min(self.power, target)
        span = min(seconds, (target - p0) / RAMP_KW_PER_SECOND) if p0 < target else seconds
        p1 = p0 + RAMP_KW_PER_SECOND * span if p0 < target else p0
        energy = (p0 + p1) / 2 * span / 3600
        finished = energy >= car.remaining
        if finished:
            energy = car.remaining
            span = _ramp_time(p0, energy) if p1 > p0 else energy * 3600 / p0
            p1 = p0 + RAMP_KW_PER_SECOND * span if p1 > p0 else p0
        average = (p0 + p1) / 2
        solar = energy * min(1.0, solar_power / average) if average else 0.0
        session = self.session
        if session.start is None:
            session.start = now
        session.energy += energy
        session.solar_energy += solar
        session.duration += span
        session.power_max = max(session.power_max, p1)
        car.delivered += energy
        self.power = 0.0 if finished else p1
        return Step(span, energy, solar)
