"""``watch``: a charger's state, power and energy, live, and whether updates still flow.

On a terminal, one line is updated in place; while updates do not flow (the stream
reconnects, or ``--poll`` reads fail) it says so every second, with the age of the last
update. Into a pipe or a file, a line is written only when what it shows changes (one JSON
object per change with ``--json``), and the connection's changes are notes on stderr,
repeated every half minute while they last.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import datetime
from enum import Enum
from typing import Final

from andersen_ev.cli.arguments import Commands, add_device, add_json, count, device_of, positive
from andersen_ev.cli.context import Context
from andersen_ev.cli.errors import ExitCode
from andersen_ev.cli.output import duration_text, state_text, watch_fields
from andersen_ev.client import AndersenA2
from andersen_ev.exceptions import (
    AndersenConnectionError,
    AndersenTimeoutError,
    RateLimitedError,
    ServerError,
    ServiceUnavailableError,
)
from andersen_ev.models import DeviceStatus
from andersen_ev.stream import StreamState

__all__ = ["Link", "register"]

#: ANSI: back to the start of the line and clear it, to update a terminal in place.
_REWRITE: Final = "\r\x1b[2K"
#: Seconds between redraws of a terminal while updates do not flow.
_TICK: Final = 1.0
#: Seconds between the notes on stderr while updates do not flow (not on a terminal).
_REMIND: Final = 30.0
_DEFAULT_WIDTH: Final = 80


class Link(Enum):
    """Whether updates flow."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    FAILING = "failing"
    """``--poll``: the last read failed (an outage); reading goes on."""


_STREAM_LINKS: Final = {
    StreamState.CONNECTING: Link.CONNECTING,
    StreamState.CONNECTED: Link.CONNECTED,
    StreamState.RECONNECTING: Link.RECONNECTING,
}


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``watch``."""
    watch = commands.add_parser(
        "watch",
        parents=[common],
        help="follow a charger's state, power and energy live (Ctrl-C stops)",
        description=(
            "Follow a charger live: state, power, session energy and duration. On a"
            " terminal one line is updated in place, and while updates do not flow it says"
            " so, with the age of the last update. Otherwise a line is written per change"
            " (one JSON object per change with --json), and connection problems are notes"
            " on stderr. Updates come from the service's live stream (a websocket that"
            " reconnects by itself), or from reading the status every --poll seconds."
            " Ctrl-C stops it and exits 0."
        ),
    )
    add_device(watch)
    add_json(watch)
    watch.add_argument(
        "--poll",
        type=positive,
        metavar="SECONDS",
        help="read the status every SECONDS instead of following the live stream (for"
        " networks that block websockets)",
    )
    watch.add_argument(
        "--count", type=count, metavar="N", help="stop after N changes (default: never)"
    )
    watch.add_argument(
        "--for",
        dest="for_seconds",
        type=positive,
        metavar="SECONDS",
        help="stop after SECONDS (default: never)",
    )
    watch.set_defaults(handler=_watch, interrupt_code=ExitCode.OK)


def _reason(exc: ServiceUnavailableError) -> str:
    """Why a read failed, in a few words."""
    if isinstance(exc, AndersenTimeoutError):
        return "no answer in time"
    if isinstance(exc, AndersenConnectionError):
        return "cannot connect"
    if isinstance(exc, RateLimitedError):
        return "rate limited"
    if isinstance(exc, ServerError):
        return f"HTTP {exc.status}"
    return "service unavailable"


class _View:
    """What ``watch`` shows: statuses, and whether updates flow."""

    def __init__(self, ctx: Context, args: argparse.Namespace) -> None:
        self.ctx = ctx
        self.json = bool(getattr(args, "json", False))
        self.terminal = not self.json and ctx.stdout.isatty()
        self.poll: float | None = args.poll
        self.count: int | None = args.count
        self.link = Link.CONNECTING
        self.problem = ""
        self.shown: str | None = None  # the last change written (JSON, or the fields)
        self.status: DeviceStatus | None = None
        self.received: tuple[float, datetime] | None = None  # monotonic and wall clock
        self.changes = 0
        self.noted = time.monotonic()

    # -- what comes in ---------------------------------------------------------------------

    def update(self, status: DeviceStatus) -> bool:
        """Show ``status`` if it changed anything; True once ``--count`` changes were shown."""
        self.received = (time.monotonic(), datetime.now().astimezone())
        self.status = status
        text = status.model_dump_json(exclude_none=True) if self.json else watch_fields(status)
        changed = text != self.shown
        if changed:
            self.shown = text
            self.changes += 1
        if self.terminal:
            self._draw()
        elif changed:
            self.ctx.write(text if self.json else f"{self.received[1]:%H:%M:%S}  {text}")
        return self.count is not None and self.changes >= self.count

    def stream_state(self, state: StreamState) -> None:
        """The live stream's state changed (an ``on_stream_state`` callback)."""
        link = _STREAM_LINKS.get(state)
        if link is not None:  # CLOSED: the command is ending
            self.connection(link)

    def connection(self, link: Link, problem: str = "") -> None:
        """Updates started or stopped flowing."""
        if (link, problem) == (self.link, self.problem):
            return
        lost = self.link is not Link.CONNECTED
        self.link, self.problem = link, problem
        if self.terminal:
            self._draw()
        elif link is not Link.CONNECTED:
            self._note(self._trouble())
        elif lost and self.received is not None:  # back after a loss (not the first time)
            self._note("live updates are back" if self.poll is None else "reading works again")

    def tick(self) -> None:
        """A second passed: keep saying that updates do not flow, and for how long."""
        if self.link is Link.CONNECTED:
            return
        if self.terminal:
            self._draw()
        elif time.monotonic() - self.noted >= _REMIND:
            self._note(self._trouble(again=True))

    # -- how it shows --------------------------------------------------------------------------

    @staticmethod
    def _age(received: tuple[float, datetime]) -> str:
        """How long ago an update ``received`` came (``0:01:23``)."""
        return duration_text(time.monotonic() - received[0])

    def _trouble(self, *, again: bool = False) -> str:
        """Why updates do not flow (``again``: said before), and the age of the last one."""
        if self.link is Link.FAILING:
            fails = "still fails" if again else "fails"
            what = f"reading the status {fails} ({self.problem}); trying every {self.poll:g} s"
        elif self.link is Link.RECONNECTING:
            what = "still reconnecting" if again else "live updates interrupted; reconnecting"
        else:
            what = "still connecting" if again else "connecting"
        if self.received is None:
            return f"{what} (no update yet)"
        return f"{what} (last update {self._age(self.received)} ago)"

    def _trouble_line(self) -> str:
        """:meth:`_trouble` for a terminal line: short, then what the charger last showed."""
        what = {
            Link.FAILING: f"reading fails ({self.problem})",
            Link.RECONNECTING: "reconnecting",
        }.get(self.link, "connecting")
        if self.status is None or self.received is None:
            return f"{what}, no update yet"
        return f"{what}, last update {self._age(self.received)} ago: {state_text(self.status)}"

    def _note(self, text: str) -> None:
        self.noted = time.monotonic()
        now = datetime.now().astimezone()
        self.ctx.stderr.write(f"andersen-ev: {now:%H:%M:%S} {text}\n")
        self.ctx.stderr.flush()

    def _draw(self) -> None:
        if self.link is Link.CONNECTED and self.status is not None and self.received:
            line = f"{self.received[1]:%H:%M:%S}  {watch_fields(self.status)}"
        else:
            line = f"{datetime.now().astimezone():%H:%M:%S}  {self._trouble_line()}"
        self.ctx.stdout.write(_REWRITE + line[: self._width() - 1])
        self.ctx.stdout.flush()

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self.ctx.stdout.fileno()).columns
        except (OSError, ValueError):  # not a real terminal (or closed): a safe width
            return _DEFAULT_WIDTH


async def _watch(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.client() as a2:
        device = await ctx.device(a2, device_of(args))
        view = _View(ctx, args)
        if not view.json:
            ctx.write(f"Watching {device.friendly_name or device.id} (Ctrl-C to stop)")
        ticker = asyncio.create_task(_tick(view))
        try:
            async with asyncio.timeout(args.for_seconds) as window:
                await _follow(view, a2, device.id)
        except TimeoutError:
            if not window.expired():  # pragma: no cover - a request timed out (not the window)
                raise
        finally:
            ticker.cancel()
            if view.terminal:
                ctx.write()
    return ExitCode.OK


async def _tick(view: _View) -> None:
    while True:
        await asyncio.sleep(_TICK)
        view.tick()


async def _follow(view: _View, a2: AndersenA2, device_id: str) -> None:
    if view.poll is None:
        remove = a2.on_stream_state(view.stream_state)
        try:
            async with a2.subscribe_device_updates(device_id) as updates:
                async for status in updates:  # pragma: no branch - it ends when a2 closes
                    if view.update(status):
                        return
        finally:
            remove()
        return  # pragma: no cover - the stream ends only when the session closes
    while True:
        try:
            status = await a2.get_device_status(device_id)
        except ServiceUnavailableError as exc:  # an outage: keep reading, and say so
            view.connection(Link.FAILING, _reason(exc))
        else:
            view.connection(Link.CONNECTED)
            if view.update(status):
                return
        await asyncio.sleep(view.poll)
