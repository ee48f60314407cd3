"""Streams on hostile networks: silent deaths, dead pooled connections, floods of events.

The emulator sits behind a cutting proxy of the tests' own (``tests/cutting_proxy.py``) that
stalls connections without closing them, as a half-open TCP connection does; a flood server
sends 10,000 events a second to a consumer that does not read. Each test logs its figures
(times to detect, memory, counts at the server) to the logger ``tests.figures``:
``pytest --log-cli-level=INFO tests/test_stream_hostile.py`` shows them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from yarl import URL

from andersen_ev import AndersenA2, DeviceStatus
from andersen_ev.stream import (
    GRAPHQL_TRANSPORT_WS,
    GRAPHQL_WS,
    StatusSnapshot,
    StatusUpdate,
    StreamSettings,
    StreamState,
)
from andersen_ev.testing import AndersenCloud, Charger, EmulatedUser
from tests.client_fixtures import logged_in
from tests.cutting_proxy import CuttingProxy, cutting_proxy
from tests.loopback import serve
from tests.stream_helpers import (
    FAST_RETRY,
    Follower,
    final_state_matches,
    only_protocol,  # noqa: F401 - the protocol fixture
    quiet,
    until,
)

#: Keep-alive figures scaled down from the defaults (10 s, 3 s, 10 s) so tests run in seconds.
QUICK = StreamSettings(
    backoff=0.01,
    max_backoff=0.05,
    ping_interval=0.3,
    suspect_after=0.1,
    keepalive_timeout=0.3,
    connect_timeout=3.0,
)
#: What a loaded test machine may add to any timing asserted here.
SLACK = 1.0
FIGURES = logging.getLogger("tests.figures")


@pytest.fixture
async def proxy(andersen_cloud: AndersenCloud) -> AsyncIterator[CuttingProxy]:
    """A cutting proxy in front of the emulator's GraphQL port (HTTP and websocket)."""
    url = URL(andersen_cloud.endpoints.graphql_url)
    assert url.host is not None
    assert url.port is not None
    async with cutting_proxy(url.host, url.port) as cutting:
        yield cutting


async def client_via(
    proxy: CuttingProxy,
    cloud: AndersenCloud,
    credentials: tuple[str, str],
    settings: StreamSettings = QUICK,
) -> AndersenA2:
    """A logged-in client whose GraphQL requests and websockets go through ``proxy``."""
    endpoints = dataclasses.replace(
        cloud.endpoints,
        graphql_url=proxy.url_for(cloud.endpoints.graphql_url),
        websocket_url=proxy.url_for(cloud.endpoints.websocket_url),
    )
    return await logged_in(
        cloud,
        credentials,
        endpoints=endpoints,
        retry=FAST_RETRY,
        stream_settings=settings,
        timeout=1.0,
    )


# -- issue 15 (10): a silent connection -------------------------------------------------------


async def test_a_silent_connection_is_suspect_then_replaced(
    proxy: CuttingProxy,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
    andersen_charger: Charger,
    protocol: str,
) -> None:
    loop = asyncio.get_running_loop()
    async with await client_via(proxy, andersen_cloud, andersen_credentials) as client:
        changes: list[tuple[float, StreamState]] = []
        client.on_stream_state(lambda state: changes.append((loop.time(), state)))
        follower = Follower(client.subscribe_device_updates(andersen_charger.id))
        await follower.until(lambda f: len(f.received) == 1)
        await until(lambda: client.streams.stats.pings >= 2)  # pings are answered meanwhile
        assert client.stream_state is StreamState.CONNECTED
        assert client.streams.latest(andersen_charger.id) is not None
        before = proxy.accepted

        stalled_at = loop.time()
        assert len(proxy.stall()) == 2  # the websocket and the pooled HTTP connection
        await until(lambda: client.stream_state is StreamState.RECONNECTING)
        suspect_after = loop.time() - stalled_at
        assert client.streams.latest(andersen_charger.id) is None  # not vouched for now
        await until(lambda: client.streams.stats.keepalive_timeouts == 1)
        dead_after = loop.time() - stalled_at
        await until(lambda: client.stream_state is StreamState.CONNECTED)
        back_after = loop.time() - stalled_at

        # the last frame came at most ping_interval before the stall
        assert suspect_after <= QUICK.ping_interval + QUICK.suspect_after + SLACK
        assert dead_after <= QUICK.worst_detection + SLACK
        assert client.streams.stats.suspects == 1
        assert [state for _, state in changes if _ >= stalled_at][:2] == [
            StreamState.RECONNECTING,
            StreamState.CONNECTED,
        ]
        andersen_charger.set(sysUserLock=True)  # at once: a test knob, not a delayed command
        await follower.until(lambda f: final_state_matches(f, andersen_charger))
        assert len(follower.snapshots()) == 2
        assert andersen_cloud.stats.websocket_connects == 2
        assert proxy.accepted >= before + 1
        FIGURES.info(
            f"{protocol}: suspect {suspect_after:.2f} s, given up {dead_after:.2f} s,"
            f" connected again {back_after:.2f} s after the stall (ping {QUICK.ping_interval} s,"
            f" suspect {QUICK.suspect_after} s, timeout {QUICK.keepalive_timeout} s);"
            f" proxy connections {proxy.accepted}, emulator websockets"
            f" {andersen_cloud.stats.websocket_connects}"
        )
        await follower.stop()
        proxy.resume()
    await quiet(andersen_cloud)


async def test_a_late_answer_makes_a_suspect_connection_connected_again(
    proxy: CuttingProxy,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
    andersen_charger: Charger,
    protocol: str,
) -> None:
    settings = dataclasses.replace(QUICK, keepalive_timeout=5.0)
    async with await client_via(proxy, andersen_cloud, andersen_credentials, settings) as client:
        follower = Follower(client.subscribe_device_updates(andersen_charger.id))
        await follower.until(lambda f: len(f.received) == 1)
        proxy.stall()
        await until(lambda: client.stream_state is StreamState.RECONNECTING)
        proxy.resume()  # the answer comes, late but before keepalive_timeout
        await until(lambda: client.stream_state is StreamState.CONNECTED)
        assert client.streams.stats.keepalive_timeouts == 0
        assert client.streams.stats.connects == 1  # the same connection all along
        assert client.streams.latest(andersen_charger.id) is not None
        await follower.stop()
    await quiet(andersen_cloud)


# -- issue 15 (7): a dead pooled connection ---------------------------------------------------


async def test_a_websocket_never_rides_a_dead_pooled_connection(
    proxy: CuttingProxy,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
    andersen_charger: Charger,
) -> None:
    loop = asyncio.get_running_loop()
    async with await client_via(proxy, andersen_cloud, andersen_credentials) as client:
        session = client._http()  # the shared session, to show the hazard
        ws_url = client.endpoints.websocket_url

        # the hazard: aiohttp sends a plain upgrade on an idle pooled HTTP connection, so
        # one that died in the pool (a half-open stall) swallows the upgrade. If this
        # fails, aiohttp stopped doing that, and the connection key of
        # andersen_ev.stream.connection is no longer needed.
        await client.get_device_status(andersen_charger.id)  # a keep-alive connection, pooled
        assert [link.index for link in proxy.stall()] == [0]
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await session.ws_connect(ws_url)
        assert proxy.accepted == 1  # it went out on the dead one: nothing new reached the proxy

        # the library: the websocket goes out on a connection of its own, at once
        await client.get_device_status(andersen_charger.id)  # a new pooled connection...
        assert proxy.links[1] in proxy.stall()  # ...which dies too
        started = loop.time()
        follower = Follower(client.subscribe_device_updates(andersen_charger.id))
        await until(lambda: client.stream_state is StreamState.CONNECTED)
        connected_after = loop.time() - started
        assert connected_after < QUICK.connect_timeout
        assert proxy.accepted == 3  # the websocket's own connection
        assert andersen_cloud.stats.websocket_connects == 1
        # its snapshot query meets the dead pooled connection: the query's timeout and retry
        await follower.until(lambda f: len(f.received) == 1)
        snapshot_after = loop.time() - started
        FIGURES.info(
            f"websocket connected {connected_after * 1000:.0f} ms after the subscription"
            f" (connect_timeout {QUICK.connect_timeout} s); snapshot {snapshot_after:.2f} s;"
            f" proxy connections {proxy.accepted}"
        )
        await follower.stop()
        proxy.resume()
    await quiet(andersen_cloud)


# -- issue 15 (9): a slow consumer ------------------------------------------------------------


@dataclasses.dataclass
class Flood:
    """A websocket endpoint sending a stream of events at ``rate`` per second when told to."""

    protocol: str
    status: dict[str, Any]
    rate: int = 10_000
    go: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    stop: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    sent: int = 0
    last: float = 0.0

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=(self.protocol,))
        await ws.prepare(request)
        assert (await ws.receive_json())["type"] == "connection_init"
        await ws.send_json({"type": "connection_ack"})
        start = await ws.receive_json()
        await self.go.wait()
        data = "next" if self.protocol == GRAPHQL_TRANSPORT_WS else "data"
        # rendered once: the server must outpace the client, which decodes every frame
        status = {**self.status, "sysSolarPower": "POWER"}
        frame = {
            "id": start["id"],
            "type": data,
            "payload": {"data": {"deviceStatusUpdated": status}},
        }
        head, tail = json.dumps(frame).split('"POWER"')
        started = time.perf_counter()
        while not self.stop.is_set():
            for _ in range(100):  # a hundred frames, then keep to the rate
                self.sent += 1
                self.last = self.sent / 1000
                await ws.send_str(f"{head}{self.last}{tail}")
            ahead = self.sent / self.rate - (time.perf_counter() - started)
            await asyncio.sleep(max(0.0, ahead))
        async for _message in ws:
            pass
        return ws


async def test_a_consumer_that_does_not_read_keeps_memory_flat(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
    andersen_charger: Charger,
) -> None:
    flood = Flood(GRAPHQL_WS, andersen_charger.status())
    app = web.Application()
    app.router.add_get("/graphql", flood.handle)
    async with serve(app) as base:
        endpoints = dataclasses.replace(
            andersen_cloud.endpoints, websocket_url=base.replace("http", "ws", 1) + "graphql"
        )
        settings = StreamSettings(backoff=0.01, max_backoff=0.05)
        async with await logged_in(
            andersen_cloud, andersen_credentials, endpoints=endpoints, stream_settings=settings
        ) as client:
            updates = client.subscribe_device_updates(andersen_charger.id)
            assert isinstance(await anext(updates), StatusSnapshot)
            stats = client.streams.stats
            tracemalloc.start()
            try:
                baseline = tracemalloc.get_traced_memory()[0]
                flood.go.set()  # and the consumer reads nothing while it lasts
                samples = []
                for _ in range(8):
                    await asyncio.sleep(0.5)
                    samples.append(tracemalloc.get_traced_memory()[0] - baseline)
                flood.stop.set()
                await until(lambda: stats.events == flood.sent)  # what was on its way too
                samples.append(tracemalloc.get_traced_memory()[0] - baseline)
                peak = tracemalloc.get_traced_memory()[1] - baseline
            finally:
                tracemalloc.stop()
            received: list[DeviceStatus] = []
            while not received or received[-1].sys_solar_power != flood.last:
                received.append(await anext(updates))
            assert len(received) <= settings.max_pending + 1
            assert all(isinstance(status, StatusUpdate) for status in received)
            assert all(status.konnect_serial is not None for status in received)  # complete
            assert updates.coalesced == stats.coalesced == stats.events - len(received)
            # a flood even on a loaded machine (tracemalloc slows the client several times):
            # unbounded, that many statuses would hold tens of MiB
            assert stats.events >= 2_000
            mib = 1024 * 1024
            assert peak < 8 * mib
            assert max(samples) < 4 * mib
            FIGURES.info(
                f"flood: {flood.sent} events sent at {flood.rate}/s for 4 s, {stats.events}"
                " decoded;"
                f" the consumer took {len(received)}, {updates.coalesced} coalesced;"
                f" memory growth every 0.5 s (KiB): {[round(s / 1024) for s in samples]},"
                f" peak {peak / mib:.2f} MiB"
            )
            await updates.aclose()
