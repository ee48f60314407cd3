"""Charging control against the emulator: charge now and restore exactly, the context
manager on error and cancellation, car detection with and without a probe."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from andersen_ev import (
    AndersenA2,
    AndersenTimeoutError,
    CommandNotConfirmedError,
    DeviceNotFoundError,
    InvalidInputError,
    ResponseError,
    RestoreError,
)
from andersen_ev.testing import AndersenCloud, Charger
from tests.scripted_server import Script, json_reply, text_reply

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@pytest.fixture(autouse=True)
def commands_land_when_answered(andersen_cloud: AndersenCloud) -> Iterator[None]:
    """The charger applies each command right after its answer: the clock jumps over the
    command delay instead of the test waiting for it (tests/test_command_delay.py runs
    these paths with the delay in real, simulated seconds)."""
    with andersen_cloud.fast_forward():
        yield


def slot(start: int, end: int, *, enabled: bool, weekend: bool = True) -> dict[str, Any]:
    return {
        "startHour": start,
        "startMinute": 15,
        "endHour": end,
        "endMinute": 45,
        "enabled": enabled,
        "dayMap": {day: weekend or day not in ("saturday", "sunday") for day in DAYS},
    }


def snapshot(charger: Charger) -> tuple[Any, Any]:
    status = charger.status()
    return status["sysUserLock"], status["scheduleSlotsArray"]


async def prepare(a2: AndersenA2, charger: Charger, *, locked: bool) -> tuple[Any, Any]:
    """Partly enabled schedules, and the lock as asked: a state worth restoring."""
    await a2.set_schedules(
        charger.id,
        {
            0: slot(0, 4, enabled=True),
            1: slot(5, 6, enabled=False, weekend=False),
            2: slot(22, 23, enabled=True, weekend=False),
            3: slot(1, 2, enabled=False),
            4: slot(12, 13, enabled=False),
        },
        confirm=True,
    )
    if locked:
        await a2.user_lock(charger.id, confirm=True)
    return snapshot(charger)


@pytest.mark.parametrize("locked", [True, False])
async def test_charge_now_then_restore_is_exact(
    a2: AndersenA2, andersen_charger: Charger, locked: bool
) -> None:
    before = await prepare(a2, andersen_charger, locked=locked)
    andersen_charger.plug_in(energy_wanted_kwh=None)
    handle = await a2.charge_now(andersen_charger.id)
    status = await a2.get_device_status(andersen_charger.id)
    assert status.sys_user_lock is False
    assert all(s is not None and not s.enabled for s in status.schedules)
    assert status.is_car_connected
    assert handle.saved.locked is locked
    await a2.restore(andersen_charger.id)
    assert snapshot(andersen_charger) == before
    assert handle.restored
    assert "restored=True" in repr(handle)
    await handle.restore()  # idempotent
    assert snapshot(andersen_charger) == before
    with pytest.raises(InvalidInputError, match="nothing to restore"):
        await a2.restore(andersen_charger.id)


async def test_context_manager_restores_after_an_exception(
    a2: AndersenA2, andersen_charger: Charger
) -> None:
    before = await prepare(a2, andersen_charger, locked=True)
    with pytest.raises(RuntimeError, match="inside"):  # noqa: PT012 - the block is the test
        async with a2.temporarily_unlocked(andersen_charger.id):
            assert andersen_charger.status()["sysUserLock"] is False
            raise RuntimeError("inside")
    assert snapshot(andersen_charger) == before


async def test_context_manager_restores_after_cancellation(
    a2: AndersenA2, andersen_charger: Charger
) -> None:
    before = await prepare(a2, andersen_charger, locked=True)
    entered = asyncio.Event()

    async def session() -> None:
        async with a2.temporarily_unlocked(andersen_charger.id):
            entered.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(session())
    await entered.wait()
    assert andersen_charger.status()["sysUserLock"] is False
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert snapshot(andersen_charger) == before


async def test_failed_restore_says_what_is_left(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    await prepare(a2, andersen_charger, locked=True)
    handle = await a2.charge_now(andersen_charger.id)
    andersen_cloud.faults.fail_http(100)
    with pytest.raises(RestoreError) as info:
        await handle.restore()
    assert info.value.not_restored == ["schedule slots 0-4", "lock"]
    assert "should be locked" in str(info.value)
    assert info.value.device_id == andersen_charger.id
    assert not handle.restored
    andersen_cloud.faults.clear()
    await handle.restore()
    assert andersen_charger.status()["sysUserLock"] is True


def status_reply(**status: Any) -> Any:
    return json_reply({"data": {"getDevice": {"deviceStatus": status}}})


@pytest.mark.parametrize(
    ("status", "match"),
    [
        ({"scheduleSlotsArray": [slot(1, 2, enabled=True)] * 5}, "lock state"),
        ({"sysUserLock": False, "scheduleSlotsArray": [{"startHour": 1}]}, "slot 0 is incomplete"),
    ],
)
async def test_charge_now_refuses_what_it_could_not_restore(
    scripted_a2: AndersenA2, script: Script, status: dict[str, Any], match: str
) -> None:
    script.replies = [status_reply(**status)]
    with pytest.raises(ResponseError, match=match):
        await scripted_a2.charge_now("d")
    assert len(script.bodies) == 1  # read only: nothing was changed


async def test_charge_now_puts_back_what_a_failure_left(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    before = await prepare(a2, andersen_charger, locked=True)
    andersen_charger.set_online(False)  # commands queue: the change is never confirmed
    with pytest.raises(CommandNotConfirmedError):
        await a2.charge_now(andersen_charger.id, confirm=0.05)
    assert andersen_charger.pending_commands > 1  # the disabling, then the restoring writes
    andersen_charger.set_online(True)
    assert snapshot(andersen_charger) == before


async def test_restore_not_confirmed(a2: AndersenA2, andersen_charger: Charger) -> None:
    await prepare(a2, andersen_charger, locked=True)
    handle = await a2.charge_now(andersen_charger.id)
    andersen_charger.set_online(False)  # commands queue until the charger is back
    with pytest.raises(RestoreError, match="not confirmed"):
        await handle.restore(confirm=0.05)
    andersen_charger.set_online(True)
    await handle.restore()
    assert andersen_charger.status()["sysUserLock"] is True


async def test_probe_that_sees_nothing_answers_none(
    a2: AndersenA2, andersen_charger: Charger
) -> None:
    await a2.user_lock(andersen_charger.id, confirm=True)
    andersen_charger.set(evseState=255)  # the state stays "disabled" even once unlocked
    assert await a2.is_car_connected(andersen_charger.id, probe=True, probe_timeout=0.05) is None
    assert andersen_charger.status()["sysUserLock"] is True


async def test_diagnostics_report_errors(scripted_a2: AndersenA2, script: Script) -> None:
    script.replies = [text_reply("down", status=503)] * 4
    report = await scripted_a2.diagnostics()
    assert report["error"].startswith("ServerError")
    script.replies = [
        json_reply({"data": {"getCurrentUserDevices": [{"id": "d"}]}}),
        *[text_reply("down", status=503)] * 4,
    ]
    report = await scripted_a2.diagnostics()
    assert report["devices"][0]["error"].startswith("ServerError")


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("absent", False),
        ("plugged", True),
        ("charging", True),
    ],
)
async def test_is_car_connected_from_state(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    setup: str,
    expected: bool,
) -> None:
    if setup != "absent":
        andersen_charger.plug_in(energy_wanted_kwh=None)
    if setup == "charging":
        andersen_cloud.advance(60)
        assert (await a2.get_device_status(andersen_charger.id)).is_charging
    assert await a2.is_car_connected(andersen_charger.id) is expected
    assert await a2.is_car_connected(andersen_charger.id, probe=True) is expected


@pytest.mark.parametrize("car", [True, False])
async def test_is_car_connected_behind_a_lock(
    a2: AndersenA2, andersen_charger: Charger, car: bool
) -> None:
    if car:
        andersen_charger.plug_in(energy_wanted_kwh=None)
    await a2.user_lock(andersen_charger.id, confirm=True)
    assert await a2.is_car_connected(andersen_charger.id) is None
    assert await a2.is_car_connected(andersen_charger.id, probe=True) is car
    assert andersen_charger.status()["sysUserLock"] is True  # never left unlocked


async def test_wait_for_times_out(a2: AndersenA2, andersen_charger: Charger) -> None:
    with pytest.raises(AndersenTimeoutError, match="did not reach"):
        await a2.wait_for(andersen_charger.id, lambda s: s.is_charging, timeout=0.05)
    with pytest.raises(InvalidInputError, match="positive"):
        await a2.wait_for(andersen_charger.id, lambda s: True, timeout=0)
    status = await a2.wait_for(andersen_charger.id, lambda s: s.online is True, timeout=5)
    assert status.id == andersen_charger.id


async def test_diagnostics_are_redacted(
    a2: AndersenA2,
    andersen_charger: Charger,
    andersen_credentials: tuple[str, str],
) -> None:
    await a2.confirm_device("diagnostics test")
    report = await a2.diagnostics()
    text = repr(report)
    assert report["library"]["version"]
    assert report["library"]["schema_sha256"]
    assert report["auth"]["device_remembered"] is True
    assert report["auth"]["expires_at"]
    (device,) = report["devices"]
    assert device["id"] == andersen_charger.id
    assert device["status"]["evseState"] is not None
    tokens = a2.tokens
    assert tokens is not None
    for secret in (
        andersen_credentials[1],
        tokens.id_token.get_secret_value(),
        tokens.access_token.get_secret_value(),
        tokens.refresh_token.get_secret_value(),
    ):
        assert secret not in text
    for private in (
        "sysSSID",
        "last_ip_address",
        "address",
        "locationLatitude",
        "locationLongitude",
    ):
        assert private not in text


async def test_wait_for_polls_while_the_stream_is_down(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    andersen_cloud.faults.refuse_websockets(1000)
    andersen_charger.plug_in(energy_wanted_kwh=None)
    status = await a2.wait_for(andersen_charger.id, lambda s: s.is_car_connected is True, 10)
    assert status.is_car_connected
    assert andersen_cloud.stats.websocket_connects == 0


async def test_wait_for_sees_changes_on_the_stream(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    connected = asyncio.Event()
    a2.on_stream_state(lambda state: connected.set() if state == "connected" else None)
    waiting = asyncio.create_task(a2.wait_for(andersen_charger.id, lambda s: s.is_charging, 10))
    await connected.wait()
    andersen_charger.plug_in(energy_wanted_kwh=None)
    andersen_cloud.advance(30)
    assert (await waiting).is_charging


async def test_wait_for_an_unknown_device(a2: AndersenA2) -> None:
    with pytest.raises(DeviceNotFoundError):
        await a2.wait_for("0123456789abcdef01234567", lambda s: True, 10)


async def test_a_bad_confirm_is_refused_before_anything_is_sent(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    before = await prepare(a2, andersen_charger, locked=True)
    sent = andersen_cloud.stats.http_requests
    with pytest.raises(InvalidInputError, match="confirm"):
        await a2.charge_now(andersen_charger.id, confirm="now")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="confirm"):
        a2.temporarily_unlocked(andersen_charger.id, confirm=0)
    assert andersen_cloud.stats.http_requests == sent
    handle = await a2.charge_now(andersen_charger.id)
    changed = snapshot(andersen_charger)
    sent = andersen_cloud.stats.http_requests
    with pytest.raises(InvalidInputError, match="confirm"):
        await handle.restore(confirm=-1)
    assert andersen_cloud.stats.http_requests == sent
    assert snapshot(andersen_charger) == changed
    assert not handle.restored
    await handle.restore()
    assert snapshot(andersen_charger) == before
