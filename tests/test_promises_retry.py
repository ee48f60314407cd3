"""RetryPolicy's promises at their edges, counted at a scripted server of the test's own.

Written to kill the mutants of ``andersen_ev/retry.py`` that the suite let live
(docs/reliability.md, "Mutation testing"): a policy of one try is accepted and sends once,
zero delays are accepted and mean no wait, each negative delay is refused on its own with a
message that says what is wrong, a ``Retry-After`` longer than a short limit is not waited
out, and the first wait is drawn from the whole of ``[0, backoff]``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from andersen_ev import InvalidInputError, RateLimitedError, ServerError
from andersen_ev.http import GraphQLHttp
from andersen_ev.retry import RetryPolicy
from tests.scripted_server import Script, json_reply, text_reply


class Tokens:
    """A token source with one token that is never refused."""

    async def id_token(self) -> str:
        return "token"

    def invalidate(self, id_token: str | None = None) -> None:
        raise AssertionError("no reply here refuses the token")


def client(
    session: aiohttp.ClientSession, url: str, policy: RetryPolicy
) -> tuple[GraphQLHttp, list[float]]:
    """GraphQL over HTTP with ``policy``; its waits are recorded, not slept."""
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    sleep: Callable[[float], Awaitable[None]] = record
    return GraphQLHttp(
        lambda: session, url, Tokens(), timeout=5.0, retry=policy, sleep=sleep
    ), waits


async def test_one_attempt_is_a_valid_policy_that_sends_a_query_once(
    script: Script, session: aiohttp.ClientSession
) -> None:
    policy = RetryPolicy(attempts=1)
    script.replies = [text_reply("busy", status=503)]
    http, waits = client(session, script.url, policy)
    with pytest.raises(ServerError):
        await http.execute("getSupportMessage")
    assert len(script.bodies) == 1
    assert waits == []


async def test_zero_delays_are_valid_and_mean_no_wait(
    script: Script, session: aiohttp.ClientSession
) -> None:
    policy = RetryPolicy(attempts=3, backoff=0, max_backoff=0, max_retry_after=0)
    script.replies = [
        text_reply("busy", status=503),
        text_reply("busy", status=502),
        json_reply({"data": {"ok": True}}),
    ]
    http, waits = client(session, script.url, policy)
    assert (await http.execute("getSupportMessage")).data == {"ok": True}
    assert len(script.bodies) == 3
    assert waits == [0.0, 0.0]


async def test_a_retry_after_beyond_a_short_limit_fails_at_once(
    script: Script, session: aiohttp.ClientSession
) -> None:
    script.replies = [json_reply({}, status=429, **{"Retry-After": "1"})]
    http, waits = client(session, script.url, RetryPolicy(max_retry_after=0.5))
    with pytest.raises(RateLimitedError) as info:
        await http.execute("getSupportMessage")
    assert info.value.retry_after == 1
    assert len(script.bodies) == 1
    assert waits == []


@pytest.mark.parametrize("delay", ["backoff", "max_backoff", "max_retry_after"])
def test_each_negative_delay_is_refused(delay: str) -> None:
    arguments: dict[str, Any] = {delay: -0.5}
    with pytest.raises(InvalidInputError, match=r"^RetryPolicy delays must not be negative$"):
        RetryPolicy(**arguments)


@pytest.mark.parametrize("attempts", [0, -1])
def test_fewer_than_one_attempt_is_refused_with_what_is_allowed(attempts: int) -> None:
    with pytest.raises(InvalidInputError) as info:
        RetryPolicy(attempts=attempts)
    assert str(info.value) == (
        f"RetryPolicy.attempts must be at least 1 (1 disables retrying), got {attempts}"
    )


def test_the_first_wait_spans_zero_to_backoff() -> None:
    """Full jitter: the first wait is uniform over [0, backoff], each later one over twice
    the range, capped. 400 draws of a uniform variable all falling in one half of its range
    has a probability of 2**-400: these bounds do not flake."""
    policy = RetryPolicy(backoff=1.0, max_backoff=5.0)
    for retry, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        waits = [policy.delay(retry) for _ in range(400)]
        assert all(0 <= wait <= ceiling for wait in waits)
        assert max(waits) > ceiling / 2
        assert min(waits) < ceiling / 2
