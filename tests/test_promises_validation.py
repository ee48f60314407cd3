"""Input checks' promises that the suite left unguarded, observed at the emulator.

Written to kill the mutants of ``andersen_ev/validation.py`` that survived
(docs/reliability.md, "Mutation testing"): a charge rate without ``days`` applies to every
day, a price of 0 is valid, any wrong ``group_by`` is an :class:`InvalidInputError` (never
an ``AttributeError``), and each message names the argument (and the slot, and every
problem of a schedule) and what it accepts, before anything is sent.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from andersen_ev import AndersenA2, InvalidInputError
from andersen_ev.testing import AndersenCloud, Charger
from andersen_ev.validation import check_schedule


async def test_a_charge_rate_without_days_applies_every_day(
    a2: AndersenA2, andersen_charger: Charger
) -> None:
    await a2.create_charge_rate(andersen_charger.id, 0.25)
    (rate,) = andersen_charger.charge_rates()
    days = ("dayMon", "dayTue", "dayWed", "dayThu", "dayFri", "daySat", "daySun")
    assert [rate[day] for day in days] == [True] * 7


async def refused(a2: AndersenA2, cloud: AndersenCloud, call: Any, message: str) -> None:
    """``call(a2)`` raises InvalidInputError with exactly ``message``; nothing was sent."""
    sent = cloud.stats.http_requests
    with pytest.raises(InvalidInputError, match=f"^{re.escape(message)}$"):
        await call(a2)
    assert cloud.stats.http_requests == sent


@pytest.mark.parametrize("group_by", [5, 2.5, b"DAY", ["DAY"], "FORTNIGHT"])
async def test_any_wrong_group_by_is_invalid_input_listing_the_choices(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger, group_by: object
) -> None:
    await refused(
        a2,
        andersen_cloud,
        lambda a2: a2.get_calculated_power_logs_binned(andersen_charger.id, group_by=group_by),
        f"group_by must be one of HOUR, DAY, WEEK, MONTH, got {group_by!r}",
    )


async def test_a_wrong_grid_share_names_the_argument(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    await refused(
        a2,
        andersen_cloud,
        lambda a2: a2.set_solar(andersen_charger.id, False, False, 101),
        "max_grid_charge_percent must be an integer from 0 to 100, got 101",
    )


@pytest.mark.parametrize("days", [[True] * 6, [1] * 7, "MTWTFSS", 7])
async def test_wrong_days_say_what_is_expected(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger, days: object
) -> None:
    await refused(
        a2,
        andersen_cloud,
        lambda a2: a2.create_charge_rate(andersen_charger.id, 0.25, days=days),
        "days must be seven booleans, Monday first",
    )


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ("Night", "names must be a mapping of slot number to name, or a sequence indexed by slot"),
        (7, "names must be a mapping of slot number to name, or a sequence indexed by slot"),
        ({}, "names must give at least one schedule name"),
        ([None, None], "names must give at least one schedule name"),
    ],
)
async def test_wrong_schedule_names_say_what_is_expected(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    names: object,
    message: str,
) -> None:
    await refused(
        a2,
        andersen_cloud,
        lambda a2: a2.set_schedule_names(andersen_charger.id, names),
        message,
    )


TIMES = "(hours 0-23, minutes 0-59; startHour, startMinute, endHour and endMinute are required)"


@pytest.mark.parametrize(
    ("schedule", "problems"),
    [
        (
            {"startHour": 25, "startMinute": 70, "endHour": 1, "endMinute": 0},
            "startHour: Input should be less than or equal to 23;"
            " startMinute: Input should be less than or equal to 59",
        ),
        (
            {
                "startHour": 1,
                "startMinute": 0,
                "endHour": 2,
                "endMinute": 0,
                "dayMap": {"monday": "perhaps"},
            },
            "dayMap.monday: Input should be a valid boolean, unable to interpret input",
        ),
    ],
)
async def test_an_invalid_schedule_names_every_problem_and_its_field(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    schedule: dict[str, Any],
    problems: str,
) -> None:
    await refused(
        a2,
        andersen_cloud,
        lambda a2: a2.create_schedule(andersen_charger.id, 2, schedule),
        f"invalid schedule for slot 2: {problems} {TIMES}",
    )


async def test_a_schedule_of_the_wrong_type_is_named_with_its_slot(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    await refused(
        a2,
        andersen_cloud,
        lambda a2: a2.create_schedule(andersen_charger.id, 3, "00:30-04:30"),
        "schedule for slot 3 must be a Schedule or a dict, got str",
    )


def test_check_schedule_without_a_slot_names_no_slot() -> None:
    with pytest.raises(
        InvalidInputError, match=r"^schedule must be a Schedule or a dict, got int$"
    ):
        check_schedule(7)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"^invalid schedule: startHour: Field required "):
        check_schedule({"startMinute": 0, "endHour": 1, "endMinute": 0})


@pytest.mark.parametrize("slots", [{}, [], None])
async def test_empty_or_wrong_slots_say_what_is_expected(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger, slots: object
) -> None:
    await refused(
        a2,
        andersen_cloud,
        lambda a2: a2.set_schedules(andersen_charger.id, slots),
        "slots must be a non-empty mapping of slot number to schedule",
    )


async def test_a_name_that_is_not_text_names_the_argument_and_its_type(
    a2: AndersenA2, andersen_cloud: AndersenCloud
) -> None:
    await refused(
        a2,
        andersen_cloud,
        lambda a2: a2.upsert_account(5, None),
        "first_name must be a string or None, got int",
    )


async def test_a_free_charge_rate_is_valid(a2: AndersenA2, andersen_charger: Charger) -> None:
    await a2.create_charge_rate(andersen_charger.id, 0)
    (rate,) = andersen_charger.charge_rates()
    assert rate["price"] == 0


async def test_a_date_of_the_wrong_type_names_the_argument_and_its_type(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    await refused(
        a2,
        andersen_cloud,
        lambda a2: a2.create_charge_rate(andersen_charger.id, 0.25, start_date_time=20250101),
        "start_date_time must be a date, a datetime or ISO-8601 text, got int",
    )


async def test_a_blank_device_id_is_named_device_id(
    a2: AndersenA2, andersen_cloud: AndersenCloud
) -> None:
    await refused(
        a2,
        andersen_cloud,
        lambda a2: a2.get_device_status(" "),
        "device_id must be a non-empty string, got ' '",
    )
