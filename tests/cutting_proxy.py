"""A TCP proxy on loopback that can stall or cut what passes through it: hostile networks.

Put it between a client and a server (``proxy.url_for(url)`` rewrites a URL to go through
it) and make the network misbehave at the moment a test chooses:

* :meth:`CuttingProxy.stall`: the connections open now stop carrying bytes either way and
  stay open, as a half-open connection behind a NAT that forgot it or a dead Wi-Fi link
  does: nothing is closed, nothing arrives. New connections work (``new=True`` stalls
  them too). :meth:`CuttingProxy.resume` lets the bytes flow again.
* :meth:`CuttingProxy.cut`: the connections open now are reset (RST), as a crashed
  middlebox does.

* :meth:`CuttingProxy.redirect_posts`: the next HTTP POSTs are answered by the proxy
  itself with a ``307`` to another host (the request never reaches the server), as a
  hijacked or misconfigured front does.
* :meth:`CuttingProxy.oversize_replies`: the next HTTP POSTs reach the server, whose
  answer is replaced by one larger than any client should read (a declared
  ``Content-Length`` or an endless chunked body, in turn), as a broken or hostile server
  sends.

A POST is recognised by its first bytes on a connection between requests (HTTP/1.1 without
pipelining, which aiohttp does not do); a connection that met an HTTP fault is closed after
it. Counters say what the proxy saw: connections accepted and open, bytes each way, faults
delivered. Every connection is one :class:`Link`; the proxy closes what is left when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Final

from yarl import URL

_CHUNK: Final = 64 * 1024
#: The size of an oversized reply: above the library's 8 MiB bound of every reply.
OVERSIZED: Final = 9 * 1024 * 1024
_POST: Final = b"POST "
_HEAD_END: Final = b"\r\n\r\n"


@dataclass(eq=False)
class Link:
    """One proxied connection: the client's side, the server's side, and its two pumps."""

    index: int
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    flowing: asyncio.Event = field(default_factory=asyncio.Event)
    pumps: list[asyncio.Task[None]] = field(default_factory=list)
    replace_reply: str | None = None
    """``"declared"``/``"streamed"``: the server's next answer is replaced by an oversized one."""
    up: int = 0
    """Bytes from the client to the server."""
    down: int = 0
    """Bytes from the server to the client."""

    @property
    def open(self) -> bool:
        return not self.client.is_closing()

    def abort(self) -> None:
        for writer in (self.client, self.server):
            writer.transport.abort()


class CuttingProxy:
    """Forwards loopback TCP connections to ``host:port``; stalls or cuts them on demand."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self.port = 0
        self.links: list[Link] = []
        self.stall_new = False
        self.redirects = 0
        """POSTs still to answer with a redirect."""
        self.redirect_to = "http://elsewhere.invalid/graphql"
        self.oversized = 0
        """POSTs whose answer is still to replace by an oversized one."""
        self._oversized_kinds = itertools.cycle(("declared", "streamed"))
        self.delivered: Counter[str] = Counter()
        """HTTP faults delivered: ``redirect``, ``oversized_reply``."""

    @property
    def accepted(self) -> int:
        """Connections accepted so far."""
        return len(self.links)

    @property
    def open_links(self) -> list[Link]:
        """The connections open now."""
        return [link for link in self.links if link.open]

    def url_for(self, url: str) -> str:
        """``url`` with its host and port replaced by the proxy's."""
        return str(URL(url).with_host("127.0.0.1").with_port(self.port))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in self.links:
            link.abort()
            for pump in link.pumps:
                pump.cancel()
        pumps = [pump for link in self.links for pump in link.pumps]
        if pumps:
            await asyncio.wait(pumps)
        if self._server is not None:
            await self._server.wait_closed()

    def stall(self, *, new: bool = False) -> list[Link]:
        """Stop the bytes of the connections open now (and of new ones, if ``new``)."""
        stalled = self.open_links
        for link in stalled:
            link.flowing.clear()
        self.stall_new = new
        return stalled

    def resume(self) -> None:
        """Let every connection carry bytes again."""
        self.stall_new = False
        for link in self.links:
            link.flowing.set()

    def redirect_posts(self, count: int = 1, location: str | None = None) -> None:
        """Answer the next ``count`` POSTs with a 307 to ``location`` (another host)."""
        self.redirects = count
        if location is not None:
            self.redirect_to = location

    def oversize_replies(self, count: int = 1) -> None:
        """Replace the answers to the next ``count`` POSTs by replies over 8 MiB."""
        self.oversized = count

    def clear(self) -> None:
        """No more HTTP faults (stalled connections stay stalled)."""
        self.redirects = self.oversized = 0

    def cut(self) -> int:
        """Reset the connections open now; returns how many."""
        cut = self.open_links
        for link in cut:
            link.abort()
        return len(cut)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        link = Link(len(self.links), writer, upstream_writer)
        if not self.stall_new:
            link.flowing.set()
        self.links.append(link)
        link.pumps = [
            asyncio.create_task(self._pump(link, reader, upstream_writer, up=True)),
            asyncio.create_task(self._pump(link, upstream_reader, writer, up=False)),
        ]

    async def _pump(
        self, link: Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, up: bool
    ) -> None:
        try:
            while True:
                await link.flowing.wait()  # stalled: nothing is read, nothing is sent
                data = await reader.read(_CHUNK)
                await link.flowing.wait()  # stalled while this was read: hold it
                if not data:
                    break
                if up:
                    if data.startswith(_POST) and (self.redirects or self.oversized):
                        if self.redirects:
                            self.redirects -= 1
                            await self._redirect(link, data, reader)
                            break
                        self.oversized -= 1
                        link.replace_reply = next(self._oversized_kinds)
                    link.up += len(data)
                elif link.replace_reply is not None:
                    await self._oversize(link, link.replace_reply)
                    break
                else:
                    link.down += len(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            # one side ended: end the other (a reset stays a reset: abort, not close)
            with contextlib.suppress(Exception):
                writer.close()
            if not link.flowing.is_set():
                link.abort()

    async def _redirect(self, link: Link, data: bytes, reader: asyncio.StreamReader) -> None:
        """Take the whole request (not forwarded) and answer it with a 307."""
        while _HEAD_END not in data:
            more = await reader.read(_CHUNK)
            if not more:
                return
            data += more
        head, _, body = data.partition(_HEAD_END)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length > len(body):
            await reader.readexactly(length - len(body))
        self.delivered["redirect"] += 1
        link.client.write(
            b"HTTP/1.1 307 Temporary Redirect\r\nLocation: "
            + self.redirect_to.encode()
            + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        await link.client.drain()
        link.server.close()

    async def _oversize(self, link: Link, kind: str) -> None:
        """Answer with a reply over 8 MiB instead of the server's (which is dropped)."""
        self.delivered["oversized_reply"] += 1
        link.server.close()
        client = link.client
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        if kind == "declared":  # refused from its header
            client.write(head + b"Content-Length: %d\r\n\r\n{" % OVERSIZED)
            await client.drain()
            return
        # no length: only counting what arrives can stop it
        client.write(head + b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (_CHUNK, b" " * _CHUNK)
        for _ in range(OVERSIZED // _CHUNK):
            client.write(chunk)
            await client.drain()
        client.write(b"0\r\n\r\n")
        await client.drain()


@asynccontextmanager
async def cutting_proxy(host: str, port: int) -> AsyncIterator[CuttingProxy]:
    """A :class:`CuttingProxy` to ``host:port`` for the block."""
    proxy = CuttingProxy(host, port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
