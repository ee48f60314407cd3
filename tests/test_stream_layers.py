"""The stream's layers on their own, without a websocket: the consumer's queue and iterator
against a recording ConsumerHub, the keep-alive rules, and how statuses are made complete."""

from __future__ import annotations

import asyncio
import gc

import pytest

from andersen_ev import ApiError, ChargeStatus, DeviceStatus, EvseState
from andersen_ev.stream import DeviceUpdates, StatusSnapshot, StatusUpdate, StreamSettings
from andersen_ev.stream.cache import StatusCache
from andersen_ev.stream.protocol import KeepAlive
from andersen_ev.stream.settings import StreamStats
from andersen_ev.stream.statuses import merge_event, merge_snapshot
from andersen_ev.stream.updates import Consumer, ConsumerHub

SETTINGS = StreamSettings(keepalive_timeout=10.0, ping_interval=4.0, suspect_after=1.0)


class RecordingHub(ConsumerHub):
    """A hub that records what the iterator asks of it, and attaches if told to."""

    def __init__(self, *, open_: bool = True) -> None:
        self.open = open_
        self.calls: list[str] = []

    def attach(self, consumer: Consumer) -> bool:
        self.calls.append("attach")
        return self.open

    def release(self, consumer: Consumer) -> None:
        self.calls.append("release")

    def release_soon(self, consumer: Consumer) -> None:
        self.calls.append("release_soon")

    async def leave(self, consumer: Consumer) -> None:
        self.calls.append("leave")


def event(device_id: str, power: int) -> DeviceStatus:
    return DeviceStatus(id=device_id, charge_power=power)


def test_updates_wait_for_their_devices_snapshot() -> None:
    consumer = Consumer(("a", "b"))
    consumer.expect_snapshots()
    consumer.deliver("a", event("a", 1))  # superseded by the snapshot that is awaited
    assert not consumer.ready
    snapshot = StatusSnapshot.of(DeviceStatus(evse_state=EvseState.READY), "a")
    assert consumer.deliver_snapshot("a", snapshot)
    assert not consumer.deliver_snapshot("a", snapshot)  # a second one finds nobody waiting
    consumer.deliver("a", event("a", 2))
    consumer.deliver("b", event("b", 3))  # b still waits for its snapshot
    assert [consumer.take() for _ in range(2)] == [snapshot, event("a", 2)]
    assert not consumer.ready
    assert consumer.awaits_snapshot("b")
    assert not consumer.awaits_snapshot("a")


def test_a_detached_consumer_gets_no_snapshot() -> None:
    consumer = Consumer(("a",))
    snapshot = StatusSnapshot.of(DeviceStatus(), "a")
    consumer.expect_snapshots()
    consumer.expect_no_snapshot()
    assert not consumer.deliver_snapshot("a", snapshot)
    assert not consumer.ready
    consumer.deliver("a", event("a", 3))  # nothing awaited any more: delivered at once
    assert consumer.take() == event("a", 3)


async def test_the_iterator_attaches_once_at_its_first_step_and_leaves_on_aclose() -> None:
    hub = RecordingHub()
    consumer = Consumer(("a",))
    updates = DeviceUpdates(hub, consumer)
    assert hub.calls == []  # nothing is subscribed before the first __anext__
    consumer.deliver("a", event("a", 1))
    assert await anext(updates) == event("a", 1)  # an item was there: no attach needed yet
    step = asyncio.ensure_future(anext(updates))
    await asyncio.sleep(0)
    consumer.deliver("a", event("a", 2))
    assert await step == event("a", 2)
    consumer.deliver("a", event("a", 3))
    consumer.deliver("a", event("a", 4))
    await updates.aclose()
    assert hub.calls == ["attach", "leave"]
    with pytest.raises(StopAsyncIteration):
        await anext(updates)  # what was left is dropped
    assert hub.calls == ["attach", "leave"]


async def test_a_cancelled_step_releases_and_ends_the_iterator() -> None:
    hub = RecordingHub()
    updates = DeviceUpdates(hub, Consumer(("a",)))
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await anext(updates)
    assert hub.calls == ["attach", "release"]
    with pytest.raises(StopAsyncIteration):
        await anext(updates)


async def test_the_iterator_ends_with_the_managers_error_or_quietly() -> None:
    consumer = Consumer(("a",))
    updates = DeviceUpdates(RecordingHub(), consumer)
    consumer.deliver("a", event("a", 1))
    consumer.end(ApiError("rejected", operation="deviceStatusUpdated", errors=[]))
    consumer.deliver("a", event("a", 2))  # after the end: never seen
    assert await anext(updates) == event("a", 1)
    with pytest.raises(ApiError, match="rejected"):
        await anext(updates)
    with pytest.raises(StopAsyncIteration):
        await anext(updates)
    closed = Consumer(("a",))
    refused = RecordingHub(open_=False)  # a closed session refuses to attach
    assert [status async for status in DeviceUpdates(refused, closed)] == []
    assert refused.calls == ["attach"]
    quiet = Consumer(("a",))
    quiet.end()
    assert [status async for status in DeviceUpdates(RecordingHub(), quiet)] == []


async def test_an_abandoned_started_iterator_asks_to_be_released() -> None:
    hub = RecordingHub()
    consumer = Consumer(("a",))
    updates = DeviceUpdates(hub, consumer)
    consumer.deliver("a", event("a", 1))
    await anext(updates)
    del updates  # never attached: nothing to release
    gc.collect()
    started = DeviceUpdates(hub, consumer)
    step = asyncio.ensure_future(anext(started))
    await asyncio.sleep(0)
    consumer.deliver("a", event("a", 2))
    await step
    del step, started
    gc.collect()
    assert hub.calls == ["attach", "release_soon"]


def test_a_silent_connection_is_pinged_then_suspect_then_dead() -> None:
    keepalive = KeepAlive(settings=SETTINGS, now=0.0)
    assert keepalive.next_check(0.0) == 4.0
    assert keepalive.check(3.9) == "ok"
    assert keepalive.check(4.0) == "ping"
    assert keepalive.next_check(4.0) == 5.0  # when it becomes suspect
    assert keepalive.check(4.9) == "ok"
    assert keepalive.check(5.0) == "suspect"
    assert keepalive.suspect
    assert keepalive.check(5.1) == "ok"  # said once
    assert keepalive.next_check(5.1) == 9.1  # awake meanwhile, for an answer that comes
    assert keepalive.check(13.9) == "ok"
    assert keepalive.check(14.0) == "dead"


def test_an_answer_ends_the_wait_and_idleness_counts_from_it() -> None:
    keepalive = KeepAlive(settings=SETTINGS, now=0.0)
    assert keepalive.check(4.0) == "ping"
    keepalive.last_rx = 4.25  # the pong (or any frame) came in time
    assert keepalive.check(5.0) == "ok"
    assert keepalive.next_check(5.0) == 8.25
    assert keepalive.check(8.25) == "ping"


def test_the_default_worst_case_is_under_thirty_seconds() -> None:
    # the last frame at 0, then silence: every step of the default rule, on a simulated clock
    defaults = StreamSettings()
    keepalive = KeepAlive(settings=defaults, now=0.0)
    verdicts: dict[float, str] = {}
    now = 0.0
    while "dead" not in verdicts.values():
        now = keepalive.next_check(now)
        verdict = keepalive.check(now)
        if verdict != "ok":
            verdicts[now] = verdict
    assert verdicts == {10.0: "ping", 13.0: "suspect", 20.0: "dead"}
    assert defaults.worst_detection == 20.0


# -- complete statuses ------------------------------------------------------------------------


def wire(**fields: object) -> DeviceStatus:
    return DeviceStatus.model_validate(fields)


FULL = wire(
    id="a",
    evseState=1,
    sysUserLock=False,
    sysTemperature=31.5,
    konnectSerial="K-1",
    chargeStatus={"start": "2025-01-06T12:00:00Z", "chargePower": 0.0, "solarPower": 1.0},
)


def test_an_event_is_merged_over_the_latest_status() -> None:
    event = wire(
        id="a",
        evseState=3,
        sysTemperature=None,  # null in an event: not in this event
        cfgLora0={"on": True, "eui": "E"},
        chargeStatus={"chargePower": 7.2, "start": None},
    )
    merged = merge_event(FULL, event, "a")
    assert isinstance(merged, StatusUpdate)
    assert isinstance(merged, DeviceStatus)
    assert merged.evse_state is EvseState.CHARGING
    assert merged.sys_temperature == 31.5
    assert merged.konnect_serial == "K-1"
    assert merged.cfg_lora0 is not None
    assert merged.cfg_lora0.eui == "E"
    assert merged.charge_status is not None
    assert merged.charge_status.charge_power == 7.2
    assert merged.charge_status.solar_power == 1.0
    assert merged.charge_status.start == FULL.charge_status.start  # type: ignore[union-attr]
    assert merged.event_fields == {
        "id",
        "evse_state",
        "cfg_lora0",
        "charge_status",
        "charge_status.charge_power",
    }
    assert merged.model_fields_set >= FULL.model_fields_set | {"cfg_lora0"}
    assert merged.model_dump()["sys_user_lock"] is False
    # the merge left both sides alone
    assert FULL.evse_state is EvseState.READY
    assert FULL.charge_status is not None
    assert FULL.charge_status.charge_power == 0.0


def test_a_session_of_nulls_and_a_status_without_id() -> None:
    merged = merge_event(FULL, wire(chargeStatus={"chargePower": None}), "a")
    assert merged.event_fields == frozenset()
    assert merged.charge_status == FULL.charge_status
    first = merge_event(DeviceStatus(), wire(chargeStatus={"chargePower": 2.0}), "b")
    assert first.id == "b"
    assert first.charge_status == ChargeStatus(charge_power=2.0)
    more = first.with_event_fields({"sys_rssi"})
    assert more.event_fields == {"sys_rssi", "charge_status", "charge_status.charge_power"}
    assert more.charge_status == first.charge_status


def test_a_snapshot_wins_over_what_events_left_nulls_included() -> None:
    after_event = merge_event(FULL, wire(cfgLora1={"on": False}, sysTemperature=40.0), "a")
    read = wire(evseState=2, sysTemperature=None, konnectSerial="K-1")
    snapshot = merge_snapshot(after_event, read, "a")
    assert isinstance(snapshot, StatusSnapshot)
    assert snapshot.id == "a"
    assert snapshot.evse_state is EvseState.CONNECTED
    assert snapshot.sys_temperature is None  # a read's null: unknown now
    assert snapshot.cfg_lora1 is not None  # only events carry it: kept
    assert snapshot.sys_user_lock is False  # not in this read: kept
    alone = merge_snapshot(None, read, "a")
    assert alone.id == "a"
    assert alone.cfg_lora1 is None


def test_the_cache_holds_events_while_a_snapshot_is_on_its_way() -> None:
    stats = StreamStats()
    cache = StatusCache(stats, max_held=4)
    assert cache.event("a", wire(evseState=3)) is None  # not followed
    cache.follow("a")
    assert cache.event("a", wire(evseState=3)) is None  # no snapshot due: nothing to merge
    cache.expect_snapshot("a")  # due: events are held from now on
    cache.expect_snapshot("a")  # (once)
    for power in range(1, 7):
        assert cache.event("a", wire(sysSolarPower=float(power))) is None
    assert stats.coalesced == 2  # six held, bounded at four: the oldest folded
    given = cache.snapshot("a", FULL)
    assert given is not None
    snapshot, updates = given
    assert snapshot.sys_temperature == 31.5
    assert [update.sys_solar_power for update in updates] == [3.0, 4.0, 5.0, 6.0]
    assert updates[1].event_fields == {"sys_solar_power"}
    assert cache.latest("a") == updates[-1]
    live = cache.event("a", wire(sysUserLock=True))
    assert live is not None
    assert live.sys_solar_power == 6.0
    assert cache.latest("a") is live
    cache.disconnected()
    assert cache.latest("a") is None
    assert cache.event("a", wire(sysUserLock=False)) is None
    cache.forget("a")
    assert cache.snapshot("a", FULL) is None


# -- slow consumers ---------------------------------------------------------------------------


def of(device_id: str) -> DeviceStatus:
    return FULL.model_copy(update={"id": device_id})


def update(device_id: str, power: float, *fields: str) -> StatusUpdate:
    return merge_event(of(device_id), wire(sysSolarPower=power), device_id).with_event_fields(
        fields
    )


def snap(device_id: str) -> StatusSnapshot:
    return StatusSnapshot.of(of(device_id), device_id)


def drain(consumer: Consumer) -> list[DeviceStatus]:
    """Every status waiting in ``consumer``."""
    taken = []
    while consumer.ready:
        item = consumer.take()
        assert isinstance(item, DeviceStatus)
        taken.append(item)
    return taken


def test_a_slow_consumer_gets_the_latest_status_of_each_device() -> None:
    stats = StreamStats()
    consumer = Consumer(("a", "b"), max_pending=4, stats=stats)  # up to 8 waiting
    snapshot = snap("a")
    consumer.deliver("a", update("a", 0.5, "sys_rssi"))  # older than the snapshot: dropped
    consumer.deliver_snapshot("a", snapshot)  # not awaited: ignored
    consumer.expect_snapshots()
    consumer.deliver_snapshot("a", snapshot)
    consumer.deliver_snapshot("b", snap("b"))
    for power in range(1, 6):
        consumer.deliver("a", update("a", float(power), f"field{power}"))
    consumer.deliver("b", update("b", 9.0))  # the ninth status: coalesced
    taken = drain(consumer)
    # per device: the latest snapshot, then the latest update after it; the 0.5 came first
    assert [(type(s).__name__, s.id, s.sys_solar_power) for s in taken] == [
        ("StatusSnapshot", "a", None),
        ("StatusSnapshot", "b", None),
        ("StatusUpdate", "a", 5.0),
        ("StatusUpdate", "b", 9.0),
    ]
    latest_a = taken[2]
    assert isinstance(latest_a, StatusUpdate)
    assert latest_a.event_fields == {"sys_solar_power", *(f"field{n}" for n in range(1, 6))}
    assert consumer.coalesced == 5 == stats.coalesced
    # a newer snapshot replaces an older one and the updates before it
    consumer.deliver("a", update("a", 6.0))
    consumer.expect_snapshots()
    consumer.deliver_snapshot("a", snap("a"))
    consumer.deliver_snapshot("b", snap("b"))
    for power in range(7):
        consumer.deliver("b", update("b", float(power)))
    kept = [(type(item).__name__, item.id, item.sys_solar_power) for item in drain(consumer)]
    assert kept == [
        ("StatusSnapshot", "a", None),
        ("StatusSnapshot", "b", None),
        ("StatusUpdate", "b", 5.0),
        ("StatusUpdate", "b", 6.0),
    ]
    assert consumer.coalesced == 11
    consumer.end()
    consumer.deliver("a", update("a", 1.0))  # after the end: dropped at once
    assert consumer.take() is None
    assert not consumer.ready
