"""The stream client against a scripted websocket server: what the emulator never sends.

Queries (snapshots) and Cognito still go to the emulator; only the websocket endpoint is a
small aiohttp server whose every frame the test writes, to reach the corners of both
subprotocols: rejected subscriptions, servers that name no subprotocol, odd frames,
connection errors, refusals, and events that overtake a snapshot.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from andersen_ev import AndersenA2, AndersenError, ApiError, DeviceStatus, ReauthRequiredError
from andersen_ev.stream import (
    GRAPHQL_TRANSPORT_WS,
    GRAPHQL_WS,
    MAX_FRAME_BYTES,
    StatusSnapshot,
    StatusUpdate,
    StreamManager,
    StreamState,
)
from andersen_ev.testing import AndersenCloud, Charger, EmulatedUser
from tests.client_fixtures import logged_in
from tests.loopback import serve
from tests.stream_helpers import FAST_RETRY, FAST_STREAM, Follower, quiet, stream_tasks, until

UNAUTHENTICATED = {"message": "Context creation failed", "extensions": {"code": "UNAUTHENTICATED"}}


class Session:
    """One connection to the scripted server, from the server's side."""

    def __init__(self, ws: web.WebSocketResponse, protocol: str, index: int) -> None:
        self.ws = ws
        self.protocol = protocol
        self.index = index
        self.token: str | None = None

    @property
    def data_type(self) -> str:
        return "next" if self.protocol == GRAPHQL_TRANSPORT_WS else "data"

    async def receive(self) -> dict[str, Any]:
        """The next JSON frame from the client."""
        message = await self.ws.receive()
        assert message.type is WSMsgType.TEXT, message
        frame: dict[str, Any] = json.loads(message.data)
        return frame

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.ws.send_str(frame if isinstance(frame, str) else json.dumps(frame))

    async def init(self, *, ack: bool = True) -> None:
        """Take ``connection_init`` (keeping its token) and, by default, acknowledge it."""
        frame = await self.receive()
        assert frame["type"] == "connection_init"
        self.token = frame["payload"]["authToken"]
        if ack:
            await self.send({"type": "connection_ack"})

    async def subscription(self) -> tuple[str, str]:
        """Take a ``start``/``subscribe``; returns its id and the device id."""
        frame = await self.receive()
        assert frame["type"] == ("subscribe" if self.protocol == GRAPHQL_TRANSPORT_WS else "start")
        assert frame["payload"]["operationName"] == "deviceStatusUpdated"
        return frame["id"], frame["payload"]["variables"]["id"]

    async def event(self, op_id: str, status: dict[str, Any] | None) -> None:
        payload = {"data": {"deviceStatusUpdated": status}}
        await self.send({"id": op_id, "type": self.data_type, "payload": payload})

    async def until_closed(self) -> list[dict[str, Any]]:
        """Every frame until the client closes; returns them."""
        return [json.loads(message.data) async for message in self.ws]


Script = Callable[[Session], Awaitable[None]]


@dataclasses.dataclass
class ScriptedServer:
    """A websocket endpoint answering ``protocol`` (None: naming none) and running ``script``."""

    protocol: str | None
    script: Script | None = None
    sessions: list[Session] = dataclasses.field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=(self.protocol,) if self.protocol else ())
        await ws.prepare(request)
        session = Session(ws, self.protocol or GRAPHQL_WS, len(self.sessions))
        self.sessions.append(session)
        assert self.script is not None
        try:
            await self.script(session)
        finally:
            await ws.close()
        return ws


@pytest.fixture(params=[GRAPHQL_WS, GRAPHQL_TRANSPORT_WS])
def protocol(request: pytest.FixtureRequest) -> str:
    chosen: str = request.param
    return chosen


@pytest.fixture
async def server(protocol: str) -> AsyncIterator[ScriptedServer]:
    scripted = ScriptedServer(protocol)
    app = web.Application()
    app.router.add_get("/graphql", scripted.handle)
    async with serve(app) as base:
        scripted.url = base.replace("http", "ws", 1) + "graphql"
        yield scripted


@pytest.fixture
async def a2(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
    server: ScriptedServer,
) -> AsyncIterator[AndersenA2]:
    endpoints = dataclasses.replace(andersen_cloud.endpoints, websocket_url=server.url)
    client = await logged_in(
        andersen_cloud,
        andersen_credentials,
        endpoints=endpoints,
        retry=FAST_RETRY,
        stream_settings=FAST_STREAM,
    )
    async with client:
        yield client
    assert not stream_tasks()


def status(device_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": device_id, "evseState": 3, **fields}


async def serve_normally(session: Session) -> None:
    """Acknowledge, take the subscription, send one event, wait for the client to leave."""
    await session.init()
    op_id, device_id = await session.subscription()
    await session.event(op_id, status(device_id, sysSolarPower=9.0))
    await session.until_closed()


# -- frames the client must take in its stride ---------------------------------------------


async def test_events_that_overtake_a_snapshot_follow_it(
    a2: AndersenA2, server: ScriptedServer, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    async def script(session: Session) -> None:
        await session.init()
        op_id, device_id = await session.subscription()
        # the snapshot query is at the emulator, its answer held back by latency: events now
        await until(lambda: andersen_cloud.stats.graphql_requests["getDeviceStatus"] == 1)
        for power in (1.0, 2.0):
            await session.event(op_id, status(device_id, sysSolarPower=power))
        await session.until_closed()

    server.script = script
    andersen_cloud.faults.latency = 0.5
    follower = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await follower.until(lambda f: len(f.received) == 3)
    snapshot, *events = follower.received
    assert isinstance(snapshot, StatusSnapshot)
    assert [type(event) for event in events] == [StatusUpdate, StatusUpdate]
    assert [event.sys_solar_power for event in events] == [1.0, 2.0]
    await follower.stop()


async def test_odd_frames_are_tolerated(
    a2: AndersenA2, server: ScriptedServer, andersen_charger: Charger
) -> None:
    async def script(session: Session) -> None:
        await session.init()
        await session.send({"type": "ka"})
        op_id, device_id = await session.subscription()
        await session.send({"type": "future-message-type", "payload": {}})  # ignored
        await session.event(op_id, None)  # a null status: ignored
        await session.event("99", status(device_id))  # an operation it does not know
        await session.send({"id": "99", "type": "complete"})
        await session.send({"id": "99", "type": "error", "payload": [{"message": "late"}]})
        await session.send({"type": "complete"})  # no id at all
        await session.send({"type": "connection_ack"})  # again
        await session.send({"type": "pong"})  # unasked
        payload = {"data": {"deviceStatusUpdated": {"evseState": 2}}}  # no id in the event
        await session.ws.send_bytes(  # binary, but JSON
            json.dumps({"id": op_id, "type": session.data_type, "payload": payload}).encode()
        )
        await session.until_closed()

    server.script = script
    follower = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await follower.until(lambda f: len(f.received) == 2)
    event = follower.received[1]
    assert (event.id, event.evse_state) == (andersen_charger.id, 2)
    assert len(server.sessions) == 1  # never reconnected
    assert a2.streams.stats.malformed_frames == 0
    await follower.stop()


async def test_a_server_naming_no_subprotocol_is_spoken_to_in_graphql_ws(
    a2: AndersenA2, server: ScriptedServer, andersen_charger: Charger
) -> None:
    server.protocol = None
    server.script = serve_normally
    follower = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await follower.until(lambda f: len(f.received) == 2)
    assert a2.streams.protocol == GRAPHQL_WS
    await follower.stop()


async def test_unsolicited_complete_resubscribes(
    a2: AndersenA2, server: ScriptedServer, andersen_charger: Charger
) -> None:
    async def script(session: Session) -> None:
        if session.index == 0:
            await session.init()
            op_id, _ = await session.subscription()
            await session.send({"id": op_id, "type": "complete"})
            await session.until_closed()
        else:
            await serve_normally(session)

    server.script = script
    follower = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await follower.until(lambda f: f.has(andersen_charger.id, sysSolarPower=9.0))
    assert len(server.sessions) == 2  # subscribed again on a new connection
    assert isinstance(follower.received[0], StatusSnapshot)
    await follower.stop()


# -- rejected subscriptions -------------------------------------------------------------------


async def test_rejected_subscription_raises_api_error(
    a2: AndersenA2,
    server: ScriptedServer,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_charger: Charger,
    protocol: str,
) -> None:
    other = andersen_cloud.add_charger(andersen_user, name="Garage")
    forbidden = {"message": "Not yours", "extensions": {"code": "FORBIDDEN"}}
    seen_after: list[dict[str, Any]] = []

    async def script(session: Session) -> None:
        await session.init()
        ops = dict([await session.subscription(), await session.subscription()])
        rejected = next(op for op, device in ops.items() if device == andersen_charger.id)
        if protocol == GRAPHQL_WS:  # Apollo's way: data with errors (the operation goes on)
            await session.send({"id": rejected, "type": "data", "payload": {"errors": [forbidden]}})
        else:
            await session.send({"id": rejected, "type": "error", "payload": [forbidden]})
        kept = next(op for op in ops if op != rejected)
        await session.event(kept, status(other.id, sysSolarPower=9.0))
        seen_after.extend(await session.until_closed())

    server.script = script
    unaffected = Follower(a2.subscribe_device_updates(other.id))
    follower = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await follower.until_ended()
    assert type(follower.error) is ApiError
    assert follower.error.code == "FORBIDDEN"
    assert "Not yours" in str(follower.error)
    await unaffected.until(lambda f: f.has(other.id, sysSolarPower=9.0))
    await unaffected.stop()
    await until(lambda: a2.stream_state is StreamState.CLOSED)
    assert len(server.sessions) == 1
    # a still-running legacy operation is stopped; one the server ended is not
    stops = [frame["id"] for frame in seen_after if frame["type"] in {"stop", "complete"}]
    assert len(stops) == (2 if protocol == GRAPHQL_WS else 1)


async def test_unauthenticated_subscription_refreshes_once(
    a2: AndersenA2,
    server: ScriptedServer,
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
) -> None:
    async def script(session: Session) -> None:
        if session.index == 0:
            await session.init()
            op_id, _ = await session.subscription()
            await session.send({"id": op_id, "type": "error", "payload": UNAUTHENTICATED})
            await session.until_closed()
        else:
            await serve_normally(session)

    server.script = script
    refreshes = andersen_cloud.stats.refreshes
    follower = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await follower.until(lambda f: f.has(andersen_charger.id, sysSolarPower=9.0))
    assert andersen_cloud.stats.refreshes == refreshes + 1
    assert server.sessions[0].token != server.sessions[1].token
    assert a2.streams.stats.auth_refusals == 1
    await follower.stop()


async def test_refused_even_after_a_refresh(
    a2: AndersenA2,
    server: ScriptedServer,
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    protocol: str,
) -> None:
    async def script(session: Session) -> None:
        await session.init(ack=False)
        if protocol == GRAPHQL_WS:
            await session.send({"type": "connection_error", "payload": UNAUTHENTICATED})
        else:
            await session.ws.close(code=4403, message=b"Forbidden")

    server.script = script
    refreshes = andersen_cloud.stats.refreshes
    follower = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await follower.until_ended()
    assert isinstance(follower.error, ReauthRequiredError)
    assert "even with freshly refreshed tokens" in str(follower.error)
    assert len(server.sessions) == 2
    assert andersen_cloud.stats.refreshes == refreshes + 1
    await until(lambda: a2.stream_state is StreamState.CLOSED)


# -- connections that fail in other ways --------------------------------------------------------


async def busy(session: Session) -> None:
    await session.init(ack=False)
    await session.send({"type": "connection_error", "payload": {"message": "busy"}})


async def busy_text(session: Session) -> None:
    await session.init(ack=False)
    await session.send({"type": "connection_error", "payload": "busy"})


async def garbage_first(session: Session) -> None:
    await session.init(ack=False)
    await session.send("{not json")
    await session.until_closed()


async def pings_then_hangs_up(session: Session) -> None:
    await session.init(ack=False)
    await session.send({"type": "ping"})
    await session.send({"type": "ka"})
    await session.send({"type": "mystery"})
    await session.send({"id": "1", "type": "data", "payload": {}})  # before any subscription
    if session.protocol == GRAPHQL_TRANSPORT_WS:
        assert (await session.receive())["type"] == "pong"  # graphql-ws has no ping: ignored


async def busy_after_ack(session: Session) -> None:
    await session.init()
    await session.subscription()
    await session.send({"type": "connection_error", "payload": {"message": "busy"}})
    await session.until_closed()


async def operation_less_error(session: Session) -> None:
    await session.init()
    await session.subscription()
    await session.send({"type": "error", "payload": {"message": "Invalid message type!"}})
    await session.until_closed()


@pytest.mark.parametrize(
    "first_connection",
    [
        busy,
        busy_text,
        garbage_first,
        pings_then_hangs_up,
        busy_after_ack,
        operation_less_error,
    ],
)
async def test_a_failed_connection_is_retried(
    a2: AndersenA2,
    server: ScriptedServer,
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    protocol: str,
    first_connection: Script,
) -> None:
    async def script(session: Session) -> None:
        await (first_connection if session.index == 0 else serve_normally)(session)

    server.script = script
    refreshes = andersen_cloud.stats.refreshes
    follower = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await follower.until(lambda f: f.has(andersen_charger.id, sysSolarPower=9.0))
    assert len(server.sessions) == 2
    assert andersen_cloud.stats.refreshes == refreshes  # nothing to do with the token
    assert follower.error is None
    await follower.stop()


@pytest.mark.parametrize("kind", ["too large", "too deep"])
async def test_frames_beyond_the_reply_rules_cost_a_reconnect(
    a2: AndersenA2, server: ScriptedServer, andersen_charger: Charger, kind: str
) -> None:
    async def script(session: Session) -> None:
        if session.index:
            await serve_normally(session)
            return
        await session.init()
        op_id, device_id = await session.subscription()
        if kind == "too large":  # a valid event but for its size (issue 15, finding 2)
            padded = status(device_id, sysFwVersion="x" * MAX_FRAME_BYTES)
            frame = json.dumps({"id": op_id, "type": session.data_type, "payload": padded})
        else:  # nesting that json.loads answers with RecursionError (issue 15, finding 3)
            frame = f'{{"id": "{op_id}", "type": "{session.data_type}", "payload": '
            frame += "[" * 100_000 + "]" * 100_000 + "}"
        with contextlib.suppress(ConnectionError):  # the client may hang up while it is sent
            await session.send(frame)
            await session.until_closed()

    server.script = script
    follower = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await follower.until(lambda f: f.has(andersen_charger.id, sysSolarPower=9.0))
    assert len(server.sessions) == 2
    assert a2.streams.stats.malformed_frames == 1  # counted, and nothing escaped
    assert follower.error is None
    await follower.stop()


async def test_a_broken_snapshot_source_is_logged_and_retried(
    a2: AndersenA2,
    server: ScriptedServer,
    andersen_charger: Charger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    async def snapshots(device_ids: list[str]) -> dict[str, DeviceStatus | AndersenError]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug in the snapshot source")
        return {device_id: await a2.get_device_status(device_id) for device_id in device_ids}

    server.script = serve_normally
    manager = StreamManager(a2._http, server.url, a2.auth, snapshots, FAST_STREAM)
    with caplog.at_level("ERROR", logger="andersen_ev.stream"):
        async with manager.subscribe(andersen_charger.id) as updates:
            assert isinstance(await anext(updates), StatusSnapshot)
    assert "a bug in the snapshot source" in caplog.text
    assert calls == 2
    await manager.close()


async def test_the_scripted_server_leaves_nothing_open(
    a2: AndersenA2, server: ScriptedServer, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    server.script = serve_normally
    async with a2.subscribe_device_updates(andersen_charger.id) as updates:
        assert isinstance(await anext(updates), StatusSnapshot)
        assert (await anext(updates)).sys_solar_power == 9.0
    await until(lambda: a2.stream_state is StreamState.CLOSED)
    await quiet(andersen_cloud)
