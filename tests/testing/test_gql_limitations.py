"""Why the library speaks its own wire protocols: gql 4.x's limits, shown against the emulator.

Each test asserts a limit that ``docs/design.md`` gives as a reason not to build on gql. A gql
release that lifts one fails its test: then read the design page again, and update it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from contextlib import aclosing
from typing import Any, cast

import pytest
from gql import Client
from gql.client import ReconnectingAsyncClientSession
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.aiohttp_websockets import AIOHTTPWebsocketsTransport
from gql.transport.exceptions import (
    TransportAlreadyConnected,
    TransportConnectionFailed,
    TransportServerError,
)
from gql.transport.websockets import WebsocketsTransport
from tenacity import retry, stop_after_attempt

from andersen_ev.testing import AndersenCloud, Charger, EmulatedUser
from andersen_ev.testing.websocket import GRAPHQL_TRANSPORT_WS, GRAPHQL_WS
from tests.testing.gql_helpers import (  # gql_leftovers: a fixture, found here by pytest
    Transport,
    gql_leftovers,  # noqa: F401
    make_transport,
    subscription,
)
from tests.testing.ws_helpers import bearer, eventually

pytestmark = pytest.mark.usefixtures("gql_leftovers")
#: The subprotocol where one is enough (graphql-ws's own; the legacy one behaves alike).
WS = GRAPHQL_TRANSPORT_WS
TRANSPORTS = pytest.mark.parametrize(
    "transport_class", [WebsocketsTransport, AIOHTTPWebsocketsTransport]
)


@TRANSPORTS
async def test_gql_logs_the_bearer_token_at_debug(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    transport_class: type[Transport],
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = bearer(andersen_cloud, andersen_user)
    with caplog.at_level(logging.DEBUG, logger="gql"):
        async with Client(transport=make_transport(andersen_cloud, transport_class, WS, token)):
            pass
    leaks = [r for r in caplog.records if token in r.getMessage()]
    assert leaks, "gql no longer logs connection_init: see docs/design.md"
    assert {(r.name, r.levelno) for r in leaks} == {("gql.transport.common.base", logging.DEBUG)}
    assert '"type": "connection_init"' in leaks[0].getMessage()


async def _close_seen_by_gql(
    cloud: AndersenCloud, transport_class: type[Transport], token: str, device: str, code: int
) -> TransportConnectionFailed:
    """What a gql subscription raises when the server closes the socket with ``code``."""
    client = Client(transport=make_transport(cloud, transport_class, WS, token))
    async with client as session, aclosing(session.subscribe(subscription(device))) as events:
        first = asyncio.create_task(anext(events))
        await eventually(lambda: cloud.state.hub.subscriber_count(device) == 1)
        await cloud.drop_websockets(code=code)
        with pytest.raises(TransportConnectionFailed) as failed:
            await first
    return failed.value


def _chain(error: BaseException | None) -> list[BaseException]:
    chain = []
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


@TRANSPORTS
async def test_gql_turns_every_close_code_into_one_exception(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_charger: Charger,
    transport_class: type[Transport],
) -> None:
    token = bearer(andersen_cloud, andersen_user)
    seen: dict[int, TransportConnectionFailed] = {}
    for code in (4401, 4403, 1011):  # unauthorized, forbidden, a server restart
        seen[code] = await _close_seen_by_gql(
            andersen_cloud, transport_class, token, andersen_charger.id, code
        )
    # the three closes mean three different things; gql raises the same error for each
    assert len({(type(error), str(error)) for error in seen.values()}) == 1
    for code, error in seen.items():
        assert str(code) not in str(error)
        if transport_class is AIOHTTPWebsocketsTransport:  # the code is nowhere at all
            assert not any(str(code) in repr(link) for link in _chain(error))
        else:  # only websockets' own exception, left as the cause, still has it
            assert f"code={code}" in repr(error.__cause__)


@TRANSPORTS
async def test_gql_reconnects_but_does_not_resubscribe(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_charger: Charger,
    transport_class: type[Transport],
) -> None:
    hub, stats = andersen_cloud.state.hub, andersen_cloud.stats
    gql_transport = make_transport(
        andersen_cloud, transport_class, WS, bearer(andersen_cloud, andersen_user)
    )
    client = Client(transport=gql_transport)
    session = await client.connect_async(reconnecting=True)  # type: ignore[no-untyped-call]
    assert isinstance(session, ReconnectingAsyncClientSession)
    # gql's own reconnecting task (typed None in gql, for it starts as None)
    connector = cast("asyncio.Task[None]", session._connect_task)
    try:
        async with aclosing(session.subscribe(subscription(andersen_charger.id))) as events:
            first = asyncio.create_task(anext(events))
            await eventually(lambda: hub.subscriber_count(andersen_charger.id) == 1)
            receiving = gql_transport.receive_data_task
            await andersen_cloud.drop_websockets()
            # the subscription ends with the socket: its consumer must start it again
            with pytest.raises(TransportConnectionFailed):
                await first
        # the session came back (gql's receive task is set once connection_ack has come) ...
        await eventually(lambda: gql_transport.receive_data_task not in (None, receiving))
        assert (stats.websocket_connects, stats.websockets_open) == (2, 1)
        assert hub.subscriber_count() == 0  # ... without the subscription
        assert stats.subscriptions_started == 1
    finally:
        await client.close_async()  # type: ignore[no-untyped-call]
        await asyncio.wait([connector])  # gql cancels it without waiting for it to end


@TRANSPORTS
@pytest.mark.parametrize("protocol", [GRAPHQL_WS, GRAPHQL_TRANSPORT_WS])
async def test_gql_reconnects_with_the_init_payload_it_was_given(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_charger: Charger,
    transport_class: type[Transport],
    protocol: str,
) -> None:
    stats = andersen_cloud.stats
    first_token = bearer(andersen_cloud, andersen_user)
    gql_transport = make_transport(andersen_cloud, transport_class, protocol, first_token)
    client = Client(transport=gql_transport)
    # one attempt, to see it fail (gql's default: forever, backing off up to a minute)
    session = await client.connect_async(  # type: ignore[no-untyped-call]
        reconnecting=True, retry_connect=retry(stop=stop_after_attempt(1), reraise=True)
    )
    connector: asyncio.Task[None] = session._connect_task  # gql's own reconnecting task
    try:
        async with aclosing(session.subscribe(subscription(andersen_charger.id))) as events:
            first = asyncio.create_task(anext(events))
            await eventually(lambda: stats.subscriptions_started == 1)
            andersen_cloud.expire_tokens()
            assert bearer(andersen_cloud, andersen_user) != first_token  # a fresh one exists
            await andersen_cloud.drop_websockets()
            with pytest.raises(TransportConnectionFailed):
                await first  # which makes gql reconnect, on its own
        # ... with the token it was built with (there is no hook to supply one): refused
        await eventually(connector.done)
        assert stats.websocket_connects == 2
        assert gql_transport.init_payload == {"authToken": first_token}
        refused = connector.exception()
        if protocol == GRAPHQL_WS:
            assert isinstance(refused, TransportServerError)
            assert "Invalid/expired login token" in str(refused)
        else:  # refused by a 4401 close, and the transport now believes it is connected
            assert isinstance(refused, TransportConnectionFailed)
            with pytest.raises(TransportAlreadyConnected):
                await gql_transport.connect()
            assert stats.websocket_connects == 2  # no socket was even tried
    finally:
        await client.close_async()  # type: ignore[no-untyped-call]
        await asyncio.wait([connector])


def test_gql_http_transport_cannot_share_a_session() -> None:
    # the websocket transport takes an aiohttp session; the HTTP one makes its own
    websocket: dict[str, Any] = dict(inspect.signature(AIOHTTPWebsocketsTransport).parameters)
    http: dict[str, Any] = dict(inspect.signature(AIOHTTPTransport).parameters)
    assert "session" in websocket
    assert "session" not in http
    assert "client_session_args" in http  # only arguments for the session it creates
