"""Charging plans on a charger, against the emulator: the car charges in the plan's windows
and only in them, and everything is put back exactly afterwards (also on error and cancel)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest

from andersen_ev import (
    AndersenA2,
    AppliedPlan,
    CommandNotConfirmedError,
    InvalidInputError,
    ResponseError,
)
from andersen_ev.planning import ChargePlan, PricePeriod, plan_charging
from andersen_ev.testing import AndersenCloud, Charger
from tests.scripted_server import Script, json_reply
from tests.test_control import prepare, snapshot, status_reply

HALF_HOUR = timedelta(minutes=30)


def prices(start: datetime, cheap: dict[int, float], hours: int = 20) -> list[PricePeriod]:
    """Half-hour prices from ``start``: 30 p, except the periods (by index) in ``cheap``."""
    return [
        PricePeriod(
            start=start + index * HALF_HOUR,
            end=start + (index + 1) * HALF_HOUR,
            price=cheap.get(index, 30.0),
        )
        for index in range(hours * 2)
    ]


def night_plan(charger: Charger, energy_kwh: float = 9.0) -> ChargePlan:
    """Cheapest at 02:00-03:00 and 05:30-06:00 on the charger's next night."""
    start = charger.now
    # the charger's clock starts at Monday 12:00 UTC (London in winter): index 28 is 02:00
    cheap = {28: 5.0, 29: 6.0, 35: 4.0}
    return plan_charging(
        prices(start, cheap),
        energy_kwh=energy_kwh,
        ready_by=start + timedelta(hours=20),
        time_zone="Europe/London",
        not_before=start,
    )


def energy(charger: Charger) -> float:
    total: float = charger.status()["chargeStatus"]["chargeEnergyTotal"] or 0.0
    return total


def charging_minutes(charger: Charger, until: datetime) -> list[datetime]:
    """Advance the charger's clock minute by minute to ``until``; the minutes energy flowed in."""
    seen = []
    while charger.now < until:
        minute, before = charger.now, energy(charger)
        charger.advance(60)
        if energy(charger) > before:
            seen.append(minute)
    return seen


def in_windows(plan: ChargePlan, moment: datetime) -> bool:
    return any(window.start <= moment < window.end for window in plan.windows)


@pytest.mark.parametrize("locked", [True, False])
async def test_the_car_charges_in_the_windows_only_and_all_is_put_back(
    a2: AndersenA2, andersen_charger: Charger, locked: bool
) -> None:
    before = await prepare(a2, andersen_charger, locked=locked)
    andersen_charger.plug_in(energy_wanted_kwh=40.0)
    plan = night_plan(andersen_charger)
    assert plan.slots_used == 2

    handle = await a2.apply_charging_plan(andersen_charger.id, plan)
    assert isinstance(handle, AppliedPlan)
    assert handle.saved.locked is locked
    status = andersen_charger.status()
    assert status["sysUserLock"] is False
    written = status["scheduleSlotsArray"]
    assert [slot["enabled"] for slot in written] == [True, True, False, False, False]
    assert [slot["startHour"] for slot in written[:2]] == [2, 5]
    assert written[2:] == [dict(slot, enabled=False) for slot in before[1][2:]]

    minutes = charging_minutes(andersen_charger, plan.ready_by)
    assert minutes, "the car never charged"
    assert all(in_windows(plan, minute) for minute in minutes), [
        minute.isoformat() for minute in minutes if not in_windows(plan, minute)
    ]
    assert len(minutes) == round(plan.duration / timedelta(minutes=1))
    delivered = energy(andersen_charger)
    assert delivered == pytest.approx(plan.energy_kwh, abs=0.05)  # the ramp costs seconds

    await a2.restore(andersen_charger.id)
    assert handle.restored
    assert snapshot(andersen_charger) == before


async def test_the_context_manager_restores_on_error_and_on_cancel(
    a2: AndersenA2, andersen_charger: Charger
) -> None:
    before = await prepare(a2, andersen_charger, locked=True)
    plan = night_plan(andersen_charger)
    with pytest.raises(RuntimeError, match="bot crashed"):  # noqa: PT012 - the block is the test
        async with a2.charging_plan(andersen_charger.id, plan) as handle:
            assert snapshot(andersen_charger) != before
            raise RuntimeError("bot crashed")
    assert handle.restored
    assert snapshot(andersen_charger) == before

    entered = asyncio.Event()

    async def bot() -> None:
        async with a2.charging_plan(andersen_charger.id, plan):
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(bot())
    await asyncio.wait_for(entered.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert snapshot(andersen_charger) == before


async def test_a_plan_in_another_time_zone_is_refused_before_anything_changes(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    plan = night_plan(andersen_charger)
    andersen_charger.set(timeZoneRegion="Europe/Paris")
    writes = andersen_cloud.stats.graphql_requests["setSchedules"]
    with pytest.raises(InvalidInputError, match="Europe/Paris"):
        await a2.apply_charging_plan(andersen_charger.id, plan)
    assert andersen_cloud.stats.graphql_requests["setSchedules"] == writes


async def test_nothing_to_apply_and_bad_arguments_are_refused(
    a2: AndersenA2, andersen_charger: Charger
) -> None:
    empty = night_plan(andersen_charger).model_copy(update={"windows": ()})
    with pytest.raises(InvalidInputError, match="no charging window"):
        await a2.apply_charging_plan(andersen_charger.id, empty)
    not_a_plan: Any = {"windows": []}
    with pytest.raises(InvalidInputError, match="ChargePlan"):
        await a2.apply_charging_plan(andersen_charger.id, not_a_plan)
    with pytest.raises(InvalidInputError, match="confirm"):
        await a2.apply_charging_plan(andersen_charger.id, night_plan(andersen_charger), confirm=-1)
    with pytest.raises(InvalidInputError, match="nothing to restore"):
        await a2.restore(andersen_charger.id)


async def test_an_incomplete_schedule_is_not_touched(
    scripted_a2: AndersenA2, script: Script, andersen_charger: Charger
) -> None:
    device = {"id": "d", "deviceInfo": {"timeZoneRegion": "Europe/London"}}
    script.replies = [
        json_reply({"data": {"getDevice": device}}),
        status_reply(sysUserLock=False, scheduleSlotsArray=[{"startHour": 1}]),
    ]
    with pytest.raises(ResponseError, match="slot 0 is incomplete"):
        await scripted_a2.apply_charging_plan("d", night_plan(andersen_charger))
    assert len(script.bodies) == 2  # read only: nothing was changed


async def test_a_failure_part_way_puts_the_charger_back(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    before = await prepare(a2, andersen_charger, locked=False)
    andersen_charger.set_online(False)  # commands queue: the change never shows in time
    with pytest.raises(CommandNotConfirmedError):
        await a2.apply_charging_plan(andersen_charger.id, night_plan(andersen_charger), confirm=0.3)
    andersen_charger.set_online(True)  # the queued plan runs, then the queued restore
    assert snapshot(andersen_charger) == before
