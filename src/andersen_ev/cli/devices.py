"""``devices``, ``status``, ``lock`` and ``unlock``."""

from __future__ import annotations

import argparse

from andersen_ev.cli.arguments import (
    Commands,
    add_device,
    add_json,
    add_wait,
    confirm_of,
    device_of,
    wants_json,
)
from andersen_ev.cli.context import Context
from andersen_ev.cli.errors import ExitCode
from andersen_ev.cli.output import device_data, model_data, status_lines, table, write_json

__all__ = ["register"]


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``devices``, ``status``, ``lock`` and ``unlock``."""
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
        write_json(ctx.stdout, [device_data(device) for device in devices])
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
        write_json(ctx.stdout, {"device": device_data(device), "status": model_data(status)})
    else:
        ctx.write("\n".join(status_lines(device, status)))
    return ExitCode.OK


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
