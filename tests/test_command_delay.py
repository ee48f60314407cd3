"""The library under the command delay: the real service queues a device command and the
charger applies it a second or two later, as the emulator does by default.

A read straight after a command sees the OLD value (that is the realism); ``confirm=``,
``charge_now``/``restore`` and ``is_car_connected(probe=True)`` wait for the change. The
tests move the emulator's clock (``advance``, or a fast ``run_in_real_time``) instead of
waiting for the delay in real time.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from andersen_ev import AndersenA2, CommandNotConfirmedError, EvseState, Schedule
from andersen_ev.testing import AndersenCloud, Charger, Realism
from tests.client_fixtures import logged_in
from tests.stream_helpers import until

#: The clock moves only when a test moves it: no command lands in real time.
CLOCK_ONLY = Realism(real_time_commands=False)
NIGHT = Schedule(start_hour=23, start_minute=0, end_hour=5, end_minute=0, enabled=False)


def ticking(cloud: AndersenCloud) -> None:
    """Run the clock fifty times faster than real time: a 1-2 s delay passes in ~40 ms."""
    cloud.run_in_real_time(interval=0.02, speed=50)


async def pending(charger: Charger, count: int = 1) -> None:
    """Until ``count`` commands are queued on ``charger`` (the mutation was answered)."""
    await until(lambda: charger.pending_commands >= count)


@pytest.mark.andersen_cloud(realism=CLOCK_ONLY)
async def test_a_command_lands_a_second_or_two_later(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    device_id = andersen_charger.id
    result = await a2.user_lock(device_id)
    assert result is not None
    assert result.return_value is None  # answered the same whether applied or not
    assert (await a2.get_device_status(device_id)).sys_user_lock is False  # read too early
    andersen_cloud.advance(0.99)  # the delay is 1-2 s
    assert (await a2.get_device_status(device_id)).sys_user_lock is False
    andersen_cloud.advance(1.01)
    status = await a2.get_device_status(device_id)
    assert (status.sys_user_lock, status.evse_state) == (True, EvseState.DISABLED)


@pytest.mark.andersen_cloud(realism=CLOCK_ONLY)
async def test_confirm_waits_until_the_charger_shows_the_command(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    locking = asyncio.create_task(a2.user_lock(andersen_charger.id, confirm=True))
    await pending(andersen_charger)
    for _ in range(20):
        await asyncio.sleep(0.01)
    assert not locking.done()  # the charger has not applied it
    andersen_cloud.advance(2)
    await locking
    assert andersen_charger.status()["sysUserLock"] is True


@pytest.mark.andersen_cloud(realism=CLOCK_ONLY)
async def test_a_command_that_never_lands_is_not_confirmed(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    with pytest.raises(CommandNotConfirmedError):
        await a2.user_lock(andersen_charger.id, confirm=0.2)
    andersen_cloud.advance(2)  # it was queued all along: it lands once the clock moves
    assert andersen_charger.status()["sysUserLock"] is True


async def test_a_naive_confirm_on_a_default_cloud_does_not_hang(
    andersen_credentials: tuple[str, str],
) -> None:
    """Nobody moves the clock: the command lands after its delay in real time."""
    async with AndersenCloud(realism=Realism(command_delay=0.3)) as cloud:
        user = cloud.add_user(*andersen_credentials)
        charger = cloud.add_charger(user)
        async with await logged_in(cloud, andersen_credentials, confirm_interval=0.01) as a2:
            loop = asyncio.get_running_loop()
            started = loop.time()
            await a2.user_lock(charger.id, confirm=True)
            assert 0.3 <= loop.time() - started < 10
            assert charger.status()["sysUserLock"] is True


@pytest.mark.andersen_cloud(realism=CLOCK_ONLY)
async def test_every_command_confirms_under_the_delay(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    device_id = andersen_charger.id
    ticking(andersen_cloud)
    await a2.user_lock(device_id, confirm=True)
    assert andersen_charger.status()["sysUserLock"] is True
    await a2.user_unlock(device_id, confirm=True)
    assert andersen_charger.status()["sysUserLock"] is False
    await a2.create_schedule(device_id, 1, NIGHT, confirm=True)
    await a2.enable_schedule(device_id, 1, confirm=True)
    slot = andersen_charger.status()["scheduleSlotsArray"][1]
    assert (slot["startHour"], slot["endHour"], slot["enabled"]) == (23, 5, True)
    await a2.set_all_schedules_disabled(device_id, confirm=True)
    assert andersen_charger.status()["sysSchEnabled"] is False
    await a2.set_solar(device_id, True, True, 25, confirm=True)
    assert andersen_charger.status()["solarMaxGridChargePercent"] == 25
    await a2.set_schedules(device_id, {0: NIGHT, 4: NIGHT}, confirm=True)
    slots = andersen_charger.status()["scheduleSlotsArray"]
    assert slots[0]["startHour"] == slots[4]["startHour"] == 23


@pytest.mark.andersen_cloud(realism=CLOCK_ONLY)
async def test_a_write_then_a_read_modify_write_needs_the_first_confirmed(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    """enable_schedule reads the slot and writes it back: unconfirmed, the first write is
    not there to read yet, and the window written first is lost (as on the real service)."""
    device_id = andersen_charger.id
    await a2.create_schedule(device_id, 2, NIGHT)  # not confirmed
    await a2.enable_schedule(device_id, 2)  # reads slot 2 as it still is: blank
    andersen_cloud.advance(4)
    slot = andersen_charger.status()["scheduleSlotsArray"][2]
    assert (slot["startHour"], slot["enabled"]) == (0, True)  # the 23:00 window is gone
    ticking(andersen_cloud)
    await a2.create_schedule(device_id, 3, NIGHT, confirm=True)
    await a2.enable_schedule(device_id, 3, confirm=True)
    slot = andersen_charger.status()["scheduleSlotsArray"][3]
    assert (slot["startHour"], slot["enabled"]) == (23, True)


def slots_and_lock(charger: Charger) -> tuple[Any, Any]:
    status = charger.status()
    return status["sysUserLock"], status["scheduleSlotsArray"]


@pytest.mark.andersen_cloud(realism=CLOCK_ONLY)
async def test_charge_now_and_restore_under_the_delay(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    device_id = andersen_charger.id
    ticking(andersen_cloud)
    await a2.create_schedule(device_id, 0, NIGHT.model_copy(update={"enabled": True}))
    await a2.user_lock(device_id, confirm=True)  # commands land in order: both are there
    before = slots_and_lock(andersen_charger)
    andersen_charger.plug_in(energy_wanted_kwh=None)
    handle = await a2.charge_now(device_id)
    status = await a2.get_device_status(device_id)
    assert status.sys_user_lock is False
    assert status.sys_sch_enabled is False
    await handle.restore()
    assert slots_and_lock(andersen_charger) == before
    async with a2.temporarily_unlocked(device_id):
        assert andersen_charger.status()["sysUserLock"] is False
    assert slots_and_lock(andersen_charger) == before


@pytest.mark.andersen_cloud(realism=CLOCK_ONLY)
@pytest.mark.parametrize("car", [True, False])
async def test_probing_for_a_car_under_the_delay(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger, car: bool
) -> None:
    if car:
        andersen_charger.plug_in(energy_wanted_kwh=None)
    ticking(andersen_cloud)
    await a2.user_lock(andersen_charger.id, confirm=True)
    assert await a2.is_car_connected(andersen_charger.id) is None  # locked: cannot tell
    assert await a2.is_car_connected(andersen_charger.id, probe=True) is car
    assert andersen_charger.status()["sysUserLock"] is True  # locked again
    assert andersen_charger.pending_commands == 0


@pytest.mark.andersen_cloud(realism=CLOCK_ONLY)
async def test_get_solar_reads_the_status_not_the_stale_query(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    device_id = andersen_charger.id
    assert await a2.set_solar(device_id, True, True, 25) is None  # setSolar answers null
    assert (await a2.get_solar(device_id)).max_grid_charge_percent == 100  # read too early
    andersen_cloud.advance(2)
    solar = await a2.get_solar(device_id)
    assert solar.device_id == device_id
    assert (solar.override, solar.charge_always, solar.max_grid_charge_percent) == (
        True,
        True,
        25,
    )
    assert andersen_cloud.stats.graphql_requests["getSolar"] == 0
