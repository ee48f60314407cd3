"""``plan_charging``: the arguments checked, the horizon cut into atoms, the search run.

The rules that shape the horizon are in :mod:`~andersen_ev.planning.timeline`, the exact
search in :mod:`~andersen_ev.planning.search`; the decisions behind them are explained in
``docs/planning.md``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from andersen_ev.exceptions import InvalidInputError
from andersen_ev.models import SCHEDULE_SLOTS
from andersen_ev.planning.models import (
    ChargePlan,
    ChargeWindow,
    PlanNotFeasibleError,
    PriceDataError,
    PricePeriod,
)
from andersen_ev.planning.prices import prices_from_rows
from andersen_ev.planning.search import cheapest, most_minutes, spans
from andersen_ev.planning.timeline import (
    MINUTE,
    build_atoms,
    ceil_minute_of,
    is_whole_minute,
    minute_of,
    moment_of,
)

__all__ = ["DEFAULT_POWER_KW", "plan_charging"]

#: The A2's full power on a single phase (32 A at 230 V).
DEFAULT_POWER_KW: Final = 7.2
#: The longest horizon: schedules repeat weekly, so a longer one would meet itself.
MAX_HORIZON: Final = timedelta(days=7)


def _aware(value: object, name: str) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidInputError(
            f"{name} must be a timezone-aware datetime (e.g. datetime(..., tzinfo=UTC)),"
            f" got {value!r}"
        )
    return value


def _zone(value: object) -> ZoneInfo:
    if isinstance(value, ZoneInfo) and value.key:
        return value
    if isinstance(value, str):
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise InvalidInputError(
        f"time_zone must be an IANA time zone such as 'Europe/London' (the charger's"
        f" deviceInfo.timeZoneRegion), got {value!r}"
    )


def _positive(value: object, name: str, *, zero: bool) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not zero)
    ):
        sign = "zero or more" if zero else "more than zero"
        raise InvalidInputError(f"{name} must be a finite number {sign}, got {value!r}")
    return float(value)


def _minutes_needed(energy_kwh: object, duration: object, power_kw: float) -> int:
    """Minutes of charging asked for, rounded up to whole minutes."""
    if (energy_kwh is None) == (duration is None):
        raise InvalidInputError("give exactly one of energy_kwh and duration")
    if duration is not None:
        if not isinstance(duration, timedelta) or duration < timedelta(0):
            raise InvalidInputError(
                f"duration must be a timedelta of zero or more, got {duration!r}"
            )
        return -(-duration // MINUTE)
    minutes = _positive(energy_kwh, "energy_kwh", zero=True) * 60 / power_kw
    nearest = round(minutes)
    return nearest if abs(minutes - nearest) <= 1e-9 * max(1.0, minutes) else math.ceil(minutes)


def _slot_count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= SCHEDULE_SLOTS:
        raise InvalidInputError(
            f"slots must be an integer from 1 to {SCHEDULE_SLOTS}, got {value!r}"
        )
    return value


def _periods(prices: Iterable[PricePeriod | Sequence[Any]]) -> list[tuple[int, int, float]]:
    periods = prices_from_rows(prices)
    if not periods:
        raise PriceDataError("no price periods were given: there is nothing to plan over")
    for index, period in enumerate(periods):
        if not (is_whole_minute(period.start) and is_whole_minute(period.end)):
            raise PriceDataError(
                f"the period {period.start.isoformat()} to {period.end.isoformat()} does not"
                " start and end on whole minutes, as the charger's schedules do",
                where=f"period {index} in time order",
            )
    return [(minute_of(p.start), minute_of(p.end), p.price) for p in periods]


def plan_charging(
    prices: Iterable[PricePeriod | Sequence[Any]],
    *,
    ready_by: datetime,
    time_zone: ZoneInfo | str,
    energy_kwh: float | None = None,
    duration: timedelta | None = None,
    power_kw: float = DEFAULT_POWER_KW,
    not_before: datetime | None = None,
    slots: int = SCHEDULE_SLOTS,
) -> ChargePlan:
    """The cheapest way to charge ``energy_kwh`` (or for ``duration``) before ``ready_by``.

    The plan is at most ``slots`` windows of full-power charging, each one schedule slot
    in the charger's local time (``time_zone``, e.g. ``deviceInfo.timeZoneRegion``), and is
    exact: no other choice of windows that the charger's schedules can express is cheaper.
    Pure: nothing is read from the clock, the network or files.

    Args:
        prices: The tariff's periods (``PricePeriod`` or ``(start, end, price)``), in any
            order; gaps are allowed and never charged in, overlaps are refused. Negative
            prices are welcome. Period boundaries must be whole minutes.
        ready_by: When charging must be over (aware; rounded down to the minute).
        time_zone: The charger's time zone, as a ``ZoneInfo`` or its IANA name.
        energy_kwh: Energy wanted; charging time is rounded up to whole minutes at
            ``power_kw``, so the plan may deliver up to one minute's energy more.
        duration: Charging time wanted instead of an energy (rounded up to minutes).
        power_kw: The charger's power while charging (default 7.2 kW).
        not_before: When charging may start (aware; rounded up to the minute): pass "now".
            Default: the start of the first period.
        slots: How many schedule slots the plan may use, 1 to 5.

    Raises:
        PlanNotFeasibleError: the energy does not fit; the error says how much does.
        PriceDataError: a price period was refused (the message names it).
        InvalidInputError: any other argument was refused.
    """
    zone = _zone(time_zone)
    power_kw = _positive(power_kw, "power_kw", zero=False)
    slots = _slot_count(slots)
    need = _minutes_needed(energy_kwh, duration, power_kw)
    ready_by = _aware(ready_by, "ready_by")
    periods = _periods(prices)
    begin = periods[0][0]
    if not_before is not None:
        begin = max(begin, ceil_minute_of(_aware(not_before, "not_before")))
    end = minute_of(ready_by)
    if end <= begin:
        raise InvalidInputError(
            f"ready_by ({ready_by.isoformat()}) must be after not_before and after the start"
            f" of the first price period ({moment_of(begin, zone).isoformat()})"
        )
    first, last = moment_of(begin, zone), moment_of(end, zone)
    if last.replace(tzinfo=None) - first.replace(tzinfo=None) > MAX_HORIZON:
        raise InvalidInputError(
            f"plan over at most {MAX_HORIZON.days} days: schedules repeat every week, so a"
            f" slot would also charge a week later (from {first.isoformat()} to"
            f" {last.isoformat()} is longer)"
        )
    atoms = build_atoms(periods, begin, end, zone, power_kw)
    most = most_minutes(atoms, slots)
    found = cheapest(atoms, need, slots) if need <= most else None
    if found is None:
        raise _not_feasible(need, most, power_kw, slots, first, last)
    windows = tuple(
        ChargeWindow(
            start=moment_of(start, zone),
            end=moment_of(stop, zone),
            energy_kwh=(stop - start) * power_kw / 60,
            cost=cost,
        )
        for start, stop, cost in spans(atoms, found[1])
    )
    return ChargePlan(
        windows=windows,
        energy_kwh=need * power_kw / 60,
        cost=math.fsum(window.cost for window in windows),
        power_kw=power_kw,
        time_zone=zone.key,
        not_before=first,
        ready_by=last,
    )


def _not_feasible(
    need: int, most: int, power_kw: float, slots: int, first: datetime, last: datetime
) -> PlanNotFeasibleError:
    asked, fits = need * power_kw / 60, most * power_kw / 60
    where = (
        f"between {first.isoformat()} and {last.isoformat()} in at most {slots} schedule"
        f" slot{'s' if slots > 1 else ''}, charging only in priced periods"
    )
    if need > most:
        text = (
            f"{asked:.4g} kWh ({need} min at {power_kw:g} kW) cannot be delivered by"
            f" {last.isoformat()}: at most {fits:.4g} kWh ({most} min) fit {where}; ask for"
            " less energy, a later ready_by or more slots"
        )
    else:
        text = (
            f"exactly {asked:.4g} kWh ({need} min at {power_kw:g} kW) cannot be delivered by"
            f" {last.isoformat()}, though up to {fits:.4g} kWh ({most} min) fit {where}: the"
            " hour repeated when the clocks go back can only be used whole; ask for a"
            " little more or less energy"
        )
    return PlanNotFeasibleError(text, energy_kwh=asked, max_energy_kwh=fits, ready_by=last)
