"""A hostile HTTP server on loopback: reads each request whole, then answers as the test says,
however badly: never, endlessly, hugely, with broken HTTP, deep JSON or a redirect elsewhere.

Every request is recorded (method, path, headers, body) before the answer starts, so tests
count what reached the server. One request per connection: the server closes after
answering (or when the test ends, for answers that never end).

Answers (:data:`Answer`) are coroutines writing to the connection; the factories below build
the usual ones: :func:`never` (a cloud that accepts and never answers), :func:`reply`,
:func:`streamed` (chunked, possibly endless), :func:`redirect`, :func:`raw`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Final

import pytest

from tests.raw_server import serving

__all__ = [
    "Answer",
    "HostileServer",
    "Request",
    "deep_json",
    "hostile",
    "never",
    "raw",
    "redirect",
    "reply",
    "streamed",
]


@dataclasses.dataclass(frozen=True)
class Request:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


#: How the server answers one request: writes to the connection (and may never return).
Answer = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]

_CHUNK: Final = 64 * 1024


def never() -> Answer:
    """Read the request, then say nothing until the client gives up (or the test ends)."""

    async def answer(_request: Request, _writer: asyncio.StreamWriter) -> None:
        await asyncio.Event().wait()

    return answer


def raw(data: bytes) -> Answer:
    """Write ``data`` as it is (a status line and headers included, valid or not)."""

    async def answer(_request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()

    return answer


def reply(
    body: bytes = b"",
    *,
    status: str = "200 OK",
    headers: Iterable[str] = ("Content-Type: application/json",),
    length: int | None = None,
) -> Answer:
    """A plain answer; ``length`` declares another Content-Length than the body's."""
    declared = len(body) if length is None else length
    head = [f"HTTP/1.1 {status}", *headers, f"Content-Length: {declared}", "Connection: close"]
    return raw(("\r\n".join(head) + "\r\n\r\n").encode() + body)


def streamed(
    chunks: Callable[[], Iterable[bytes]],
    *,
    status: str = "200 OK",
    pause: float = 0.0,
) -> Answer:
    """A chunked answer of the pieces ``chunks()`` yields (endless if it is), ``pause``
    seconds apart; stops when the client goes away."""

    async def answer(_request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        for piece in chunks():
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            if pause:
                await asyncio.sleep(pause)
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    return answer


def redirect(location: str, status: str = "307 Temporary Redirect") -> Answer:
    """A redirect to ``location`` (another host, usually)."""
    return reply(b"", status=status, headers=(f"Location: {location}",))


def deep_json(depth: int, *, inside: bytes = b"") -> bytes:
    """``depth`` nested JSON arrays around ``inside``: ``[[[...]]]``."""
    return b"[" * depth + inside + b"]" * depth


@dataclasses.dataclass
class HostileServer:
    """Serves :attr:`answer` to every request (change it at any time); records requests."""

    answer: Answer = dataclasses.field(default_factory=never)
    requests: list[Request] = dataclasses.field(default_factory=list)
    url: str = ""
    _handlers: set[asyncio.Task[None]] = dataclasses.field(default_factory=set)
    _arrived: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    async def wait_requests(self, count: int = 1) -> None:
        """Return once ``count`` requests have arrived (bound it with a timeout)."""
        while len(self.requests) < count:
            self._arrived.clear()
            await self._arrived.wait()

    def count(self, operation: str | None = None) -> int:
        """Requests seen (whose body names ``operation``, if given)."""
        if operation is None:
            return len(self.requests)
        needle = f'"operationName": "{operation}"'.encode()
        return sum(needle in request.body for request in self.requests)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            request = await _read_request(reader)
            self.requests.append(request)
            self._arrived.set()
            await self.answer(request, writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass  # the client went away
        except asyncio.CancelledError:
            pass  # close(): the test is over (only close() cancels these tasks)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._handlers.discard(task)

    async def close(self) -> None:
        """End every answer still running."""
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.wait(self._handlers)


async def _read_request(reader: asyncio.StreamReader) -> Request:
    head = await reader.readuntil(b"\r\n\r\n")
    first, *lines = head.decode("latin-1").split("\r\n")
    method, path, _ = first.split(" ", 2)
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines if line)
    }
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(method, path, headers, body)


@pytest.fixture
async def hostile() -> AsyncIterator[HostileServer]:
    """A hostile server that, until told otherwise, accepts and never answers."""
    async with serving(HostileServer()) as server:
        yield server
