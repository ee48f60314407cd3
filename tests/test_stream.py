"""Device update streams against the emulator: snapshots, fan-out, one websocket, clean exits,
and self-healing through every fault the emulator can inject, in both subprotocols."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest

from andersen_ev import (
    AndersenA2,
    AndersenError,
    DeviceNotFoundError,
    DeviceStatus,
    InvalidInputError,
    ReauthRequiredError,
)
from andersen_ev.stream import (
    GRAPHQL_TRANSPORT_WS,
    GRAPHQL_WS,
    StatusSnapshot,
    StreamSettings,
    StreamState,
)
from andersen_ev.testing import AndersenCloud, Charger, EmulatedUser
from tests.client_fixtures import logged_in
from tests.stream_helpers import (
    FAST_RETRY,
    FAST_STREAM,
    Follower,
    final_state_matches,
    quiet,
    stream_tasks,
    until,
)

UNKNOWN_DEVICE = "0" * 24


def state_of(client: AndersenA2) -> StreamState:
    """The stream state now (a call, so that type checkers do not narrow it across awaits)."""
    return client.stream_state


def protocol_of(client: AndersenA2) -> str | None:
    """The subprotocol of the live connection (a call, for the same reason)."""
    return client.streams.protocol


@pytest.fixture(params=[GRAPHQL_WS, GRAPHQL_TRANSPORT_WS])
def protocol(request: pytest.FixtureRequest, andersen_cloud: AndersenCloud) -> str:
    """Make the emulator prefer this subprotocol (the client offers both)."""
    chosen: str = request.param
    andersen_cloud.websocket_protocols = (chosen, *({GRAPHQL_WS, GRAPHQL_TRANSPORT_WS} - {chosen}))
    return chosen


async def connect(
    cloud: AndersenCloud, credentials: tuple[str, str], settings: StreamSettings = FAST_STREAM
) -> AndersenA2:
    return await logged_in(cloud, credentials, retry=FAST_RETRY, stream_settings=settings)


@pytest.fixture
async def a2(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> AsyncIterator[AndersenA2]:
    """The shared logged-in client, with the stream tests' settings, and checks that
    closing it leaves nothing behind at either end."""
    client = await connect(andersen_cloud, andersen_credentials)
    async with client:
        yield client
    # closing the session leaves nothing behind
    assert client.stream_state is StreamState.CLOSED
    assert not stream_tasks()
    await quiet(andersen_cloud)
    assert andersen_cloud.state.hub.subscriber_count() == 0


# -- the basics -------------------------------------------------------------------------------


async def test_snapshot_first_then_live_events(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger, protocol: str
) -> None:
    follower = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await follower.until(lambda f: len(f.received) == 1)
    snapshot = follower.received[0]
    assert isinstance(snapshot, StatusSnapshot)
    assert isinstance(snapshot, DeviceStatus)
    assert snapshot.id == andersen_charger.id
    assert snapshot.konnect_serial is not None  # a getDeviceStatus field, not an event's
    assert a2.stream_state is StreamState.CONNECTED
    assert a2.streams.protocol == protocol

    await until(lambda: andersen_cloud.state.hub.subscriber_count(andersen_charger.id) == 1)
    andersen_charger.plug_in()
    andersen_cloud.advance(60)
    await follower.until(lambda f: f.has(andersen_charger.id, evseState=3))
    events = follower.received[1:]
    assert [type(event) for event in events] == [DeviceStatus] * len(events)
    assert events[0].evse_state == 2
    assert events[-1].charge_power == 7.2
    assert events[-1].cfg_lora0 is not None  # an event's field, not a query's
    assert all(event.id == andersen_charger.id for event in events)
    assert a2.streams.stats.events == len(events)
    assert a2.streams.stats.snapshots == 1

    await follower.stop()
    await until(lambda: andersen_cloud.stats.subscriptions_stopped_by_client == 1)
    await quiet(andersen_cloud)
    assert state_of(a2) is StreamState.CLOSED
    assert protocol_of(a2) is None
    assert andersen_cloud.state.hub.subscriber_count() == 0
    assert andersen_cloud.stats.websocket_connects == 1
    assert follower.error is None


async def test_leaving_the_loop_stops_the_subscription(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger, protocol: str
) -> None:
    async for status in a2.subscribe_device_updates(andersen_charger.id):
        assert status.id == andersen_charger.id
        break
    # the dropped iterator released its subscription: stop/complete reached the emulator
    await until(lambda: andersen_cloud.stats.subscriptions_stopped_by_client == 1)
    await quiet(andersen_cloud)
    assert andersen_cloud.state.hub.subscriber_count() == 0
    assert a2.stream_state is StreamState.CLOSED

    # a new consumer opens a new websocket
    async with a2.subscribe_device_updates(andersen_charger.id) as updates:
        assert isinstance(await anext(updates), StatusSnapshot)
    # ``async with`` releases at once: no task of the stream is left when it exits
    assert not stream_tasks()
    await until(lambda: andersen_cloud.stats.subscriptions_stopped_by_client == 2)
    assert andersen_cloud.stats.websocket_connects == 2


async def test_an_exception_in_the_loop_releases_the_stream(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    async def consume() -> None:
        async for _status in a2.subscribe_device_updates(andersen_charger.id):
            raise KeyError("the application failed")

    with pytest.raises(KeyError):
        await consume()
    await until(lambda: andersen_cloud.stats.subscriptions_stopped_by_client == 1)
    await quiet(andersen_cloud)


async def test_cancelling_the_consumer_task_releases_everything(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger, protocol: str
) -> None:
    updates = a2.subscribe_device_updates(andersen_charger.id)  # kept alive by this test
    follower = Follower(updates)
    await follower.until(lambda f: len(f.received) == 1)
    await follower.stop()
    # released on cancellation, although the iterator itself is still referenced here
    await until(lambda: andersen_cloud.stats.subscriptions_stopped_by_client == 1)
    await quiet(andersen_cloud)
    with pytest.raises(StopAsyncIteration):
        await anext(updates)  # a cancelled iterator is over


async def test_closing_the_session_ends_iterators_quietly(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
    andersen_charger: Charger,
    protocol: str,
) -> None:
    client = await connect(andersen_cloud, andersen_credentials)
    second = andersen_cloud.add_charger(andersen_user, name="Garage")
    follower = Follower(client.subscribe_device_updates(andersen_charger.id, second.id))
    never_started = client.subscribe_device_updates(andersen_charger.id)
    await follower.until(lambda f: len(f.received) == 2)
    await client.close()
    await follower.until_ended()
    assert follower.error is None  # the loop simply ended
    # sent before the socket closed; read by the emulator maybe after (aiohttp < 3.12.4)
    await until(lambda: andersen_cloud.stats.subscriptions_stopped_by_client == 2)
    assert client.stream_state is StreamState.CLOSED
    assert not stream_tasks()
    with pytest.raises(StopAsyncIteration):
        await anext(never_started)
    with pytest.raises(AndersenError, match="closed"):
        client.subscribe_device_updates(andersen_charger.id)
    await client.close()  # idempotent
    await quiet(andersen_cloud)


# -- multiplexing -----------------------------------------------------------------------------


async def test_ten_devices_share_one_websocket(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_user: EmulatedUser, protocol: str
) -> None:
    chargers = [andersen_cloud.add_charger(andersen_user, name=f"Bay {n}") for n in range(10)]
    ids = [charger.id for charger in chargers]
    singles = [Follower(a2.subscribe_device_updates(device_id)) for device_id in ids]
    together = Follower(a2.subscribe_device_updates(*ids))
    for follower in singles:
        await follower.until(lambda f: len(f.received) == 1)
    await together.until(lambda f: len(f.snapshots()) == 10)
    assert {status.id for status in together.received} == set(ids)
    await until(lambda: andersen_cloud.state.hub.subscriber_count() == 10)

    for charger in chargers:
        charger.set(sysUserLock=True)  # at once: a test knob, not a delayed command
    for follower, charger in zip(singles, chargers, strict=True):
        await follower.until_has(charger.id, evseState=255, sysUserLock=True)
    await together.until(lambda f: all(f.has(i, sysUserLock=True) for i in ids))

    # eleven consumers, ten devices: one websocket, one server-side subscription per device
    assert andersen_cloud.stats.websocket_connects == 1
    assert andersen_cloud.stats.websockets_open == 1
    assert andersen_cloud.stats.subscriptions_started == 10
    assert set(a2.streams.device_ids) == set(ids)

    for follower in singles:
        await follower.stop()
    assert set(a2.streams.device_ids) == set(ids)  # still followed together
    assert andersen_cloud.stats.subscriptions_stopped_by_client == 0
    assert andersen_cloud.stats.websockets_open == 1
    await together.stop()
    await until(lambda: andersen_cloud.stats.subscriptions_stopped_by_client == 10)
    await quiet(andersen_cloud)


async def test_consumers_of_one_device_share_its_subscription(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger, protocol: str
) -> None:
    first = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await first.until(lambda f: len(f.received) == 1)
    await until(lambda: andersen_cloud.state.hub.subscriber_count() == 1)
    andersen_charger.set(sysSolarPower=1.5)
    await first.until(lambda f: f.has(andersen_charger.id, sysSolarPower=1.5))

    # a latecomer gets its own snapshot; the first consumer gets no second one
    second = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await second.until(lambda f: len(f.received) == 1)
    assert isinstance(second.received[0], StatusSnapshot)
    assert second.received[0].sys_solar_power == 1.5
    andersen_charger.set(sysSolarPower=2.5)
    for follower in (first, second):
        await follower.until(lambda f: f.has(andersen_charger.id, sysSolarPower=2.5))
    assert len(first.snapshots()) == 1
    assert andersen_cloud.stats.subscriptions_started == 1

    await first.stop()
    andersen_charger.set(sysSolarPower=3.5)
    await second.until(lambda f: f.has(andersen_charger.id, sysSolarPower=3.5))
    assert andersen_cloud.stats.subscriptions_stopped_by_client == 0
    await second.stop()
    await until(lambda: andersen_cloud.stats.subscriptions_stopped_by_client == 1)
    await quiet(andersen_cloud)


async def test_duplicate_and_invalid_ids(a2: AndersenA2, andersen_charger: Charger) -> None:
    updates = a2.subscribe_device_updates(andersen_charger.id, andersen_charger.id)
    assert updates.device_ids == (andersen_charger.id,)
    assert andersen_charger.id in repr(updates)
    with pytest.raises(InvalidInputError):
        a2.subscribe_device_updates("")
    with pytest.raises(InvalidInputError):
        a2.subscribe_device_updates(andersen_charger.id, " padded ")
    assert "state=closed" in repr(a2.streams)
    await updates.aclose()  # never started: nothing to release
    with pytest.raises(StopAsyncIteration):
        await anext(updates)


# -- self-healing -----------------------------------------------------------------------------


async def test_repeated_drops_resync_and_end_in_the_servers_state(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger, protocol: str
) -> None:
    states: list[StreamState] = []
    a2.on_stream_state(states.append)
    follower = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await follower.until(lambda f: len(f.received) == 1)
    andersen_charger.plug_in()
    for drop in range(5):
        await until(lambda: andersen_cloud.state.hub.subscriber_count() == 1)
        andersen_cloud.advance(60)
        await follower.until(lambda f: final_state_matches(f, andersen_charger))
        assert await andersen_cloud.drop_websockets() == 1
        andersen_cloud.advance(60)  # changes while the client is away reach it as a snapshot
        await follower.until_snapshots(drop + 2)
        await follower.until(lambda f: final_state_matches(f, andersen_charger))
    andersen_charger.set(sysUserLock=True)  # at once: a test knob, not a delayed command
    await follower.until(lambda f: final_state_matches(f, andersen_charger))
    assert follower.latest().sys_user_lock is True
    assert follower.error is None
    assert not follower.ended
    assert andersen_cloud.stats.websocket_connects == 6
    assert a2.streams.stats.connects == 6
    assert states[:2] == [StreamState.CONNECTING, StreamState.CONNECTED]
    assert states[2:12] == [StreamState.RECONNECTING, StreamState.CONNECTED] * 5
    await follower.stop()


async def test_refused_connects_are_retried(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger, protocol: str
) -> None:
    andersen_cloud.faults.refuse_websockets(3)
    follower = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await follower.until(lambda f: len(f.received) == 1)
    assert andersen_cloud.stats.faults_injected["websocket_refused"] == 3
    assert andersen_cloud.stats.websocket_connects == 1

    andersen_cloud.faults.refuse_websockets(4)
    await andersen_cloud.drop_websockets()
    andersen_charger.set(sysUserLock=True)  # at once: a test knob, not a delayed command
    await follower.until(lambda f: final_state_matches(f, andersen_charger))
    assert follower.latest().sys_user_lock is True
    assert andersen_cloud.stats.faults_injected["websocket_refused"] == 7
    assert andersen_cloud.stats.websocket_connects == 2
    assert follower.error is None
    await follower.stop()


async def test_tokens_expired_mid_stream_are_refreshed(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger, protocol: str
) -> None:
    follower = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await follower.until(lambda f: len(f.received) == 1)
    refreshes = andersen_cloud.stats.refreshes
    andersen_cloud.expire_tokens()  # the client still believes its token is good
    await andersen_cloud.drop_websockets()
    andersen_charger.plug_in()
    andersen_cloud.advance(120)
    # refused once for the expired token, refreshed, reconnected, resynced
    await follower.until(lambda f: len(f.snapshots()) == 2)
    await follower.until(lambda f: final_state_matches(f, andersen_charger))
    assert andersen_cloud.stats.refreshes == refreshes + 1
    assert a2.streams.stats.auth_refusals == 1
    assert a2.stream_state is StreamState.CONNECTED
    assert follower.error is None
    await follower.stop()


@pytest.mark.andersen_cloud(token_lifetime=2)
async def test_short_lived_tokens_are_refreshed_before_reconnecting(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger, protocol: str
) -> None:
    follower = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await follower.until(lambda f: len(f.received) == 1)
    tokens = a2.tokens
    assert tokens is not None
    refreshes = andersen_cloud.stats.refreshes
    await until(lambda: datetime.now(UTC) > tokens.expires_at)  # expired on both sides now
    await andersen_cloud.drop_websockets()
    andersen_charger.set(sysUserLock=True)  # at once: a test knob, not a delayed command
    await follower.until(lambda f: final_state_matches(f, andersen_charger))
    # the client saw the token was due and refreshed it before connecting: never refused
    assert andersen_cloud.stats.refreshes == refreshes + 1
    assert a2.streams.stats.auth_refusals == 0
    assert follower.error is None
    await follower.stop()


async def test_malformed_frames_cost_a_reconnect_not_the_stream(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    protocol: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    follower = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await follower.until(lambda f: len(f.received) == 1)
    await until(lambda: andersen_cloud.state.hub.subscriber_count() == 1)
    andersen_cloud.faults.send_malformed_frames(1)
    with caplog.at_level(logging.WARNING, logger="andersen_ev.stream"):
        andersen_charger.plug_in()  # this event arrives cut in half
        await follower.until(lambda f: len(f.snapshots()) == 2)  # reconnected and resynced
    assert "malformed frame" in caplog.text
    assert a2.streams.stats.malformed_frames == 1
    assert andersen_cloud.stats.faults_injected["malformed_frame"] == 1
    andersen_cloud.advance(60)
    await follower.until(lambda f: final_state_matches(f, andersen_charger))
    assert follower.latest().evse_state == 3
    assert andersen_cloud.stats.websocket_connects == 2
    assert follower.error is None
    await follower.stop()


async def test_leaving_while_a_snapshot_is_retried(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    staying = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await staying.until(lambda f: len(f.received) == 1)
    andersen_cloud.faults.latency = 0.2
    andersen_cloud.faults.fail_http(3)  # the next snapshot fails, slowly
    leaving = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await until(lambda: andersen_cloud.stats.graphql_requests["getDeviceStatus"] == 2)
    await leaving.stop()  # while its snapshot is being tried
    # the failed query is not tried again for nobody: the resync ends
    await until(lambda: not [t for t in stream_tasks() if t.get_name().endswith("resync")])
    assert andersen_cloud.stats.faults_injected["http_503"] == 3
    andersen_cloud.faults.latency = 0.0
    andersen_charger.set(sysUserLock=True)  # at once: a test knob, not a delayed command
    await staying.until(lambda f: f.has(andersen_charger.id, sysUserLock=True))
    assert leaving.received == []
    assert andersen_cloud.stats.graphql_requests["getDeviceStatus"] == 4  # not tried again
    await staying.stop()


async def test_failed_snapshots_are_retried(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    andersen_cloud.faults.fail_http(4)  # more than one query's retries
    follower = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await follower.until(lambda f: len(f.received) == 1)
    assert isinstance(follower.received[0], StatusSnapshot)
    assert andersen_cloud.stats.graphql_requests["getDeviceStatus"] == 5

    andersen_cloud.faults.corrupt_replies(1)
    await andersen_cloud.drop_websockets()
    await follower.until(lambda f: len(f.snapshots()) == 2)
    assert andersen_cloud.stats.graphql_requests["getDeviceStatus"] == 7
    assert andersen_cloud.stats.websocket_connects == 2  # the stream itself stayed up
    await follower.stop()


# -- what ends a stream ---------------------------------------------------------------------


async def test_reauth_required_ends_every_iterator(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_charger: Charger,
    protocol: str,
) -> None:
    second = andersen_cloud.add_charger(andersen_user, name="Garage")
    first = Follower(a2.subscribe_device_updates(andersen_charger.id))
    both = Follower(a2.subscribe_device_updates(andersen_charger.id, second.id))
    await first.until(lambda f: len(f.received) == 1)
    await both.until(lambda f: len(f.received) == 2)
    andersen_cloud.revoke_refresh_tokens()
    andersen_cloud.expire_tokens()
    await andersen_cloud.drop_websockets()
    for follower in (first, both):
        await follower.until_ended()
        assert isinstance(follower.error, ReauthRequiredError)
    assert a2.stream_state is StreamState.CLOSED
    await quiet(andersen_cloud)
    assert andersen_cloud.stats.websocket_connects == 2  # refused once, then no more tries
    # a new consumer learns the same at once
    late = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await late.until_ended()
    assert isinstance(late.error, ReauthRequiredError)
    await quiet(andersen_cloud)


async def test_unknown_device_raises_and_is_not_retried(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger, protocol: str
) -> None:
    good = Follower(a2.subscribe_device_updates(andersen_charger.id))
    mixed = Follower(a2.subscribe_device_updates(andersen_charger.id, UNKNOWN_DEVICE))
    await mixed.until_ended()
    assert isinstance(mixed.error, DeviceNotFoundError)
    await good.until(lambda f: len(f.received) == 1)
    andersen_charger.set(sysUserLock=True)  # at once: a test knob, not a delayed command
    await good.until(lambda f: f.has(andersen_charger.id, sysUserLock=True))
    assert andersen_cloud.stats.websocket_connects == 1  # no reconnecting over it
    assert UNKNOWN_DEVICE not in a2.streams.device_ids

    alone = Follower(a2.subscribe_device_updates(UNKNOWN_DEVICE))
    await alone.until_ended()
    assert isinstance(alone.error, DeviceNotFoundError)
    assert not good.ended
    await good.stop()
    await quiet(andersen_cloud)
    assert andersen_cloud.stats.websocket_connects == 1


async def test_unknown_device_alone_closes_the_websocket(
    a2: AndersenA2, andersen_cloud: AndersenCloud, protocol: str
) -> None:
    updates = a2.subscribe_device_updates(UNKNOWN_DEVICE)
    with pytest.raises(DeviceNotFoundError):
        await anext(updates)  # no snapshot: the error comes first
    await quiet(andersen_cloud)
    assert a2.stream_state is StreamState.CLOSED


# -- dead connections -------------------------------------------------------------------------


async def test_silent_legacy_connection_is_given_up(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
    andersen_charger: Charger,
) -> None:
    andersen_cloud.websocket_protocols = (GRAPHQL_WS,)
    andersen_cloud.websocket_keepalive = 3600.0  # one "ka" on connect, then silence
    settings = StreamSettings(backoff=0.01, max_backoff=0.05, keepalive_timeout=0.5)
    async with await connect(andersen_cloud, andersen_credentials, settings) as client:
        follower = Follower(client.subscribe_device_updates(andersen_charger.id))
        await until(lambda: client.streams.stats.keepalive_timeouts >= 1)
        await until(lambda: andersen_cloud.stats.websocket_connects >= 2)
        andersen_cloud.websocket_keepalive = 0.02  # a healthy server for the next connections
        andersen_charger.set(sysUserLock=True)  # at once: a test knob, not a delayed command
        await follower.until(lambda f: final_state_matches(f, andersen_charger))
        assert follower.error is None
        await follower.stop()
    await quiet(andersen_cloud)


async def test_unanswered_pings_are_given_up(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
    andersen_charger: Charger,
) -> None:
    andersen_cloud.websocket_protocols = (GRAPHQL_TRANSPORT_WS,)
    andersen_cloud.websocket_keepalive = None  # the server never pings: the client does
    settings = StreamSettings(
        backoff=0.01, max_backoff=0.05, keepalive_timeout=0.5, ping_interval=0.05
    )
    async with await connect(andersen_cloud, andersen_credentials, settings) as client:
        follower = Follower(client.subscribe_device_updates(andersen_charger.id))
        await follower.until(lambda f: len(f.received) == 1)
        andersen_cloud.faults.latency = 0.02  # pongs come, a little late
        await until(lambda: client.streams.stats.pings >= 3)  # answered, or it would be dead
        andersen_cloud.faults.latency = 1.0  # every answer, pongs included, comes too late
        await until(lambda: client.streams.stats.keepalive_timeouts >= 1)
        await until(lambda: client.stream_state is StreamState.RECONNECTING)
        andersen_cloud.faults.latency = 0.0
        andersen_charger.set(sysUserLock=True)  # at once: a test knob, not a delayed command
        await follower.until(lambda f: final_state_matches(f, andersen_charger))
        assert client.stream_state is StreamState.CONNECTED
        assert follower.error is None
        await follower.stop()
    await quiet(andersen_cloud)


async def test_server_keepalives_keep_the_connection(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
    andersen_charger: Charger,
    protocol: str,
) -> None:
    andersen_cloud.websocket_keepalive = 0.01  # ka or ping every 10 ms, answered or noted
    settings = StreamSettings(keepalive_timeout=2.0, ping_interval=0.05)
    async with await connect(andersen_cloud, andersen_credentials, settings) as client:
        follower = Follower(client.subscribe_device_updates(andersen_charger.id))
        await follower.until(lambda f: len(f.received) == 1)
        await asyncio.sleep(0.2)  # let keep-alives pass both ways (nothing is timed)
        andersen_charger.set(sysUserLock=True)  # at once: a test knob, not a delayed command
        await follower.until(lambda f: f.has(andersen_charger.id, sysUserLock=True))
        assert andersen_cloud.stats.websocket_connects == 1
        assert client.streams.stats.keepalive_timeouts == 0
        await follower.stop()
    await quiet(andersen_cloud)


# -- state ------------------------------------------------------------------------------------


async def test_state_callbacks(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[StreamState] = []

    def broken(state: StreamState) -> None:
        raise RuntimeError(f"an application bug ({state})")

    remove = a2.on_stream_state(seen.append)
    remove_broken = a2.on_stream_state(broken)
    assert a2.stream_state is StreamState.CLOSED
    with caplog.at_level(logging.ERROR, logger="andersen_ev.stream"):
        async with a2.subscribe_device_updates(andersen_charger.id) as updates:
            await anext(updates)
    assert seen == [StreamState.CONNECTING, StreamState.CONNECTED, StreamState.CLOSED]
    assert "an application bug" in caplog.text
    remove()
    remove_broken()
    remove()  # twice is harmless
    async with a2.subscribe_device_updates(andersen_charger.id) as updates:
        await anext(updates)
    assert len(seen) == 3


def test_settings_are_checked() -> None:
    with pytest.raises(InvalidInputError):
        StreamSettings(backoff=-1)
    with pytest.raises(InvalidInputError):
        StreamSettings(keepalive_timeout=0)
    with pytest.raises(InvalidInputError):
        StreamSettings(snapshot_concurrency=0)
    settings = StreamSettings(backoff=0.5, max_backoff=2.0)
    assert all(0 <= settings.delay(n) <= min(2.0, 0.5 * 2 ** (n - 1)) for n in range(1, 8))


# -- more ways in and out -----------------------------------------------------------------


async def test_consumers_joining_and_leaving_together(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    first = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await first.until(lambda f: len(f.received) == 1)
    # two latecomers in the same instant share one snapshot query
    joiners = [Follower(a2.subscribe_device_updates(andersen_charger.id)) for _ in range(2)]
    for joiner in joiners:
        await joiner.until(lambda f: len(f.received) == 1)
    await first.stop()
    # aclose with other consumers left keeps the websocket
    updates = a2.subscribe_device_updates(andersen_charger.id)
    assert isinstance(await anext(updates), StatusSnapshot)
    await updates.aclose()
    assert a2.stream_state is StreamState.CONNECTED
    for joiner in joiners:
        await joiner.stop()
    await quiet(andersen_cloud)
    assert andersen_cloud.stats.websocket_connects == 1


async def test_a_consumer_arriving_as_the_last_one_leaves(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    leaving = a2.subscribe_device_updates(andersen_charger.id)
    await anext(leaving)
    arriving = a2.subscribe_device_updates(andersen_charger.id)
    closing = asyncio.create_task(leaving.aclose())  # stops the connection...
    first = asyncio.create_task(anext(arriving))  # ...while the next consumer starts
    await closing
    assert isinstance(await first, StatusSnapshot)
    assert a2.stream_state is StreamState.CONNECTED
    await until(lambda: andersen_cloud.stats.websocket_connects == 2)
    # the first connection still said goodbye properly
    assert andersen_cloud.stats.subscriptions_stopped_by_client >= 1
    await arriving.aclose()
    await quiet(andersen_cloud)


async def test_reauth_required_found_by_a_snapshot(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_charger: Charger,
) -> None:
    first = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await first.until(lambda f: len(f.received) == 1)
    andersen_cloud.revoke_refresh_tokens()
    andersen_cloud.expire_tokens()  # the open websocket stays up; queries are refused
    second = Follower(a2.subscribe_device_updates(andersen_charger.id))
    for follower in (first, second):
        await follower.until_ended()
        assert isinstance(follower.error, ReauthRequiredError)
    await quiet(andersen_cloud)


async def test_a_throttled_refresh_is_retried(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    follower = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await follower.until(lambda f: len(f.received) == 1)
    andersen_cloud.expire_tokens()
    andersen_cloud.faults.throttle_cognito(2)
    await andersen_cloud.drop_websockets()
    andersen_charger.set(sysUserLock=True)  # at once: a test knob, not a delayed command
    await follower.until(lambda f: final_state_matches(f, andersen_charger))
    assert andersen_cloud.stats.faults_injected["cognito_throttled"] == 2
    assert follower.error is None
    await follower.stop()


async def test_a_closed_shared_session_ends_the_streams(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
    andersen_charger: Charger,
) -> None:
    async with aiohttp.ClientSession() as http:
        client = AndersenA2(
            http, endpoints=andersen_cloud.endpoints, retry=FAST_RETRY, stream_settings=FAST_STREAM
        )
        await client.authenticate(*andersen_credentials)
        follower = Follower(client.subscribe_device_updates(andersen_charger.id))
        await follower.until(lambda f: len(f.received) == 1)
        await http.close()  # the application closed the session it lent us
        await follower.until_ended()
        assert isinstance(follower.error, AndersenError)
        assert "session" in str(follower.error)
        await client.close()
    await quiet(andersen_cloud)


def test_snapshot_of_a_status_without_id() -> None:
    snapshot = StatusSnapshot.of(DeviceStatus(evseState=3), "abc")
    assert snapshot.id == "abc"
    assert snapshot.is_charging
    assert "id" in snapshot.model_fields_set
