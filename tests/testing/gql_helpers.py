"""Helpers shared by the tests that run gql's websocket transports against the emulator."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gql import GraphQLRequest
from gql.transport.aiohttp_websockets import AIOHTTPWebsocketsTransport
from gql.transport.exceptions import TransportConnectionFailed
from gql.transport.websockets import WebsocketsTransport

from andersen_ev.graphql import operation_document
from andersen_ev.testing import AndersenCloud

Transport = WebsocketsTransport | AIOHTTPWebsocketsTransport


def make_transport(
    cloud: AndersenCloud, transport_class: type[Transport], protocol: str, token: str
) -> Transport:
    """A gql websocket transport offering only ``protocol``."""
    return transport_class(
        url=cloud.endpoints.websocket_url,
        subprotocols=[protocol],
        init_payload={"authToken": token},
    )


def subscription(device_id: str) -> GraphQLRequest:
    """The library's ``deviceStatusUpdated`` operation for one charger."""
    return GraphQLRequest(
        operation_document("deviceStatusUpdated"), variable_values={"id": device_id}
    )


@pytest.fixture
async def gql_leftovers() -> AsyncIterator[list[dict[str, Any]]]:
    """What gql leaves to the loop's exception handler, collected while the test's loop lives.

    gql can leave a task with an exception nobody retrieves (seen: its receive loop, ended by
    ``TransportConnectionFailed('WebSocket connection is already closed')``). Collected
    later, asyncio logs it in the middle of another test, and if that happens inside an
    ``ast.parse`` (pytest importing a module), formatting its traceback trips CPython
    3.11.7's AST recursion check: ``SystemError: AST constructor recursion depth mismatch``.
    Collected here, it is checked to be only that.
    """
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    yield reported
    await asyncio.sleep(0)  # let tasks cancelled at the end of the test finish
    gc.collect()
    loop.set_exception_handler(None)
    for context in reported:
        assert context["message"] == "Task exception was never retrieved", context
        assert isinstance(context["exception"], TransportConnectionFailed), context
