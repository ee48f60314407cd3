"""GraphQL over HTTP against a scripted loopback server: every reply shape the transport
must turn into data or into the right error, and the retry policy's arithmetic."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from andersen_ev import (
    AndersenConnectionError,
    AndersenTimeoutError,
    ApiError,
    DeviceNotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    ReauthRequiredError,
    ResponseError,
    ServerError,
)
from andersen_ev.http import GraphQLHttp
from andersen_ev.retry import RetryPolicy
from tests.scripted_server import Reply, Script, json_reply, text_reply


@dataclass
class Tokens:
    """A token source that hands out numbered tokens and records invalidations."""

    issued: int = 0
    invalidated: list[str | None] = field(default_factory=list)

    async def id_token(self) -> str:
        return f"token-{self.issued}"

    def invalidate(self, id_token: str | None = None) -> None:
        self.invalidated.append(id_token)
        self.issued += 1


def transport(
    session: aiohttp.ClientSession, url: str, tokens: Tokens, **retry: Any
) -> tuple[GraphQLHttp, list[float]]:
    sleeps: list[float] = []

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    policy = RetryPolicy(**({"backoff": 0.01, "max_backoff": 0.02} | retry))
    http = GraphQLHttp(lambda: session, url, tokens, timeout=5.0, retry=policy, sleep=record)
    return http, sleeps


async def test_request_shape_and_data(script: Script, session: aiohttp.ClientSession) -> None:
    script.replies = [json_reply({"data": {"getSupportMessage": "hello"}})]
    http, _ = transport(session, script.url, Tokens())
    result = await http.execute("getSupportMessage")
    assert result.data == {"getSupportMessage": "hello"}
    assert result.data is result.data  # parsed once
    (body,) = script.bodies
    assert body["operationName"] == "getSupportMessage"
    assert body["variables"] == {}
    assert "query getSupportMessage" in body["query"]
    assert script.authorizations == ["Bearer token-0"]


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (text_reply("<html>oops</html>"), "not a GraphQL JSON answer"),
        (json_reply({"data": None}), "has no data"),
        (json_reply(["data"]), "not a GraphQL JSON answer"),
        (json_reply({"data": "x", "errors": []}), "has no data"),
    ],
)
async def test_replies_that_are_not_graphql(
    script: Script, session: aiohttp.ClientSession, reply: Reply, match: str
) -> None:
    script.replies = [reply]
    http, _ = transport(session, script.url, Tokens())

    async def read() -> dict[str, Any]:
        return (await http.execute("getSupportMessage")).data

    with pytest.raises(ResponseError, match=match) as info:
        await read()
    assert info.value.operation == "getSupportMessage"
    assert "report it" in str(info.value)


async def test_graphql_errors_become_api_errors(
    script: Script, session: aiohttp.ClientSession
) -> None:
    script.replies = [
        json_reply({"errors": [{"message": "boom", "extensions": {"code": "INTERNAL"}}, "odd"]}),
        json_reply(
            {
                "data": {"getDevice": None},
                "errors": [{"message": "gone", "extensions": {"code": "NOT_FOUND"}}],
            }
        ),
        json_reply({"errors": [{"message": "bad"}]}, status=400),
    ]
    http, sleeps = transport(session, script.url, Tokens())
    with pytest.raises(ApiError, match="boom; odd") as info:
        await http.execute("getSupportMessage")
    assert info.value.code == "INTERNAL"
    assert info.value.extensions == {"code": "INTERNAL"}
    assert info.value.status == 200
    with pytest.raises(DeviceNotFoundError, match="gone"):
        await http.execute("getDevice", {"id": "x"})
    with pytest.raises(ApiError, match="bad") as bad:
        await http.execute("getSupportMessage")
    assert bad.value.code is None
    assert bad.value.status == 400
    assert sleeps == []  # GraphQL errors are answers, not failures: never retried


async def test_unauthenticated_refreshes_once_then_gives_up(
    script: Script, session: aiohttp.ClientSession
) -> None:
    refused = {
        "errors": [
            {"message": "Context creation failed", "extensions": {"code": "UNAUTHENTICATED"}}
        ]
    }
    script.replies = [json_reply(refused, status=400), json_reply({"data": {"x": 1}})]
    tokens = Tokens()
    http, _ = transport(session, script.url, tokens)
    assert (await http.execute("getSupportMessage", mutation=True)).data == {"x": 1}
    assert tokens.invalidated == ["token-0"]
    assert script.authorizations == ["Bearer token-0", "Bearer token-1"]
    script.replies = [json_reply(refused, status=500), json_reply(refused, status=500)]
    with pytest.raises(ReauthRequiredError, match="log in again"):
        await http.execute("getSupportMessage")


async def test_queries_retry_with_backoff_honouring_retry_after(
    script: Script, session: aiohttp.ClientSession
) -> None:
    script.replies = [
        text_reply("busy", status=503),
        json_reply({}, status=429, **{"Retry-After": "0.5"}),
        json_reply({}, status=429, **{"Retry-After": "soon"}),
        json_reply({"data": {"ok": True}}),
    ]
    http, sleeps = transport(session, script.url, Tokens())
    assert (await http.execute("getSupportMessage")).data == {"ok": True}
    assert len(sleeps) == 3
    assert 0 <= sleeps[0] <= 0.01
    assert sleeps[1] == 0.5
    assert 0 <= sleeps[2] <= 0.02


async def test_retry_after_beyond_the_policy_is_not_waited(
    script: Script, session: aiohttp.ClientSession
) -> None:
    script.replies = [json_reply({}, status=429, **{"Retry-After": "120"})]
    http, sleeps = transport(session, script.url, Tokens(), max_retry_after=60)
    with pytest.raises(RateLimitedError) as info:
        await http.execute("getSupportMessage")
    assert info.value.retry_after == 120
    assert sleeps == []
    script.replies = [json_reply({}, status=429, **{"Retry-After": "-3"})]
    with pytest.raises(RateLimitedError) as negative:
        await http.execute("getSupportMessage", mutation=True)
    assert negative.value.retry_after == 0
    script.replies = [json_reply({}, status=429)]
    with pytest.raises(RateLimitedError, match="wait a while"):
        await http.execute("getSupportMessage", mutation=True)


async def test_mutations_are_sent_once(script: Script, session: aiohttp.ClientSession) -> None:
    script.replies = [text_reply("bad gateway", status=502)]
    http, sleeps = transport(session, script.url, Tokens())
    with pytest.raises(OutcomeUnknownError, match="read the state back") as info:
        await http.execute(
            "runAEVCommand", {"deviceId": "d", "functionName": "userLock"}, mutation=True
        )
    assert isinstance(info.value.__cause__, ServerError)  # a 5xx may come after applying it
    assert len(script.bodies) == 1
    assert sleeps == []


async def test_timeouts_and_refused_connections(
    script: Script, session: aiohttp.ClientSession
) -> None:
    def stalled() -> web.StreamResponse:
        raise asyncio.CancelledError  # the server drops the request: the client times out

    http, sleeps = transport(session, script.url, Tokens(), attempts=2)
    script.replies = [stalled, stalled]
    with pytest.raises((AndersenTimeoutError, AndersenConnectionError)):
        await http.execute("getSupportMessage", timeout=0.2)
    assert len(sleeps) == 1

    dead = "http://127.0.0.1:9/"  # discard port: nothing listens
    http, sleeps = transport(session, dead, Tokens(), attempts=3)
    with pytest.raises(AndersenConnectionError, match="check the network") as info:
        await http.execute("runAEVCommand", {"deviceId": "d", "functionName": "x"}, mutation=True)
    assert info.value.before_request
    assert len(sleeps) == 2  # provably never sent: a mutation may be retried
    assert all(0 <= seconds <= 0.02 for seconds in sleeps)  # as the policy says


def test_retry_policy_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(backoff=-1)
    policy = RetryPolicy(backoff=1, max_backoff=3)
    assert all(0 <= policy.delay(n) <= min(3, 2 ** (n - 1)) for n in range(1, 8) for _ in range(20))
    assert policy.delay(1, retry_after=7) == 7


def test_request_body_is_valid_json() -> None:
    from andersen_ev.http import _request_prefix

    body = _request_prefix("getDevice") + json.dumps({"id": 'a"b'}).encode() + b"}"
    decoded = json.loads(body)
    assert decoded["variables"] == {"id": 'a"b'}
    assert decoded["operationName"] == "getDevice"


async def test_a_refresh_that_times_out_at_cognito_is_its_own_error(
    script: Script, session: aiohttp.ClientSession
) -> None:
    """The deadline did not pass: the refresh's own timeout comes out, as it was."""

    class SlowCognito(Tokens):
        async def id_token(self) -> str:
            raise AndersenTimeoutError("Cognito InitiateAuth timed out")

    http, _ = transport(session, script.url, SlowCognito())
    with pytest.raises(AndersenTimeoutError, match=r"^Cognito InitiateAuth timed out$") as info:
        await http.execute("getSupportMessage", timeout=5)
    assert not info.value.before_request
    assert script.bodies == []
