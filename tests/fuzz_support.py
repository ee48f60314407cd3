"""Shared pieces of the property, fuzz and security tests: hypothesis settings, strategies for
JSON-shaped data, tokens that need no login, and the check every fuzzed call must pass."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Final

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from andersen_ev import AndersenA2, AndersenError, Endpoints, Tokens

#: Deterministic (derandomized, no example database) and small enough to keep the suite fast.
#: The function-scoped fixtures these tests use (loopback servers, a shared client session)
#: hold nothing an example changes, so sharing them between examples is intended.
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
#: For examples that cost a round trip or more each.
FUZZ_FEW = settings(FUZZ, max_examples=100)

#: Keys the service really uses, so random objects often hit the paths the client reads.
WIRE_KEYS = (
    "data",
    "errors",
    "message",
    "extensions",
    "code",
    "path",
    "getDevice",
    "deviceStatus",
    "deviceInfo",
    "id",
    "evseState",
    "online",
    "sysUserLock",
    "chargeStatus",
    "chargePower",
    "scheduleSlotsArray",
    "dayMap",
    "startHour",
    "getCurrentUserDevices",
    "friendlyName",
    "runAEVCommand",
    "return_value",
    "type",
    "payload",
    "deviceStatusUpdated",
)
ERROR_CODES = (
    "UNAUTHENTICATED",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "INTERNAL_SERVER_ERROR",
    "GRAPHQL_VALIDATION_FAILED",
)

keys = st.sampled_from(WIRE_KEYS) | st.text(max_size=8)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(ERROR_CODES)
)
#: Any JSON value (nested lists and objects, with the service's key names mixed in).
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=16,
)
json_objects = st.dictionaries(keys, json_values, max_size=6)
#: A GraphQL ``errors`` list with codes the client acts on.
graphql_errors = st.lists(
    st.fixed_dictionaries(
        {"message": st.text(max_size=10)},
        optional={
            "extensions": st.fixed_dictionaries({}, optional={"code": st.sampled_from(ERROR_CODES)})
            | json_values,
            "path": json_values,
        },
    )
    | json_values,
    max_size=3,
)


def encode(value: object) -> bytes:
    """``value`` as the JSON text a server would send."""
    return json.dumps(value).encode()


def paths(value: object, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every path into a JSON value (object keys and list indices), the root included."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


def replaced(value: Any, path: tuple[str | int, ...], new: object) -> Any:
    """A deep copy of ``value`` with the value at ``path`` replaced by ``new``."""
    if not path:
        return new
    head, *rest = path
    if isinstance(value, dict):
        return {
            key: replaced(item, tuple(rest), new) if key == head else item
            for key, item in value.items()
        }
    return [
        replaced(item, tuple(rest), new) if index == head else item
        for index, item in enumerate(value)
    ]


def removed(value: Any, path: tuple[str | int, ...]) -> Any:
    """A deep copy of ``value`` without the item at ``path`` (an object key or list index)."""
    *parent, last = path
    holder = value
    for part in parent:
        holder = holder[part]
    if isinstance(holder, dict):
        kept: Any = {key: item for key, item in holder.items() if key != last}
    else:
        kept = [item for index, item in enumerate(holder) if index != last]
    return replaced(value, tuple(parent), kept)


def far_tokens(username: str = "user") -> Tokens:
    """Tokens valid until 2100: a client that holds them sends requests without logging in."""
    return Tokens(
        id_token=SecretStr("fuzz-id-token"),
        access_token=SecretStr("fuzz-access-token"),
        refresh_token=SecretStr("fuzz-refresh-token"),
        expires_at=datetime(2100, 1, 1, tzinfo=UTC),
        issued_at=datetime(2000, 1, 1, tzinfo=UTC),
        username=username,
    )


#: Nothing listens on the discard port: a request there fails at once.
NOWHERE: Final = "http://127.0.0.1:9/"


@asynccontextmanager
async def far_client(graphql_url: str, **options: Any) -> AsyncIterator[AndersenA2]:
    """A client holding :func:`far_tokens` (no login), its GraphQL aimed at ``graphql_url``
    (and websocket at its ``/graphql``), Cognito nowhere; ``options`` go to AndersenA2."""
    endpoints = Endpoints(
        graphql_url=graphql_url,
        websocket_url=graphql_url.replace("http", "ws", 1) + "graphql",
        user_lookup_url=NOWHERE,
        cognito_url=NOWHERE,
    )
    async with AndersenA2(endpoints=endpoints, tokens=far_tokens(), **options) as a2:
        yield a2


async def outcome(call: Awaitable[Any]) -> Any | AndersenError:
    """What ``call`` returned, or the :class:`AndersenError` it raised.

    Any other exception propagates: that is the failure these tests look for.
    """
    try:
        return await call
    except AndersenError as error:
        return error
