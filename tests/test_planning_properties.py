"""The planner against an exhaustive search, over random prices around midnights and clock changes.

The judge is independent of the planner: it tries every window on a grid of minutes, keeps
those whose schedule slot (built here from the local clock) the *emulator's* schedule rule
(:meth:`andersen_ev.testing.charger.ScheduleSlot.covers`) makes charge in exactly that
window within the horizon, and finds the cheapest choice of at most ``slots`` of them with
an interval programme. The one rule it shares with the planner is the decision of
``docs/planning.md``: a slot never runs past local midnight.

With every boundary on the grid and the minutes asked for a multiple of it, the planner
(which works in single minutes) must match the judge exactly: that also checks that one
window edge inside a price period is enough. Each plan is checked on its own too: its
slots, from :func:`~andersen_ev.planning.plan_schedules`, charge in exactly its windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andersen_ev.planning import (
    ChargePlan,
    PlanNotFeasibleError,
    plan_charging,
    plan_schedules,
)
from andersen_ev.testing.charger import ScheduleSlot

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
POWER_KW = 6.0  # 0.1 kWh a minute
ZONES = (
    "UTC",
    "Europe/London",  # clocks go back an hour at 01:00 UTC
    "Australia/Lord_Howe",  # half an hour of summer time
    "America/Santiago",  # changes at local midnight
    "Asia/Kathmandu",  # +05:45
    "America/St_Johns",  # -03:30
)
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PLANNING = settings(max_examples=120, deadline=None, derandomize=True, database=None)


def moment(minute: int) -> datetime:
    return EPOCH + timedelta(minutes=minute)


def minute_of(when: datetime) -> int:
    return (when - EPOCH) // timedelta(minutes=1)


def offset(zone: ZoneInfo, minute: int) -> timedelta:
    found = moment(minute).astimezone(zone).utcoffset()
    assert found is not None
    return found


@cache
def landmarks(zone_name: str) -> tuple[int, ...]:
    """Clock changes of 2025 and a few local midnights, as minutes since the epoch."""
    zone = ZoneInfo(zone_name)
    start = minute_of(datetime(2025, 1, 1, tzinfo=UTC))
    found = []
    for hour in range(365 * 24):
        low, high = start + hour * 60, start + hour * 60 + 60
        if offset(zone, low) != offset(zone, high):
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (
                    (middle, high) if offset(zone, middle) == offset(zone, low) else (low, middle)
                )
            found.append(high)
    found.extend(minute_of(datetime(2025, month, 3, tzinfo=zone)) for month in (2, 6, 11))
    return tuple(found)


@dataclass
class Case:
    zone: ZoneInfo
    begin: int
    end: int
    periods: list[tuple[int, int, float]]
    need: int
    slots: int
    grid: int
    power_kw: float = POWER_KW

    @property
    def kwh_per_minute(self) -> float:
        return self.power_kw / 60

    def __post_init__(self) -> None:
        self.clock = [local(self.zone, m) for m in range(self.begin, self.end)]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    zone_name = draw(st.sampled_from(ZONES))
    grid = draw(st.sampled_from((1, 5, 15)))
    points = draw(st.integers(2, {1: 24, 5: 22, 15: 16}[grid]))
    anchor = draw(st.sampled_from(landmarks(zone_name)))
    begin = anchor - grid * draw(st.integers(0, points))
    end = begin + grid * points
    periods: list[tuple[int, int, float]] = []
    cursor = begin - grid * draw(st.integers(0, 2))
    while cursor < end + grid:
        length = grid * draw(st.integers(1, 4))
        if not periods or draw(st.integers(0, 5)):  # now and then a gap: no price there
            periods.append((cursor, cursor + length, draw(st.integers(-20, 40)) / 2))
        cursor += length
    need = grid * draw(st.integers(0, points))
    return Case(ZoneInfo(zone_name), begin, end, periods, need, draw(st.integers(1, 4)), grid)


def local(zone: ZoneInfo, minute: int) -> datetime:
    return moment(minute).astimezone(zone).replace(tzinfo=None)


def judge_slots(case: Case, start: int, stop: int) -> list[ScheduleSlot]:
    """The slots that might express the window: its local day, its clock span read both ways.

    A slot reads as its span of the clock: it ends later than it starts, or at midnight
    (00:00, so 00:00 to 00:00 for a whole day); never earlier or at its start otherwise,
    where the emulator would run it past midnight or over the whole day. Around a clock
    change, the span may start at the first minute's clock or one minute after the clock of
    the minute before, and end at the clock after the window or one minute after its last
    minute's.
    """
    first, last = local(case.zone, start), local(case.zone, stop - 1)
    if first.date() != last.date():
        return []
    days = tuple(day == first.weekday() for day in range(7))
    starts = {clock(first), clock(local(case.zone, start - 1)) + 1}
    ends = {clock(last) + 1}
    after = local(case.zone, stop)
    if after.date() == first.date():
        ends.add(clock(after))
    return [
        ScheduleSlot(*divmod(begin, 60), *divmod(end % 1440, 60), enabled=True, days=days)
        for begin in starts
        if 0 <= begin < 1440
        for end in ends
        if begin < end <= 1440
    ]


def clock(when: datetime) -> int:
    return when.hour * 60 + when.minute


def charges_exactly(case: Case, slot: ScheduleSlot, start: int, stop: int, step: int = 1) -> bool:
    """The emulator's rule: the slot charges in the window and nowhere else in the horizon.

    ``step``: check one minute in that many (the grid, when every boundary is on it).
    """
    return all(
        slot.covers(case.clock[m - case.begin]) == (start <= m < stop)
        for m in range(case.begin, case.end, step)
    )


def priced(case: Case) -> dict[int, float]:
    return {
        m: price
        for start, stop, price in case.periods
        for m in range(max(start, case.begin), min(stop, case.end))
    }


def judge(case: Case) -> tuple[float | None, int]:
    """The cheapest cost of exactly ``need`` minutes on the grid, and the most minutes that fit."""
    prices = priced(case)
    points = list(range(case.begin, case.end + 1, case.grid))
    windows: dict[int, list[tuple[int, int, float]]] = {i: [] for i in range(len(points))}
    for i, start in enumerate(points):
        for k in range(i + 1, len(points)):
            stop = points[k]
            if not all(m in prices for m in range(start, stop)):
                break
            slots = judge_slots(case, start, stop)
            if any(charges_exactly(case, slot, start, stop, case.grid) for slot in slots):
                cost = sum(prices[m] for m in range(start, stop)) * case.kwh_per_minute
                windows[i].append((k, stop - start, cost))
    # best[i][(windows used, minutes)]: cheapest with every window ending by point i
    best: list[dict[tuple[int, int], float]] = [{} for _ in points]
    best[0][0, 0] = 0.0
    for i in range(len(points)):
        for (used, minutes), cost in list(best[i].items()):
            if i + 1 < len(points):
                keep(best[i + 1], (used, minutes), cost)
            if used < case.slots:
                for k, length, price in windows[i]:
                    keep(best[k], (used + 1, minutes + length), cost + price)
    final = best[-1]
    exact = [cost for (_, minutes), cost in final.items() if minutes == case.need]
    return (min(exact) if exact else None), max(minutes for _, minutes in final)


def keep(table: dict[tuple[int, int], float], key: tuple[int, int], cost: float) -> None:
    if cost < table.get(key, float("inf")):
        table[key] = cost


def plan(case: Case) -> ChargePlan:
    return plan_charging(
        [(moment(start), moment(stop), price) for start, stop, price in case.periods],
        energy_kwh=case.need * case.kwh_per_minute,
        power_kw=case.power_kw,
        ready_by=moment(case.end),
        not_before=moment(case.begin),
        time_zone=case.zone,
        slots=case.slots,
    )


def check_plan(case: Case, found: ChargePlan) -> None:
    """The plan on its own terms: slots, timing, energy and cost, checked by the emulator's rule."""
    prices = priced(case)
    spans = [(minute_of(w.start), minute_of(w.end)) for w in found.windows]
    assert len(spans) <= case.slots
    assert all(a < b for a, b in spans)
    assert all(b <= c for (_, b), (c, _) in pairwise(spans))
    assert not spans or (case.begin <= spans[0][0] and spans[-1][1] <= case.end)
    assert sum(b - a for a, b in spans) == case.need
    assert found.energy_kwh == pytest.approx(case.need * case.kwh_per_minute)
    for (start, stop), window, schedule in zip(
        spans, found.windows, plan_schedules(found), strict=True
    ):
        assert all(m in prices for m in range(start, stop))
        assert window.energy_kwh == pytest.approx((stop - start) * case.kwh_per_minute)
        cost = sum(prices[m] for m in range(start, stop)) * case.kwh_per_minute
        assert window.cost == pytest.approx(cost, abs=1e-9)
        days = tuple(schedule.day_map.model_dump()[day] for day in DAYS)
        slot = ScheduleSlot(
            schedule.start_hour,
            schedule.start_minute,
            schedule.end_hour,
            schedule.end_minute,
            enabled=True,
            days=days,
        )
        assert charges_exactly(case, slot, start, stop)
    assert found.cost == pytest.approx(sum(w.cost for w in found.windows), abs=1e-9)


@PLANNING
@given(cases())
def test_the_plan_is_the_cheapest_the_slots_can_express(case: Case) -> None:
    cheapest, most = judge(case)
    if cheapest is None:
        with pytest.raises(PlanNotFeasibleError) as raised:
            plan(case)
        assert raised.value.max_energy_kwh == pytest.approx(most * case.kwh_per_minute)
        return
    found = plan(case)
    check_plan(case, found)
    assert found.cost == pytest.approx(cheapest, abs=1e-9)


@st.composite
def odd_cases(draw: st.DrawFn) -> Case:
    """Minutes asked for that are not a multiple of the grid: one window edge inside a period."""
    case = draw(cases().filter(lambda case: case.grid > 1))
    case.need = draw(st.integers(1, case.end - case.begin))
    return case


@PLANNING
@given(odd_cases())
def test_any_minutes_are_planned_exactly_and_no_dearer_than_on_the_grid(case: Case) -> None:
    cheapest, most = judge(case)
    if cheapest is None and most < case.need:
        with pytest.raises(PlanNotFeasibleError) as raised:
            plan(case)
        assert raised.value.max_energy_kwh == pytest.approx(most * case.kwh_per_minute)
        return
    try:
        found = plan(case)
    except PlanNotFeasibleError:  # only the repeated hour's all-or-nothing can forbid it
        assert cheapest is None
        return
    check_plan(case, found)
    if cheapest is not None:  # the judge only tries windows on the grid
        assert found.cost <= cheapest + 1e-9


def test_the_landmarks_include_clock_changes_both_ways() -> None:
    london = ZoneInfo("Europe/London")
    changes = [m for m in landmarks("Europe/London") if offset(london, m - 1) != offset(london, m)]
    assert [moment(m) for m in changes] == [
        datetime(2025, 3, 30, 1, tzinfo=UTC),
        datetime(2025, 10, 26, 1, tzinfo=UTC),
    ]
