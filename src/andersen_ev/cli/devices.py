"""``devices``, ``status``, ``watch``, ``lock`` and ``unlock``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Final

from andersen_ev.cli.arguments import (
    Commands,
    add_device,
    add_json,
    add_wait,
    confirm_of,
    device_of,
    positive,
    wants_json,
)
from andersen_ev.cli.context import Context
from andersen_ev.cli.errors import ExitCode
from andersen_ev.cli.output import model_data, status_lines, table, watch_line, write_json
from andersen_ev.client import AndersenA2
from andersen_ev.models import DeviceStatus
from andersen_ev.stream import StreamState

__all__ = ["register", "status_updates"]

#: ANSI: back to the start of the line and clear it, to update a terminal in place.
_REWRITE: Final = "\r\x1b[2K"


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``devices``, ``status``, ``watch``, ``lock`` and ``unlock``."""
    devices = commands.add_parser(
        "devices",
        parents=[common],
        help="list the account's chargers",
        description="List the chargers of the account: name, id, device name and firmware.",
    )
    add_json(devices)
    devices.set_defaults(handler=_devices)

    status = commands.add_parser(
        "status",
        parents=[common],
        help="show a charger's state, power, session and settings",
        description=(
            "Show a charger's status: state, lock, schedules, charging power, the current"
            " (or last) session's energy and duration, and solar settings."
        ),
    )
    add_device(status)
    add_json(status)
    status.set_defaults(handler=_status)

    watch = commands.add_parser(
        "watch",
        parents=[common],
        help="follow a charger's state, power and energy live (Ctrl-C stops)",
        description=(
            "Follow a charger live: state, power, session energy and duration, updated in"
            " place on a terminal (one line per update otherwise, or one JSON object per"
            " line with --json). Updates come from the service's live stream (a websocket"
            " that reconnects by itself), or from reading the status every --poll seconds."
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
        "--count", type=int, metavar="N", help="stop after N updates (default: never)"
    )
    watch.add_argument(
        "--for",
        dest="for_seconds",
        type=positive,
        metavar="SECONDS",
        help="stop after SECONDS (default: never)",
    )
    watch.set_defaults(handler=_watch, interrupt_code=ExitCode.OK)

    for name, verb, effect in (
        ("lock", "lock", "connected cars do not charge, schedules do not start charging"),
        ("unlock", "unlock", "a connected car charges, unless a schedule holds it"),
    ):
        command = commands.add_parser(
            name,
            parents=[common],
            help=f"{verb} a charger and wait until it shows",
            description=(
                f"{verb.capitalize()} a charger ({effect}), then wait until its status shows"
                " the change (the service answers the same whether or not a command took"
                " effect), unless --no-wait."
            ),
        )
        add_device(command)
        add_wait(command)
        command.set_defaults(handler=_lock if name == "lock" else _unlock)


async def _devices(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.client() as a2:
        devices = await a2.get_current_user_devices()
    if wants_json(args):
        write_json(ctx.stdout, [model_data(device) for device in devices])
    elif not devices:
        ctx.write("No chargers in this account.")
    else:
        rows = [
            (
                device.friendly_name or "-",
                device.id,
                device.name or "-",
                (device.device_status and device.device_status.sys_fw_version) or "-",
            )
            for device in devices
        ]
        ctx.stdout.write(table(("NAME", "ID", "DEVICE NAME", "FIRMWARE"), rows))
    return ExitCode.OK


async def _status(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.client() as a2:
        device = await ctx.device(a2, device_of(args))
        status = await a2.get_device_status(device.id)
    if wants_json(args):
        write_json(ctx.stdout, {"device": model_data(device), "status": model_data(status)})
    else:
        ctx.write("\n".join(status_lines(device, status)))
    return ExitCode.OK


async def status_updates(
    a2: AndersenA2, device_id: str, *, poll: float | None = None
) -> AsyncGenerator[DeviceStatus, None]:
    """The charger's status now, then each change.

    Changes come from the live stream (:meth:`~andersen_ev.AndersenA2.subscribe_device_updates`),
    or, with ``poll``, from reading the status every ``poll`` seconds.
    """
    if poll is None:
        async with a2.subscribe_device_updates(device_id) as updates:
            async for status in updates:  # pragma: no branch - it ends when a2 closes
                yield status
    else:
        while True:
            yield await a2.get_device_status(device_id)
            await asyncio.sleep(poll)


async def _watch(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.client() as a2:
        device = await ctx.device(a2, device_of(args))
        live = not wants_json(args) and ctx.stdout.isatty()
        if not wants_json(args):
            name = device.friendly_name or device.id
            ctx.write(f"Watching {name} (Ctrl-C to stop)")
        remove = a2.on_stream_state(_StateNotes(ctx))
        try:
            async with asyncio.timeout(args.for_seconds) as window:
                await _follow(ctx, a2, device.id, args, live=live)
        except TimeoutError:
            if not window.expired():  # pragma: no cover - a request timed out (not the window)
                raise
        finally:
            remove()
            if live:
                ctx.write()
    return ExitCode.OK


class _StateNotes:
    """Notes on stderr when the live stream loses its connection and gets it back."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.lost = False

    def __call__(self, state: StreamState) -> None:
        if state is StreamState.RECONNECTING and not self.lost:
            self.lost = True
            self.ctx.stderr.write("\nandersen-ev: live updates interrupted; reconnecting\n")
        elif state is StreamState.CONNECTED and self.lost:
            self.lost = False
            self.ctx.stderr.write("andersen-ev: live updates are back\n")
        else:
            return
        self.ctx.stderr.flush()


async def _follow(
    ctx: Context, a2: AndersenA2, device_id: str, args: argparse.Namespace, *, live: bool
) -> None:
    seen = 0
    updates = status_updates(a2, device_id, poll=args.poll)
    async with contextlib.aclosing(updates):
        async for status in updates:
            if wants_json(args):
                ctx.write(_json_line(status))
            elif live:
                ctx.stdout.write(_REWRITE + watch_line(status, datetime.now().astimezone()))
                ctx.stdout.flush()
            else:
                ctx.write(watch_line(status, datetime.now().astimezone()))
            seen += 1
            if args.count is not None and seen >= args.count:
                return


def _json_line(status: DeviceStatus) -> str:
    """One status as a single line of JSON."""
    return status.model_dump_json(exclude_none=True)


async def _lock(ctx: Context, args: argparse.Namespace) -> int:
    return await _switch(ctx, args, lock=True)


async def _unlock(ctx: Context, args: argparse.Namespace) -> int:
    return await _switch(ctx, args, lock=False)


async def _switch(ctx: Context, args: argparse.Namespace, *, lock: bool) -> int:
    confirm = confirm_of(args)
    async with ctx.client() as a2:
        device = await ctx.device(a2, device_of(args))
        command = a2.user_lock if lock else a2.user_unlock
        await command(device.id, confirm=confirm)
    name = device.friendly_name or device.id
    if confirm is False:
        ctx.write(f"{'Lock' if lock else 'Unlock'} sent to {name} (not waiting to see it).")
    elif lock:
        ctx.write(f"{name} is locked: connected cars do not charge.")
    else:
        ctx.write(f"{name} is unlocked: a connected car charges, unless a schedule holds it.")
    return ExitCode.OK
