"""GraphQL over HTTP on the shared aiohttp session: one request, its retries and its errors.

Every GraphQL request of :class:`~andersen_ev.AndersenA2` goes through
:meth:`GraphQLHttp.execute`, which is the single place where replies become data or
errors:

* ``UNAUTHENTICATED`` (Apollo rejects the token while creating the context, before it
  executes anything): the token is refreshed and the request sent once more, for queries
  and mutations alike; refused again, it is
  :class:`~andersen_ev.exceptions.ReauthRequiredError`, as on the websocket;
* queries are retried on connection errors, timeouts, 5xx and 429 with capped exponential
  backoff and full jitter, honouring ``Retry-After``;
* mutations are retried only when the request provably never left this machine (the
  connection could not be opened); otherwise the error reaches the caller, saying that the
  mutation may have been applied, so a mutation is applied at most once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, Protocol, TypeVar

import aiohttp
from pydantic import TypeAdapter, ValidationError

from andersen_ev.exceptions import (
    AndersenConnectionError,
    AndersenError,
    AndersenTimeoutError,
    ApiError,
    OutcomeUnknownError,
    RateLimitedError,
    ReauthRequiredError,
    ResponseError,
    ServerError,
    transport_errors,
)
from andersen_ev.graphql import UNAUTHENTICATED, error_codes, operation_document
from andersen_ev.retry import NO_RETRY, RetryPolicy
from andersen_ev.validation import check_seconds

__all__ = ["GraphQLHttp", "GraphQLResult", "TokenSource"]

_LOG = logging.getLogger(__name__)
_TOO_MANY_REQUESTS: Final = 429
_SERVER_ERROR: Final = 500
_OK: Final = 200
#: A successful reply never carries this key: its absence lets the fast path skip parsing.
_ERRORS_KEY: Final = b'"errors"'


class TokenSource(Protocol):
    """Where the transport gets bearer tokens (the session's authenticator)."""

    async def id_token(self) -> str:
        """A valid IdToken, refreshed first if it is due."""
        ...

    def invalidate(self, id_token: str | None = None) -> None:
        """Mark ``id_token`` as rejected by the server, so the next call refreshes."""
        ...


@dataclass(frozen=True)
class _Reply:
    status: int
    retry_after: float | None
    body: bytes


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form), or None."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds)


_T = TypeVar("_T")


class GraphQLResult:
    """A successful GraphQL reply: its ``data``, parsed on first use, or validated directly.

    Validating straight from the JSON text (:meth:`validate`) with a pydantic adapter of
    the whole envelope skips building intermediate dicts: the hot queries use it.
    """

    __slots__ = ("_data", "body", "operation", "status")

    def __init__(
        self, operation: str, body: bytes, status: int, data: dict[str, Any] | None = None
    ) -> None:
        self.operation = operation
        self.body = body
        self.status = status
        self._data = data

    @property
    def data(self) -> dict[str, Any]:
        """The reply's ``data`` object.

        Raises:
            ResponseError: the reply is not JSON or has no data object.
        """
        if self._data is None:
            try:
                document = json.loads(self.body)
            except ValueError:
                document = None
            self._data = _data_of(self.operation, self.status, document)
        return self._data

    def validate(self, envelope: TypeAdapter[_T]) -> _T | None:
        """The reply validated from its JSON by ``envelope``, or None if it does not fit.

        None sends the caller to :attr:`data` and its detailed checks.
        """
        try:
            return envelope.validate_json(self.body)
        except ValidationError:
            return None


def _data_of(operation: str, status: int, document: object) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise ResponseError(
            f"{operation}: the reply (HTTP {status}) is not a GraphQL JSON answer",
            operation=operation,
        )
    data = document.get("data")
    if not isinstance(data, dict):
        raise ResponseError(
            f"{operation}: the reply (HTTP {status}) has no data", operation=operation
        )
    return data


class GraphQLHttp:
    """Sends the library's GraphQL operations over the shared aiohttp session.

    Args:
        session: Returns the shared aiohttp session (created lazily by the owner).
        url: The GraphQL HTTP endpoint.
        tokens: Source of bearer tokens; refreshed once on ``UNAUTHENTICATED``.
        timeout: Default seconds allowed per request (each try).
        retry: Retry policy for queries.
        sleep: How to wait between tries (tests may pass a recorder).
    """

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        url: str,
        tokens: TokenSource,
        *,
        timeout: float,
        retry: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._session = session
        self._url = url
        self._tokens = tokens
        self._timeout = timeout
        self._retry = retry
        self._sleep = sleep
        self._default_limit = aiohttp.ClientTimeout(total=timeout)

    async def execute(
        self,
        operation: str,
        variables: Mapping[str, Any] | None = None,
        *,
        mutation: bool = False,
        timeout: float | None = None,
        document: str | None = None,
    ) -> GraphQLResult:
        """Run one operation (by name) and return its successful reply.

        ``document`` replaces the operation's file (``operation_document(operation)``) for
        documents built in code from constants (:mod:`andersen_ev.batch`).

        Raises:
            ApiError: the service answered GraphQL errors.
            RateLimitedError: still rate limited after the retries (or asked to wait longer
                than the policy allows).
            ServerError: still failing with 5xx after the retries.
            AndersenConnectionError: the service could not be reached.
            AndersenTimeoutError: no answer within ``timeout``.
            ResponseError: the reply is not a GraphQL answer.
            ReauthRequiredError: the service refused even freshly refreshed tokens.
            AuthenticationError: the tokens could not be refreshed.
            InvalidInputError: ``timeout`` is not a positive number of seconds.
        """
        if timeout is not None:
            check_seconds(timeout)
        body = (
            _request_prefix(operation, document) + json.dumps(dict(variables or {})).encode() + b"}"
        )
        policy = NO_RETRY if mutation else self._retry
        retried_auth = False
        attempt = 1
        while True:
            id_token = await self._tokens.id_token()
            try:
                return await self._once(operation, body, id_token, timeout)
            except _TokenRejectedError:
                if retried_auth:  # refused even after a fresh refresh: the session is over
                    raise _session_over(operation) from None
                retried_auth = True
                self._tokens.invalidate(id_token)
                _LOG.debug("%s: token rejected, refreshing and sending once more", operation)
            except (RateLimitedError, ServerError, AndersenConnectionError, TimeoutError) as exc:
                delay = self._retry_delay(operation, exc, policy, attempt, mutation=mutation)
                if delay is None:
                    if mutation and (sent := _maybe_applied(operation, exc)) is not None:
                        raise sent from exc
                    raise
                attempt += 1
                await self._sleep(delay)

    def _retry_delay(
        self,
        operation: str,
        exc: AndersenError | TimeoutError,
        policy: RetryPolicy,
        attempt: int,
        *,
        mutation: bool,
    ) -> float | None:
        """Seconds to wait before trying ``attempt + 1``, or None to give up with ``exc``."""
        if mutation:
            # only a connection that was never opened provably carried nothing
            retry = (
                isinstance(exc, AndersenConnectionError)
                and exc.before_request
                and attempt < self._retry.attempts
            )
        else:
            retry = attempt < policy.attempts and not (
                isinstance(exc, RateLimitedError)
                and exc.retry_after is not None
                and exc.retry_after > policy.max_retry_after
            )
        if not retry:
            return None
        # a mutation's NO_RETRY policy has no delays of its own: the client's policy paces it
        pacing = self._retry if mutation else policy
        delay = pacing.delay(
            attempt, exc.retry_after if isinstance(exc, RateLimitedError) else None
        )
        _LOG.debug("%s: %s; retry %d in %.2f s", operation, type(exc).__name__, attempt, delay)
        return delay

    async def _once(
        self, operation: str, body: bytes, id_token: str, timeout: float | None
    ) -> GraphQLResult:
        reply = await self._post(operation, body, id_token, timeout)
        return self._interpret(operation, reply)

    async def _post(
        self, operation: str, body: bytes, id_token: str, timeout: float | None
    ) -> _Reply:
        headers = {
            "Authorization": f"Bearer {id_token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        limit = self._default_limit if timeout is None else aiohttp.ClientTimeout(total=timeout)
        with transport_errors(f"GraphQL {operation}"):
            async with self._session().post(
                self._url, data=body, headers=headers, timeout=limit
            ) as response:
                return _Reply(
                    response.status,
                    _retry_after(response.headers.get("Retry-After")),
                    await response.read(),
                )

    def _interpret(self, operation: str, reply: _Reply) -> GraphQLResult:
        if reply.status == _OK and _ERRORS_KEY not in reply.body:
            return GraphQLResult(operation, reply.body, reply.status)  # parsed when used
        try:
            document = json.loads(reply.body)
        except ValueError:
            document = None
        errors = document.get("errors") if isinstance(document, dict) else None
        if isinstance(errors, list) and UNAUTHENTICATED in error_codes(errors):
            raise _TokenRejectedError
        if reply.status == _TOO_MANY_REQUESTS:
            raise RateLimitedError(operation=operation, retry_after=reply.retry_after)
        if reply.status >= _SERVER_ERROR:
            raise ServerError(operation=operation, status=reply.status)
        if isinstance(errors, list) and errors:
            raise ApiError.from_errors(operation, errors, status=reply.status)
        return GraphQLResult(
            operation, reply.body, reply.status, _data_of(operation, reply.status, document)
        )


def _maybe_applied(operation: str, exc: Exception) -> OutcomeUnknownError | None:
    """The error for a mutation lost after its request may have reached the service.

    Its class says "read the state before repeating"; its message never invites a blind
    retry. None when ``exc`` provably left the service untouched (refused before sending,
    rate limited).
    """
    advice = (
        "so it may or may not have been applied: read the state back (get_device_status())"
        " before sending it again"
    )
    if isinstance(exc, AndersenConnectionError) and not exc.before_request:
        cause = exc.__cause__
        detail = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
        what = f"the connection failed after the request was sent{detail}"
    elif isinstance(exc, AndersenTimeoutError):
        what = "got no answer in time"
    elif isinstance(exc, ServerError):
        what = f"failed with HTTP {exc.status} from the service"
    else:
        return None
    return OutcomeUnknownError(f"GraphQL {operation} {what}, {advice}", operation=operation)


@cache
def _request_prefix(operation: str, document: str | None = None) -> bytes:
    """The constant start of an operation's request body, up to its variables."""
    query = operation_document(operation) if document is None else document
    fixed = json.dumps({"operationName": operation, "query": query})
    return fixed[:-1].encode() + b', "variables": '


def _session_over(operation: str) -> ReauthRequiredError:
    """A token refused even after a fresh refresh: the same class as on the websocket."""
    return ReauthRequiredError(
        f"{operation} was refused as unauthenticated even with freshly"
        " refreshed tokens; log in again with authenticate()"
    )


class _TokenRejectedError(Exception):
    """The server answered UNAUTHENTICATED: nothing was executed."""
