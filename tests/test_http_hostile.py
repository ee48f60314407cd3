"""GraphQL over HTTP against a hostile server (tests/hostile_server.py): however broken the
reply, only AndersenError subclasses come out, nothing of the request leaks into them, no
redirect is followed and no reply is read past its limit.

Every case runs a query and a mutation (``user_lock``); a mutation whose answer is lost
after sending says "may have been applied" (OutcomeUnknownError), never "try again".
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any, Final

import pytest

from andersen_ev import (
    AndersenA2,
    AndersenConnectionError,
    AndersenError,
    ApiError,
    OutcomeUnknownError,
    ResponseError,
    RetryPolicy,
    ServiceUnavailableError,
)
from andersen_ev.wire import MAX_REPLY_BYTES
from tests.fuzz_support import far_client, far_tokens, outcome
from tests.hostile_server import (
    Answer,
    HostileServer,
    deep_json,
    raw,
    redirect,
    reply,
    streamed,
)
from tests.raw_server import serving
from tests.test_auth_network import chain

DEVICE: Final = "0123456789abcdef01234567"
ONCE: Final = RetryPolicy(attempts=1)
SECRETS: Final = [
    far_tokens().id_token.get_secret_value(),
    far_tokens().access_token.get_secret_value(),
    far_tokens().refresh_token.get_secret_value(),
]


def endless() -> Iterator[bytes]:
    """An endless JSON array."""
    yield b"["
    yield from itertools.repeat(b"1," * 32768)


#: Broken replies, each answered to every request.
BROKEN: Final[dict[str, Answer]] = {
    "bad status line": raw(b"HTTP/1.1 abc\r\n\r\n"),
    "not HTTP": raw(b"\x00\x01garbage\r\n\r\n"),
    "bad content length": raw(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n{}"),
    "truncated body": reply(b'{"data": {', length=100),
    "closed at once": raw(b""),
    "not JSON": reply(b"<html>hello</html>"),
    "not UTF-8": reply(b'{"data": "\xff\xfe"}'),
    "NaN": reply(b'{"data": {"getDevice": {"deviceStatus": {"evseState": NaN}}}}'),
    "deep JSON": reply(deep_json(100_000)),
    "deep in data": reply(b'{"data": ' + deep_json(100_000) + b"}"),
    "deep errors, 500": reply(b'{"errors": ' + deep_json(100_000) + b"}", status="500 Oops"),
    "deep errors, 200": reply(b'{"errors": [' + deep_json(100_000) + b"]}"),
    "errors not a list": reply(b'{"errors": {"message": 1}, "data": null}'),
    "huge declared": reply(b"{}", length=MAX_REPLY_BYTES + 1),
    "endless": streamed(endless),
    "wrong shape": reply(b'{"data": {"getDevice": [1, 2], "runAEVCommand": "x"}}'),
    "redirect": redirect("http://127.0.0.1:9/elsewhere"),
    "redirect loop": redirect("/"),
}


@asynccontextmanager
async def hostile_client(
    answer: Answer, **options: Any
) -> AsyncIterator[tuple[HostileServer, AndersenA2]]:
    """A hostile server answering ``answer``, and a client (far tokens) aimed at it."""
    server = HostileServer(answer=answer)
    async with serving(server), far_client(server.url, **options) as a2:
        yield server, a2


def calls() -> dict[str, Callable[[AndersenA2], Any]]:
    return {
        "query": lambda a2: a2.get_device_status(DEVICE, timeout=5),
        "mutation": lambda a2: a2.user_lock(DEVICE, timeout=5),
    }


def leaks(error: BaseException) -> list[str]:
    """The secrets found in any text of ``error``'s chain."""
    texts = [text for link in chain(error) for text in (str(link), repr(link), repr(link.args))]
    return [secret for secret in SECRETS for text in texts if secret in text]


@pytest.mark.parametrize("kind", ["query", "mutation"])
@pytest.mark.parametrize("case", sorted(BROKEN))
async def test_only_library_errors_and_no_secret_come_out(case: str, kind: str) -> None:
    async with hostile_client(BROKEN[case], retry=ONCE) as (server, a2):
        start = time.monotonic()
        error = await outcome(calls()[kind](a2))
        elapsed = time.monotonic() - start
    assert isinstance(error, AndersenError), repr(error)
    assert not leaks(error), f"{case}: {leaks(error)}"
    assert not [link for link in chain(error) if type(link).__module__.startswith("aiohttp")]
    assert len(str(error)) < 2000
    assert elapsed < 3  # nothing waits for the 5 s timeout: a bounded read gives up at once
    if kind == "mutation" and server.requests and isinstance(error, ServiceUnavailableError):
        # sent and lost: an outage would invite a blind retry
        assert not isinstance(error, AndersenConnectionError) or error.before_request


async def test_a_redirect_is_never_followed() -> None:
    async with serving(HostileServer()) as elsewhere:
        target = redirect(elsewhere.url + "steal")
        async with hostile_client(target) as (server, a2):
            lock = await outcome(a2.user_lock(DEVICE))
            read = await outcome(a2.get_support_message())
    assert elsewhere.requests == []  # neither the token nor the command went there
    assert server.count("runAEVCommand") == 1
    assert isinstance(lock, OutcomeUnknownError)
    assert "read the state back" in str(lock)
    assert isinstance(read, AndersenConnectionError)
    assert "redirect (HTTP 307) to 127.0.0.1" in str(read)
    assert "steal" not in str(read)


async def test_an_endless_reply_is_cut_at_the_limit() -> None:
    async with hostile_client(streamed(endless), retry=ONCE) as (_, a2):
        error = await outcome(a2.get_device_status(DEVICE, timeout=20))
    assert isinstance(error, ResponseError)
    assert f"larger than {MAX_REPLY_BYTES} bytes" in str(error)
    assert error.__context__ is None


async def test_a_huge_error_message_is_quoted_briefly() -> None:
    errors = [{"message": "x" * 1_000_000, "extensions": {"code": "BOOM"}}] * 3
    body = json.dumps({"errors": errors}).encode()
    async with hostile_client(reply(body)) as (_, a2):
        error = await outcome(a2.get_support_message())
    assert isinstance(error, ApiError)
    assert error.code == "BOOM"
    assert len(error.errors) == 3  # the whole list stays available
    assert len(str(error)) < 1100


async def test_an_aiohttp_error_is_replaced_by_a_secret_free_cause() -> None:
    """aiohttp's ClientResponseError holds the request (its Authorization header): it must
    not be the cause or the context of what the caller gets."""
    async with hostile_client(raw(b"HTTP/1.1 abc\r\n\r\n"), retry=ONCE) as (_, a2):
        error = await outcome(a2.get_support_message())
    assert isinstance(error, AndersenConnectionError)
    assert error.__context__ is None
    cause = error.__cause__
    assert cause is not None
    assert type(cause).__module__ == "andersen_ev.exceptions"
    assert "ClientResponseError" in str(cause)
