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

``timeout`` is a **deadline for the whole call**: waiting for a token refresh, every try,
every wait between tries and ``Retry-After`` fit inside it; a retry that cannot fit is not
started. Calls made inside a :meth:`GraphQLHttp.deadline` block (a command that reads,
then writes) share that block's deadline too.

Replies obey :mod:`andersen_ev.wire`: no redirect is followed, bodies are read up to
:data:`~andersen_ev.wire.MAX_REPLY_BYTES`, JSON is parsed sanely; whatever comes back, only
:class:`~andersen_ev.AndersenError` subclasses leave this module, and none of them chains an
aiohttp exception (which may hold the request's headers, the bearer token included).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, Protocol, TypeVar

import aiohttp
from pydantic import TypeAdapter, ValidationError

from andersen_ev.auth.cognito import refuse_redirect
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
    raise_without_context,
    transport_errors,
)
from andersen_ev.graphql import UNAUTHENTICATED, error_codes, operation_document
from andersen_ev.retry import NO_RETRY, RetryPolicy
from andersen_ev.validation import check_seconds
from andersen_ev.wire import (
    REQUEST_OPTIONS,
    MalformedJsonError,
    ReplyTooLargeError,
    parse_json,
    read_body,
)

__all__ = ["GraphQLHttp", "GraphQLResult", "TokenSource", "within"]

_LOG = logging.getLogger(__name__)
_TOO_MANY_REQUESTS: Final = 429
_SERVER_ERROR: Final = 500
_OK: Final = 200
#: A successful reply never carries this key: its absence lets the fast path skip parsing.
_ERRORS_KEY: Final = b'"errors"'
#: The deadline of a :meth:`GraphQLHttp.deadline` block: (loop time, the task it binds).
#: Tasks started inside the block inherit the variable but not the deadline.
_BLOCK: ContextVar[tuple[float, asyncio.Task[Any] | None] | None] = ContextVar(
    "andersen_ev_deadline", default=None
)


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
    return max(0.0, seconds) if math.isfinite(seconds) else None


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
            self._data = _data_of(self.operation, self.status, _parse(self.body))
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
        timeout: Default deadline of a call, in seconds (all its tries included).
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

    @contextmanager
    def deadline(self, timeout: float | None = None) -> Iterator[float]:
        """Give every call of the current task inside the block one shared deadline.

        ``timeout`` seconds from now (the session's default when None), or an enclosing
        block's deadline if that is sooner. A call's own ``timeout=`` can only shorten it.
        Tasks started inside the block are not bound by it.

        Yields:
            The deadline, in event-loop time.

        Raises:
            InvalidInputError: ``timeout`` is not a positive number of seconds.
        """
        end = self._end(timeout)
        token = _BLOCK.set((end, asyncio.current_task()))
        try:
            yield end
        finally:
            _BLOCK.reset(token)

    def _end(self, timeout: float | None) -> float:
        """The deadline (loop time) of a call given ``timeout``, inside any block's."""
        seconds = self._timeout if timeout is None else check_seconds(timeout)
        end = asyncio.get_running_loop().time() + seconds
        block = _BLOCK.get()
        if block is not None and block[1] is asyncio.current_task():
            end = min(end, block[0])
        return end

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

        Args:
            timeout: Seconds for the whole call, retries and token refresh included (the
                session's default when None).

        Raises:
            ApiError: the service answered GraphQL errors.
            RateLimitedError: still rate limited after the retries (or asked to wait longer
                than the policy or the deadline allows).
            ServerError: still failing with 5xx after the retries.
            AndersenConnectionError: the service could not be reached, or redirected.
            AndersenTimeoutError: the deadline passed (``before_request`` when nothing
                was sent, e.g. while waiting for a token refresh).
            OutcomeUnknownError: a mutation's answer was lost after it may have reached
                the service: read the state before sending it again.
            ResponseError: the reply is not a GraphQL answer (or is too large).
            ReauthRequiredError: the service refused even freshly refreshed tokens.
            AuthenticationError: the tokens could not be refreshed.
            InvalidInputError: ``timeout`` is not a positive number of seconds.
        """
        end = self._end(timeout)
        body = (
            _request_prefix(operation, document) + json.dumps(dict(variables or {})).encode() + b"}"
        )
        policy = NO_RETRY if mutation else self._retry
        retried_auth = False
        attempt = 1
        while True:
            id_token = await self._id_token(operation, end)
            try:
                return await self._once(operation, body, id_token, self._limit(end, mutation))
            except _TokenRejectedError:
                if retried_auth:  # refused even after a fresh refresh: the session is over
                    raise _session_over(operation) from None
                retried_auth = True
                self._tokens.invalidate(id_token)
                _LOG.debug("%s: token rejected, refreshing and sending once more", operation)
            except (RateLimitedError, ServerError, AndersenConnectionError, TimeoutError) as exc:
                delay = self._retry_delay(operation, exc, policy, attempt, mutation=mutation)
                if delay is None or asyncio.get_running_loop().time() + delay >= end:
                    if mutation and (sent := _maybe_applied(operation, exc)) is not None:
                        raise sent from exc
                    raise
                attempt += 1
                await self._sleep(delay)

    async def _id_token(self, operation: str, end: float) -> str:
        """A bearer token, waiting for a (shared) refresh no later than ``end``.

        Leaving the wait never cancels the refresh: other callers may be waiting for it.
        """
        return await within(
            end,
            self._tokens.id_token(),
            lambda: AndersenTimeoutError(
                f"GraphQL {operation}: the deadline passed while waiting for the token"
                " refresh; nothing was sent: try again later",
                before_request=True,
            ),
        )

    def _limit(self, end: float, mutation: bool) -> float:
        """Seconds the next try may take: what is left, capped per try for queries.

        Raises:
            AndersenTimeoutError: nothing is left (``before_request``: this try is not sent).
        """
        left = end - asyncio.get_running_loop().time()
        if left <= 0:
            raise AndersenTimeoutError(
                "the call's deadline passed before the request could be sent; nothing was"
                " sent: try again later (with a longer timeout)",
                before_request=True,
            )
        per_try = self._retry.attempt_timeout
        return left if mutation or per_try is None else min(left, per_try)

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
                isinstance(exc, AndersenConnectionError | AndersenTimeoutError)
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
        self, operation: str, body: bytes, id_token: str, limit: float
    ) -> GraphQLResult:
        reply = await self._post(operation, body, id_token, limit)
        return self._interpret(operation, reply)

    async def _post(self, operation: str, body: bytes, id_token: str, limit: float) -> _Reply:
        headers = {
            "Authorization": f"Bearer {id_token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        action = f"GraphQL {operation}"
        with transport_errors(action):
            async with self._session().post(
                self._url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=limit),
                **REQUEST_OPTIONS,
            ) as response:
                refuse_redirect(action, response)
                try:
                    answer = await read_body(response)
                except ReplyTooLargeError as exc:
                    too_large = ResponseError(
                        f"{operation}: the reply (HTTP {response.status}) is larger than"
                        f" {exc.limit} bytes",
                        operation=operation,
                    )
                    raise_without_context(too_large)
                return _Reply(
                    response.status, _retry_after(response.headers.get("Retry-After")), answer
                )

    def _interpret(self, operation: str, reply: _Reply) -> GraphQLResult:
        if reply.status == _OK and _ERRORS_KEY not in reply.body:
            return GraphQLResult(operation, reply.body, reply.status)  # parsed when used
        document = _parse(reply.body)
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


async def within(
    end: float, awaitable: Awaitable[_T], expired: Callable[[], AndersenTimeoutError]
) -> _T:
    """The result of ``awaitable``, or ``expired()`` raised once loop time ``end`` passes.

    Errors of ``awaitable`` itself pass through, its own timeouts included.
    """
    limit = asyncio.timeout_at(end)
    try:
        async with limit:
            return await awaitable
    except TimeoutError:
        if not limit.expired():
            raise
    raise expired()


def _parse(body: bytes) -> object:
    """The JSON document of a reply, or None when it is not sane JSON."""
    try:
        return parse_json(body)
    except MalformedJsonError:
        return None


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
        detail = f" ({cause})" if cause is not None else ""
        what = f"the connection failed after the request was sent{detail}"
    elif isinstance(exc, AndersenTimeoutError) and not exc.before_request:
        what = "no answer came in time"
    elif isinstance(exc, ServerError):
        what = f"the service failed with HTTP {exc.status}"
    else:
        return None
    return OutcomeUnknownError(f"GraphQL {operation}: {what}, {advice}", operation=operation)


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
