"""Logging in over a hostile or failing network: outages are outages, nothing leaks.

A loopback stand-in for the user lookup and Cognito walks a whole session (login, device
confirmation, refresh, forgetting the device, sign-out) and fails one step of it in one way
per example: HTTP 503 and 429, Cognito's own outage and throttling codes, a dropped
connection, silence. Every such failure must be a ServiceUnavailableError, never an
AuthenticationError (which would send a user to re-enter a password that is fine). Then
redirects (never followed, naming only the host), oversized and absurd replies, and the
secrets: none in any error, its causes or contexts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from andersen_ev import (
    AndersenA2,
    AndersenConnectionError,
    AndersenError,
    AndersenTimeoutError,
    AuthenticationError,
    CognitoError,
    Endpoints,
    RateLimitedError,
    ReauthRequiredError,
    ResponseError,
    ServerError,
    ServiceUnavailableError,
)
from andersen_ev.auth.cognito import MAX_COGNITO_REPLY_BYTES
from tests.loopback import serve

PASSWORD = "correct horse battery staple"
ID_TOKEN = "eyJraWQiOiJpZCJ9.eyJzdWIiOiJhY2NvdW50LTEiLCJ0b2tlbl91c2UiOiJpZCJ9.aWQtc2lnbmF0dXJl"
ACCESS_TOKEN = "eyJraWQiOiJhYyJ9.eyJ0b2tlbl91c2UiOiJhY2Nlc3MifQ.YWNjZXNzLXNpZ25hdHVyZQ"
REFRESH_TOKEN = "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIn0.refresh-token-opaque-part-xyz"
DEVICE_KEY = "eu-west-1_0f0e1d2c-3b4a-5968-7f6e-5d4c3b2a1908"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def answer(body: object, status: int = 200) -> Handler:
    async def handle(_: web.Request) -> web.StreamResponse:
        return web.Response(
            body=json.dumps(body).encode(), status=status, content_type="application/x-amz-json-1.1"
        )

    return handle


def raw(body: bytes, status: int = 200, **headers: str) -> Handler:
    async def handle(_: web.Request) -> web.StreamResponse:
        return web.Response(body=body, status=status, headers=headers)

    return handle


def refusal(code: str, message: str = "m") -> dict[str, str]:
    """Cognito's error body."""
    return {"__type": code, "message": message}


async def drop(request: web.Request) -> web.StreamResponse:
    """Close the connection without answering."""
    assert request.transport is not None
    request.transport.close()
    await asyncio.sleep(1)
    raise AssertionError("unreachable")  # pragma: no cover - the client has gone


async def hang(_: web.Request) -> web.StreamResponse:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")  # pragma: no cover


VERIFIER = {
    "ChallengeName": "PASSWORD_VERIFIER",
    "ChallengeParameters": {
        "SALT": "8f2b1c0d9e8a7b6c",
        "SRP_B": "1f" * 384,
        "SECRET_BLOCK": "c2VjcmV0IGJsb2Nr",
        "USERNAME": "user:1",
        "USER_ID_FOR_SRP": "user:1",
    },
}
RESULT = {
    "AuthenticationResult": {
        "IdToken": ID_TOKEN,
        "AccessToken": ACCESS_TOKEN,
        "RefreshToken": REFRESH_TOKEN,
        "ExpiresIn": 3600,
        "NewDeviceMetadata": {"DeviceKey": DEVICE_KEY, "DeviceGroupKey": "-group"},
    }
}
REFRESHED = {
    "AuthenticationResult": {"IdToken": ID_TOKEN, "AccessToken": ACCESS_TOKEN, "ExpiresIn": 3600}
}

#: The steps of a session, in order: (name, operation, its good answer).
STEPS: list[tuple[str, str, Handler]] = [
    ("lookup", "lookup", answer({"username": "user:1"})),
    ("srp", "InitiateAuth", answer(VERIFIER)),
    ("password", "RespondToAuthChallenge", answer(RESULT)),
    ("confirm", "ConfirmDevice", answer({"UserConfirmationNecessary": True})),
    ("remember", "UpdateDeviceStatus", answer({})),
    ("refresh", "InitiateAuth", answer(REFRESHED)),
    ("forget", "ForgetDevice", answer({})),
    ("sign-out", "GlobalSignOut", answer({})),
]


@dataclass
class FakeService:
    """The user lookup and Cognito on loopback, each operation answering from a queue."""

    queues: dict[str, list[Handler]] = field(default_factory=dict)
    received: list[bytes] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.received.append(await request.read())
        operation = request.headers.get("X-Amz-Target", "lookup").rpartition(".")[2]
        return await self.queues[operation].pop(0)(request)

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(
            cognito_url=self.url,
            user_lookup_url=self.url + "get-pending-user",
            graphql_url="http://127.0.0.1:9/",
        )


@asynccontextmanager
async def fake_service() -> AsyncIterator[FakeService]:
    fake = FakeService()
    app = web.Application()
    app.router.add_post("/", fake.handle)
    app.router.add_post("/get-pending-user", fake.handle)
    async with serve(app, shutdown_timeout=0.1) as fake.url:
        yield fake


async def session_steps(a2: AndersenA2) -> AsyncIterator[str]:
    """Walk a session; yields the name of each call once it returned."""
    await a2.authenticate("driver@example.com", PASSWORD)
    yield "password"
    await a2.confirm_device("garage")
    yield "remember"
    await a2.auth.refresh()
    yield "refresh"
    await a2.forget_device()
    yield "forget"
    await a2.sign_out()
    yield "sign-out"


#: Calls of :func:`session_steps` and the steps each one covers.
CALL_OF = {
    "lookup": "password",
    "srp": "password",
    "password": "password",
    "confirm": "remember",
    "remember": "remember",
    "refresh": "refresh",
    "forget": "forget",
    "sign-out": "sign-out",
}


async def run_session(fake: FakeService, failing: str, failure: Handler) -> AndersenError:
    """Walk a session whose step ``failing`` meets ``failure``; the error of that call."""
    fake.queues = {}
    for name, operation, good in STEPS:
        fake.queues.setdefault(operation, []).append(failure if name == failing else good)
    done: list[str] = []
    async with AndersenA2(endpoints=fake.endpoints, timeout=0.5) as a2:
        try:
            async for call in session_steps(a2):
                done.append(call)  # noqa: PERF401 - kept as far as it got
        except AndersenError as exc:
            calls = list(dict.fromkeys(CALL_OF.values()))
            assert done == calls[: calls.index(CALL_OF[failing])]  # the steps before it worked
            return exc
    raise AssertionError(f"the session survived a failure at {failing}: {done}")


OUTAGES: dict[str, tuple[Handler, type[ServiceUnavailableError]]] = {
    "http-503": (raw(b"<html>Service Unavailable</html>", 503), ServerError),
    "http-500-json": (
        answer({"__type": "InternalErrorException", "message": "m"}, 500),
        ServerError,
    ),
    "http-429": (raw(b"slow down", 429), RateLimitedError),
    "throttled": (
        answer({"__type": "TooManyRequestsException", "message": "Rate exceeded"}, 400),
        RateLimitedError,
    ),
    "firewall": (
        answer({"__type": "ForbiddenException", "message": "blocked"}, 400),
        ServiceUnavailableError,
    ),
    "lambda": (answer({"__type": "UnexpectedLambdaException", "message": "m"}, 400), ServerError),
    "dropped": (drop, AndersenConnectionError),
    "silent": (hang, AndersenTimeoutError),
}
#: Failures Cognito itself never sends the lookup (the lookup is not Cognito).
COGNITO_ONLY = {"throttled", "firewall", "lambda", "http-500-json"}


def outage_cases() -> Iterator[Any]:
    for step, _, _ in STEPS:
        for failure in OUTAGES:
            if step == "lookup" and failure in COGNITO_ONLY:
                continue
            yield pytest.param(step, failure, id=f"{step}-{failure}")


@pytest.mark.timeout(120)
async def test_every_outage_at_every_step_is_service_unavailable() -> None:
    """8 steps x 8 failures (4 of them Cognito's own, not the lookup's): 60 sessions."""
    cases = list(outage_cases())
    assert len(cases) == 60
    async with fake_service() as fake:
        for case in cases:
            step, failure = case.values
            handler, expected = OUTAGES[failure]
            error = await run_session(fake, step, handler)
            assert isinstance(error, expected), (step, failure, error)
            assert isinstance(error, ServiceUnavailableError), (step, failure)
            assert not isinstance(error, AuthenticationError), (step, failure)


@pytest.mark.parametrize(
    ("step", "body", "status", "expected", "match"),
    [
        ("lookup", {"error": "no such user"}, 200, AuthenticationError, "no Andersen account"),
        ("srp", refusal("UserNotFoundException"), 400, AuthenticationError, "knows no user"),
        (
            "password",
            refusal("NotAuthorizedException", "Incorrect username or password."),
            400,
            AuthenticationError,
            "password is wrong",
        ),
        ("password", refusal("UserLambdaValidationException"), 400, AuthenticationError, "checks"),
        ("confirm", refusal("NotAuthorizedException"), 400, ReauthRequiredError, "log in again"),
        ("refresh", refusal("NotAuthorizedException"), 400, ReauthRequiredError, "has ended"),
        ("refresh", refusal("PasswordResetRequiredException"), 400, ReauthRequiredError, "ended"),
        ("refresh", refusal("RefreshTokenReuseException"), 400, ReauthRequiredError, "has ended"),
        ("forget", refusal("NotAuthorizedException"), 400, ReauthRequiredError, "log in again"),
        ("confirm", refusal("InvalidParameterException"), 400, CognitoError, "InvalidParameter"),
        ("lookup", {"unexpected": True}, 200, ResponseError, "neither a username"),
        ("lookup", {"error": "not found"}, 404, ResponseError, "HTTP 404"),
    ],
)
async def test_refusals_are_authentication_errors_and_the_rest_stays_apart(
    step: str, body: object, status: int, expected: type[AndersenError], match: str
) -> None:
    async with fake_service() as fake:
        error = await run_session(fake, step, answer(body, status))
    assert isinstance(error, expected)
    assert match in str(error)
    assert not isinstance(error, ServiceUnavailableError)


async def test_a_device_cognito_forgot_already_counts_as_forgotten() -> None:
    gone = answer({"__type": "ResourceNotFoundException", "message": "Device does not exist."}, 400)
    async with fake_service() as fake:
        fake.queues = {}
        for name, operation, good in STEPS:
            fake.queues.setdefault(operation, []).append(gone if name == "forget" else good)
        async with AndersenA2(endpoints=fake.endpoints) as a2:
            calls = [call async for call in session_steps(a2)]
    assert calls == ["password", "remember", "refresh", "forget", "sign-out"]


# -- redirects: never followed, only the host named ------------------------------------------------


@dataclass
class Collector:
    """Another host, where a redirect would send the request."""

    received: list[bytes] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(await request.read())
        return web.json_response({})


@asynccontextmanager
async def collector() -> AsyncIterator[tuple[Collector, str]]:
    other = Collector()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", other.handle)
    async with serve(app) as url:
        yield other, url.replace("127.0.0.1", "localhost")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("step", ["lookup", "srp", "password", "confirm", "refresh", "sign-out"])
async def test_redirects_are_not_followed_and_name_only_the_host(step: str, status: int) -> None:
    async with collector() as (other, url), fake_service() as fake:
        location = f"{url}collect?token={REFRESH_TOKEN}&password={PASSWORD}"
        error = await run_session(fake, step, raw(b"", status, Location=location))
    assert isinstance(error, AndersenConnectionError)
    assert isinstance(error, ServiceUnavailableError)
    assert f"redirect (HTTP {status}) to localhost," in str(error)
    assert "collect" not in str(error)
    assert other.received == []  # nothing reached the other host


@pytest.mark.parametrize(
    ("headers", "named"),
    [({"Location": "/elsewhere?x=1"}, "to 127.0.0.1,"), ({}, "to no location,")],
)
async def test_redirects_without_a_host_name_the_answering_one(
    headers: dict[str, str], named: str
) -> None:
    async with fake_service() as fake:
        error = await run_session(fake, "refresh", raw(b"", 307, **headers))
    assert isinstance(error, AndersenConnectionError)
    assert named in str(error)


# -- replies too large, too deep, not JSON --------------------------------------------------------


async def chunked(request: web.Request) -> web.StreamResponse:
    """An answer without Content-Length, larger than any Cognito answer."""
    response = web.StreamResponse(status=200)
    await response.prepare(request)
    for _ in range(MAX_COGNITO_REPLY_BYTES // 4096 + 2):
        await response.write(b" " * 4096)
    return response


@pytest.mark.parametrize(
    ("step", "failure", "expected", "match"),
    [
        ("srp", raw(b" " * (MAX_COGNITO_REPLY_BYTES + 1)), CognitoError, "larger than 262144"),
        ("refresh", chunked, CognitoError, "larger than 262144"),
        ("lookup", raw(b" " * (64 * 1024 + 1)), ResponseError, "more than 65536 bytes"),
        ("lookup", chunked, ResponseError, "more than 65536 bytes"),
        ("srp", raw(b"[" * 100_000), CognitoError, "is not JSON"),
        ("password", raw(b"[" * 100_000, 400), CognitoError, "failed with 400"),
        ("lookup", raw(b"[" * 60_000), ResponseError, "neither a username"),
        ("refresh", raw(b'{"AuthenticationResult": {"ExpiresIn": NaN}}'), CognitoError, "JSON"),
        ("confirm", raw(b'{"UserConfirmationNecessary": Infinity}'), CognitoError, "JSON"),
    ],
)
async def test_oversized_and_absurd_replies_are_library_errors(
    step: str, failure: Handler, expected: type[AndersenError], match: str
) -> None:
    """100,000 levels of '[' once made json.loads raise RecursionError out of authenticate."""
    async with fake_service() as fake:
        error = await run_session(fake, step, failure)
    assert isinstance(error, expected)
    assert match in str(error)


# -- no secret in any error, cause or context ---------------------------------------------------


def chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception in its causes and contexts."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]


def echo(status: int) -> Handler:
    """An error answer quoting the whole request (and its headers) back, code included."""

    async def handle(request: web.Request) -> web.StreamResponse:
        sent = await request.read()
        quoted = sent.decode() + " " + json.dumps(dict(request.headers))
        values = " ".join(str(v) for v in json.loads(sent).values() if not isinstance(v, dict))
        nested = [v for v in json.loads(sent).values() if isinstance(v, dict)]
        values += " " + " ".join(str(v) for d in nested for v in d.values())
        code = "Invalid " + values.replace(":", "").replace("#", "")  # all of it survives
        return web.Response(
            body=json.dumps({"__type": code, "message": quoted}).encode(),
            status=status,
            content_type="application/x-amz-json-1.1",
            headers={"Location": f"http://localhost/?{quoted[:200]}"},
        )

    return handle


@pytest.mark.parametrize("status", [400, 429, 500, 503, 307])
@pytest.mark.parametrize("step", [name for name, _, _ in STEPS])
async def test_no_secret_in_any_error_its_causes_or_contexts(step: str, status: int) -> None:
    async with fake_service() as fake:
        error = await run_session(fake, step, echo(status))
    secrets = [PASSWORD, ID_TOKEN, ACCESS_TOKEN, REFRESH_TOKEN, "c2VjcmV0IGJsb2Nr"]
    links = list(chain(error))
    texts = [text for link in links for text in (str(link), repr(link), repr(link.args))]
    leaks = [(secret[:10], text[:60]) for secret in secrets for text in texts if secret in text]
    assert not leaks
