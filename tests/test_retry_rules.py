"""The retry rules, observed from outside: what a loopback server of the test's own receives,
and when.

* A mutation reaches the service at most once: whatever happens after its request may have
  been sent (the connection dropped or reset, half a reply, no reply in time), the caller
  gets an error saying it may have been applied, and the server has seen one request.
* A connection that could not even be opened carried nothing: it is tried again, for a
  query or a mutation, and never more than ``RetryPolicy.attempts`` times in all.
* Waits between tries grow (capped exponential backoff with full jitter) for queries and
  for stream reconnects, and a ``Retry-After`` is waited out. The gaps are measured at the
  server and only bounded from below: load on the machine can only make them longer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Final

import aiohttp
import pytest
from aiohttp import web

from andersen_ev import (
    AndersenA2,
    AndersenConnectionError,
    OutcomeUnknownError,
    RateLimitedError,
    Schedule,
    ServerError,
    ServiceUnavailableError,
)
from andersen_ev.retry import RetryPolicy
from andersen_ev.stream import GRAPHQL_WS, StreamSettings
from andersen_ev.testing import AndersenCloud, Charger
from tests.fuzz_support import far_client
from tests.loopback import serve
from tests.raw_server import Behaviour, RawServer, json_answer, serving
from tests.stream_helpers import PATIENCE, Follower, until

DEVICE: Final = "0123456789abcdef01234567"
NIGHT: Final = Schedule(start_hour=0, start_minute=30, end_hour=4, end_minute=30)
#: Four tries for queries, a few milliseconds apart: a mutation sent again would show at once.
RETRY: Final = RetryPolicy(attempts=4, backoff=0.002, max_backoff=0.004)

Call = Callable[[AndersenA2], Awaitable[object]]
MUTATIONS: Final[dict[str, Call]] = {
    "user_lock": lambda a2: a2.user_lock(DEVICE),
    "set_schedules": lambda a2: a2.set_schedules(DEVICE, {0: NIGHT, 3: NIGHT}),
    "create_schedule": lambda a2: a2.create_schedule(DEVICE, 1, NIGHT),
    "create_charge_rate": lambda a2: a2.create_charge_rate(DEVICE, 0.25),
}


def operations(server: RawServer) -> list[str]:
    return [json.loads(body)["operationName"] for body in server.bodies]


# -- a mutation is sent at most once -------------------------------------------------------------


@pytest.mark.parametrize("behaviour", ["drop", "reset", "half", "stall"])
@pytest.mark.parametrize("mutation", MUTATIONS)
async def test_a_mutation_that_may_have_been_sent_is_not_sent_again(
    raw_server: RawServer, mutation: str, behaviour: Behaviour
) -> None:
    raw_server.behaviour = behaviour
    raw_server.answer = json_answer(b'{"data": {"runAEVCommand": null}}')
    async with far_client(raw_server.url, retry=RETRY, timeout=0.3) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await MUTATIONS[mutation](client)
        await asyncio.sleep(0.05)  # ten times the longest backoff: a second try would be here
    assert len(raw_server.bodies) == 1, operations(raw_server)
    # the class says "read the state first": not an outage that code would retry blindly
    assert not isinstance(caught.value, ServiceUnavailableError)
    message = str(caught.value)
    assert "may or may not have been applied" in message
    assert "read the state back" in message
    assert "try again" not in message


async def test_a_query_in_the_same_plight_is_retried(raw_server: RawServer) -> None:
    """The other side of the rule: a query may be sent again, up to ``attempts`` in all."""
    raw_server.behaviour = "drop"
    async with far_client(raw_server.url, retry=RETRY) as client:
        with pytest.raises(AndersenConnectionError, match="try again"):
            await client.get_support_message()
    assert operations(raw_server) == ["getSupportMessage"] * RETRY.attempts


# -- a connection that could not be opened carried nothing -------------------------------------


@pytest.fixture
def closed_port() -> Iterator[socket.socket]:
    """A loopback socket bound to a port but not listening: connections to it are refused,
    and no other program can take the port meanwhile."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock


@asynccontextmanager
async def traced_session(
    *on_failure: Callable[..., Awaitable[None]],
) -> AsyncIterator[tuple[aiohttp.ClientSession, list[str]]]:
    """An aiohttp session that records every request it starts and every failure (the
    wire's own account, from outside the library), then calls ``on_failure``."""
    events: list[str] = []

    async def started(*_: object) -> None:
        events.append("request")

    async def failed(_: object, __: object, params: aiohttp.TraceRequestExceptionParams) -> None:
        events.append(type(params.exception).__name__)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(started)
    trace.on_request_exception.append(failed)
    trace.on_request_exception.extend(on_failure)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        yield session, events


def url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}/"


async def test_refused_connections_are_tried_at_most_attempts_times(
    closed_port: socket.socket,
) -> None:
    async with (
        traced_session() as (session, events),
        far_client(url_of(closed_port), retry=RETRY, session=session) as client,
    ):
        with pytest.raises(AndersenConnectionError, match="check the network") as query:
            await client.get_support_message()
        assert events.count("request") == RETRY.attempts
        events.clear()
        with pytest.raises(AndersenConnectionError, match="check the network") as mutation:
            await client.user_lock(DEVICE)
        assert events.count("request") == RETRY.attempts
    assert set(events) == {"request", "ClientConnectorError"}
    assert query.value.before_request
    assert mutation.value.before_request


@pytest.mark.parametrize(
    ("call", "root"),
    [
        (MUTATIONS["user_lock"], "runAEVCommand"),
        (lambda a2: a2.get_support_message(), "getSupportMessage"),
    ],
    ids=["mutation", "query"],
)
async def test_refused_then_served_reaches_the_server_once(
    closed_port: socket.socket, call: Call, root: str
) -> None:
    """The first try is refused; the server starts listening on that port as the failure
    comes back; the second try is served: the server sees the request once, and it works."""
    server = RawServer(answer=json_answer(b'{"data": {"%s": null}}' % root.encode()))
    async with AsyncExitStack() as stack:

        async def listen_after_the_first_failure(*_: object) -> None:
            if not server.url:
                await stack.enter_async_context(serving(server, closed_port))

        session, events = await stack.enter_async_context(
            traced_session(listen_after_the_first_failure)
        )
        client = await stack.enter_async_context(
            far_client(url_of(closed_port), retry=RETRY, session=session)
        )
        await call(client)
    assert len(server.bodies) == 1
    assert events == ["request", "ClientConnectorError", "request"]


# -- waits grow, and Retry-After is honoured -----------------------------------------------------

# Full jitter makes each wait uniform in [0, ceiling], ceilings doubling from BACKOFF up to
# CAP. The tests bound from below the sum of the last CAPPED gaps, whose waits all have the
# cap for ceiling: for n independent uniforms on [0, CAP], P(sum < x) <= (x / CAP) ** n / n!
# (the simplex {sum < x} of volume x ** n / n! contains that event), so with n = 8 and
# x = 0.8 * CAP a correct client fails the bound with probability below 5e-6
# (0.8 ** 8 / 8!), whatever the load (which only lengthens gaps). A backoff that never
# grows waits at most BACKOFF (2 ms) a gap: its 8 gaps stay under the bound unless each try
# costs more than 23 ms; a retry loop without waits even more so.
BACKOFF: Final = 0.002
CAP: Final = 0.25
#: Ceilings of 2, 4, ... 128 ms (7 waits), then CAPPED waits at the cap: 16 tries in all.
RAMP: Final = 7
CAPPED: Final = 8
TRIES: Final = RAMP + CAPPED + 1
LEAST_CAPPED_TOTAL: Final = 0.8 * CAP


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def assert_backoff_grew(times: list[float]) -> None:
    waits = gaps(times[:TRIES])
    assert len(waits) == RAMP + CAPPED
    assert sum(waits[RAMP:]) >= LEAST_CAPPED_TOTAL, [f"{gap:.4f}" for gap in waits]


@dataclasses.dataclass
class Busy:
    """Answers the first ``failures`` requests with ``status`` (and ``Retry-After``), then
    succeeds; records when each request arrived."""

    status: int
    retry_after: str | None = None
    failures: int = TRIES
    times: list[float] = dataclasses.field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.times.append(time.monotonic())
        await request.read()
        if len(self.times) > self.failures:
            return web.json_response({"data": {"getSupportMessage": "hello"}})
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        return web.Response(status=self.status, text="busy", headers=headers)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/", self.handle)
        return app


@pytest.mark.parametrize("status", [503, 429])
async def test_query_retries_back_off(status: int) -> None:
    """A query answered 503 (or 429 without Retry-After) is sent ``attempts`` times, the
    waits between growing to the cap."""
    busy = Busy(status)
    policy = RetryPolicy(attempts=TRIES, backoff=BACKOFF, max_backoff=CAP)
    async with serve(busy.app()) as url, far_client(url, retry=policy) as client:
        with pytest.raises((ServerError, RateLimitedError)):
            await client.get_support_message()
    assert len(busy.times) == TRIES  # and not one more
    assert_backoff_grew(busy.times)


async def test_retry_after_is_waited_out() -> None:
    busy = Busy(429, retry_after="0.2", failures=2)
    policy = RetryPolicy(attempts=3, backoff=0.001, max_backoff=0.001)
    async with serve(busy.app()) as url, far_client(url, retry=policy) as client:
        assert await client.get_support_message() == "hello"
    waits = gaps(busy.times)
    assert len(waits) == 2
    assert all(wait >= 0.2 for wait in waits), waits


@dataclasses.dataclass
class FailingWebsocket:
    """A websocket endpoint that never keeps a connection: it refuses the handshake (503),
    or acknowledges ``connection_init`` and drops the connection at once."""

    refuse: bool
    times: list[float] = dataclasses.field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.times.append(time.monotonic())
        if self.refuse:
            return web.Response(status=503, text="unavailable")
        ws = web.WebSocketResponse(protocols=(GRAPHQL_WS,))
        await ws.prepare(request)
        await ws.receive(timeout=PATIENCE)  # connection_init
        await ws.send_json({"type": "connection_ack"})
        await ws.close()
        return ws


@pytest.mark.parametrize("refuse", [True, False], ids=["refused", "dropped"])
async def test_stream_reconnects_back_off(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger, refuse: bool
) -> None:
    """Snapshots come from the emulator; the websocket endpoint is one that always fails."""
    endpoint = FailingWebsocket(refuse)
    app = web.Application()
    app.router.add_get("/graphql", endpoint.handle)
    async with serve(app) as url:
        endpoints = dataclasses.replace(
            andersen_cloud.endpoints, websocket_url=url.replace("http", "ws", 1) + "graphql"
        )
        settings = StreamSettings(backoff=BACKOFF, max_backoff=CAP)
        async with AndersenA2(
            endpoints=endpoints, tokens=a2.tokens, stream_settings=settings
        ) as client:
            follower = Follower(client.subscribe_device_updates(andersen_charger.id))
            await until(lambda: len(endpoint.times) >= TRIES)
            await follower.stop()
    assert_backoff_grew(endpoint.times)
