"""A raw loopback HTTP server: just enough HTTP/1.1 to read a request whole, then answer with
bytes the test chose (broken HTTP included) or misbehave at the connection level."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import struct
import time
from collections.abc import AsyncIterator
from typing import Any, Literal, Protocol, TypeVar

import pytest

#: What the server does once it has read a request whole (so the request was certainly sent):
#: ``answer`` writes :attr:`RawServer.answer` and closes; ``drop`` closes without a word;
#: ``reset`` resets the connection (TCP RST) without a word; ``half`` writes the first half
#: of the answer, then resets; ``stall`` never answers (until the server closes).
Behaviour = Literal["answer", "drop", "reset", "half", "stall"]


def http_answer(status: bytes, headers: list[bytes], body: bytes) -> bytes:
    """A raw HTTP/1.1 answer (whatever the parts hold, valid or not)."""
    return b"HTTP/1.1 " + status + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


def json_answer(body: bytes) -> bytes:
    """A well-formed 200 answer carrying ``body`` as JSON."""
    return http_answer(
        b"200 OK", [b"Content-Type: application/json", b"Content-Length: %d" % len(body)], body
    )


@dataclasses.dataclass
class RawServer:
    """Reads each request whole, records its body and when it arrived, then does
    :attr:`behaviour`; one request per connection."""

    answer: bytes = b""
    behaviour: Behaviour = "answer"
    bodies: list[bytes] = dataclasses.field(default_factory=list)
    times: list[float] = dataclasses.field(default_factory=list)
    url: str = ""
    _closing: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    _handlers: set[asyncio.Task[Any]] = dataclasses.field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            self.bodies.append(await reader.readexactly(length))
            self.times.append(time.monotonic())
            await self._respond(writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client gave up first
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._handlers.discard(task)

    async def close(self) -> None:
        """End stalled handlers and wait until every connection is closed."""
        self._closing.set()
        if self._handlers:
            await asyncio.wait(self._handlers)

    async def _respond(self, writer: asyncio.StreamWriter) -> None:
        if self.behaviour == "stall":
            await self._closing.wait()
        if self.behaviour in {"answer", "half"}:
            cut = len(self.answer) // 2 if self.behaviour == "half" else len(self.answer)
            writer.write(self.answer[:cut])
            await writer.drain()
        if self.behaviour in {"reset", "half"}:
            # closing with SO_LINGER 0 sends a reset instead of an orderly FIN
            writer.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            writer.transport.abort()


class SocketServer(Protocol):
    """A server of the tests' own on raw sockets: it handles connections and closes them."""

    url: str

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection."""

    async def close(self) -> None:
        """End every connection still open."""


_Server = TypeVar("_Server", bound=SocketServer)


@contextlib.asynccontextmanager
async def serving(raw: _Server, sock: socket.socket | None = None) -> AsyncIterator[_Server]:
    """Serve ``raw`` on ``sock`` (bound, not yet listening) or a new port of 127.0.0.1."""
    if sock is None:
        server = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
    else:
        server = await asyncio.start_server(raw.handle, sock=sock)
    raw.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    try:
        yield raw
    finally:
        server.close()
        await raw.close()
        await server.wait_closed()


@pytest.fixture
async def raw_server() -> AsyncIterator[RawServer]:
    async with serving(RawServer()) as raw:
        yield raw
