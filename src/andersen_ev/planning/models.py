"""The values of price-aware planning: price periods, charging windows, plans, and errors.

Prices are in whatever unit their source uses (Octopus publishes pence per kWh); a cost is
in that unit times kWh (pence, for Octopus). Energies are in kWh, powers in kW. Every
datetime is timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Annotated, Any, Self

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from andersen_ev.exceptions import PlanNotFeasibleError, PriceDataError

__all__ = [
    "ChargePlan",
    "ChargeWindow",
    "PlanNotFeasibleError",
    "PriceDataError",
    "PricePeriod",
]


def _not_bool(value: Any) -> Any:
    """Refuse booleans, which lax validation would otherwise read as prices 0 and 1."""
    if isinstance(value, bool):
        raise ValueError("a price must be a number, not a boolean")  # noqa: TRY004
    return value


#: A finite price: int, float, Decimal or numeric string; NaN, infinities and booleans refused.
Price = Annotated[float, BeforeValidator(_not_bool), Field(allow_inf_nan=False)]

_FROZEN = ConfigDict(frozen=True, extra="forbid", defer_build=True)  # built on first use


class PricePeriod(BaseModel):
    """One period of a tariff: from ``start`` (inclusive) to ``end`` (exclusive), one price.

    ``price`` is per kWh, in the source's unit (pence for Octopus); negative prices are
    valid (Agile has them). Both times must be timezone-aware and ``end`` after ``start``.
    """

    model_config = _FROZEN

    start: AwareDatetime
    end: AwareDatetime
    price: Price

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        # in UTC: aware datetimes sharing a ZoneInfo compare by wall clock (wrong at a fold)
        if self.end.astimezone(UTC) <= self.start.astimezone(UTC):
            raise ValueError(
                f"end {self.end.isoformat()} is not after start {self.start.isoformat()}"
            )
        return self


class ChargeWindow(BaseModel):
    """One stretch of charging at full power: one schedule slot on the charger.

    ``start`` and ``end`` are whole minutes in the plan's time zone; the window lies within
    one local calendar day (a charge across midnight is two windows that touch).
    """

    model_config = _FROZEN

    start: AwareDatetime
    end: AwareDatetime
    energy_kwh: float = Field(description="kWh delivered at the plan's power")
    cost: float = Field(description="price unit x kWh, e.g. pence")

    @property
    def duration(self) -> timedelta:
        """How long the window lasts (real time, also across a clock change)."""
        return self.end.astimezone(UTC) - self.start.astimezone(UTC)

    @property
    def average_price(self) -> float:
        """The cost per kWh over the window (the price unit of the source)."""
        return self.cost / self.energy_kwh


class ChargePlan(BaseModel):
    """The cheapest charging found: windows in time order, their energy and their cost.

    ``energy_kwh`` is what the windows deliver at ``power_kw``: the energy asked for,
    rounded up to whole minutes of charging (schedules have whole minutes). ``cost`` is in
    the price unit times kWh. The windows are meant to be in force from ``not_before`` to
    ``ready_by`` only: turn them into schedules with
    :func:`~andersen_ev.planning.plan_schedules`, and put the old schedules back afterwards,
    as schedules repeat every week.
    """

    model_config = _FROZEN

    windows: tuple[ChargeWindow, ...]
    energy_kwh: float = Field(description="kWh")
    cost: float = Field(description="price unit x kWh, e.g. pence")
    power_kw: float = Field(description="kW")
    time_zone: str = Field(description="IANA name of the charger's time zone")
    not_before: AwareDatetime
    ready_by: AwareDatetime

    @property
    def slots_used(self) -> int:
        """How many of the charger's schedule slots the plan needs (one per window)."""
        return len(self.windows)

    @property
    def duration(self) -> timedelta:
        """Total charging time."""
        return sum((window.duration for window in self.windows), timedelta())

    @property
    def average_price(self) -> float | None:
        """The cost per kWh over the whole plan; None for a plan that charges nothing."""
        return self.cost / self.energy_kwh if self.energy_kwh else None
