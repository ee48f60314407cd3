"""The blocking facade, andersen_ev.sync, against the emulator.

The emulator runs on the test's event loop; the facade runs the async client on a loop of
its own, in its own thread. Every blocking call is therefore made from a worker thread
(:func:`blocking`), while the test's loop keeps serving; each such wait is bounded.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import functools
import gc
import inspect
import json
import stat
import subprocess
import sys
import textwrap
import threading
import time
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Final, ParamSpec, TypeVar

import pytest

import andersen_ev
from andersen_ev import (
    AndersenA2,
    AndersenError,
    AndersenTimeoutError,
    DeviceNotFoundError,
    DeviceStatus,
    EvseState,
    InsecureTokenFileError,
    InvalidCredentialsError,
    InvalidInputError,
    Schedule,
    StreamState,
    Tokens,
    TokenStore,
)
from andersen_ev import sync as sync_module
from andersen_ev.stream import StatusSnapshot
from andersen_ev.sync import (
    NOT_WRAPPED,
    AppliedPlan,
    ChargeNow,
    DeviceUpdates,
    RunningEventLoopError,
)
from andersen_ev.sync import AndersenA2 as SyncA2
from andersen_ev.sync._runtime import LoopThread, entered
from andersen_ev.testing import AndersenCloud, Charger
from tests.client_fixtures import FAST
from tests.processes import Children

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: Seconds any blocking call of a test may take before the test fails.
TIMEOUT: Final = 30.0
DAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: The schedule of the 0.1 README, as it wrote it.
SEED_SCHEDULE: Final[dict[str, Any]] = {
    "startHour": 0,
    "startMinute": 30,
    "endHour": 4,
    "endMinute": 30,
    "enabled": True,
    "dayMap": dict.fromkeys(DAYS, True),
}


async def blocking(fn: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
    """Call ``fn`` in a new thread, as a script would, while this loop keeps serving."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[_R] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not done.done():
            outcome()

    def run() -> None:
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed over to the test, whatever it is
            loop.call_soon_threadsafe(settle, functools.partial(done.set_exception, exc))
        else:
            loop.call_soon_threadsafe(settle, functools.partial(done.set_result, result))

    thread = threading.Thread(target=run, name="test caller", daemon=True)
    thread.start()
    try:
        return await asyncio.wait_for(done, TIMEOUT)
    finally:
        thread.join(1)  # it ends as soon as it has handed its outcome over


def following(updates: DeviceUpdates) -> DeviceStatus | None:
    """The next status, or None when the iteration has ended."""
    return next(updates, None)


def facade_threads() -> list[str]:
    """The loop threads of andersen_ev.sync still alive."""
    return [t.name for t in threading.enumerate() if t.name.startswith("andersen-ev-sync-")]


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait (bounded) until ``condition()`` holds."""
    async with asyncio.timeout(TIMEOUT):
        while not condition():  # noqa: ASYNC110 - state owned by other threads and loops
            await asyncio.sleep(0.01)


@pytest.fixture
async def sync_a2(a2: AndersenA2, andersen_cloud: AndersenCloud) -> AsyncIterator[SyncA2]:
    """A facade on the emulator's test account (logged in with the async client's tokens)."""
    facade = SyncA2(
        endpoints=andersen_cloud.endpoints, tokens=a2.tokens, retry=FAST, confirm_interval=0.01
    )
    yield facade
    await blocking(facade.close)
    assert facade_threads() == []


# -- the 0.1 README, step by step ------------------------------------------------------------


async def test_the_seed_readme_runs_with_only_the_import_changed(
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    andersen_credentials: tuple[str, str],
) -> None:
    email, password = andersen_credentials
    andersen_charger.plug_in(energy_wanted_kwh=None)

    # Authentication
    a2 = SyncA2(endpoints=andersen_cloud.endpoints)  # 0.1: AndersenA2(), production
    tokens = await blocking(a2.authenticate, email=email, password=password)
    assert isinstance(tokens, Tokens)
    assert a2.tokens == tokens
    assert len(facade_threads()) == 1  # started by the first call

    # Retrieve device ID (0.1 itself answered {"getCurrentUserDevices": [...]} here)
    devices = await blocking(a2.get_current_user_devices)
    device_id = devices[0].id
    assert device_id == andersen_charger.id
    assert await blocking(a2.device_id_from_name, "Driveway") == device_id

    # Enable scheduled charging (the charger applies commands a second or two later)
    await blocking(a2.enable_schedule, device_id, 0)
    assert andersen_charger.status()["scheduleSlotsArray"][0]["enabled"] is False  # not yet
    andersen_cloud.advance(2)
    assert andersen_charger.status()["scheduleSlotsArray"][0]["enabled"] is True

    # Disable scheduled charging: every slot off, and unlocked
    await blocking(a2.set_all_schedules_disabled, device_id)
    andersen_cloud.advance(2)
    status = andersen_charger.status()
    assert not any(slot["enabled"] for slot in status["scheduleSlotsArray"])
    assert status["sysUserLock"] is False

    # Define a new schedule, with 0.1's dict
    await blocking(a2.create_schedule, device_id, 0, SEED_SCHEDULE)
    andersen_cloud.advance(2)
    assert andersen_charger.status()["scheduleSlotsArray"][0] == SEED_SCHEDULE

    # Lock, then unlock the charger
    await blocking(a2.user_lock, device_id)
    andersen_cloud.advance(2)
    assert andersen_charger.status()["sysUserLock"] is True
    await blocking(a2.user_unlock, device_id)
    andersen_cloud.advance(2)
    assert andersen_charger.status()["sysUserLock"] is False

    # Receive device status updates: a blocking iterator (0.1 yielded raw dicts)
    andersen_cloud.run_in_real_time(interval=0.02, speed=30)
    received: list[DeviceStatus] = []
    printed: list[str] = []

    def watch() -> None:
        for result in a2.subscribe_device_updates(device_id):
            received.append(result)
            printed.append(result.model_dump_json(indent=2))
            if len(received) == 3:
                break

    await blocking(watch)
    assert isinstance(received[0], StatusSnapshot)
    assert all(status.id == device_id for status in received)
    assert json.loads(printed[-1])["id"] == device_id
    # the fields the 0.1 README lists, under their wire names, for code that wants dicts
    wire = received[-1].model_dump(mode="json", by_alias=True)
    assert {"sysSchEnabled", "sysUserLock", "evseState"} <= set(wire)
    assert "chargePower" in wire["chargeStatus"]
    assert wire["evseState"] == received[-1].evse_state == EvseState.DISABLED  # slot 0 holds it
    # leaving the loop released the subscription: the websocket closes
    await eventually(lambda: andersen_cloud.stats.websockets_open == 0)
    # the emulator reads the stop on its own time: the client has sent it by now
    await eventually(lambda: andersen_cloud.stats.subscriptions_stopped_by_client == 1)

    await blocking(a2.close)
    assert facade_threads() == []


async def test_the_wire_dict_of_a_status_has_the_keys_0_1_showed(
    sync_a2: SyncA2, andersen_charger: Charger
) -> None:
    """``model_dump(by_alias=True)`` is the documented stand-in for 0.1's dicts: exact."""
    andersen_charger.plug_in(energy_wanted_kwh=None)
    status = await blocking(sync_a2.get_device_status, andersen_charger.id)
    wire = status.model_dump(mode="json", by_alias=True)
    served = andersen_charger.status()
    for key in ("id", "evseState", "online", "sysSchEnabled", "sysUserLock", "sysScheduleLock"):
        assert wire[key] == served[key], key
    for key in ("sysRssi", "sysSSID", "solarMaxGridChargePercent", "cfgCTConfig"):
        assert wire[key] == served[key], key
    for key in ("chargeEnergyTotal", "chargePower", "duration"):
        assert wire["chargeStatus"][key] == served["chargeStatus"][key], key


# -- the same models and the same exceptions -------------------------------------------------


async def test_queries_answer_what_the_async_client_answers(
    sync_a2: SyncA2, a2: AndersenA2, andersen_charger: Charger
) -> None:
    device_id = andersen_charger.id
    pairs: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
        (SyncA2.get_support_message, ()),
        (SyncA2.get_current_user_devices, ()),
        (SyncA2.get_device, (device_id,)),
        (SyncA2.get_device_status_simple, (device_id,)),
        (SyncA2.get_device_status, (device_id,)),
        (SyncA2.get_device_charge_rates, (device_id,)),
        (SyncA2.get_device_lora, (device_id,)),
        (SyncA2.get_device_solar, (device_id,)),
        (SyncA2.get_calculated_power_logs_binned, (device_id, "2025-01-01", "2025-01-02", 60)),
        (SyncA2.search_address, ("10 Downing", "GB")),
        (SyncA2.get_device_calculated_charge_logs, (device_id, 3)),
        (SyncA2.get_schedule, (device_id, 0)),
        (SyncA2.get_solar, (device_id,)),
        (SyncA2.device_by_name, ("Driveway",)),
        (SyncA2.is_car_connected, (device_id,)),
    ]
    for method, args in pairs:
        mine = await blocking(method, sync_a2, *args)
        theirs = await getattr(a2, method.__name__)(*args)
        assert mine == theirs, method.__name__
        assert type(mine) is type(theirs), method.__name__
    report = await blocking(sync_a2.diagnostics)
    assert report.keys() == (await a2.diagnostics()).keys()


async def test_commands_reach_the_charger(
    sync_a2: SyncA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    device_id = andersen_charger.id
    result = await blocking(sync_a2.run_aev_command, device_id, "userLock")
    assert result is not None
    assert result.return_value is None
    assert andersen_charger.status()["sysUserLock"] is False  # queued, not applied yet
    andersen_cloud.advance(2)
    assert andersen_charger.status()["sysUserLock"] is True
    with andersen_cloud.fast_forward():  # each command lands as soon as it is answered
        await blocking(sync_a2.user_unlock, device_id, confirm=True)
        assert andersen_charger.status()["sysUserLock"] is False
        await blocking(sync_a2.user_lock, device_id, confirm=0.5)
        assert andersen_charger.status()["sysUserLock"] is True

    night = Schedule(start_hour=23, start_minute=0, end_hour=5, end_minute=0)
    await blocking(sync_a2.set_schedules, device_id, {1: night, "sch2": SEED_SCHEDULE})
    andersen_cloud.advance(2)
    slots = andersen_charger.status()["scheduleSlotsArray"]
    assert slots[1]["startHour"] == 23
    assert slots[2] == SEED_SCHEDULE
    with andersen_cloud.fast_forward():
        await blocking(sync_a2.enable_schedule, device_id, 1, False, confirm=True)
        assert andersen_charger.status()["scheduleSlotsArray"][1]["enabled"] is False
        await blocking(sync_a2.set_all_schedules_disabled, device_id, confirm=True)
        await blocking(sync_a2.set_solar, device_id, True, True, 40, True, confirm=True)
    assert andersen_charger.status()["solarMaxGridChargePercent"] == 40
    assert andersen_charger.charge_outside_schedules is True

    assert await blocking(sync_a2.upsert_device_friendly_name, device_id, "Garage") == "Garage"
    info = await blocking(sync_a2.set_schedule_names, device_id, {0: "Night"})
    assert info.schedule_names[0] == "Night"
    rate = await blocking(sync_a2.create_charge_rate, device_id, 0.25, days=[True] * 7)
    assert rate.id is not None
    assert andersen_charger.has_charge_rate(rate.id)
    await blocking(sync_a2.set_charge_rate, rate.id, 0.3, time_start_local="00:30")
    assert andersen_charger.charge_rates()[0]["price"] == 0.3
    await blocking(sync_a2.delete_charge_rate, rate.id)
    assert not andersen_charger.has_charge_rate(rate.id)
    await blocking(sync_a2.upsert_account, "Ada", "Lovelace")
    await blocking(sync_a2.register_mobile_device, "push-token")
    await blocking(sync_a2.unregister_mobile_device, "push-token")

    await blocking(sync_a2.unclaim_device, device_id)
    assert device_id not in andersen_cloud.state.owners
    claimed = await blocking(sync_a2.claim_device_by_name, andersen_charger.name)
    assert claimed is not None
    assert claimed.id == device_id


async def test_exceptions_are_the_async_clients_own(
    sync_a2: SyncA2, andersen_charger: Charger
) -> None:
    # an error answered by the service: its class and attributes, and a traceback that
    # leads from this call into the async client
    with pytest.raises(DeviceNotFoundError) as caught:
        await blocking(sync_a2.get_device, "no-such-device")
    assert caught.value.operation == "getDevice"
    frames = [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert "get_device" in frames
    assert "execute" in frames  # andersen_ev.http, on the facade's loop
    # refused before sending
    with pytest.raises(InvalidInputError):
        await blocking(sync_a2.get_schedule, andersen_charger.id, 7)

    # the very object raised on the facade's loop reaches the caller
    boom = LookupError("raised by the predicate")

    def predicate(status: DeviceStatus) -> bool:
        raise boom

    with pytest.raises(LookupError) as raised:
        await blocking(sync_a2.wait_for, andersen_charger.id, predicate, 5)
    assert raised.value is boom


async def test_a_wrong_password(
    andersen_cloud: AndersenCloud, andersen_user: Any, andersen_credentials: tuple[str, str]
) -> None:
    with SyncA2(endpoints=andersen_cloud.endpoints) as a2:
        with pytest.raises(InvalidCredentialsError):
            await blocking(a2.authenticate, andersen_credentials[0], "wrong password")
        assert a2.tokens is None
    assert facade_threads() == []


async def test_timeouts_are_honoured(
    sync_a2: SyncA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    andersen_cloud.faults.latency = 3.0
    started = time.monotonic()
    with pytest.raises(AndersenTimeoutError):
        await blocking(sync_a2.get_device, andersen_charger.id, timeout=0.2)
    assert time.monotonic() - started < 2.5  # the deadline, not the server's answer
    andersen_cloud.faults.latency = 0.0
    started = time.monotonic()
    with pytest.raises(AndersenTimeoutError):
        await blocking(sync_a2.wait_for, andersen_charger.id, lambda status: False, 0.2)
    assert time.monotonic() - started < 5


# -- charging control ------------------------------------------------------------------------


async def test_charge_now_and_restore(
    sync_a2: SyncA2, andersen_charger: Charger, andersen_cloud: AndersenCloud
) -> None:
    with andersen_cloud.fast_forward():  # commands land as soon as they are answered
        device_id = andersen_charger.id
        await blocking(sync_a2.user_lock, device_id, confirm=True)
        handle = await blocking(sync_a2.charge_now, device_id)
        assert isinstance(handle, ChargeNow)
        assert handle.saved.locked is True
        assert "restored=False" in repr(handle)
        assert andersen_charger.status()["sysUserLock"] is False
        await blocking(sync_a2.restore, device_id)
        assert andersen_charger.status()["sysUserLock"] is True
        assert handle.restored is True
        assert "restored=True" in repr(handle)
        await blocking(handle.restore, confirm=False)  # idempotent
        with pytest.raises(InvalidInputError, match="nothing to restore"):
            await blocking(sync_a2.restore, device_id)


async def test_temporarily_unlocked_restores_on_exit_and_on_error(
    sync_a2: SyncA2, andersen_charger: Charger, andersen_cloud: AndersenCloud
) -> None:
    with andersen_cloud.fast_forward():  # commands land as soon as they are answered
        device_id = andersen_charger.id
        await blocking(sync_a2.user_lock, device_id, confirm=True)

        def unlocked_block() -> bool | None:
            with sync_a2.temporarily_unlocked(device_id) as handle:
                assert isinstance(handle, ChargeNow)
                return sync_a2.get_device_status(device_id).sys_user_lock

        assert await blocking(unlocked_block) is False
        assert andersen_charger.status()["sysUserLock"] is True

        def interrupted_block() -> None:
            with sync_a2.temporarily_unlocked(device_id):
                raise KeyboardInterrupt  # Ctrl-C in the block

        with pytest.raises(KeyboardInterrupt):
            await blocking(interrupted_block)
        assert andersen_charger.status()["sysUserLock"] is True
        assert await blocking(sync_a2.is_car_connected, device_id) is None  # locked: cannot tell


def test_an_async_context_that_swallows_the_error_swallows_it_here_too() -> None:
    class Forgiving(AbstractAsyncContextManager[str]):
        async def __aexit__(self, *exc_info: object) -> bool:
            return True

        async def __aenter__(self) -> str:
            return "entered"

    runner = LoopThread()
    try:
        context = entered(runner, "forgiving", Forgiving())
        assert context.__enter__() == "entered"
        error = ValueError("raised in the block")
        assert context.__exit__(ValueError, error, None) is True  # swallowed
    finally:
        runner.close()
    assert facade_threads() == []


# -- live statuses ---------------------------------------------------------------------------


async def test_updates_stop_with_close_from_another_thread(
    sync_a2: SyncA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    updates = await blocking(sync_a2.subscribe_device_updates, andersen_charger.id)
    assert updates.device_ids == (andersen_charger.id,)
    assert "DeviceUpdates" in repr(updates)
    first = threading.Event()
    seen: list[DeviceStatus] = []

    def consume() -> None:
        for status in updates:
            seen.append(status)
            first.set()

    consumer = asyncio.ensure_future(blocking(consume))
    await eventually(first.is_set)  # the snapshot arrived; next() now waits for an event
    assert not consumer.done()
    await blocking(updates.close)  # from another thread: the waiting loop ends
    await consumer
    assert len(seen) == 1
    assert updates.closed
    await blocking(updates.close)  # idempotent
    assert await blocking(following, updates) is None
    await eventually(lambda: andersen_cloud.stats.websockets_open == 0)


async def test_updates_end_when_the_facade_closes(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    facade = SyncA2(endpoints=andersen_cloud.endpoints, tokens=a2.tokens, retry=FAST)
    first = threading.Event()

    def consume() -> int:
        count = 0
        with facade.subscribe_device_updates(andersen_charger.id) as updates:
            for _ in updates:
                count += 1
                first.set()
        return count

    consumer = asyncio.ensure_future(blocking(consume))
    await eventually(first.is_set)
    await blocking(facade.close)
    assert await consumer == 1  # ended quietly
    assert facade_threads() == []
    # the emulator reads the stop on its own time: the client has sent it by now
    await eventually(lambda: andersen_cloud.stats.subscriptions_stopped_by_client == 1)


async def test_updates_raise_the_stream_errors(sync_a2: SyncA2) -> None:
    updates = await blocking(sync_a2.subscribe_device_updates, "not-my-charger")
    with pytest.raises(DeviceNotFoundError), updates:
        await blocking(next, updates)
    with pytest.raises(InvalidInputError):
        await blocking(sync_a2.subscribe_device_updates, "")


async def test_closing_updates_while_their_next_is_submitted(
    sync_a2: SyncA2, andersen_charger: Charger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signal handler's close() can land while next() submits: next() still ends."""
    updates = await blocking(sync_a2.subscribe_device_updates, andersen_charger.id)
    runner = sync_a2._runner
    submit = runner.submit

    def submit_then_signal(make: Callable[[], Any]) -> Any:
        future = submit(make)
        updates.close()  # what a SIGTERM handler in this thread would do
        return future

    monkeypatch.setattr(runner, "submit", submit_then_signal)
    assert await blocking(following, updates) is None


async def test_stream_state_callbacks_run_on_the_facade_thread(
    sync_a2: SyncA2, andersen_charger: Charger
) -> None:
    states: list[tuple[StreamState, str]] = []
    remove = sync_a2.on_stream_state(
        lambda state: states.append((state, threading.current_thread().name))
    )

    def first_status() -> DeviceStatus:
        with sync_a2.subscribe_device_updates(andersen_charger.id) as updates:
            return next(updates)

    assert (await blocking(first_status)).id == andersen_charger.id
    remove()
    assert (StreamState.CONNECTED, facade_threads()[0]) in states
    assert sync_a2.stream_state in set(StreamState)


async def test_close_from_a_callback_on_the_facade_thread(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    facade = SyncA2(endpoints=andersen_cloud.endpoints, tokens=a2.tokens)
    updates = await blocking(facade.subscribe_device_updates, andersen_charger.id)

    def on_state(state: StreamState) -> None:
        if state is StreamState.CONNECTED:
            updates.close()  # on the loop's own thread: released without waiting
            facade.close()  # likewise: the loop ends by itself

    facade.on_stream_state(on_state)
    assert await blocking(following, updates) is None
    await eventually(lambda: facade_threads() == [])


# -- closing ---------------------------------------------------------------------------------


async def test_close_is_clean_and_idempotent(sync_a2: SyncA2, andersen_charger: Charger) -> None:
    await blocking(sync_a2.get_device, andersen_charger.id)
    session = sync_a2._client._session
    assert session is not None
    assert len(facade_threads()) == 1
    updates = await blocking(sync_a2.subscribe_device_updates, andersen_charger.id)
    await blocking(sync_a2.close)
    assert session.closed
    assert facade_threads() == []
    assert await blocking(following, updates) is None  # ends quietly
    await blocking(sync_a2.close)  # idempotent
    with pytest.raises(AndersenError, match="closed: create a new one"):
        await blocking(sync_a2.get_device, andersen_charger.id)


def test_a_facade_never_used_starts_no_thread() -> None:
    with SyncA2() as a2:
        assert a2.tokens is None
        assert a2.endpoints is andersen_ev.PRODUCTION
        assert "andersen_ev.sync.AndersenA2(" in repr(a2)
    assert facade_threads() == []
    a2.close()


async def test_a_call_cut_short_by_close(
    sync_a2: SyncA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    andersen_cloud.faults.latency = 5.0
    call = asyncio.ensure_future(blocking(sync_a2.user_lock, andersen_charger.id))
    await eventually(lambda: bool(sync_a2._runner._calls))
    await blocking(sync_a2.close)
    with pytest.raises(AndersenError, match="closed while user_lock") as caught:
        await call
    assert "unknown" in str(caught.value)


async def test_garbage_collection_closes_the_facade(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    def use_and_forget() -> None:
        facade = SyncA2(endpoints=andersen_cloud.endpoints, tokens=a2.tokens)
        updates = facade.subscribe_device_updates(andersen_charger.id)
        assert next(updates).id == andersen_charger.id
        # neither is closed: dropping them must be enough

    await blocking(use_and_forget)
    await blocking(gc.collect)
    assert facade_threads() == []
    await eventually(lambda: andersen_cloud.stats.websockets_open == 0)
    # the client said goodbye (a dropped process could not): closed by the finalizer
    # the emulator reads the stop on its own time: the client has sent it by now
    await eventually(lambda: andersen_cloud.stats.subscriptions_stopped_by_client == 1)


EXIT_SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys, threading

    from andersen_ev import Endpoints, Tokens
    from andersen_ev.sync import AndersenA2

    line = json.loads(sys.stdin.read())
    a2 = AndersenA2(
        endpoints=Endpoints(**line["endpoints"]), tokens=Tokens.model_validate(line["tokens"])
    )
    # Ctrl-C while a call waits (the emulator answers after 5 s): that call is cancelled
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    try:
        a2.get_device(line["device_id"])
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    print(a2.get_device(line["device_id"]).id == line["device_id"])
    updates = a2.subscribe_device_updates(line["device_id"])
    print(next(updates).id == line["device_id"])
    print("exiting without close()")
    """
)


async def test_interpreter_exit_closes_the_facade(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    tmp_path: Path,
    children: Children,
) -> None:
    assert a2.tokens is not None
    line = {
        "endpoints": dataclasses.asdict(andersen_cloud.endpoints),
        "tokens": json.loads(a2.tokens.model_dump_json()),
        "device_id": andersen_charger.id,
    }
    andersen_cloud.faults.latency = 5.0
    # children: SIGINT at its default in the child even when the suite runs with it ignored
    process = children.popen(
        [sys.executable, "-W", "error", "-c", EXIT_SCRIPT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(json.dumps(line).encode())
    process.stdin.close()
    first = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), TIMEOUT)
    assert first == b"interrupted\n"
    andersen_cloud.faults.latency = 0.0
    assert process.stderr is not None
    out = await asyncio.wait_for(asyncio.to_thread(process.stdout.read), TIMEOUT)
    err = await asyncio.wait_for(asyncio.to_thread(process.stderr.read), TIMEOUT)
    await asyncio.to_thread(process.wait, TIMEOUT)
    assert err.decode() == ""  # no "Unclosed client session", no unraisable warning
    assert out.decode().split("\n") == ["True", "True", "exiting without close()", ""]
    assert process.returncode == 0
    # the exit closed the client: it ended its subscription itself
    await eventually(lambda: andersen_cloud.stats.websockets_open == 0)
    # the emulator reads the stop on its own time: the client has sent it by now
    await eventually(lambda: andersen_cloud.stats.subscriptions_stopped_by_client == 1)


# -- misuse and threads ----------------------------------------------------------------------


async def test_inside_a_running_loop_it_refuses_instead_of_blocking(
    sync_a2: SyncA2, andersen_charger: Charger
) -> None:
    # this coroutine runs on the test's event loop, as a Jupyter cell would
    with pytest.raises(RunningEventLoopError) as caught:
        sync_a2.get_current_user_devices()
    assert isinstance(caught.value, AndersenError)
    assert isinstance(caught.value, RuntimeError)
    message = str(caught.value)
    assert "from andersen_ev import AndersenA2" in message
    assert "await a2.get_current_user_devices(...)" in message
    assert facade_threads() == []  # refused before anything started
    with pytest.raises(RunningEventLoopError, match="subscribe_device_updates"):
        sync_a2.subscribe_device_updates(andersen_charger.id)
    with (
        pytest.raises(RunningEventLoopError, match="temporarily_unlocked"),
        sync_a2.temporarily_unlocked(andersen_charger.id),
    ):
        pass  # pragma: no cover - refused on entry
    with pytest.raises(RunningEventLoopError, match="__init__"):
        SyncA2(token_store=Path("never-read.json"))

    updates = await blocking(sync_a2.subscribe_device_updates, andersen_charger.id)
    with pytest.raises(RunningEventLoopError):
        next(updates)
    updates.close()  # allowed anywhere: it waits briefly at most


async def test_a_callback_calling_the_facade_does_not_deadlock(
    sync_a2: SyncA2, andersen_charger: Charger
) -> None:
    def predicate(status: DeviceStatus) -> bool:
        # on the facade's own loop thread: waiting here would wait for itself forever
        return sync_a2.get_device_status(andersen_charger.id).online is True

    with pytest.raises(RunningEventLoopError, match="get_device_status"):
        await blocking(sync_a2.wait_for, andersen_charger.id, predicate, 5)


async def test_calls_from_several_threads_run_concurrently(
    sync_a2: SyncA2,
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The emulator holds every request until eight are inside it at once: calls made one
    # after the other would hold the first forever (and fail on the gate's bound).
    inside = 0
    all_inside = asyncio.Event()

    async def gate() -> None:
        nonlocal inside
        inside += 1
        if inside == 8:
            all_inside.set()
        await asyncio.wait_for(all_inside.wait(), TIMEOUT / 2)

    monkeypatch.setattr(andersen_cloud, "delay", gate)

    def many() -> list[str | None]:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = [
                pool.submit(sync_a2.get_device_status, andersen_charger.id) for _ in range(8)
            ]
            return [future.result(TIMEOUT).id for future in futures]

    assert await blocking(many) == [andersen_charger.id] * 8
    assert inside == 8
    assert len(facade_threads()) == 1


# -- tokens ----------------------------------------------------------------------------------


async def test_a_token_store_replaces_the_password(
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    andersen_credentials: tuple[str, str],
    tmp_path: Path,
) -> None:
    path = tmp_path / "config" / "tokens.json"

    def first_run() -> bool:
        with SyncA2(endpoints=andersen_cloud.endpoints, token_store=path) as a2:
            assert a2.tokens is None
            a2.authenticate(*andersen_credentials)
            return a2.confirm_device("cron job").device_remembered

    assert await blocking(first_run) is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    def later_run() -> str:
        with SyncA2(endpoints=andersen_cloud.endpoints, token_store=TokenStore(path)) as a2:
            assert a2.tokens is not None
            return a2.device_id_from_name("Driveway")

    assert await blocking(later_run) == andersen_charger.id

    def sign_out() -> None:
        with SyncA2(endpoints=andersen_cloud.endpoints, token_store=path) as a2:
            a2.forget_device()
            a2.sign_out()

    await blocking(sign_out)
    assert not path.exists()
    assert facade_threads() == []


async def test_token_store_errors(tmp_path: Path, andersen_cloud: AndersenCloud) -> None:
    path = tmp_path / "tokens.json"
    path.write_text("{}")
    path.chmod(0o644)
    with pytest.raises(InsecureTokenFileError):
        await blocking(SyncA2, endpoints=andersen_cloud.endpoints, token_store=path)
    assert facade_threads() == []  # the loop started to read it, and was closed
    with pytest.raises(InvalidInputError, match="token_store"):
        SyncA2(token_store=path, on_tokens_updated=print)


# -- no drift from the async client ----------------------------------------------------------


def parameters(function: Callable[..., Any]) -> list[tuple[str, Any, Any, Any]]:
    signature = inspect.signature(function, eval_str=True)
    return [
        (p.name, p.kind, p.default, p.annotation)
        for p in signature.parameters.values()
        if p.name != "self"
    ]


def returns(function: Callable[..., Any]) -> Any:
    return inspect.signature(function, eval_str=True).return_annotation


#: Where the facade returns its blocking counterpart of an async handle.
BLOCKING_HANDLES: Final = {
    "apply_charging_plan": (andersen_ev.AppliedPlan, AppliedPlan),
    "charging_plan": (
        AbstractAsyncContextManager[andersen_ev.AppliedPlan],
        Iterator[AppliedPlan],
    ),
    "charge_now": (andersen_ev.ChargeNow, ChargeNow),
    "subscribe_device_updates": (andersen_ev.DeviceUpdates, DeviceUpdates),
    "temporarily_unlocked": (
        AbstractAsyncContextManager[andersen_ev.ChargeNow],
        Iterator[ChargeNow],
    ),
}


def test_every_async_method_has_a_blocking_counterpart() -> None:
    checked = []
    for name, member in inspect.getmembers(AndersenA2):
        if name.startswith("_") or name in NOT_WRAPPED:
            continue
        counterpart = getattr(SyncA2, name, None)
        assert counterpart is not None, (
            f"AndersenA2.{name} has no counterpart in andersen_ev.sync: add one, or list it"
            " in andersen_ev.sync.NOT_WRAPPED with the reason"
        )
        if isinstance(member, property):
            assert isinstance(counterpart, property), name
            assert counterpart.fget is not None, name
            assert member.fget is not None, name
            assert returns(counterpart.fget) == returns(member.fget), name
        else:
            assert not inspect.iscoroutinefunction(counterpart), name
            assert parameters(counterpart) == parameters(member), name
            expected = BLOCKING_HANDLES.get(name, (returns(member), returns(member)))
            assert returns(member) == expected[0], name
            assert returns(counterpart) == expected[1], name
        assert inspect.getdoc(counterpart), f"{name} needs a docstring"
        checked.append(name)
    assert len(checked) >= 43
    coroutines = {n for n, m in inspect.getmembers(AndersenA2, inspect.iscoroutinefunction)}
    assert {n for n in coroutines if not n.startswith("_")} <= set(checked)


def test_the_facade_adds_nothing_the_async_client_lacks() -> None:
    mine = {name for name in dir(SyncA2) if not name.startswith("_")}
    theirs = {name for name in dir(AndersenA2) if not name.startswith("_")}
    instance = AndersenA2()
    attributes = {name for name in vars(instance) if not name.startswith("_")}
    assert mine <= theirs | attributes
    # every omission is real (no stale entry) and explained
    options = set(inspect.signature(AndersenA2).parameters)
    for name, reason in NOT_WRAPPED.items():
        assert name in theirs | attributes | options, name
        assert name not in mine, name
        assert len(reason) > 40, name
    for name in attributes - mine:
        assert name in NOT_WRAPPED, f"AndersenA2().{name} is neither wrapped nor in NOT_WRAPPED"


def test_the_constructor_takes_the_async_options() -> None:
    theirs = {
        name: (p.kind, p.default, p.annotation)
        for name, p in inspect.signature(AndersenA2, eval_str=True).parameters.items()
    }
    mine = {
        name: (p.kind, p.default, p.annotation)
        for name, p in inspect.signature(SyncA2, eval_str=True).parameters.items()
    }
    assert set(theirs) - set(mine) == {"session"}  # see NOT_WRAPPED
    assert set(mine) - set(theirs) == {"token_store"}
    for name in set(mine) & set(theirs):
        assert mine[name] == theirs[name], name
    assert theirs["timeout"][1] == sync_module.DEFAULT_TIMEOUT


# -- the interrupted wait --------------------------------------------------------------------


def test_an_interrupted_wait_cancels_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = LoopThread()
    started = threading.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    def interrupted(futures: Any) -> Any:
        started.wait(TIMEOUT)
        raise KeyboardInterrupt

    monkeypatch.setattr(concurrent.futures, "wait", interrupted)
    future = runner.submit(forever)
    with pytest.raises(KeyboardInterrupt):
        runner.wait(future)
    monkeypatch.undo()
    with contextlib.suppress(concurrent.futures.CancelledError):
        future.result(TIMEOUT)
    assert future.cancelled()
    # a shielded task outlives the call it was awaited in; closing cancels it too
    leftover = runner.submit(lambda: asyncio.shield(asyncio.sleep(TIMEOUT)))
    runner.close()
    assert leftover.cancelled()
    assert facade_threads() == []
    runner.close()  # idempotent
    with pytest.raises(AndersenError, match="closed"):
        runner.submit(forever)


async def test_ctrl_c_in_next_ends_the_iteration(
    sync_a2: SyncA2, andersen_charger: Charger, monkeypatch: pytest.MonkeyPatch
) -> None:
    updates = await blocking(sync_a2.subscribe_device_updates, andersen_charger.id)
    assert (await blocking(next, updates)).id == andersen_charger.id  # the snapshot

    def ctrl_c(futures: Any) -> Any:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(concurrent.futures, "wait", ctrl_c)
        with pytest.raises(KeyboardInterrupt):
            await blocking(next, updates)  # interrupted while waiting for an event
    assert await blocking(following, updates) is None  # the subscription was released


async def test_find_device_follows_the_async_rule(
    sync_a2: SyncA2, andersen_charger: Charger
) -> None:
    found = await blocking(sync_a2.find_device, "DRIVEWAY")  # the friendly name, any case
    assert found.id == andersen_charger.id
