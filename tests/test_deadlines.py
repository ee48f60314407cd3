"""``timeout=`` is a deadline for the whole call, measured against a cloud that accepts
connections and never answers (a hostile server of the tests' own).

* Every public query and command returns or raises within its deadline (with a margin for
  a loaded machine, far below what a second try would add): with fresh tokens, with a
  token refresh due (Cognito hangs too), and with the session's default.
* Waiting for a shared refresh is bounded, and leaving it never cancels the refresh that
  other callers wait for: one refresh reaches Cognito, however many calls gave up on it.
* Retries, their waits and ``Retry-After`` fit in the deadline, or are not started.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import pytest

from andersen_ev import (
    AndersenA2,
    AndersenError,
    AndersenTimeoutError,
    CommandNotConfirmedError,
    Endpoints,
    OutcomeUnknownError,
    RateLimitedError,
    RetryPolicy,
    Schedule,
    ServiceUnavailableError,
    StreamSettings,
    StreamState,
    Tokens,
)
from andersen_ev.testing import AndersenCloud, Charger
from tests.fuzz_support import NOWHERE, far_tokens
from tests.hostile_server import HostileServer, never, reply

DEVICE: Final = "0123456789abcdef01234567"
#: The deadline every call is given, in seconds.
DEADLINE: Final = 0.3
#: What a loaded machine may add to it. Without the deadline, a second try alone would add
#: another DEADLINE and the four tries of the default policy three.
MARGIN: Final = 0.25
NIGHT: Final = Schedule(start_hour=0, start_minute=30, end_hour=4, end_minute=30)

#: A value for each parameter name the public methods use.
SAMPLES: Final[dict[str, Any]] = {
    "device_id": DEVICE,
    "device_ids": [DEVICE],
    "function_name": "userLock",
    "slot_number": 0,
    "slots": {0: NIGHT},
    "charge_id": "rate-1",
    "price": 0.25,
    "friendly_name": "Garage",
    "names": ["Night"],
    "device_name": "A2-1",
    "name_or_id": DEVICE,
    "name": "Driveway",
    "address_fragment": "1 High St",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "token": "push-token",
}
#: Public coroutine methods with ``timeout=`` whose timeout means something else.
NOT_A_CALL_DEADLINE: Final = {"wait_for"}


def calls() -> dict[str, Callable[[AndersenA2, float | None], Awaitable[object]]]:
    """Every public query and command of AndersenA2 (those taking ``timeout=``), with
    arguments built from :data:`SAMPLES`, so that a method added later is covered too."""
    found: dict[str, Callable[[AndersenA2, float | None], Awaitable[object]]] = {}
    for name, method in inspect.getmembers(AndersenA2, inspect.iscoroutinefunction):
        signature = inspect.signature(method)
        if name.startswith("_") or name in NOT_A_CALL_DEADLINE:
            continue
        if "timeout" not in signature.parameters:
            continue
        required = [
            parameter.name
            for parameter in signature.parameters.values()
            if parameter.name != "self"
            and parameter.default is inspect.Parameter.empty
            and parameter.kind is not inspect.Parameter.VAR_POSITIONAL
        ]
        missing = [parameter for parameter in required if parameter not in SAMPLES]
        assert not missing, f"add a sample value for {missing} of AndersenA2.{name}"
        arguments = {parameter: SAMPLES[parameter] for parameter in required}

        def call(
            a2: AndersenA2, timeout: float | None, name: str = name, kwargs: Any = arguments
        ) -> Awaitable[object]:
            return getattr(a2, name)(**kwargs, timeout=timeout)  # type: ignore[no-any-return]

        found[name] = call
    return found


CALLS: Final = calls()
MUTATING: Final = {
    name
    for name in CALLS
    if name
    not in {
        "find_device",
        "device_by_name",
        "device_id_from_name",
        "search_address",
        "get_schedule",
    }
    and not name.startswith("get_")
}


def test_the_table_covers_the_queries_and_commands() -> None:
    assert {"get_device_status", "user_lock", "rcm_reset", "enable_schedule"} <= set(CALLS)
    assert len(CALLS) >= 35


def due_tokens() -> Tokens:
    """Tokens whose refresh is due: every call must wait for a refresh first."""
    now = datetime.now(UTC)
    return far_tokens().model_copy(
        update={"expires_at": now - timedelta(minutes=1), "issued_at": now - timedelta(hours=1)}
    )


@asynccontextmanager
async def hung_client(
    hostile: HostileServer, *, tokens: Tokens, cognito: bool = False, **options: Any
) -> AsyncIterator[AndersenA2]:
    """A client whose GraphQL (and websocket, and with ``cognito`` Cognito) is the hung
    server."""
    endpoints = Endpoints(
        graphql_url=hostile.url,
        websocket_url=hostile.url.replace("http", "ws", 1) + "graphql",
        user_lookup_url=NOWHERE,
        cognito_url=hostile.url if cognito else NOWHERE,
    )
    async with AndersenA2(endpoints=endpoints, tokens=tokens, **options) as a2:
        yield a2


async def timed(call: Awaitable[object]) -> tuple[object, float]:
    """What ``call`` returned or raised (an AndersenError), and how long it took."""
    start = time.monotonic()
    try:
        result: object = await call
    except AndersenError as error:
        result = error
    return result, time.monotonic() - start


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_a_hung_cloud_is_given_up_on_within_the_deadline(
    hostile: HostileServer, name: str
) -> None:
    async with hung_client(hostile, tokens=far_tokens()) as a2:
        result, elapsed = await timed(CALLS[name](a2, DEADLINE))
    assert elapsed < DEADLINE + MARGIN, f"{name} took {elapsed:.2f} s"
    assert hostile.count() == 1  # one try filled the deadline: no second one
    if name in MUTATING and name != "enable_schedule":  # enable_schedule reads first
        # sent, and no answer: may have been applied, and the message says so
        assert isinstance(result, OutcomeUnknownError), repr(result)
        assert not isinstance(result, ServiceUnavailableError)
    else:
        assert isinstance(result, AndersenTimeoutError), repr(result)
        assert not result.before_request


#: Calls of each kind for the refresh test (every call waits for tokens in the one place,
#: GraphQLHttp.execute): a query, a lookup, a command, a confirmed one, a read-then-write.
REFRESH_CALLS: Final = [
    "get_device_status",
    "find_device",
    "user_lock",
    "set_solar",
    "enable_schedule",
    "create_charge_rate",
]


@pytest.mark.parametrize("name", REFRESH_CALLS)
async def test_waiting_for_a_refresh_fits_in_the_deadline(
    hostile: HostileServer, name: str
) -> None:
    async with hung_client(hostile, tokens=due_tokens(), cognito=True) as a2:
        result, elapsed = await timed(CALLS[name](a2, DEADLINE))
        assert elapsed < DEADLINE + MARGIN, f"{name} took {elapsed:.2f} s"
        # nothing was sent: a plain outage, even for a command
        assert isinstance(result, AndersenTimeoutError), repr(result)
        assert result.before_request
        assert "token refresh" in str(result)
        # the refresh goes on for the others (shielded): the next call joins it
        second, elapsed = await timed(a2.get_device_status(DEVICE, timeout=DEADLINE))
        assert isinstance(second, AndersenTimeoutError)
        assert elapsed < DEADLINE + MARGIN
        async with asyncio.timeout(10):  # the refresh is sent (botocore may load first)
            await hostile.wait_requests(1)
        await asyncio.sleep(0.05)  # a second refresh would be here by now
    assert [request.headers.get("x-amz-target", "") for request in hostile.requests] == [
        "AWSCognitoIdentityProviderService.InitiateAuth"
    ]


async def test_the_session_default_is_a_deadline_too(hostile: HostileServer) -> None:
    async with hung_client(hostile, tokens=far_tokens(), timeout=DEADLINE) as a2:
        result, elapsed = await timed(a2.get_device_status(DEVICE))
    assert isinstance(result, AndersenTimeoutError)
    assert elapsed < DEADLINE + MARGIN
    assert hostile.count() == 1


async def test_a_read_then_write_shares_one_deadline(hostile: HostileServer) -> None:
    """enable_schedule reads the slot, then writes it: both within one ``timeout``."""
    slot = (
        b'{"data": {"getDevice": {"id": "%s", "deviceStatus": {"scheduleSlotsArray": [{'
        b'"startHour": 1, "startMinute": 0, "endHour": 5, "endMinute": 30, "enabled": false,'
        b' "dayMap": {"monday": true}}]}}}}' % DEVICE.encode()
    )
    answers = [reply(slot), never()]

    async def answer(request: Any, writer: asyncio.StreamWriter) -> None:
        await answers.pop(0)(request, writer)

    hostile.answer = answer
    async with hung_client(hostile, tokens=far_tokens()) as a2:
        result, elapsed = await timed(a2.enable_schedule(DEVICE, 0, timeout=DEADLINE))
    assert isinstance(result, OutcomeUnknownError), repr(result)
    assert elapsed < DEADLINE + MARGIN
    assert [hostile.count("getDevice"), hostile.count("setSchedules")] == [1, 1]


async def test_confirm_adds_its_own_wait_after_sending(hostile: HostileServer) -> None:
    """A confirmed command whose answer never comes: the status is read back (it never
    comes either) within ``confirm``, after the ``timeout`` of sending."""
    async with hung_client(hostile, tokens=far_tokens(), confirm_interval=0.05) as a2:
        result, elapsed = await timed(a2.user_lock(DEVICE, confirm=DEADLINE, timeout=DEADLINE))
    assert isinstance(result, CommandNotConfirmedError), repr(result)
    assert result.answer_lost
    assert "its answer was lost" in str(result)
    assert elapsed < 2 * DEADLINE + MARGIN
    assert hostile.count("runAEVCommand") == 1


async def test_a_query_retries_a_hung_try_within_the_deadline(hostile: HostileServer) -> None:
    """attempt_timeout cuts one try short, so that the next may be answered."""
    policy = RetryPolicy(attempts=3, backoff=0, max_backoff=0, attempt_timeout=0.1)
    async with hung_client(hostile, tokens=far_tokens(), retry=policy) as a2:
        result, elapsed = await timed(a2.get_support_message(timeout=1.0))
    assert isinstance(result, AndersenTimeoutError)
    assert hostile.count() == 3
    assert 0.3 <= elapsed < 0.3 + MARGIN


# -- retries and Retry-After fit in the deadline -------------------------------------------------


async def test_a_retry_after_beyond_the_deadline_is_refused_at_once(
    hostile: HostileServer,
) -> None:
    hostile.answer = reply(b"{}", status="429 Too Many Requests", headers=("Retry-After: 5",))
    async with hung_client(hostile, tokens=far_tokens()) as a2:
        result, elapsed = await timed(a2.get_device_status(DEVICE, timeout=2.0))
    assert isinstance(result, RateLimitedError)
    assert result.retry_after == 5
    assert elapsed < MARGIN  # not waited for, not even partly
    assert hostile.count() == 1


async def test_a_retry_that_cannot_fit_is_not_started(hostile: HostileServer) -> None:
    """Retry-After 0.4 within a 0.6 s deadline: waited once; the second would end after
    the deadline, so the call gives up at once with the server's answer."""
    hostile.answer = reply(b"{}", status="429 Too Many Requests", headers=("Retry-After: 0.4",))
    async with hung_client(hostile, tokens=far_tokens()) as a2:
        result, elapsed = await timed(a2.get_device_status(DEVICE, timeout=0.6))
    assert isinstance(result, RateLimitedError)
    assert hostile.count() == 2
    assert 0.4 <= elapsed < 0.4 + MARGIN


async def test_no_time_left_before_sending_is_an_outage(hostile: HostileServer) -> None:
    """A call inside an expired deadline block sends nothing."""
    async with hung_client(hostile, tokens=far_tokens()) as a2:
        with a2._graphql.deadline(0.01):
            await asyncio.sleep(0.02)
            result, _ = await timed(a2.user_lock(DEVICE))
    assert isinstance(result, AndersenTimeoutError)
    assert result.before_request
    assert "nothing was sent" in str(result)
    assert hostile.count() == 0


# -- a shared refresh is never cancelled by a caller that stops waiting ------------------------


async def test_a_caller_giving_up_does_not_cancel_the_shared_refresh(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    """The emulator answers after 0.4 s; the tokens are due. A call with 0.2 s gives up
    while the refresh runs; a patient call started with it gets its answer, and Cognito saw
    one refresh."""
    andersen_cloud.faults.latency = 0.4
    now = datetime.now(UTC)
    assert a2.tokens is not None
    due = a2.tokens.model_copy(
        update={"expires_at": now - timedelta(minutes=1), "issued_at": now - timedelta(hours=1)}
    )
    refreshes = andersen_cloud.stats.refreshes
    async with AndersenA2(endpoints=andersen_cloud.endpoints, tokens=due) as client:
        hasty = asyncio.ensure_future(
            timed(client.get_device_status(andersen_charger.id, timeout=0.2))
        )
        patient = asyncio.ensure_future(
            timed(client.get_device_status(andersen_charger.id, timeout=5.0))
        )
        (gave_up, hasty_time), (status, _) = await asyncio.gather(hasty, patient)
    assert isinstance(gave_up, AndersenTimeoutError)
    assert hasty_time < 0.2 + MARGIN
    assert not isinstance(status, AndersenError), repr(status)
    assert andersen_cloud.stats.refreshes == refreshes + 1
    assert client.tokens is not None
    assert client.tokens.expires_at > now


# -- the calls without timeout=: the session's timeout is their deadline ------------------------

#: Public coroutines without ``timeout=``, each with what a call looks like (apply_charging_plan
#: reads the status first as charge_now does; wait_for's timeout is the wait).
SESSION_CALLS: Final[dict[str, Callable[[AndersenA2], Awaitable[object]]]] = {
    "authenticate": lambda a2: a2.authenticate("user@example.com", "password"),
    "confirm_device": lambda a2: a2.confirm_device(),
    "forget_device": lambda a2: a2.forget_device(),
    "sign_out": lambda a2: a2.sign_out(),
    "charge_now": lambda a2: a2.charge_now(DEVICE),
    "is_car_connected": lambda a2: a2.is_car_connected(DEVICE),
    "diagnostics": lambda a2: a2.diagnostics(),
    "restore": lambda a2: a2.restore(DEVICE),
}


def test_the_session_calls_cover_every_coroutine_without_timeout() -> None:
    untimed = {
        name
        for name, method in inspect.getmembers(AndersenA2, inspect.iscoroutinefunction)
        if not name.startswith("_") and "timeout" not in inspect.signature(method).parameters
    }
    assert untimed - set(SESSION_CALLS) == {"apply_charging_plan", "close"}


@pytest.mark.parametrize("name", sorted(SESSION_CALLS))
async def test_calls_without_timeout_give_up_within_the_sessions(
    hostile: HostileServer, name: str
) -> None:
    endpoints = Endpoints(
        graphql_url=hostile.url,
        websocket_url=hostile.url.replace("http", "ws", 1) + "graphql",
        user_lookup_url=hostile.url + "get-pending-user",
        cognito_url=hostile.url,
    )
    async with AndersenA2(endpoints=endpoints, tokens=far_tokens(), timeout=DEADLINE) as a2:
        _, elapsed = await timed(SESSION_CALLS[name](a2))
    assert elapsed < DEADLINE + MARGIN, f"{name} took {elapsed:.2f} s"


async def test_a_login_fits_in_one_deadline_however_its_steps_are_slow(
    hostile: HostileServer,
) -> None:
    """The user lookup answers after most of the deadline, then Cognito never answers: the
    login gives up at the deadline, not a timeout later."""
    deadline = 0.5

    async def answer(request: Any, writer: asyncio.StreamWriter) -> None:
        if request.path.endswith("get-pending-user"):
            await asyncio.sleep(0.8 * deadline)
            await reply(b'{"username": "user"}')(request, writer)
        else:
            await never()(request, writer)

    hostile.answer = answer
    endpoints = Endpoints(
        graphql_url=NOWHERE,
        websocket_url=NOWHERE,
        user_lookup_url=hostile.url + "get-pending-user",
        cognito_url=hostile.url,
    )
    async with AndersenA2(endpoints=endpoints, timeout=deadline) as a2:
        result, elapsed = await timed(a2.authenticate("user@example.com", "password"))
    assert isinstance(result, AndersenTimeoutError), repr(result)
    assert "logging in took longer than 0.5 s" in str(result)
    assert elapsed < deadline + MARGIN
    assert len(hostile.requests) == 2  # the lookup, then InitiateAuth


async def test_a_stream_start_gives_up_on_a_hung_websocket_within_its_connect_timeout(
    hostile: HostileServer,
) -> None:
    """The websocket upgrade is never answered: the stream leaves "connecting" for
    "reconnecting" within ``connect_timeout``, and a consumer is not stuck on it."""
    settings = StreamSettings(connect_timeout=DEADLINE, backoff=5.0)
    async with hung_client(hostile, tokens=far_tokens(), stream_settings=settings) as a2:
        states: list[tuple[StreamState, float]] = []
        start = time.monotonic()
        a2.on_stream_state(lambda state: states.append((state, time.monotonic() - start)))
        left = asyncio.Event()
        a2.on_stream_state(lambda state: left.set() if state is StreamState.RECONNECTING else None)
        updates = a2.subscribe_device_updates(DEVICE)
        consumer = asyncio.ensure_future(anext(aiter(updates)))
        async with asyncio.timeout(5):
            await left.wait()
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        await updates.aclose()
    assert [state for state, _ in states][:2] == [StreamState.CONNECTING, StreamState.RECONNECTING]
    assert states[1][1] < DEADLINE + MARGIN
