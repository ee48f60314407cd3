"""A TCP proxy on loopback that can stall or cut what passes through it: hostile networks.

Put it between a client and a server (``proxy.url_for(url)`` rewrites a URL to go through
it) and make the network misbehave at the moment a test chooses:

* :meth:`CuttingProxy.stall`: the connections open now stop carrying bytes either way and
  stay open, as a half-open connection behind a NAT that forgot it or a dead Wi-Fi link
  does: nothing is closed, nothing arrives. New connections work (``new=True`` stalls
  them too). :meth:`CuttingProxy.resume` lets the bytes flow again.
* :meth:`CuttingProxy.cut`: the connections open now are reset (RST), as a crashed
  middlebox does.

Counters say what the proxy saw: connections accepted and open, bytes each way. Every
connection is one :class:`Link`; the proxy closes what is left when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Final

from yarl import URL

_CHUNK: Final = 64 * 1024


@dataclass(eq=False)
class Link:
    """One proxied connection: the client's side, the server's side, and its two pumps."""

    index: int
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    flowing: asyncio.Event = field(default_factory=asyncio.Event)
    pumps: list[asyncio.Task[None]] = field(default_factory=list)
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
                    link.up += len(data)
                else:
                    link.down += len(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            # one side ended: end the other (a reset stays a reset: abort, not close)
            with contextlib.suppress(Exception):
                writer.close()
            if not link.flowing.is_set():
                link.abort()


@asynccontextmanager
async def cutting_proxy(host: str, port: int) -> AsyncIterator[CuttingProxy]:
    """A :class:`CuttingProxy` to ``host:port`` for the block."""
    proxy = CuttingProxy(host, port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
