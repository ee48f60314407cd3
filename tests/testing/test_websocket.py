"""GraphQL over websockets, frame by frame, in both subprotocols, with aiohttp's client as peer.

``graphql-ws`` is Apollo's legacy protocol, ``graphql-transport-ws`` the graphql-ws library's.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType
from graphql import parse
from yarl import URL

from andersen_ev.graphql import operation_document
from andersen_ev.testing import AndersenCloud, Charger, EmulatedUser
from andersen_ev.testing.websocket import (
    GRAPHQL_TRANSPORT_WS,
    GRAPHQL_WS,
    UNAUTHENTICATED,
    negotiate_protocol,
)
from tests.testing.selections import fields, operations, response_names
from tests.testing.ws_helpers import bearer, eventually, status

SUBSCRIPTION = operation_document("deviceStatusUpdated")
BOTH = pytest.mark.parametrize("protocol", [GRAPHQL_WS, GRAPHQL_TRANSPORT_WS])


@dataclass
class Peer:
    """A raw websocket client that speaks one subprotocol, frame by frame."""

    ws: aiohttp.ClientWebSocketResponse
    protocol: str
    _sync_ids: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def legacy(self) -> bool:
        return self.protocol == GRAPHQL_WS

    @property
    def data_type(self) -> str:
        return "data" if self.legacy else "next"

    async def send(self, message: Any) -> None:
        await self.ws.send_json(message)

    async def send_any(self, frame: object) -> None:
        """Bytes as a binary frame, text as it is, anything else as JSON."""
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        elif isinstance(frame, str):
            await self.ws.send_str(frame)
        else:
            await self.send(frame)

    async def receive(self) -> dict[str, Any]:
        """The next JSON message, skipping graphql-ws keep-alives."""
        while True:
            message = json.loads(await self.ws.receive_str(timeout=5))
            assert isinstance(message, dict)
            if message["type"] != "ka":
                return message

    async def closed(self) -> tuple[int, str]:
        """Wait for the server to close the socket (after any keep-alives); code and reason."""
        while (message := await self.ws.receive(timeout=5)).data == '{"type": "ka"}':
            pass
        assert message.type is WSMsgType.CLOSE, message
        return int(message.data), str(message.extra)

    async def init(self, token: str | None, key: str = "authToken") -> None:
        payload = {} if token is None else {key: token}
        await self.send({"type": "connection_init", "payload": payload})

    async def init_ok(self, token: str, key: str = "authToken") -> None:
        await self.init(token, key)
        assert await self.receive() == {"type": "connection_ack"}

    async def start(self, op_id: str, query: str, **variables: Any) -> None:
        payload = {"query": query, "variables": variables}
        await self.send(
            {"id": op_id, "type": "start" if self.legacy else "subscribe", "payload": payload}
        )

    async def subscribe(self, op_id: str, device_id: str) -> None:
        await self.start(op_id, SUBSCRIPTION, id=device_id)

    async def stop(self, op_id: str) -> None:
        """End an operation; returns once the server has acted on it."""
        await self.send({"id": op_id, "type": "stop" if self.legacy else "complete"})
        if self.legacy:
            assert await self.receive() == {"id": op_id, "type": "complete"}
        else:
            assert await self.sync() == []

    async def sync(self) -> list[dict[str, Any]]:
        """Round-trip a query; the server has handled every earlier frame when it answers.

        Returns the other messages that arrived meanwhile.
        """
        sync_id = f"sync-{next(self._sync_ids)}"
        await self.start(sync_id, "query { __typename }")
        others = []
        while (message := await self.receive()).get("id") != sync_id:
            others.append(message)
        assert message == {
            "id": sync_id,
            "type": self.data_type,
            "payload": {"data": {"__typename": "Query"}},
        }
        assert await self.receive() == {"id": sync_id, "type": "complete"}
        return others

    def errors(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        """The GraphQL errors of an ``error`` message (one object in graphql-ws, a list else)."""
        assert message["type"] == "error"
        payload = message["payload"]
        return [payload] if self.legacy else payload

    async def event(self) -> tuple[str, dict[str, Any]]:
        """The next subscription event: its operation id and ``deviceStatusUpdated``."""
        message = await self.receive()
        assert message["type"] == self.data_type, message
        return message["id"], message["payload"]["data"]["deviceStatusUpdated"]


@asynccontextmanager
async def connect(cloud: AndersenCloud, *protocols: str) -> AsyncIterator[Peer]:
    """A websocket to the emulator offering ``protocols``."""
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(cloud.endpoints.websocket_url, protocols=protocols) as ws,
    ):
        yield Peer(ws, ws.protocol or GRAPHQL_WS)


def status_fields(device_id: str, evse_state: int) -> dict[str, Any]:
    """What the subscription document selects from :func:`status`, absent fields null."""
    selected = dict.fromkeys(_selected_fields())
    return selected | {
        "id": device_id,
        "evseState": evse_state,
        "online": True,
        "sysUserLock": False,
        "chargeStatus": {
            "start": "2023-01-05T00:30:00Z",
            "chargeEnergyTotal": None,
            "chargePower": 7.2,
            "duration": 60,
        },
    }


def _selected_fields() -> list[str]:
    document = parse(SUBSCRIPTION)
    (root,) = fields(document, operations(document)["deviceStatusUpdated"].selection_set)
    assert root.selection_set is not None
    return response_names(document, root.selection_set)


@pytest.fixture
def token(andersen_cloud: AndersenCloud, andersen_user: EmulatedUser) -> str:
    return bearer(andersen_cloud, andersen_user)


@pytest.fixture
def garage(andersen_cloud: AndersenCloud, andersen_user: EmulatedUser) -> Charger:
    return andersen_cloud.add_charger(andersen_user, name="Garage")


# -- negotiation and handshake ------------------------------------------------------------


@pytest.mark.parametrize(
    ("offered", "served", "chosen"),
    [
        ((GRAPHQL_WS, GRAPHQL_TRANSPORT_WS), (GRAPHQL_WS, GRAPHQL_TRANSPORT_WS), GRAPHQL_WS),
        (
            (GRAPHQL_WS, GRAPHQL_TRANSPORT_WS),
            (GRAPHQL_TRANSPORT_WS, GRAPHQL_WS),
            GRAPHQL_TRANSPORT_WS,
        ),
        ((GRAPHQL_TRANSPORT_WS,), (GRAPHQL_WS, GRAPHQL_TRANSPORT_WS), GRAPHQL_TRANSPORT_WS),
        ((), (GRAPHQL_WS, GRAPHQL_TRANSPORT_WS), GRAPHQL_WS),
        ((), (GRAPHQL_TRANSPORT_WS,), None),
        (("foo",), (GRAPHQL_WS, GRAPHQL_TRANSPORT_WS), None),
    ],
)
def test_negotiate_follows_server_preference(
    offered: tuple[str, ...], served: tuple[str, ...], chosen: str | None
) -> None:
    assert negotiate_protocol(offered, served) == chosen


@pytest.mark.parametrize(
    ("served", "chosen"),
    [
        ((GRAPHQL_WS, GRAPHQL_TRANSPORT_WS), GRAPHQL_WS),
        ((GRAPHQL_TRANSPORT_WS, GRAPHQL_WS), GRAPHQL_TRANSPORT_WS),
    ],
)
async def test_server_picks_among_offered_protocols(
    andersen_cloud: AndersenCloud, token: str, served: tuple[str, ...], chosen: str
) -> None:
    andersen_cloud.websocket_protocols = served
    async with connect(andersen_cloud, GRAPHQL_TRANSPORT_WS, GRAPHQL_WS) as peer:
        assert peer.protocol == chosen
        await peer.init_ok(token)
        assert await peer.sync() == []
    assert andersen_cloud.stats.websocket_connects == 1


async def test_client_offering_no_protocol_gets_graphql_ws(
    andersen_cloud: AndersenCloud, token: str
) -> None:
    async with connect(andersen_cloud) as peer:
        assert peer.ws.protocol is None
        await peer.init(token)
        assert await peer.ws.receive_json() == {"type": "connection_ack"}
        assert await peer.ws.receive_json() == {"type": "ka"}


async def test_client_without_common_protocol_is_closed(andersen_cloud: AndersenCloud) -> None:
    andersen_cloud.websocket_protocols = (GRAPHQL_TRANSPORT_WS,)
    async with connect(andersen_cloud, GRAPHQL_WS, "foo") as peer:
        assert peer.ws.protocol is None
        assert await peer.closed() == (1002, "Unsupported subprotocol")
    await eventually(lambda: andersen_cloud.stats.websockets_open == 0)


async def test_plain_get_is_a_bad_request(andersen_cloud: AndersenCloud) -> None:
    async with aiohttp.ClientSession() as http:
        url = andersen_cloud.endpoints.websocket_url.replace("ws://", "http://")
        async with http.get(url) as response:
            assert response.status == 400
    assert andersen_cloud.stats.websocket_connects == 0


async def test_refused_connects_answer_503(andersen_cloud: AndersenCloud, token: str) -> None:
    andersen_cloud.faults.refuse_websockets(2)
    async with aiohttp.ClientSession() as http:
        for _ in range(2):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(
                    andersen_cloud.endpoints.websocket_url, protocols=[GRAPHQL_WS]
                )
            assert refused.value.status == 503
    async with connect(andersen_cloud, GRAPHQL_WS) as peer:
        await peer.init_ok(token)
    assert andersen_cloud.stats.faults_injected["websocket_refused"] == 2
    assert andersen_cloud.stats.websocket_connects == 1


# -- connection_init and keep-alives -------------------------------------------------------


@BOTH
@pytest.mark.parametrize("key", ["authToken", "Authorization", "authorization"])
async def test_init_accepts_bearer_under_every_key(
    andersen_cloud: AndersenCloud, token: str, protocol: str, key: str
) -> None:
    async with connect(andersen_cloud, protocol) as peer:
        await peer.init_ok(token, key)
        assert andersen_cloud.stats.websockets_open == 1
        assert len(andersen_cloud.websockets) == 1
    await eventually(lambda: andersen_cloud.stats.websockets_open == 0)
    assert not andersen_cloud.websockets


@BOTH
@pytest.mark.parametrize(
    "payload",
    [None, "not an object", {}, {"authToken": 42}, {"authToken": "Bearer not.a.jwt"}],
)
async def test_init_with_bad_credentials_is_refused(
    andersen_cloud: AndersenCloud, protocol: str, payload: object
) -> None:
    async with connect(andersen_cloud, protocol) as peer:
        await peer.send({"type": "connection_init", "payload": payload})
        if peer.legacy:
            assert await peer.receive() == {"type": "connection_error", "payload": UNAUTHENTICATED}
            assert (await peer.closed())[0] == 1011
        elif isinstance(payload, str):
            assert await peer.closed() == (4400, '"payload" must be an object')
        else:
            assert await peer.closed() == (4401, "Unauthorized")


@BOTH
async def test_init_with_expired_token_is_refused(
    andersen_cloud: AndersenCloud, token: str, protocol: str
) -> None:
    andersen_cloud.expire_tokens()
    async with connect(andersen_cloud, protocol) as peer:
        await peer.init(token)
        if peer.legacy:
            message = await peer.receive()
            assert message["type"] == "connection_error"
            assert message["payload"]["message"] == (
                "Context creation failed: Invalid/expired login token"
            )
            assert message["payload"]["extensions"] == {"code": "UNAUTHENTICATED"}
            assert (await peer.closed())[0] == 1011
        else:
            assert await peer.closed() == (4401, "Unauthorized")


@BOTH
async def test_init_must_come_in_time(andersen_cloud: AndersenCloud, protocol: str) -> None:
    andersen_cloud.websocket_init_timeout = 0.05
    async with connect(andersen_cloud, protocol) as peer:
        if peer.legacy:
            assert await peer.receive() == {
                "type": "connection_error",
                "payload": {"message": "Connection initialisation timeout"},
            }
            assert await peer.closed() == (1011, "Connection initialisation timeout")
        else:
            assert await peer.closed() == (4408, "Connection initialisation timeout")


async def test_graphql_ws_sends_ka_at_once_and_periodically(
    andersen_cloud: AndersenCloud, token: str
) -> None:
    andersen_cloud.websocket_keepalive = 0.02
    async with connect(andersen_cloud, GRAPHQL_WS) as peer:
        await peer.init(token)
        assert await peer.ws.receive_json() == {"type": "connection_ack"}
        for _ in range(3):
            assert await peer.ws.receive_json() == {"type": "ka"}
        # a second connection_init is acknowledged again (as Apollo does)
        await peer.init(token)
        while (message := await peer.ws.receive_json()) == {"type": "ka"}:
            pass
        assert message == {"type": "connection_ack"}


async def test_graphql_ws_without_keepalive_sends_no_ka(
    andersen_cloud: AndersenCloud, token: str
) -> None:
    andersen_cloud.websocket_keepalive = None
    async with connect(andersen_cloud, GRAPHQL_WS) as peer:
        await peer.init(token)
        assert await peer.ws.receive_json() == {"type": "connection_ack"}
        await peer.start("q", "query { __typename }")
        assert (await peer.ws.receive_json())["id"] == "q"


async def test_graphql_transport_ws_pings_both_ways(
    andersen_cloud: AndersenCloud, token: str
) -> None:
    andersen_cloud.websocket_keepalive = 0.02
    async with connect(andersen_cloud, GRAPHQL_TRANSPORT_WS) as peer:
        await peer.send({"type": "ping", "payload": {"at": 1}})
        assert await peer.receive() == {"type": "pong", "payload": {"at": 1}}
        await peer.init_ok(token)
        assert await peer.receive() == {"type": "ping"}
        await peer.send({"type": "pong"})
        await peer.send({"type": "ping"})
        while (message := await peer.receive()) == {"type": "ping"}:
            pass
        assert message == {"type": "pong"}


async def test_graphql_transport_ws_rejects_second_init(
    andersen_cloud: AndersenCloud, token: str
) -> None:
    async with connect(andersen_cloud, GRAPHQL_TRANSPORT_WS) as peer:
        await peer.init_ok(token)
        await peer.init(token)
        assert await peer.closed() == (4429, "Too many initialisation requests")


async def test_graphql_transport_ws_subscribe_before_ack_is_unauthorized(
    andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    async with connect(andersen_cloud, GRAPHQL_TRANSPORT_WS) as peer:
        await peer.subscribe("1", andersen_charger.id)
        assert await peer.closed() == (4401, "Unauthorized")
    assert andersen_cloud.stats.subscriptions_started == 0


async def test_graphql_ws_start_before_init_is_unauthenticated(
    andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    async with connect(andersen_cloud, GRAPHQL_WS) as peer:
        await peer.subscribe("1", andersen_charger.id)
        assert await peer.receive() == {"id": "1", "type": "error", "payload": UNAUTHENTICATED}
    assert andersen_cloud.stats.subscriptions_started == 0


async def test_graphql_ws_connection_terminate_closes(
    andersen_cloud: AndersenCloud, token: str
) -> None:
    async with connect(andersen_cloud, GRAPHQL_WS) as peer:
        await peer.init_ok(token)
        await peer.send({"type": "connection_terminate"})
        assert await peer.closed() == (1000, "connection_terminate")


# -- subscriptions --------------------------------------------------------------------------


@BOTH
async def test_events_of_two_devices_share_one_socket(
    andersen_cloud: AndersenCloud,
    token: str,
    andersen_charger: Charger,
    garage: Charger,
    protocol: str,
) -> None:
    hub = andersen_cloud.state.hub
    andersen_cloud.faults.latency = 0.001
    async with connect(andersen_cloud, protocol) as peer:
        await peer.init_ok(token)
        await peer.subscribe("drive", andersen_charger.id)
        await peer.subscribe("garage", garage.id)
        await eventually(lambda: hub.subscriber_count() == 2)
        assert andersen_cloud.stats.subscriptions_started == 2

        hub.publish(andersen_charger.id, status(andersen_charger.id, evseState=3))
        assert await peer.event() == ("drive", status_fields(andersen_charger.id, 3))
        hub.publish(garage.id, status(garage.id, evseState=255, sysUserLock=True))
        op_id, event = await peer.event()
        assert (op_id, event["id"], event["evseState"], event["sysUserLock"]) == (
            "garage",
            garage.id,
            255,
            True,
        )
        for power in (1.5, 3.0, 7.2):
            hub.publish(
                andersen_charger.id,
                status(andersen_charger.id, chargeStatus={"chargePower": power}),
            )
        powers = [(await peer.event())[1]["chargeStatus"]["chargePower"] for _ in range(3)]
        assert powers == [1.5, 3.0, 7.2]


@BOTH
async def test_charger_state_changes_reach_the_subscriber(
    andersen_cloud: AndersenCloud, token: str, andersen_charger: Charger, protocol: str
) -> None:
    async with connect(andersen_cloud, protocol) as peer:
        await peer.init_ok(token)
        await peer.subscribe("1", andersen_charger.id)
        await eventually(lambda: andersen_cloud.state.hub.subscriber_count() == 1)
        andersen_charger.plug_in()
        andersen_cloud.advance(60)
        andersen_charger.user_lock()
        andersen_cloud.advance(2)  # the charger applies the command a second or two later
        plugged, charging, locked = [(await peer.receive())["payload"] for _ in range(3)]
        for payload in (plugged, charging, locked):
            assert "errors" not in payload
        assert plugged["data"]["deviceStatusUpdated"]["evseState"] == 2
        charging_status = charging["data"]["deviceStatusUpdated"]
        assert charging_status["evseState"] == 3
        assert charging_status["chargeStatus"]["chargePower"] > 0
        locked_status = locked["data"]["deviceStatusUpdated"]
        assert (locked_status["sysUserLock"], locked_status["evseState"]) == (True, 255)


@BOTH
async def test_client_stop_ends_the_subscription_on_the_server(
    andersen_cloud: AndersenCloud,
    token: str,
    andersen_charger: Charger,
    garage: Charger,
    protocol: str,
) -> None:
    hub = andersen_cloud.state.hub
    async with connect(andersen_cloud, protocol) as peer:
        await peer.init_ok(token)
        await peer.subscribe("drive", andersen_charger.id)
        await peer.subscribe("garage", garage.id)
        await eventually(lambda: hub.subscriber_count() == 2)

        await peer.stop("drive")
        assert andersen_cloud.stats.subscriptions_stopped_by_client == 1
        assert hub.subscriber_count(andersen_charger.id) == 0
        assert hub.publish(andersen_charger.id, status(andersen_charger.id)) == 0
        hub.publish(garage.id, status(garage.id))
        assert (await peer.event())[0] == "garage"

        # stopping it again, or an id never used, does nothing
        await peer.stop("garage")
        await peer.send({"id": "drive", "type": "stop" if peer.legacy else "complete"})
        await peer.send({"id": "nobody", "type": "stop" if peer.legacy else "complete"})
        assert await peer.sync() == []
        assert andersen_cloud.stats.subscriptions_stopped_by_client == 2
        assert hub.subscriber_count() == 0


@BOTH
async def test_unknown_or_foreign_device_is_an_error(
    andersen_cloud: AndersenCloud, token: str, protocol: str
) -> None:
    stranger = andersen_cloud.add_user("stranger@example.com", "pw")
    theirs = andersen_cloud.add_charger(stranger, name="Not yours")
    async with connect(andersen_cloud, protocol) as peer:
        await peer.init_ok(token)
        for op_id, device_id in (("1", "0123456789abcdef01234567"), ("2", theirs.id)):
            await peer.subscribe(op_id, device_id)
            message = await peer.receive()
            assert message["id"] == op_id
            [error] = peer.errors(message)
            assert error["extensions"] == {"code": "NOT_FOUND"}
            assert device_id in error["message"]
        # nothing else follows the error, and the ids are free again
        assert await peer.sync() == []
        await peer.subscribe("1", theirs.id)
        assert peer.errors(await peer.receive())
    assert andersen_cloud.state.hub.subscriber_count() == 0


@BOTH
@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"query": "subscription { nope }"}, "Cannot query field 'nope'"),
        ({"query": "subscription {"}, "Syntax Error"),
        ({"query": SUBSCRIPTION}, "Variable '$id' has invalid value"),
        (
            {"query": "query A { __typename } query B { __typename }"},
            "Must provide operation name if query contains multiple operations.",
        ),
        (
            {"query": "query A { __typename }", "operationName": "C"},
            'Unknown operation named "C".',
        ),
    ],
)
async def test_request_errors_answer_error(
    andersen_cloud: AndersenCloud,
    token: str,
    protocol: str,
    payload: dict[str, Any],
    expected: str,
) -> None:
    async with connect(andersen_cloud, protocol) as peer:
        await peer.init_ok(token)
        await peer.send(
            {"id": "1", "type": "start" if peer.legacy else "subscribe", "payload": payload}
        )
        message = await peer.receive()
        assert message["id"] == "1"
        assert expected in peer.errors(message)[0]["message"]
        assert await peer.sync() == []
    assert andersen_cloud.stats.subscriptions_started == 0


@BOTH
async def test_queries_and_mutations_answer_once_and_complete(
    andersen_cloud: AndersenCloud, token: str, protocol: str
) -> None:
    async with connect(andersen_cloud, protocol) as peer:
        await peer.init_ok(token)
        payload = {
            "query": "query A { __typename } mutation B { __typename }",
            "operationName": "B",
        }
        await peer.send(
            {"id": "m", "type": "start" if peer.legacy else "subscribe", "payload": payload}
        )
        assert await peer.receive() == {
            "id": "m",
            "type": peer.data_type,
            "payload": {"data": {"__typename": "Mutation"}},
        }
        assert await peer.receive() == {"id": "m", "type": "complete"}


async def test_graphql_ws_restarting_an_id_replaces_the_operation(
    andersen_cloud: AndersenCloud, token: str, andersen_charger: Charger, garage: Charger
) -> None:
    hub = andersen_cloud.state.hub
    async with connect(andersen_cloud, GRAPHQL_WS) as peer:
        await peer.init_ok(token)
        await peer.subscribe("1", andersen_charger.id)
        await eventually(lambda: hub.subscriber_count(andersen_charger.id) == 1)
        await peer.subscribe("1", garage.id)
        await eventually(lambda: hub.subscriber_count(garage.id) == 1)
        assert hub.subscriber_count(andersen_charger.id) == 0
        hub.publish(garage.id, status(garage.id))
        assert await peer.event() == ("1", status_fields(garage.id, 3))


async def test_graphql_transport_ws_duplicate_id_closes_4409(
    andersen_cloud: AndersenCloud, token: str, andersen_charger: Charger
) -> None:
    hub = andersen_cloud.state.hub
    async with connect(andersen_cloud, GRAPHQL_TRANSPORT_WS) as peer:
        await peer.init_ok(token)
        await peer.subscribe("1", andersen_charger.id)
        await peer.subscribe("1", andersen_charger.id)
        assert await peer.closed() == (4409, "Subscriber for 1 already exists")
    await eventually(lambda: andersen_cloud.stats.websockets_open == 0)
    assert hub.subscriber_count() == 0


# -- faults ---------------------------------------------------------------------------------


@BOTH
async def test_malformed_frame_fault_replaces_one_event(
    andersen_cloud: AndersenCloud, token: str, andersen_charger: Charger, protocol: str
) -> None:
    hub = andersen_cloud.state.hub
    async with connect(andersen_cloud, protocol) as peer:
        await peer.init_ok(token)
        await peer.subscribe("1", andersen_charger.id)
        await eventually(lambda: hub.subscriber_count() == 1)
        andersen_cloud.faults.send_malformed_frames(1)
        hub.publish(andersen_charger.id, status(andersen_charger.id, evseState=2))
        hub.publish(andersen_charger.id, status(andersen_charger.id, evseState=3))
        while (garbled := await peer.ws.receive_str(timeout=5)) == '{"type": "ka"}':
            pass
        with pytest.raises(json.JSONDecodeError):
            json.loads(garbled)
        assert (await peer.event())[1]["evseState"] == 3
    assert andersen_cloud.stats.faults_injected["malformed_frame"] == 1


async def test_drop_websockets_closes_every_socket_and_frees_subscriptions(
    andersen_cloud: AndersenCloud, token: str, andersen_charger: Charger
) -> None:
    hub = andersen_cloud.state.hub
    async with (
        connect(andersen_cloud, GRAPHQL_WS) as legacy,
        connect(andersen_cloud, GRAPHQL_TRANSPORT_WS) as modern,
    ):
        for peer in (legacy, modern):
            await peer.init_ok(token)
            await peer.subscribe("1", andersen_charger.id)
        await eventually(lambda: hub.subscriber_count() == 2)
        assert await andersen_cloud.drop_websockets() == 2
        for peer in (legacy, modern):
            assert (await peer.closed())[0] == 1011
    await eventually(lambda: andersen_cloud.stats.websockets_open == 0)
    assert hub.subscriber_count() == 0
    assert not andersen_cloud.websockets
    assert andersen_cloud.stats.faults_injected["websocket_drop"] == 2


@BOTH
async def test_client_disconnect_frees_everything(
    andersen_cloud: AndersenCloud, token: str, andersen_charger: Charger, protocol: str
) -> None:
    hub = andersen_cloud.state.hub
    async with connect(andersen_cloud, protocol) as peer:
        await peer.init_ok(token)
        for op_id in ("1", "2"):
            await peer.subscribe(op_id, andersen_charger.id)
        await eventually(lambda: hub.subscriber_count() == 2)
    await eventually(lambda: andersen_cloud.stats.websockets_open == 0)
    assert hub.subscriber_count() == 0
    assert not _operation_tasks()
    assert andersen_cloud.stats.subscriptions_stopped_by_client == 0


def _operation_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("websocket-")]


async def test_closing_the_emulator_frees_everything() -> None:
    async with AndersenCloud() as cloud, aiohttp.ClientSession() as http:
        user = cloud.add_user("a@example.com", "pw")
        charger = cloud.add_charger(user)
        cloud.websocket_keepalive = 0.01
        sockets = []
        for protocol in (GRAPHQL_WS, GRAPHQL_TRANSPORT_WS):
            ws = await http.ws_connect(cloud.endpoints.websocket_url, protocols=[protocol])
            sockets.append(ws)
            peer = Peer(ws, protocol)
            await peer.init_ok(bearer(cloud, user))
            await peer.subscribe("1", charger.id)
        await eventually(lambda: cloud.state.hub.subscriber_count() == 2)
        await cloud.close()
        assert cloud.stats.websockets_open == 0
        assert cloud.state.hub.subscriber_count() == 0
        assert not cloud.websockets
        assert not _operation_tasks()
        for ws in sockets:
            while (message := await ws.receive(timeout=5)).type is WSMsgType.TEXT:
                pass
            assert message.type is WSMsgType.CLOSE
            assert message.data == 1011
            await ws.close()


# -- garbage ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("{not json", "Message is not valid JSON"),
        ("[" * 100_000, "Message is not valid JSON"),
        (b"\x00\x01", "Binary frames are not supported"),
        (
            {"type": "start", "id": "1", "payload": {"query": "{ __typename }"}},
            "Invalid message type 'start'",
        ),
        ([1, 2], "Invalid message type None"),
        ({"type": 7}, "Invalid message type 7"),
        (
            {"type": "subscribe", "payload": {"query": "{ __typename }"}},
            'Invalid subscribe: "id" must be a string',
        ),
        (
            {"type": "subscribe", "id": "1", "payload": {"query": 1}},
            'Invalid subscribe: the payload must be an object with a string "query"',
        ),
        (
            {"type": "subscribe", "id": "1", "payload": {"query": "{ a }", "variables": []}},
            'Invalid subscribe: "variables" must be an object',
        ),
        (
            {"type": "subscribe", "id": "1", "payload": {"query": "{ a }", "operationName": 1}},
            'Invalid subscribe: "operationName" must be a string',
        ),
        ({"type": "complete"}, 'Invalid complete: "id" must be a string'),
    ],
)
async def test_graphql_transport_ws_closes_4400_on_bad_messages(
    andersen_cloud: AndersenCloud, token: str, frame: object, reason: str
) -> None:
    async with connect(andersen_cloud, GRAPHQL_TRANSPORT_WS) as peer:
        await peer.init_ok(token)
        await peer.send_any(frame)
        assert await peer.closed() == (4400, reason)
    await eventually(lambda: andersen_cloud.stats.websockets_open == 0)


@pytest.mark.parametrize(
    ("frame", "reply"),
    [
        (
            "{not json",
            {"type": "connection_error", "payload": {"message": "Message is not valid JSON"}},
        ),
        (
            b"\x00\x01",
            {"type": "connection_error", "payload": {"message": "Binary frames are not supported"}},
        ),
        (
            {"id": "7", "type": "subscribe"},
            {"id": "7", "type": "error", "payload": {"message": "Invalid message type!"}},
        ),
        ([1, 2], {"type": "error", "payload": {"message": "Invalid message type!"}}),
        (
            {"type": "start", "payload": {"query": "{ __typename }"}},
            {
                "type": "error",
                "payload": {"message": 'Invalid start: "id" must be a non-empty string'},
            },
        ),
        (
            {"type": "start", "id": "8", "payload": None},
            {
                "id": "8",
                "type": "error",
                "payload": {
                    "message": 'Invalid start: the payload must be an object with a string "query"'
                },
            },
        ),
        ({"type": "stop"}, None),
        ({"type": "stop", "id": "never-started"}, None),
    ],
)
async def test_graphql_ws_answers_bad_messages_and_stays_open(
    andersen_cloud: AndersenCloud, token: str, frame: object, reply: dict[str, Any] | None
) -> None:
    async with connect(andersen_cloud, GRAPHQL_WS) as peer:
        await peer.init_ok(token)
        await peer.send_any(frame)
        assert await peer.sync() == ([] if reply is None else [reply])


@BOTH
async def test_invalid_utf8_closes_with_1007(
    andersen_cloud: AndersenCloud, token: str, protocol: str
) -> None:
    async with connect(andersen_cloud, protocol) as peer:
        await peer.init_ok(token)
        await peer.ws.send_frame(b"\xff\xfe", WSMsgType.TEXT)
        assert (await peer.closed())[0] == 1007
    await eventually(lambda: andersen_cloud.stats.websockets_open == 0)


async def _raw_websocket(
    cloud: AndersenCloud, protocol: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A bare TCP websocket handshake, so that the test can later vanish without a close frame."""
    url = URL(cloud.endpoints.websocket_url)
    assert url.host is not None
    assert url.port is not None
    reader, writer = await asyncio.open_connection(url.host, url.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET {url.path} HTTP/1.1\r\nHost: {url.host}:{url.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: {protocol}\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    return reader, writer


def _client_text_frame(message: dict[str, Any]) -> bytes:
    """One masked text frame (a zero mask leaves the payload as it is)."""
    payload = json.dumps(message).encode()
    assert len(payload) < 2**16
    return bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big") + b"\0\0\0\0" + payload


@BOTH
async def test_client_vanishing_mid_answer_leaves_nothing_behind(
    andersen_cloud: AndersenCloud, token: str, andersen_charger: Charger, protocol: str
) -> None:
    hub = andersen_cloud.state.hub
    reader, writer = await _raw_websocket(andersen_cloud, protocol)
    await eventually(lambda: andersen_cloud.stats.websockets_open == 1)
    # the acknowledgement waits for the latency fault: the client is gone by the time it goes
    andersen_cloud.faults.latency = 0.2
    try:
        writer.write(
            _client_text_frame({"type": "connection_init", "payload": {"authToken": token}})
        )
        await writer.drain()
    finally:
        writer.transport.abort()
        writer.close()
    await eventually(lambda: andersen_cloud.stats.websockets_open == 0)
    assert not andersen_cloud.websockets
    assert hub.subscriber_count() == 0
    assert not _operation_tasks()
    assert await reader.read() == b""
