"""Fuzzing what servers answer: whatever comes back, the user sees a valid model or an
:class:`~andersen_ev.AndersenError` subclass, never ``KeyError``, ``TypeError``, pydantic's
``ValidationError``, ``JSONDecodeError`` or anything else.

Replies are served by real loopback servers: the scripted GraphQL server (random JSON,
truncated and corrupted real replies, random statuses), a raw TCP server (broken HTTP), a
scripted Cognito, and a scripted websocket server (random and truncated frames).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from andersen_ev import (
    Address,
    AndersenA2,
    AndersenError,
    ChargeLog,
    ChargeRate,
    CommandResult,
    Device,
    DeviceInfo,
    DeviceStatus,
    Endpoints,
    ResponseError,
    Schedule,
    ScheduleSlot,
    SolarSettings,
    Tokens,
)
from andersen_ev.graphql import operation_document
from andersen_ev.retry import RetryPolicy
from andersen_ev.stream import StreamSettings
from andersen_ev.testing import AndersenCloud, Charger, EmulatedUser
from tests.fuzz_support import (
    FUZZ,
    FUZZ_FEW,
    NOWHERE,
    encode,
    far_client,
    far_tokens,
    graphql_errors,
    json_values,
    outcome,
    paths,
    removed,
    replaced,
)
from tests.loopback import serve
from tests.raw_server import RawServer, http_answer
from tests.scripted_server import Script
from tests.testing.ws_helpers import status as status_payload

DEVICE = "0123456789abcdef01234567"
SCHEDULE = {"startHour": 1, "startMinute": 0, "endHour": 5, "endMinute": 30}
#: No waiting between tries, and a Retry-After of more than 10 ms is not waited for.
QUICK = RetryPolicy(attempts=2, backoff=0, max_backoff=0, max_retry_after=0.01)


def _all(kind: type[Any]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, list) and all(isinstance(v, kind) for v in value)


def _is(*kinds: type[Any] | None) -> Callable[[Any], bool]:
    types = tuple(type(None) if kind is None else kind for kind in kinds)
    return lambda value: isinstance(value, types)


def _anything(_value: Any) -> bool:
    return True  # the method returns the service's opaque JSON


Call = Callable[[AndersenA2], Awaitable[Any]]
#: Each public method that reads a reply, with what it may return.
CALLS: dict[str, tuple[Call, Callable[[Any], bool]]] = {
    "get_device_status": (lambda a2: a2.get_device_status(DEVICE), _is(DeviceStatus)),
    "get_device_status_simple": (
        lambda a2: a2.get_device_status_simple(DEVICE),
        _is(DeviceStatus),
    ),
    "get_device": (lambda a2: a2.get_device(DEVICE), _is(Device)),
    "get_current_user_devices": (lambda a2: a2.get_current_user_devices(), _all(Device)),
    "get_support_message": (lambda a2: a2.get_support_message(), _is(str, None)),
    "get_device_charge_rates": (lambda a2: a2.get_device_charge_rates(DEVICE), _all(ChargeRate)),
    "get_device_lora": (lambda a2: a2.get_device_lora(DEVICE), _anything),
    "get_device_solar": (lambda a2: a2.get_device_solar(DEVICE), _is(DeviceInfo)),
    "get_calculated_power_logs_binned": (
        lambda a2: a2.get_calculated_power_logs_binned(DEVICE),
        _anything,
    ),
    "search_address": (lambda a2: a2.search_address("1 High St"), _all(Address)),
    "get_device_calculated_charge_logs": (
        lambda a2: a2.get_device_calculated_charge_logs(DEVICE),
        _all(ChargeLog),
    ),
    "get_schedule": (lambda a2: a2.get_schedule(DEVICE, 0), _is(ScheduleSlot)),
    "get_solar": (lambda a2: a2.get_solar(DEVICE), _is(SolarSettings)),
    "device_id_from_name": (lambda a2: a2.device_id_from_name("Driveway"), _is(str)),
    "user_lock": (lambda a2: a2.user_lock(DEVICE), _is(CommandResult, None)),
    "create_schedule": (
        lambda a2: a2.create_schedule(DEVICE, 1, SCHEDULE),
        _is(CommandResult, None),
    ),
    "enable_schedule": (lambda a2: a2.enable_schedule(DEVICE, 0), _is(CommandResult, None)),
    "set_all_schedules_disabled": (
        lambda a2: a2.set_all_schedules_disabled(DEVICE),
        _is(CommandResult, None),
    ),
    "set_solar": (lambda a2: a2.set_solar(DEVICE, True, False, 50), _is(CommandResult, None)),
    "upsert_device_friendly_name": (
        lambda a2: a2.upsert_device_friendly_name(DEVICE, "Garage"),
        _is(str, None),
    ),
    "set_schedule_names": (lambda a2: a2.set_schedule_names(DEVICE, ["Night"]), _is(DeviceInfo)),
    "create_charge_rate": (lambda a2: a2.create_charge_rate(DEVICE, 0.25), _is(ChargeRate)),
    "claim_device_by_name": (lambda a2: a2.claim_device_by_name("A2-1"), _is(Device, None)),
    "unclaim_device": (lambda a2: a2.unclaim_device(DEVICE), _anything),
}
ROOT_FIELDS = (
    "getDevice",
    "getCurrentUserDevices",
    "getSupportMessage",
    "searchAddress",
    "getSolar",
    "runAEVCommand",
    "setSchedules",
    "setAllSchedulesDisabled",
    "setSolar",
    "upsertDeviceInfo",
    "createChargeRate",
    "claimDeviceByName",
    "unclaimDevice",
)


@dataclasses.dataclass(repr=False)
class Replier:
    """The scripted GraphQL server, answering every request with one reply at a time."""

    script: Script

    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return f"Replier({self.url!r})"

    @property
    def url(self) -> str:
        return self.script.url

    def serve(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        """Answer every request of the next example with this reply."""

        def reply() -> web.StreamResponse:
            return web.Response(body=body, status=status, headers=headers)

        self.script.replies = [reply] * 8
        self.script.bodies.clear()
        self.script.authorizations.clear()


@pytest.fixture
def replier(script: Script) -> Replier:
    return Replier(script)


async def check_call(session: aiohttp.ClientSession, url: str, name: str) -> Any:
    """Run one method; it must return what it promises or raise an AndersenError."""
    call, fits = CALLS[name]
    # a new client per example: an UNAUTHENTICATED reply changes a client's token state
    async with far_client(url, session=session, retry=QUICK, timeout=5.0) as a2:
        result = await outcome(call(a2))
    assert isinstance(result, AndersenError) or fits(result), f"{name} returned {result!r}"
    if currently_in_test_context():  # what examples led to: --hypothesis-show-statistics
        event(type(result).__name__)
    return result


# -- random replies -------------------------------------------------------------------------------


def envelopes(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``inner`` alone, and placed where the client looks: data, a root field, getDevice ..."""
    return st.one_of(
        inner,
        st.builds(lambda value: {"data": value}, inner),
        st.builds(lambda root, value: {"data": {root: value}}, st.sampled_from(ROOT_FIELDS), inner),
        st.builds(lambda value: {"data": {"getDevice": {"deviceStatus": value}}}, inner),
        st.builds(lambda value, errors: {"data": value, "errors": errors}, inner, graphql_errors),
        st.builds(lambda errors: {"errors": errors}, graphql_errors),
    )


statuses = st.sampled_from([200, 200, 200, 400, 429, 500, 502, 503]) | st.integers(200, 599)
retry_after = st.dictionaries(
    st.just("Retry-After"),
    st.sampled_from(["0", "0.001", "1", "-1", "nan", "inf", "1e400", "soon"])
    | st.from_regex(r"\A[0-9a-z. -]{0,8}\Z"),
)
bodies = envelopes(json_values).map(encode) | st.binary(max_size=48)


@pytest.mark.timeout(90)
@FUZZ
@given(name=st.sampled_from(sorted(CALLS)), status=statuses, body=bodies, headers=retry_after)
async def test_random_replies_give_models_or_andersen_errors(
    replier: Replier,
    session: aiohttp.ClientSession,
    name: str,
    status: int,
    body: bytes,
    headers: dict[str, str],
) -> None:
    replier.serve(status, body, headers)
    await check_call(session, replier.url, name)


# -- real replies, truncated and corrupted --------------------------------------------------------


class RealReplies(dict[str, bytes]):
    """Reply bodies by operation name (with a short repr: hypothesis prints arguments)."""

    def __repr__(self) -> str:
        return f"RealReplies({sorted(self)})"


@pytest.fixture
async def real_replies(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_charger: Charger,
    session: aiohttp.ClientSession,
) -> dict[str, bytes]:
    """The emulator's replies to the main queries, as raw bodies."""
    id_token, _, _ = andersen_cloud.tokens.issue(
        sub=andersen_user.sub,
        username=andersen_user.username,
        email=andersen_user.email,
        device_key=None,
    )
    andersen_charger.set_schedules({"sch0": Schedule.model_validate(SCHEDULE).to_wire()})
    andersen_cloud.settle()  # the charger applies the command
    replies = RealReplies()
    for operation, variables in [
        ("getDeviceStatus", {"id": andersen_charger.id}),
        ("getDevice", {"id": andersen_charger.id}),
        ("getCurrentUserDevices", {}),
    ]:
        async with session.post(
            andersen_cloud.endpoints.graphql_url,
            json={
                "operationName": operation,
                "query": operation_document(operation),
                "variables": variables,
            },
            headers={"Authorization": f"Bearer {id_token}"},
        ) as response:
            assert response.status == 200
            replies[operation] = await response.read()
    return replies


#: Which method reads which real reply, and the operation it sends.
READERS = {
    "get_device_status": ("getDeviceStatus", "getDeviceStatus"),
    "get_device_status_simple": ("getDeviceStatus", "getDeviceStatusSimple"),
    "get_device": ("getDevice", "getDevice"),
    "get_schedule": ("getDevice", "getDevice"),
    "enable_schedule": ("getDevice", "getDevice"),
    "get_current_user_devices": ("getCurrentUserDevices", "getCurrentUserDevices"),
    "device_id_from_name": ("getCurrentUserDevices", "getCurrentUserDevices"),
}


async def test_real_replies_parse(
    replier: Replier, session: aiohttp.ClientSession, real_replies: RealReplies
) -> None:
    """The baseline the fuzzing below corrupts: untouched, every reader gets a model."""
    for name, (operation, _) in READERS.items():
        if name == "enable_schedule":
            continue  # it sends a mutation next, which needs another reply
        replier.serve(200, real_replies[operation])
        result = await check_call(session, replier.url, name)
        assert not isinstance(result, AndersenError), (name, result)
    status = DeviceStatus.model_validate(
        json.loads(real_replies["getDeviceStatus"])["data"]["getDevice"]["deviceStatus"]
    )
    slot = status.schedules[0]
    assert slot is not None
    assert (slot.start_hour, slot.end_minute) == (1, 30)


@FUZZ
@given(name=st.sampled_from(sorted(READERS)), cut=st.integers(min_value=0))
async def test_truncated_real_replies_are_response_errors(
    replier: Replier,
    session: aiohttp.ClientSession,
    real_replies: RealReplies,
    name: str,
    cut: int,
) -> None:
    operation, sent = READERS[name]
    body = real_replies[operation]
    replier.serve(200, body[: cut % len(body)])
    result = await check_call(session, replier.url, name)
    assert isinstance(result, ResponseError), result
    assert result.operation == sent  # named for the user, with the advice to report it
    assert "please report it" in str(result)


def dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in path)


@pytest.mark.timeout(60)
@FUZZ
@given(data=st.data(), new=json_values | st.just(...))
async def test_wrong_types_at_random_paths_of_a_real_status_reply(
    replier: Replier,
    session: aiohttp.ClientSession,
    real_replies: RealReplies,
    data: st.DataObject,
    new: object,
) -> None:
    """Corrupt one value (or remove it, for ``...``) anywhere in a real getDeviceStatus reply.

    The client returns exactly the status the corrupted reply holds, or a ResponseError that
    points at the corrupted place (or above it), or another AndersenError (e.g. no device).
    """
    document = json.loads(real_replies["getDeviceStatus"])
    path = data.draw(st.sampled_from(list(paths(document))))
    if new is ...:
        corrupted = removed(document, path) if path else {}
    else:
        corrupted = replaced(document, path, new)
    replier.serve(200, encode(corrupted), {})
    result = await check_call(session, replier.url, "get_device_status")
    if isinstance(result, DeviceStatus):
        sent = corrupted["data"]["getDevice"]["deviceStatus"]
        assert result == DeviceStatus.model_validate(sent)
    elif isinstance(result, ResponseError) and result.path is not None:
        where = dotted(path[1:])  # the reply's "data" is not part of the paths users see
        assert where.startswith(result.path) or result.path.startswith(where), (where, result)


# -- HTTP itself broken: a raw TCP server ---------------------------------------------------------


raw_answers = st.one_of(
    st.binary(max_size=64),
    st.builds(
        http_answer,
        st.sampled_from([b"200 OK", b"503 Busy", b"429 Slow", b"2000 X", b"OK", b""]),
        st.lists(
            st.sampled_from(
                [
                    b"Content-Length: 1000",
                    b"Content-Length: -1",
                    b"Content-Length: x",
                    b"Transfer-Encoding: chunked",
                    b"Content-Encoding: gzip",
                    b"Content-Type: application/json",
                    b"Retry-After: 0",
                    b"Broken header",
                ]
            ),
            max_size=3,
        ),
        bodies,
    ),
)


@FUZZ_FEW
@given(name=st.sampled_from(sorted(CALLS)), answer=raw_answers)
async def test_broken_http_is_an_andersen_error(
    raw_server: RawServer, session: aiohttp.ClientSession, name: str, answer: bytes
) -> None:
    raw_server.answer = answer
    await check_call(session, raw_server.url, name)


async def test_reply_cut_off_mid_body_is_a_connection_error(
    raw_server: RawServer, session: aiohttp.ClientSession, real_replies: RealReplies
) -> None:
    body = real_replies["getDeviceStatus"]
    raw_server.answer = http_answer(
        b"200 OK", [b"Content-Length: %d" % len(body)], body[: len(body) // 2]
    )
    result = await check_call(session, raw_server.url, "get_device_status")
    assert isinstance(result, AndersenError)
    assert "try again" in str(result)


# -- Cognito's answers ----------------------------------------------------------------------------

Answer = tuple[int, bytes]
GOOD_VERIFIER: dict[str, Any] = {
    "ChallengeName": "PASSWORD_VERIFIER",
    "ChallengeParameters": {
        "SALT": "a1b2c3",
        "SRP_B": "0abc" * 16,
        "SECRET_BLOCK": "c2VjcmV0IGJsb2Nr",
        "USERNAME": "user",
        "USER_ID_FOR_SRP": "user",
    },
}
GOOD_RESULT: dict[str, Any] = {
    "AuthenticationResult": {
        "IdToken": "fuzz-id",
        "AccessToken": "fuzz-access",
        "RefreshToken": "fuzz-refresh",
        "ExpiresIn": 3600,
        "TokenType": "Bearer",
        "NewDeviceMetadata": {"DeviceKey": "eu-west-1_dev", "DeviceGroupKey": "-grp"},
    },
    "ChallengeParameters": {},
}
#: What each endpoint answers when the example does not say otherwise: a whole session works.
GOOD: dict[str, Answer] = {
    "lookup": (200, encode({"username": "user"})),
    "InitiateAuth": (200, encode(GOOD_VERIFIER)),
    "RespondToAuthChallenge": (200, encode(GOOD_RESULT)),
    "ConfirmDevice": (200, encode({"UserConfirmationNecessary": True})),
    "UpdateDeviceStatus": (200, b"{}"),
    "ForgetDevice": (200, b"{}"),
    "GlobalSignOut": (200, b"{}"),
}


@dataclasses.dataclass(repr=False)
class FakeCognito:
    """Cognito and the user lookup on loopback, answering from per-operation queues."""

    url: str = ""
    answers: dict[str, list[Answer]] = dataclasses.field(default_factory=dict)

    def __repr__(self) -> str:
        return f"FakeCognito({self.url!r})"

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        target = request.headers.get("X-Amz-Target", "lookup").rpartition(".")[2]
        queue = self.answers.get(target)
        status, body = queue.pop(0) if queue else GOOD[target]
        return web.Response(body=body, status=status, content_type="application/x-amz-json-1.1")


@pytest.fixture
async def fake_cognito() -> AsyncIterator[FakeCognito]:
    fake = FakeCognito()
    app = web.Application()
    app.router.add_post("/", fake.handle)
    app.router.add_post("/get-pending-user", fake.handle)
    async with serve(app) as fake.url:
        yield fake


async def cognito_session(
    session: aiohttp.ClientSession, fake: FakeCognito, answers: dict[str, list[Answer]]
) -> None:
    """Log in, confirm the device, refresh and sign out; every step meets ``answers`` first.

    Each step must return what it promises or raise an AndersenError.
    """
    fake.answers = {operation: list(queue) for operation, queue in answers.items()}
    endpoints = Endpoints(
        graphql_url=NOWHERE, cognito_url=fake.url, user_lookup_url=fake.url + "get-pending-user"
    )
    async with AndersenA2(session, endpoints=endpoints, timeout=5.0) as a2:
        steps: list[tuple[Call, type[Any]]] = [
            (lambda a2: a2.authenticate("me@example.com", "pw"), Tokens),
            (lambda a2: a2.confirm_device("fuzz"), Tokens),
            (lambda a2: a2.auth.refresh(), Tokens),
            (lambda a2: a2.forget_device(), type(None)),
            (lambda a2: a2.sign_out(), type(None)),
        ]
        for step, kind in steps:
            result = await outcome(step(a2))
            assert isinstance(result, AndersenError | kind), result
            if currently_in_test_context():
                event(type(result).__name__)


text = st.text(st.characters(codec="utf-8"), max_size=20)
hex_text = st.from_regex(r"\A[0-9a-f]{0,40}\Z") | text
errors = st.builds(
    lambda status, code, message: (status, encode({"__type": code, "message": message})),
    st.sampled_from([400, 500, 503]) | st.integers(300, 599),
    st.sampled_from(
        [
            "NotAuthorizedException",
            "UserNotFoundException",
            "ResourceNotFoundException",
            "TooManyRequestsException",
            "UserNotConfirmedException",
            "PasswordResetRequiredException",
            "InvalidParameterException",
        ]
    )
    | text,
    st.sampled_from(["Incorrect username or password.", "Password attempts exceeded"]) | text,
)
challenges = st.fixed_dictionaries(
    {
        "ChallengeName": st.sampled_from(
            ["PASSWORD_VERIFIER", "DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER", "SMS_MFA"]
        )
        | text,
        "ChallengeParameters": st.fixed_dictionaries(
            {},
            optional={
                "SALT": hex_text,
                "SRP_B": hex_text,
                "SECRET_BLOCK": text,
                "USERNAME": text,
                "USER_ID_FOR_SRP": text,
            },
        ),
    },
    optional={"Session": st.text(st.characters(codec="ascii"), min_size=20, max_size=40)},
)
results = st.fixed_dictionaries(
    {
        "AuthenticationResult": st.fixed_dictionaries(
            {"IdToken": text, "AccessToken": text},
            optional={
                "RefreshToken": text,
                "ExpiresIn": st.integers(0, 2**31 - 1),
                "NewDeviceMetadata": st.fixed_dictionaries(
                    {}, optional={"DeviceKey": text, "DeviceGroupKey": text}
                ),
            },
        )
    }
)
#: Answers of the shapes Cognito's API model describes, with random values in them.
model_shaped = st.one_of(
    errors,
    st.tuples(st.just(200), (challenges | results | st.just({})).map(encode)),
)
lookups = st.tuples(
    st.sampled_from([200, 400, 500]),
    st.fixed_dictionaries({}, optional={"username": text, "error": text}).map(encode),
)


def answer_queues(
    answer: st.SearchStrategy[Answer], lookup: st.SearchStrategy[Answer]
) -> st.SearchStrategy[dict[str, list[Answer]]]:
    """Per operation, the first answers the example gives before the good ones resume."""
    return st.fixed_dictionaries(
        {},
        optional={
            "lookup": st.lists(lookup, max_size=1),
            **{
                operation: st.lists(answer, max_size=2)
                for operation in GOOD
                if operation != "lookup"
            },
        },
    )


@pytest.mark.timeout(90)
@FUZZ_FEW
@given(answers=answer_queues(model_shaped, lookups))
async def test_cognito_answers_of_the_right_shape_give_tokens_or_andersen_errors(
    session: aiohttp.ClientSession, fake_cognito: FakeCognito, answers: dict[str, list[Answer]]
) -> None:
    await cognito_session(session, fake_cognito, answers)


def corrupted(value: object) -> st.SearchStrategy[Any]:
    """``value`` with one place (possibly the whole) replaced by random JSON."""
    return st.builds(
        lambda path, new: replaced(value, path, new),
        st.sampled_from(list(paths(value))),
        json_values,
    )


wild = st.one_of(
    st.tuples(statuses, bodies),
    st.tuples(
        st.just(200), st.sampled_from([GOOD_VERIFIER, GOOD_RESULT]).flatmap(corrupted).map(encode)
    ),
)


@pytest.mark.timeout(60)
@settings(FUZZ_FEW, report_multiple_bugs=False)
@given(answers=answer_queues(wild, st.tuples(statuses, bodies)))
async def test_any_cognito_answer_gives_tokens_or_andersen_errors(
    session: aiohttp.ClientSession, fake_cognito: FakeCognito, answers: dict[str, list[Answer]]
) -> None:
    await cognito_session(session, fake_cognito, answers)


def _result(**fields: object) -> bytes:
    return encode({"AuthenticationResult": GOOD_RESULT["AuthenticationResult"] | fields})


def _leak(answers: dict[str, list[Answer]], leaked: type[Exception], name: str) -> Any:
    del leaked  # what escaped before the fix, kept in the table as documentation
    return pytest.param(answers, id=name)


#: Found by the fuzzing above: answers whose handling raised something other than an
#: AndersenError (the exception named) until cognito.py checked them; kept as regressions.
KNOWN_COGNITO_LEAKS = [
    # botocore's JSON parser calls .get() on whatever the body holds
    _leak({"InitiateAuth": [(200, b"[1, 2]")]}, AttributeError, "answer-is-a-list"),
    _leak({"InitiateAuth": [(400, b"[1, 2]")]}, AttributeError, "error-answer-is-a-list"),
    _leak(
        {"RespondToAuthChallenge": [(200, b'{"AuthenticationResult": "x"}')]},
        AttributeError,
        "result-is-a-string",
    ),
    _leak(
        {"InitiateAuth": [(200, b'{"ChallengeName": "X", "ChallengeParameters": [1]}')]},
        AttributeError,
        "challenge-parameters-is-a-list",
    ),
    _leak({"InitiateAuth": [(500, b'{"__type": 5}')]}, TypeError, "error-code-is-a-number"),
    # botocore decodes the body as UTF-8 outside its own error handling
    _leak({"InitiateAuth": [(200, b"\xff\xfe")]}, UnicodeDecodeError, "body-not-utf-8"),
    _leak({"InitiateAuth": [(400, b"\xff\xfe")]}, UnicodeDecodeError, "error-body-not-utf-8"),
    # _auth_step trusts the fields of AuthenticationResult
    _leak(
        {"RespondToAuthChallenge": [(200, _result(NewDeviceMetadata="x"))]},
        AttributeError,
        "device-metadata-is-a-string",
    ),
    _leak(
        {"RespondToAuthChallenge": [(200, _result(ExpiresIn="soon"))]},
        ValueError,
        "expires-in-is-text",
    ),
    _leak(
        {"RespondToAuthChallenge": [(200, _result(ExpiresIn=10**13))]},
        OverflowError,
        "expires-in-beyond-datetime",
    ),
    _leak(
        {
            "RespondToAuthChallenge": [
                (
                    200,
                    b'{"AuthenticationResult": {"IdToken": "i",'
                    b' "AccessToken": "a", "RefreshToken": "r", "ExpiresIn": 1e400}}',
                )
            ]
        },
        OverflowError,
        "expires-in-infinite",
    ),
    # a Session shorter than Cognito's model allows fails our own request validation
    _leak(
        {"InitiateAuth": [(200, encode(GOOD_VERIFIER | {"Session": "short"}))]},
        ValueError,
        "session-too-short",
    ),
]


@pytest.mark.parametrize("answers", KNOWN_COGNITO_LEAKS)
async def test_cognito_answers_that_once_escaped_as_other_errors(
    session: aiohttp.ClientSession, fake_cognito: FakeCognito, answers: dict[str, list[Answer]]
) -> None:
    await cognito_session(session, fake_cognito, answers)


# -- websocket frames -----------------------------------------------------------------------------

END = "END"  # konnectSerial of the event each example ends with


def event_frame(protocol: str, serial: str | None = None) -> dict[str, Any]:
    """A live event for operation 1 (the first subscription of a connection)."""
    payload = (
        status_payload(DEVICE) if serial is None else status_payload(DEVICE, konnectSerial=serial)
    )
    kind = "next" if protocol == "graphql-transport-ws" else "data"
    return {"type": kind, "id": "1", "payload": {"data": {"deviceStatusUpdated": payload}}}


@dataclasses.dataclass(repr=False)
class FrameServer:
    """GraphQL over HTTP (snapshots) and a websocket that sends scripted frames.

    On its first connection, after acknowledging and seeing the subscription, it sends the
    example's frames, then closes with ``close_code`` or sends the END event; on later
    connections (the client's reconnects) it sends the END event only.
    """

    url: str = ""
    protocol: str = "graphql-ws"
    frames: list[str | bytes] = dataclasses.field(default_factory=list)
    close_code: int | None = None
    connections: int = 0

    def __repr__(self) -> str:
        return f"FrameServer({self.url!r})"

    async def snapshot(self, request: web.Request) -> web.Response:
        await request.read()
        status = {"id": DEVICE, "evseState": 1, "online": True}
        return web.json_response({"data": {"getDevice": {"deviceStatus": status}}})

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=(self.protocol,))
        await ws.prepare(request)
        self.connections += 1
        first = self.connections == 1
        async for message in ws:
            kind = json.loads(message.data).get("type")
            if kind == "connection_init":
                await ws.send_json({"type": "connection_ack"})
            elif kind == "ping":
                await ws.send_json({"type": "pong"})
            elif kind in {"start", "subscribe"} and first:
                for frame in self.frames:
                    await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
                if self.close_code is not None:
                    await ws.close(code=self.close_code)
                else:
                    await ws.send_json(event_frame(self.protocol, END))
            elif kind in {"start", "subscribe"}:
                await ws.send_json(event_frame(self.protocol, END))
        return ws


@pytest.fixture
async def frame_server() -> AsyncIterator[FrameServer]:
    server = FrameServer()
    app = web.Application()
    app.router.add_post("/", server.snapshot)
    app.router.add_get("/graphql", server.websocket)
    async with serve(app, shutdown_timeout=0.1) as server.url:
        yield server


PROTOCOLS = ("graphql-ws", "graphql-transport-ws")


def real_frames(protocol: str) -> list[dict[str, Any]]:
    return [
        event_frame(protocol),
        {"type": "ka"},
        {"type": "connection_ack"},
        {"type": "ping"},
        {"type": "pong"},
        {"type": "complete", "id": "1"},
        {"type": "error", "id": "1", "payload": [{"message": "refused"}]},
        {
            "type": "error",
            "id": "1",
            "payload": {"message": "gone", "extensions": {"code": "NOT_FOUND"}},
        },
        {
            "type": "connection_error",
            "payload": {
                "message": "Invalid/expired login token",
                "extensions": {"code": "UNAUTHENTICATED"},
            },
        },
        {"type": "data", "id": "9", "payload": {"data": None}},
    ]


def frames_of(protocol: str) -> st.SearchStrategy[str | bytes]:
    real = st.sampled_from(real_frames(protocol))
    return st.one_of(
        real.map(json.dumps),
        real.flatmap(corrupted).map(json.dumps),
        st.builds(lambda frame, cut: json.dumps(frame)[:cut], real, st.integers(0, 200)),
        json_values.map(json.dumps),
        st.text(max_size=20),
        st.binary(max_size=20),
    )


@FUZZ_FEW
@given(
    frames=st.sampled_from(PROTOCOLS).flatmap(
        lambda protocol: st.tuples(st.just(protocol), st.lists(frames_of(protocol), max_size=4))
    ),
    close_code=st.none() | st.sampled_from([1000, 1001, 1011, 4400, 4401, 4403, 4500]),
)
async def test_random_frames_give_statuses_or_andersen_errors(
    frame_server: FrameServer,
    fake_cognito: FakeCognito,
    session: aiohttp.ClientSession,
    frames: tuple[str, list[str | bytes]],
    close_code: int | None,
) -> None:
    """Whatever the frames, the consumer gets statuses and then the END event, or an
    AndersenError; connection trouble (malformed frames, closes, refused tokens) is healed by
    reconnecting. A hang fails the example (the 10 s bound)."""
    frame_server.protocol, frame_server.frames = frames
    frame_server.close_code, frame_server.connections = close_code, 0
    fake_cognito.answers = {"InitiateAuth": [(200, _result())] * 3}  # refreshes work
    endpoints = Endpoints(
        graphql_url=frame_server.url,
        websocket_url=frame_server.url.replace("http", "ws", 1) + "graphql",
        cognito_url=fake_cognito.url,
    )
    settings_ = StreamSettings(backoff=0.0, max_backoff=0.0)
    seen: list[str] = []
    async with AndersenA2(
        session, endpoints=endpoints, tokens=far_tokens(), retry=QUICK, stream_settings=settings_
    ) as a2:
        updates = a2.subscribe_device_updates(DEVICE)
        try:
            async with asyncio.timeout(10):
                async for status in updates:
                    assert isinstance(status, DeviceStatus), status
                    seen.append(type(status).__name__)
                    if status.konnect_serial == END:
                        break
        except AndersenError as error:
            seen.append(type(error).__name__)
        finally:
            await updates.aclose()
    assert seen
    event(seen[-1])
