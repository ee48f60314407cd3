"""The stream's layers on their own, without a websocket: the consumer's queue and iterator
against a recording ConsumerHub, and the keep-alive rules of both subprotocols."""

from __future__ import annotations

import asyncio
import gc

import pytest

from andersen_ev import ApiError, DeviceStatus, EvseState
from andersen_ev.stream import DeviceUpdates, StatusSnapshot, StreamSettings
from andersen_ev.stream.protocol import KeepAlive
from andersen_ev.stream.updates import Consumer, ConsumerHub

SETTINGS = StreamSettings(keepalive_timeout=10.0, ping_interval=4.0)


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


def test_events_wait_for_their_devices_snapshot_and_follow_it_in_order() -> None:
    consumer = Consumer(("a", "b"))
    consumer.expect_snapshots()
    consumer.deliver("a", event("a", 1))
    consumer.deliver("a", event("a", 2))
    assert not consumer.ready
    snapshot = StatusSnapshot.of(DeviceStatus(evse_state=EvseState.READY), "a")
    consumer.deliver_snapshot("a", snapshot)
    consumer.deliver_snapshot("a", snapshot)  # a second one finds nobody waiting
    taken = [consumer.take() for _ in range(3)]
    assert taken == [snapshot, event("a", 1), event("a", 2)]
    assert not consumer.ready
    assert consumer.awaits_snapshot("b")
    assert not consumer.awaits_snapshot("a")


def test_a_new_resync_drops_stale_held_events_and_a_detached_consumer_gets_no_snapshot() -> None:
    consumer = Consumer(("a",))
    consumer.expect_snapshots()
    consumer.deliver("a", event("a", 1))
    consumer.expect_snapshots()  # reconnected: what was held predates the next snapshot
    snapshot = StatusSnapshot.of(DeviceStatus(), "a")
    consumer.deliver_snapshot("a", snapshot)
    assert [consumer.take()] == [snapshot]
    assert not consumer.ready
    consumer.expect_snapshots()
    consumer.expect_no_snapshot()
    consumer.deliver_snapshot("a", snapshot)
    assert not consumer.ready
    consumer.deliver("a", event("a", 3))  # nothing held any more: delivered at once
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


def test_legacy_keepalive_is_watched_only_after_a_first_ka() -> None:
    keepalive = KeepAlive(pings=False, settings=SETTINGS, now=0.0)
    assert keepalive.check(100.0) == "ok"  # no ka yet: websocket-level pings watch it
    assert keepalive.next_check(100.0) == 110.0
    keepalive.ka_seen = True
    keepalive.last_rx = 100.0
    assert keepalive.next_check(105.0) == 110.0
    assert keepalive.check(109.9) == "ok"
    assert keepalive.check(110.0) == "dead"


def test_transport_ws_pings_after_silence_and_gives_up_without_an_answer() -> None:
    keepalive = KeepAlive(pings=True, settings=SETTINGS, now=0.0)
    assert keepalive.next_check(0.0) == 4.0
    assert keepalive.check(3.9) == "ok"
    assert keepalive.check(4.0) == "ping"
    assert keepalive.next_check(4.0) == 8.0  # awake meanwhile, for a pong that comes early
    assert keepalive.check(13.9) == "ok"
    assert keepalive.check(14.0) == "dead"
    keepalive.last_rx = 5.0  # the pong came in time after all
    assert keepalive.check(8.0) == "ok"
    assert keepalive.next_check(8.0) == 9.0
    assert keepalive.check(9.0) == "ping"
