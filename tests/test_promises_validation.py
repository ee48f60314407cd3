"""Input checks' promises that the suite left unguarded, observed at the emulator.

Written to kill the mutants of ``andersen_ev/validation.py`` that survived
(docs/reliability.md, "Mutation testing"): a charge rate without ``days`` applies to every
day, any wrong ``group_by`` is an :class:`InvalidInputError` (never an ``AttributeError``),
and each message names the argument and what it accepts, before anything is sent.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from andersen_ev import AndersenA2, InvalidInputError
from andersen_ev.testing import AndersenCloud, Charger


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
