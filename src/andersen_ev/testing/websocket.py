"""GraphQL over websockets (``GET /graphql``): subscriptions in both subprotocols.

The real service is Apollo Server, whose subscriptions take ``{"authToken": "Bearer <IdToken>"}``
as connection parameters; that points to the legacy ``graphql-ws`` protocol of
subscriptions-transport-ws, but the reference leaves it unconfirmed. The emulator therefore
speaks both and picks one from the subprotocols the client offers, in the order of
:attr:`AndersenCloud.websocket_protocols <andersen_ev.testing.AndersenCloud>` (the server's
preference, legacy first by default). A client that offers none gets ``graphql-ws``, as Apollo
clients expect; a client that offers only unknown ones is closed with 1002.

The two subprotocols are in :mod:`.websocket_protocols`, what they share (operations,
authentication, faults) in :mod:`.websocket_connection`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiohttp import web

from andersen_ev.testing._keys import CLOUD_KEY
from andersen_ev.testing.websocket_connection import UNAUTHENTICATED, CloseCode
from andersen_ev.testing.websocket_protocols import (
    GRAPHQL_TRANSPORT_WS,
    GRAPHQL_WS,
    LegacyConnection,
    TransportConnection,
)

__all__ = [
    "GRAPHQL_TRANSPORT_WS",
    "GRAPHQL_WS",
    "UNAUTHENTICATED",
    "CloseCode",
    "negotiate_protocol",
    "setup_routes",
]

_LOG = logging.getLogger(__name__)


def setup_routes(app: web.Application) -> None:
    """Add ``GET /graphql``, the websocket endpoint, to the Andersen API application."""
    app.router.add_get("/graphql", _graphql_websocket)


def negotiate_protocol(offered: Iterable[str], served: Iterable[str]) -> str | None:
    """The subprotocol to speak: the first of ``served`` the client offered.

    A client that offers nothing is taken to speak ``graphql-ws``, as Apollo did. None means
    the client and the server have no protocol in common.
    """
    offered = set(offered) or {GRAPHQL_WS}
    return next((protocol for protocol in served if protocol in offered), None)


def _offered_protocols(request: web.Request) -> list[str]:
    header = ",".join(request.headers.getall("Sec-WebSocket-Protocol", ()))
    return [name.strip() for name in header.split(",") if name.strip()]


async def _graphql_websocket(request: web.Request) -> web.StreamResponse:
    """``GET /graphql``: upgrade to a websocket and serve GraphQL operations on it."""
    cloud = request.app[CLOUD_KEY]
    if cloud.faults.take("refused_websockets"):
        cloud.stats.faults_injected["websocket_refused"] += 1
        _LOG.info("websocket from %s refused (injected fault)", request.remote)
        return web.Response(status=503, text="503 Service Unavailable")
    protocol = negotiate_protocol(_offered_protocols(request), cloud.websocket_protocols)
    ws: web.WebSocketResponse = web.WebSocketResponse(protocols=(protocol,) if protocol else ())
    try:
        await ws.prepare(request)
    except ConnectionError:  # the client left during the handshake: that is not an error
        _LOG.debug("websocket from %s: the client left during the handshake", request.remote)
        return web.Response(status=499)  # never sent: aiohttp drops it quietly
    cloud.websockets.add(ws)
    cloud.stats.websocket_connects += 1
    cloud.stats.websockets_open += 1
    peer = f"{request.remote}:{id(ws):x}"
    try:
        if protocol is None:
            _LOG.warning("websocket %s: no supported subprotocol offered", peer)
            await ws.close(code=CloseCode.PROTOCOL_ERROR, message=b"Unsupported subprotocol")
        else:
            connection_class = LegacyConnection if protocol == GRAPHQL_WS else TransportConnection
            await connection_class(cloud, ws, peer).serve()
    finally:
        cloud.websockets.discard(ws)
        cloud.stats.websockets_open -= 1
        _LOG.debug("websocket %s closed (code %s)", peer, ws.close_code)
    return ws
