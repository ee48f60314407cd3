"""Third-party proof: gql's websocket transports subscribe to the emulator in both subprotocols.

gql is a client written against real Apollo and graphql-ws servers; if it receives the
emulator's events, acknowledges its keep-alives and sees its errors, the emulator speaks
the protocols as those servers do, not merely as our own client expects.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.aiohttp_websockets import AIOHTTPWebsocketsTransport
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportQueryError,
    TransportServerError,
)
from gql.transport.websockets import WebsocketsTransport

from andersen_ev.graphql import schema_sdl
from andersen_ev.testing import AndersenCloud, Charger, EmulatedUser
from andersen_ev.testing.websocket import GRAPHQL_TRANSPORT_WS, GRAPHQL_WS
from tests.testing.gql_helpers import (  # gql_leftovers: a fixture, found here by pytest
    Transport,
    gql_leftovers,  # noqa: F401
    make_transport,
    subscription,
)
from tests.testing.ws_helpers import bearer, eventually

pytestmark = [
    pytest.mark.usefixtures("gql_leftovers"),
    pytest.mark.parametrize("protocol", [GRAPHQL_WS, GRAPHQL_TRANSPORT_WS]),
    pytest.mark.parametrize("transport_class", [WebsocketsTransport, AIOHTTPWebsocketsTransport]),
]


async def test_gql_receives_published_events(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_charger: Charger,
    transport_class: type[Transport],
    protocol: str,
) -> None:
    hub = andersen_cloud.state.hub
    stats = andersen_cloud.stats
    # keep-alives every few milliseconds: gql must ignore ka and answer pings
    andersen_cloud.websocket_keepalive = 0.005
    transport = make_transport(
        andersen_cloud, transport_class, protocol, bearer(andersen_cloud, andersen_user)
    )
    async with Client(transport=transport, schema=schema_sdl()) as session:
        assert transport.subprotocol == protocol

        async def first_two_events() -> list[dict[str, Any]]:
            received = []
            async with aclosing(session.subscribe(subscription(andersen_charger.id))) as events:
                async for event in events:
                    received.append(event["deviceStatusUpdated"])
                    if len(received) == 2:
                        break
            return received

        consumer = asyncio.create_task(first_two_events())
        await eventually(lambda: hub.subscriber_count(andersen_charger.id) == 1)
        andersen_charger.plug_in()  # evseState 2
        andersen_cloud.advance(60)  # charging at the car's 7.2 kW
        first, second = await consumer
        assert (first["id"], first["evseState"]) == (andersen_charger.id, 2)
        assert (second["evseState"], second["chargeStatus"]["chargePower"]) == (3, 7.2)
        assert len(second["scheduleSlotsArray"]) == 5

        # leaving the async for made gql stop the subscription: the server saw it end
        await eventually(lambda: stats.subscriptions_stopped_by_client == 1)
        assert hub.subscriber_count() == 0
        assert stats.subscriptions_started == 1
        assert await session.execute(GraphQLRequest("query { __typename }")) == {
            "__typename": "Query"
        }
    await eventually(lambda: stats.websockets_open == 0)
    assert stats.websocket_connects == 1


async def test_gql_sees_unknown_device_as_query_error(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    transport_class: type[Transport],
    protocol: str,
) -> None:
    transport = make_transport(
        andersen_cloud, transport_class, protocol, bearer(andersen_cloud, andersen_user)
    )
    async with Client(transport=transport) as session:
        async with aclosing(session.subscribe(subscription("0" * 24))) as events:
            with pytest.raises(TransportQueryError) as failed:
                await anext(events)
        assert failed.value.errors is not None
        assert failed.value.errors[0]["extensions"] == {"code": "NOT_FOUND"}
    await eventually(lambda: andersen_cloud.stats.websockets_open == 0)
    assert andersen_cloud.state.hub.subscriber_count() == 0


async def test_gql_cannot_connect_with_an_expired_token(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    transport_class: type[Transport],
    protocol: str,
) -> None:
    token = bearer(andersen_cloud, andersen_user)
    andersen_cloud.expire_tokens()
    transport = make_transport(andersen_cloud, transport_class, protocol, token)
    expected = TransportServerError if protocol == GRAPHQL_WS else TransportConnectionFailed
    with pytest.raises(expected) as refused:
        async with Client(transport=transport):
            pytest.fail("connected with an expired token")
    if protocol == GRAPHQL_WS:  # connection_error carries Apollo's message; 4401 carries none
        assert "Invalid/expired login token" in str(refused.value)
    await eventually(lambda: andersen_cloud.stats.websockets_open == 0)
