"""Rules every request and reply of the library obeys, whoever sends it (GraphQL, Cognito, lookup).

One implementation of each, so that no path forgets one:

* **No redirects** are followed: every request carries a token, a password proof or a
  command, and a redirect would hand it to another host or repeat a mutation there
  (:data:`REQUEST_OPTIONS`). A 3xx answer is an error of its caller, which names only
  the host it pointed at (:func:`redirect_host`).
* **Bounded reads**: a reply body is read up to a limit far above any real answer
  (:func:`read_body`), so a hostile or broken server cannot exhaust memory.
* **JSON sanity**: bodies are parsed without the non-standard ``NaN``/``Infinity`` literals,
  and absurd nesting is an error, not a ``RecursionError`` (:func:`parse_json`); numbers
  are checked by the models.

Callers map :class:`ReplyTooLargeError` and :class:`MalformedJsonError` (internal, never
seen by users) to their own :class:`~andersen_ev.AndersenError` with the operation's name.
"""

from __future__ import annotations

import json
from typing import Any, Final, TypedDict

import aiohttp
from yarl import URL

__all__ = [
    "MAX_REPLY_BYTES",
    "REQUEST_OPTIONS",
    "MalformedJsonError",
    "ReplyTooLargeError",
    "parse_json",
    "read_body",
    "redirect_host",
]

#: The largest reply body read, in bytes. The largest real answers (a device status, a
#: year of charge logs) are tens of kilobytes.
MAX_REPLY_BYTES: Final = 8 * 1024 * 1024


class _RequestOptions(TypedDict):
    allow_redirects: bool


#: Keyword arguments of every ``session.post``/``request`` of the library (typed, so that
#: ``**REQUEST_OPTIONS`` type-checks against aiohttp's signature).
REQUEST_OPTIONS: Final[_RequestOptions] = {"allow_redirects": False}

_CHUNK: Final = 64 * 1024


class ReplyTooLargeError(Exception):
    """A reply body exceeded its limit (internal: callers raise their own AndersenError)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the reply is larger than {limit} bytes")
        self.limit = limit


class MalformedJsonError(ValueError):
    """A body is not sane JSON (internal: callers raise their own AndersenError)."""


async def read_body(response: aiohttp.ClientResponse, limit: int = MAX_REPLY_BYTES) -> bytes:
    """The body of ``response``, refusing more than ``limit`` bytes before reading them all.

    Raises:
        ReplyTooLargeError: the declared or actual length exceeds ``limit``.
    """
    declared = response.content_length
    if declared is not None and declared > limit:
        raise ReplyTooLargeError(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise ReplyTooLargeError(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse_constant(name: str) -> Any:
    raise MalformedJsonError(f"{name} is not JSON")


def parse_json(body: bytes | str) -> Any:
    """Parse JSON text, refusing NaN/Infinity and nesting too deep for the parser.

    Raises:
        MalformedJsonError: not JSON (or not UTF-8), nested too deep, or a non-standard
            constant.
    """
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except MalformedJsonError:
        raise
    except RecursionError:  # the C parser gives up cleanly on absurd nesting
        raise MalformedJsonError("JSON nested too deep") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise MalformedJsonError(f"not JSON: {exc}") from None


def redirect_host(response: aiohttp.ClientResponse) -> str:
    """The host a redirect (3xx) answer points at, for the caller's error message.

    Only the host: the rest of a ``Location`` may hold anything, the request's secrets
    included. A relative ``Location`` names the host that answered.
    """
    location = response.headers.get("Location")
    if not location:
        return "no location"
    try:
        host = URL(location).host or response.url.host
    except (TypeError, ValueError):
        return "an unreadable location"
    return host or "an unreadable location"
