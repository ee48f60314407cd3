"""The planning horizon as the charger's schedules see it: atoms of one price and one day.

Times are whole minutes since the Unix epoch (UTC) here. A schedule slot is a span of the
charger's local clock on one weekday, so the horizon is cut into *atoms*: stretches
within one price period and one local calendar day, between which a window may or may not
run on. The rules (see ``docs/planning.md``):

* A window lies within one local calendar day: at a local midnight it must end (a charge
  across midnight is two windows, two slots).
* The hour the clocks go back is seen twice by the charger's clock, so a slot covering any
  of it charges in both. When both occurrences are inside the horizon they form one
  indivisible atom (a window uses all of it or none); when the horizon cuts one occurrence
  short, the minutes whose twin is also inside the horizon cannot be used at all, and no
  window runs across the change.
* Springing forward needs nothing: the local clock only jumps ahead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Final

MINUTE: Final = timedelta(minutes=1)
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
DAY_MINUTES: Final = 24 * 60
#: How often the UTC offset is probed for changes (transitions are months apart).
_PROBE_MINUTES: Final = 60
#: How far around the horizon transitions are looked for (covers a 2-hour clock change).
_MARGIN_MINUTES: Final = 180


def minute_of(moment: datetime) -> int:
    """Whole minutes from the epoch to ``moment`` (rounded down)."""
    return (moment - EPOCH) // MINUTE


def ceil_minute_of(moment: datetime) -> int:
    """Whole minutes from the epoch to ``moment`` (rounded up)."""
    return -((EPOCH - moment) // MINUTE)


def is_whole_minute(moment: datetime) -> bool:
    """Whether ``moment`` falls on a whole minute (no seconds, no microseconds)."""
    return (moment - EPOCH) % MINUTE == timedelta(0)


def moment_of(minute: int, zone: tzinfo) -> datetime:
    """The aware datetime of ``minute``, in ``zone``."""
    return (EPOCH + minute * MINUTE).astimezone(zone)


def _offset(zone: tzinfo, minute: int) -> int:
    offset = moment_of(minute, zone).utcoffset()
    assert offset is not None  # noqa: S101 - astimezone always gives an aware datetime
    return offset // MINUTE


@dataclass(frozen=True, slots=True)
class Atom:
    """A stretch of the horizon with one price, within one local day."""

    start: int
    end: int
    rate: float
    """Cost of one minute of charging."""
    cost: float
    """Cost of charging through the whole atom."""
    divisible: bool
    """False for the repeated hour of a clock change: used whole or not at all."""
    joins: bool
    """A window may run on into this atom from the previous one."""

    @property
    def length(self) -> int:
        """Minutes in the atom."""
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class _Shift:
    """A change of the zone's UTC offset at ``at`` (minutes), ``before`` to ``after``."""

    at: int
    before: int
    after: int


def _shifts(zone: tzinfo, first: int, last: int) -> list[_Shift]:
    """Every change of UTC offset in ``(first, last]``, found by probing then bisecting."""
    probes = [*range(first, last, _PROBE_MINUTES), last]
    offsets = [_offset(zone, probe) for probe in probes]
    shifts: list[_Shift] = []
    for (first_probe, before), (last_probe, after) in pairwise(zip(probes, offsets, strict=True)):
        if before == after:
            continue
        low, high = first_probe, last_probe
        while high - low > 1:
            middle = (low + high) // 2
            if _offset(zone, middle) == before:
                low = middle
            else:
                high = middle
        shifts.append(_Shift(high, before, after))
    return shifts


def _day_starts(zone: tzinfo, begin: int, end: int, shifts: Sequence[_Shift]) -> set[int]:
    """The minutes in ``(begin, end)`` where the local calendar date changes."""
    inside = [shift for shift in shifts if begin < shift.at < end]
    bounds = [begin, *(shift.at for shift in inside), end]
    starts: set[int] = set()
    for low, high in pairwise(bounds):
        offset = _offset(zone, low)
        midnight = low + (-(low + offset)) % DAY_MINUTES
        if midnight == low:  # a date change at a clock change is found below
            midnight += DAY_MINUTES
        starts.update(range(midnight, high, DAY_MINUTES))
    for shift in inside:
        if moment_of(shift.at - 1, zone).date() != moment_of(shift.at, zone).date():
            starts.add(shift.at)
    return starts


def build_atoms(
    periods: Iterable[tuple[int, int, float]],
    begin: int,
    end: int,
    zone: tzinfo,
    power_kw: float,
) -> list[Atom]:
    """The usable atoms of ``periods`` (sorted, disjoint) inside the horizon ``[begin, end)``."""
    shifts = _shifts(zone, begin - _MARGIN_MINUTES, end + _MARGIN_MINUTES)
    days = _day_starts(zone, begin, end, shifts)
    breaks = set(days)
    cuts = set(days)
    units: list[tuple[int, int]] = []
    dead: list[tuple[int, int]] = []
    for shift in shifts:
        twin = shift.before - shift.after  # minutes the clock goes back (0 or less: none)
        if twin <= 0:
            continue
        if begin < shift.at < end:
            breaks.add(shift.at)
            cuts.add(shift.at)
        if begin <= shift.at - twin and shift.at + twin <= end:
            units.append((shift.at - twin, shift.at + twin))
            cuts.update(units[-1])
            continue
        low, high = max(shift.at - twin, begin), min(shift.at, end - twin)
        if low < high:  # minutes whose twin is also in the horizon, on either side
            dead.extend([(low, high), (low + twin, high + twin)])
            cuts.update((low, high, low + twin, high + twin))
    ordered_cuts = sorted(cuts)
    pieces: list[tuple[int, int, float]] = []
    for period_start, period_end, price in periods:
        start, stop = max(period_start, begin), min(period_end, end)
        if start >= stop:
            continue
        inner = [cut for cut in ordered_cuts if start < cut < stop]
        for low, high in pairwise([start, *inner, stop]):
            if not any(a <= low and high <= b for a, b in dead):
                pieces.append((low, high, price * power_kw / 60))
    return _join(_merge_units(pieces, units, days), breaks)


def _merge_units(
    pieces: list[tuple[int, int, float]], units: Sequence[tuple[int, int]], days: set[int]
) -> list[tuple[int, int, float, float, bool]]:
    """Pieces as ``(start, end, rate, cost, divisible)``, each repeated hour made one atom.

    A repeated hour with a gap in its prices, or a day change inside, cannot be used.
    """
    merged: list[tuple[int, int, float, float, bool]] = []
    taken: dict[tuple[int, int], list[tuple[int, int, float]]] = {unit: [] for unit in units}
    for low, high, rate in pieces:
        unit = next((u for u in units if u[0] <= low and high <= u[1]), None)
        if unit is None:
            merged.append((low, high, rate, rate * (high - low), True))
        else:
            taken[unit].append((low, high, rate))
    for (low, high), members in taken.items():
        covered = sum(stop - start for start, stop, _ in members)
        if covered == high - low and not any(low < day < high for day in days):
            cost = sum(rate * (stop - start) for start, stop, rate in members)
            merged.append((low, high, cost / (high - low), cost, False))
    merged.sort()
    return merged


def _join(pieces: list[tuple[int, int, float, float, bool]], breaks: set[int]) -> list[Atom]:
    atoms: list[Atom] = []
    for low, high, rate, cost, divisible in pieces:
        joins = bool(atoms) and atoms[-1].end == low and low not in breaks
        atoms.append(Atom(low, high, rate, cost, divisible, joins))
    return atoms
