"""Price-aware planning on recorded prices, the price readers, the errors, and the docs page.

The exhaustive judge and the plan checks (slots charge in exactly the windows, by the
emulator's schedule rule) come from ``test_planning_properties``.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from andersen_ev import InvalidInputError
from andersen_ev.planning import (
    DEFAULT_POWER_KW,
    ChargePlan,
    ChargeWindow,
    PlanNotFeasibleError,
    PriceDataError,
    PricePeriod,
    plan_charging,
    plan_schedules,
    prices_from_csv,
    prices_from_octopus,
    prices_from_rows,
    window_schedule,
)
from tests.test_planning_properties import Case, check_plan, judge

ROOT = Path(__file__).resolve().parent.parent
PRICES = ROOT / "tests" / "data" / "prices"
LONDON = ZoneInfo("Europe/London")
HALF_HOUR = timedelta(minutes=30)
MINUTE = timedelta(minutes=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NAIVE = datetime(2023, 12, 12, 7, tzinfo=UTC).replace(tzinfo=None)


def recorded(name: str) -> tuple[PricePeriod, ...]:
    text = (PRICES / name).read_text()
    return prices_from_octopus(text) if name.endswith(".json") else prices_from_csv(text)


def minutes(when: datetime) -> int:
    return (when - EPOCH) // MINUTE


def case_for(
    periods: tuple[PricePeriod, ...],
    begin: datetime,
    end: datetime,
    need: int,
    slots: int = 5,
    zone: ZoneInfo = LONDON,
) -> Case:
    """The judge's view of a plan over half-hourly prices (its grid: half hours)."""
    return Case(
        zone,
        minutes(begin),
        minutes(end),
        [(minutes(p.start), minutes(p.end), p.price) for p in periods],
        need,
        slots,
        30,
        DEFAULT_POWER_KW,
    )


def planned(periods: Sequence[PricePeriod], **options: Any) -> ChargePlan:
    options.setdefault("time_zone", LONDON)
    return plan_charging(periods, **options)


# -- the price readers ---------------------------------------------------------------------------


def test_the_recorded_octopus_answer_reads_oldest_first() -> None:
    periods = recorded("agile-2023-12-11.octopus.json")
    assert len(periods) == 62
    assert periods[0] == PricePeriod(
        start=datetime(2023, 12, 11, 16, tzinfo=UTC),
        end=datetime(2023, 12, 11, 16, 30, tzinfo=UTC),
        price=36.19,
    )
    assert periods[-1].end == datetime(2023, 12, 12, 23, tzinfo=UTC)
    assert all(a.end == b.start for a, b in pairwise(periods))


def test_an_octopus_answer_may_be_text_bytes_a_dict_or_its_results() -> None:
    text = (PRICES / "agile-2023-12-11.octopus.json").read_text()
    data = json.loads(text)
    expected = prices_from_octopus(text)
    assert prices_from_octopus(text.encode()) == expected
    assert prices_from_octopus(data) == expected
    assert prices_from_octopus(data["results"]) == expected


def test_octopus_prices_may_come_from_another_field() -> None:
    entry = {"valid_from": "2023-12-12T02:30:00Z", "valid_to": "2023-12-12T03:00:00Z"}
    periods = prices_from_octopus([{**entry, "value_inc_vat": 14.78, "value_exc_vat": 14.08}])
    assert periods[0].price == 14.78
    periods = prices_from_octopus(
        [{**entry, "value_inc_vat": 14.78, "value_exc_vat": 14.08}], field="value_exc_vat"
    )
    assert periods[0].price == 14.08


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{not json", "not JSON"),
        ('{"count": 0}', 'expected an object with a "results" list'),
        ('"results"', 'expected an object with a "results" list'),
        ('{"results": [3]}', "results[0]: expected an object"),
        (
            '{"results": [{"valid_from": "2023-12-12T02:30:00Z", "valid_to": null,'
            ' "value_inc_vat": 3}]}',
            "results[0]: valid_to missing or null (an open-ended rate",
        ),
        (
            '{"results": [{"valid_from": "2023-12-12T02:30:00", "valid_to":'
            ' "2023-12-12T03:00:00Z", "value_inc_vat": 3}]}',
            "results[0]: start: Input should have timezone info",
        ),
        (
            '{"results": [{"valid_from": "2023-12-12T02:30:00Z", "valid_to":'
            ' "2023-12-12T03:00:00Z", "value_inc_vat": NaN}]}',
            "results[0]: price: Input should be a finite number",
        ),
        (
            '{"results": [{"valid_from": "2023-12-12T02:30:00Z", "valid_to":'
            ' "2023-12-12T03:00:00Z", "value_inc_vat": true}]}',
            "results[0]: price: Value error, a price must be a number, not a boolean",
        ),
        (
            '{"results": [{"valid_from": "2023-12-12T03:00:00Z", "valid_to":'
            ' "2023-12-12T02:30:00Z", "value_inc_vat": 1}]}',
            "results[0]: period: Value error, end 2023-12-12T02:30:00+00:00 is not after start",
        ),
    ],
)
def test_octopus_errors_name_the_entry(data: str, message: str) -> None:
    with pytest.raises(PriceDataError) as raised:
        prices_from_octopus(data)
    assert message in str(raised.value)
    assert isinstance(raised.value, InvalidInputError)


def test_overlaps_are_refused_naming_both_and_duplicates_kept_once() -> None:
    first = {"valid_from": "2023-12-12T02:30:00Z", "valid_to": "2023-12-12T03:00:00Z"}
    later = {"valid_from": "2023-12-12T02:45:00Z", "valid_to": "2023-12-12T03:15:00Z"}
    assert len(prices_from_octopus([{**first, "value_inc_vat": 1}] * 2)) == 1
    with pytest.raises(PriceDataError) as raised:
        prices_from_octopus([{**later, "value_inc_vat": 2}, {**first, "value_inc_vat": 1}])
    assert raised.value.where == "results[0]"
    assert "overlaps results[1] (2023-12-12T02:30:00+00:00 to" in str(raised.value)
    with pytest.raises(PriceDataError, match="overlaps"):  # the same period, two prices
        prices_from_octopus([{**first, "value_inc_vat": 1}, {**first, "value_inc_vat": 2}])


def test_the_fold_is_compared_in_real_time_not_by_the_wall_clock() -> None:
    # 01:30 BST and 01:30 GMT share a wall clock and a ZoneInfo, half an hour apart in UTC
    first = datetime(2025, 10, 26, 1, 30, tzinfo=LONDON)
    second = first.replace(fold=1)
    periods = prices_from_rows([(second, second + HALF_HOUR, 2.0), (first, second, 1.0)])
    assert [p.price for p in periods] == [1.0, 2.0]
    assert PricePeriod(start=first, end=second, price=0).end == second


def test_the_recorded_csv_files_read_across_the_clock_change() -> None:
    summer = recorded("agile-2023-07-02.csv")
    assert len(summer) == 48
    assert sum(p.price < 0 for p in summer) == 18
    spring = recorded("agile-2023-03-26.csv")
    assert len(spring) == 46
    assert all(a.end == b.start for a, b in pairwise(spring))
    assert spring[-1].end - spring[0].start == timedelta(hours=23)
    assert {p.end - p.start for p in spring} == {HALF_HOUR}


def test_csv_headers_comments_extra_columns_and_lines() -> None:
    text = (
        "# prices\n\nSTART , Price,end,region\n"
        "2025-01-01T00:00:00Z,5.5,2025-01-01T00:30:00Z,C\n"
        "\n# tomorrow\n"
        "2025-01-01T00:30:00+00:00,-1,2025-01-01T01:00:00+00:00,C\n"
    )
    periods = prices_from_csv(text)
    assert [(p.start.minute, p.price) for p in periods] == [(0, 5.5), (30, -1.0)]
    assert prices_from_csv(io.StringIO(text)) == periods
    assert prices_from_csv("") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("start,finish,price\n", "line 1: the header must name the columns start, end and price"),
        ("start,end,price\n2025-01-01T00:00:00Z,2025-01-01T00:30:00Z\n", "line 2: expected"),
        ("start,end,price\nyesterday,2025-01-01T00:30:00Z,1\n", "line 2: start 'yesterday' is not"),
        (
            "start,end,price\n2025-01-01T00:00:00,2025-01-01T00:30:00Z,1\n",
            "line 2: start '2025-01-01T00:00:00' has no UTC offset",
        ),
        ("start,end,price\n2025-01-01T00:00Z,2025-01-01T00:30Z,cheap\n", "line 2: price 'cheap'"),
        ("start,end,price\n2025-01-01T00:00Z,2025-01-01T00:30Z,nan\n", "line 2: price: Input"),
        (
            "start,end,price\n2025-01-01T00:00Z,2025-01-01T01:00Z,1\n"
            "#\n2025-01-01T00:30Z,2025-01-01T01:30Z,1\n",
            "line 4: the period 2025-01-01T00:30:00+00:00 to 2025-01-01T01:30:00+00:00 overlaps"
            " line 2",
        ),
    ],
)
def test_csv_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(PriceDataError) as raised:
        prices_from_csv(text)
    assert message in str(raised.value)


def test_rows_take_tuples_and_periods_and_name_the_row_at_fault() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    period = PricePeriod(start=start, end=start + HALF_HOUR, price=1)
    rows = prices_from_rows([(start + HALF_HOUR, start + 2 * HALF_HOUR, 2), period])
    assert rows == (
        period,
        PricePeriod(start=start + HALF_HOUR, end=start + 2 * HALF_HOUR, price=2),
    )
    for bad, message in [
        ("2025", "prices[0]: expected a PricePeriod or a (start, end, price) tuple"),
        ((start, start + HALF_HOUR), "prices[0]: expected a PricePeriod"),
        ((start.replace(tzinfo=None), start + HALF_HOUR, 1), "prices[0]: start: Input should"),
        ((start, start + HALF_HOUR, math.inf), "prices[0]: price: Input should be a finite"),
    ]:
        with pytest.raises(PriceDataError) as raised:
            prices_from_rows([bad])
        assert message in str(raised.value)


# -- plans on recorded prices --------------------------------------------------------------------


def test_a_winter_night_matches_the_exhaustive_judge() -> None:
    periods = recorded("agile-2023-12-11.octopus.json")
    begin = datetime(2023, 12, 11, 18, tzinfo=UTC)
    end = datetime(2023, 12, 12, 7, tzinfo=UTC)
    for kwh, slots in [(10.8, 5), (28.8, 5), (28.8, 2), (43.2, 1), (93.6, 5)]:  # half hours
        plan = planned(periods, energy_kwh=kwh, not_before=begin, ready_by=end, slots=slots)
        case = case_for(periods, begin, end, round(kwh / DEFAULT_POWER_KW * 60), slots)
        cheapest, _ = judge(case)
        check_plan(case, plan)
        assert plan.cost == pytest.approx(cheapest)


def test_negative_prices_are_used_and_pay() -> None:
    periods = recorded("agile-2023-07-02.csv")
    begin, end = periods[0].start, periods[-1].end
    plan = planned(periods, energy_kwh=36, not_before=begin, ready_by=end)
    case = case_for(periods, begin, end, 300)
    check_plan(case, plan)
    assert plan.cost == pytest.approx(judge(case)[0])
    assert plan.cost < 0
    assert plan.average_price is not None
    assert plan.average_price < 0
    assert all(w.start.hour >= 8 and w.end.hour <= 16 for w in plan.windows)


def test_the_spring_clock_change_night() -> None:
    periods = recorded("agile-2023-03-26.csv")
    begin, end = periods[0].start, periods[-1].end
    for hours in (1.5, 4, 9):
        plan = planned(periods, duration=timedelta(hours=hours), not_before=begin, ready_by=end)
        case = case_for(periods, begin, end, round(hours * 60))
        check_plan(case, plan)
        assert plan.cost == pytest.approx(judge(case)[0])
    # across the jump: 00:00 to 01:30 UTC is the slot 00:00 to 02:30, 90 minutes long
    early = [p for p in periods if p.start < datetime(2023, 3, 26, 1, 30, tzinfo=UTC)]
    plan = planned(early, duration=timedelta(minutes=90), ready_by=early[-1].end)
    (window,) = plan.windows
    assert window.duration == timedelta(minutes=90)
    (slot,) = plan_schedules(plan)
    assert (slot.start_hour, slot.start_minute, slot.end_hour, slot.end_minute) == (0, 0, 2, 30)


def test_the_repeated_hour_is_used_whole_or_not_at_all() -> None:
    periods = recorded("synthetic-2025-10-26.octopus.json")
    fold = (datetime(2025, 10, 26, 0, tzinfo=UTC), datetime(2025, 10, 26, 2, tzinfo=UTC))
    begin, end = periods[0].start, datetime(2025, 10, 26, 8, tzinfo=UTC)
    seen = set()
    for hours in (1, 2, 2.5, 3, 4, 5):
        plan = planned(periods, duration=timedelta(hours=hours), not_before=begin, ready_by=end)
        case = case_for(periods, begin, end, round(hours * 60))
        check_plan(case, plan)
        assert plan.cost == pytest.approx(judge(case)[0])
        for window in plan.windows:  # wholly inside, wholly outside, or around it
            inside = window.start < fold[1] and fold[0] < window.end
            assert not inside or (window.start <= fold[0] and fold[1] <= window.end)
            seen.add(inside)
    assert seen == {True, False}


def test_a_plan_starting_inside_the_repeated_hour_leaves_its_twins_alone() -> None:
    periods = recorded("synthetic-2025-10-26.octopus.json")
    begin = datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # 01:30 BST, the first time round
    end = datetime(2025, 10, 26, 6, tzinfo=UTC)
    for hours in (0.5, 1, 2, 4):
        plan = planned(periods, duration=timedelta(hours=hours), not_before=begin, ready_by=end)
        case = case_for(periods, begin, end, round(hours * 60))
        check_plan(case, plan)
        assert plan.cost == pytest.approx(judge(case)[0])
        # 01:30-02:00 BST and GMT are twins: neither is used; no window crosses 01:00 UTC
        twins = [(begin, begin + HALF_HOUR), (begin + 2 * HALF_HOUR, begin + 3 * HALF_HOUR)]
        for window in plan.windows:
            assert all(window.end <= a or b <= window.start for a, b in twins)


def test_the_repeated_hour_alone_cannot_give_part_of_itself() -> None:
    periods = recorded("synthetic-2025-10-26.octopus.json")
    fold = {"not_before": datetime(2025, 10, 26, 0, tzinfo=UTC)}
    fold["ready_by"] = datetime(2025, 10, 26, 2, tzinfo=UTC)
    assert len(planned(periods, duration=timedelta(hours=2), **fold).windows) == 1
    with pytest.raises(PlanNotFeasibleError) as raised:
        planned(periods, duration=timedelta(hours=1), **fold)
    assert "can only be used whole" in str(raised.value)
    assert raised.value.max_energy_kwh == pytest.approx(2 * DEFAULT_POWER_KW)


def test_an_infeasible_plan_says_how_much_fits_and_by_when() -> None:
    periods = recorded("agile-2023-12-11.octopus.json")
    end = datetime(2023, 12, 12, 7, tzinfo=LONDON)
    with pytest.raises(PlanNotFeasibleError) as raised:
        planned(periods, energy_kwh=120, ready_by=end, not_before=end - timedelta(hours=10))
    error = raised.value
    assert error.max_energy_kwh == pytest.approx(72.0)  # ten hours at 7.2 kW, two days
    assert error.energy_kwh == pytest.approx(120)
    assert error.ready_by == end
    assert "at most 72 kWh (600 min) fit between 2023-12-11T21:00:00+00:00 and" in str(error)
    assert "ask for less energy, a later ready_by or more slots" in str(error)
    with pytest.raises(PlanNotFeasibleError, match="in at most 1 schedule slot,"):
        planned(periods, energy_kwh=60, ready_by=end, slots=1)


def test_midnight_ends_a_window_and_costs_a_slot() -> None:
    start = datetime(2025, 1, 6, 22, tzinfo=UTC)  # a Monday, flat prices 22:00 to 02:00
    flat = [(start + i * HALF_HOUR, start + (i + 1) * HALF_HOUR, 10.0) for i in range(8)]
    with pytest.raises(PlanNotFeasibleError) as raised:
        plan_charging(
            flat, duration=timedelta(hours=4), ready_by=flat[-1][1], time_zone="UTC", slots=1
        )
    assert raised.value.max_energy_kwh == pytest.approx(2 * DEFAULT_POWER_KW)
    plan = plan_charging(flat, duration=timedelta(hours=4), ready_by=flat[-1][1], time_zone="UTC")
    assert [(w.start.hour, w.end.hour) for w in plan.windows] == [(22, 0), (0, 2)]
    late, early = plan_schedules(plan)
    assert (late.start_hour, late.end_hour, late.end_minute) == (22, 0, 0)
    assert late.day_map.monday
    assert not late.day_map.tuesday
    assert (early.start_hour, early.end_hour) == (0, 2)
    assert early.day_map.tuesday
    assert not early.day_map.monday
    # the same hours as a whole day in Tokyo: no midnight inside, one window
    plan = plan_charging(
        flat, duration=timedelta(hours=4), ready_by=flat[-1][1], time_zone="Asia/Tokyo", slots=1
    )
    assert len(plan.windows) == 1


def test_a_clock_change_at_midnight_ends_the_day() -> None:
    santiago = ZoneInfo("America/Santiago")  # 7 Sep 2025: 00:00 -04 is 01:00 -03
    start = datetime(2025, 9, 7, 2, tzinfo=UTC)  # 22:00 on Saturday
    flat = [(start + i * HALF_HOUR, start + (i + 1) * HALF_HOUR, 4.0 - i % 3) for i in range(8)]
    prices = prices_from_rows(flat)
    plan = plan_charging(
        prices, duration=timedelta(hours=4), ready_by=flat[-1][1], time_zone=santiago
    )
    case = case_for(prices, start, flat[-1][1], 240, zone=santiago)
    check_plan(case, plan)
    assert plan.cost == pytest.approx(judge(case)[0])
    saturday, sunday = plan_schedules(plan)
    assert (saturday.start_hour, saturday.end_hour, saturday.end_minute) == (22, 0, 0)
    assert saturday.day_map.saturday
    assert (sunday.start_hour, sunday.end_hour) == (1, 3)
    assert sunday.day_map.sunday


def test_a_whole_local_day_is_one_slot_from_midnight_to_midnight() -> None:
    start = datetime(2025, 1, 7, tzinfo=UTC)
    flat = [(start + i * HALF_HOUR, start + (i + 1) * HALF_HOUR, 3.0) for i in range(52)]
    plan = plan_charging(
        flat, duration=timedelta(days=1), ready_by=flat[-1][1], time_zone="UTC", slots=1
    )
    (slot,) = plan_schedules(plan)
    assert (slot.start_hour, slot.start_minute, slot.end_hour, slot.end_minute) == (0, 0, 0, 0)
    assert slot.day_map.tuesday
    assert not slot.day_map.wednesday


def test_equal_costs_prefer_fewer_windows_and_gaps_are_never_charged() -> None:
    start = datetime(2025, 1, 7, 1, tzinfo=UTC)
    flat = [(start + i * HALF_HOUR, start + (i + 1) * HALF_HOUR, 5.0) for i in range(8)]
    plan = plan_charging(flat, duration=timedelta(hours=2), ready_by=flat[-1][1], time_zone="UTC")
    assert len(plan.windows) == 1
    gapped = flat[:2] + flat[3:]  # no price from 02:00 to 02:30
    plan = plan_charging(
        gapped, duration=timedelta(hours=3.5), ready_by=flat[-1][1], time_zone="UTC"
    )
    gap = (start + 2 * HALF_HOUR, start + 3 * HALF_HOUR)
    assert all(w.end <= gap[0] or gap[1] <= w.start for w in plan.windows)
    assert plan.duration == timedelta(hours=3.5)


def test_energy_and_times_are_rounded_to_whole_minutes() -> None:
    periods = recorded("agile-2023-12-11.octopus.json")
    plan = planned(
        periods,
        energy_kwh=10,  # 83.3 minutes at 7.2 kW: 84 minutes, 10.08 kWh
        not_before=datetime(2023, 12, 11, 23, 59, 30, tzinfo=UTC),
        ready_by=datetime(2023, 12, 12, 1, 24, 59, tzinfo=UTC),
    )
    assert plan.energy_kwh == pytest.approx(10.08)
    assert plan.duration == timedelta(minutes=84)
    assert plan.not_before == datetime(2023, 12, 12, 0, 0, tzinfo=UTC)
    assert plan.ready_by == datetime(2023, 12, 12, 1, 24, tzinfo=UTC)
    assert plan.windows[0].start == plan.not_before
    assert plan.windows[-1].end == plan.ready_by
    assert planned(
        periods, duration=timedelta(minutes=30, seconds=1), ready_by=plan.ready_by
    ).duration == timedelta(minutes=31)


def test_nothing_to_charge_is_an_empty_plan() -> None:
    periods = recorded("agile-2023-12-11.octopus.json")
    plan = planned(periods, energy_kwh=0, ready_by=periods[-1].end)
    assert plan.windows == ()
    assert plan.cost == 0
    assert plan.average_price is None
    assert plan.slots_used == 0
    assert plan_schedules(plan) == ()
    # after the last price, there is nothing to charge in: fine for nothing, not for more
    later = {"not_before": periods[-1].end, "ready_by": periods[-1].end + HALF_HOUR}
    assert planned(periods, energy_kwh=0, **later).windows == ()
    with pytest.raises(PlanNotFeasibleError) as raised:
        planned(periods, energy_kwh=1, **later)
    assert raised.value.max_energy_kwh == 0


def test_a_plan_is_an_immutable_value_that_survives_json() -> None:
    periods = recorded("agile-2023-12-11.octopus.json")
    plan = planned(periods, energy_kwh=20, ready_by=periods[-1].end)
    assert ChargePlan.model_validate_json(plan.model_dump_json()) == plan
    assert plan.time_zone == "Europe/London"
    assert plan.windows[0].start.tzinfo == LONDON
    assert plan.windows[0].average_price == pytest.approx(
        plan.windows[0].cost / plan.windows[0].energy_kwh
    )
    with pytest.raises(ValueError, match="frozen"):
        plan.cost = 0


# -- arguments refused ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone must be an IANA time zone"),
        ({"time_zone": 1}, "time_zone must be an IANA time zone"),
        ({"power_kw": 0}, "power_kw must be a finite number more than zero"),
        ({"power_kw": math.nan}, "power_kw must be a finite number"),
        ({"power_kw": True}, "power_kw must be a finite number"),
        ({"slots": 0}, "slots must be an integer from 1 to 5"),
        ({"slots": 6}, "slots must be an integer from 1 to 5"),
        ({"slots": True}, "slots must be an integer from 1 to 5"),
        ({"duration": timedelta(hours=1)}, "give exactly one of energy_kwh and duration"),
        ({"energy_kwh": None}, "give exactly one of energy_kwh and duration"),
        ({"energy_kwh": -1}, "energy_kwh must be a finite number zero or more"),
        ({"energy_kwh": "10"}, "energy_kwh must be a finite number"),
        ({"energy_kwh": None, "duration": 60}, "duration must be a timedelta"),
        ({"energy_kwh": None, "duration": -MINUTE}, "duration must be a timedelta of zero or more"),
        ({"ready_by": NAIVE}, "ready_by must be a timezone-aware datetime"),
        ({"not_before": NAIVE}, "not_before must be a timezone-aware datetime"),
        (
            {"ready_by": datetime(2023, 12, 11, 16, tzinfo=UTC)},
            "ready_by (2023-12-11T16:00:00+00:00) must be after",
        ),
        (
            {"not_before": datetime(2023, 12, 12, 8, tzinfo=UTC)},
            "must be after not_before and after the start of the first price period",
        ),
        ({"ready_by": datetime(2023, 12, 19, 17, tzinfo=UTC)}, "plan over at most 7 days"),
    ],
)
def test_bad_arguments_are_refused(options: dict[str, Any], message: str) -> None:
    periods = recorded("agile-2023-12-11.octopus.json")
    arguments: dict[str, Any] = {
        "energy_kwh": 10,
        "ready_by": datetime(2023, 12, 12, 7, tzinfo=UTC),
        "time_zone": LONDON,
        **options,
    }
    with pytest.raises(InvalidInputError) as raised:
        plan_charging(periods, **arguments)
    assert message in str(raised.value)


def test_prices_must_exist_and_fall_on_whole_minutes() -> None:
    end = datetime(2025, 1, 1, 1, tzinfo=UTC)
    with pytest.raises(PriceDataError, match="no price periods were given"):
        plan_charging([], energy_kwh=1, ready_by=end, time_zone="UTC")
    odd = [(end - HALF_HOUR, end - timedelta(seconds=1), 1.0)]
    with pytest.raises(PriceDataError, match=r"period 0 in time order: .* whole minutes"):
        plan_charging(odd, energy_kwh=1, ready_by=end, time_zone="UTC")


def test_a_window_becomes_a_slot_only_within_a_day_and_in_whole_minutes() -> None:
    start = datetime(2025, 1, 6, 23, tzinfo=UTC)
    across = ChargeWindow(start=start, end=start + 2 * HALF_HOUR + MINUTE, energy_kwh=7.3, cost=1)
    with pytest.raises(InvalidInputError, match="crosses local midnight: split it there"):
        window_schedule(across, UTC)
    ragged = ChargeWindow(start=start, end=start + timedelta(seconds=90), energy_kwh=0.2, cost=1)
    with pytest.raises(InvalidInputError, match="whole minutes"):
        window_schedule(ragged, UTC)
    slot = window_schedule(across, ZoneInfo("Asia/Tokyo"))  # 08:00 to 09:01 on Tuesday
    assert (slot.start_hour, slot.end_hour, slot.end_minute) == (8, 9, 1)
    assert slot.day_map.tuesday


# -- the docs page -------------------------------------------------------------------------------

FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_the_planning_page_prints_what_it_shows() -> None:
    """Each Python block of docs/planning.md prints the text block that follows it.

    (``test_docs_examples`` runs the page against the emulator; here, its output is read.)
    """
    fences = FENCE.findall((ROOT / "docs" / "planning.md").read_text())
    namespace: dict[str, Any] = {"zone": LONDON}
    checked = 0
    for (language, source), (following, shown) in zip(fences, [*fences[1:], ("", "")], strict=True):
        if language != "python" or "await " in source or "async " in source:
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(source, "planning.md", "exec"), namespace)  # noqa: S102 - our docs
        if following == "text":
            assert printed.getvalue() == shown
            checked += 1
    assert checked == 5


def test_the_planning_page_tells_the_truth_about_its_prices() -> None:
    """The worked example's prices are the recording's, and its comparisons hold."""
    periods = recorded("agile-2023-12-11.octopus.json")
    namespace: dict[str, Any] = {"zone": LONDON}
    source = FENCE.findall((ROOT / "docs" / "planning.md").read_text())[1][1]
    exec(compile(source, "planning.md", "exec"), namespace)  # noqa: S102 - our docs
    shown = [PricePeriod(start=a, end=b, price=p) for a, b, p in namespace["prices"]]
    assert shown == list(periods[:30])
    # charging at once: 250 minutes from 17:47
    plugged = datetime(2023, 12, 11, 17, 47, tzinfo=UTC)
    at_once = sum(
        p.price * DEFAULT_POWER_KW / 60
        for minute in range(250)
        for p in periods
        if p.start <= plugged + minute * MINUTE < p.end
    )
    assert round(at_once, 1) == 791.2
    single = planned(
        periods[:30], energy_kwh=30, not_before=plugged, ready_by=periods[29].end, slots=1
    )
    assert (round(single.cost, 1), single.windows[0].start.hour, single.windows[0].end.minute) == (
        486.4,
        1,
        40,
    )
