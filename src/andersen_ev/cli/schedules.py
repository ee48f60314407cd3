"""``schedules``: list the five slots, set one, enable or disable one, or disable them all."""

from __future__ import annotations

import argparse

from andersen_ev.cli.arguments import (
    Commands,
    add_device,
    add_group,
    add_wait,
    clock,
    confirm_of,
    day_map,
    device_of,
    wants_json,
)
from andersen_ev.cli.context import Context
from andersen_ev.cli.errors import ExitCode
from andersen_ev.cli.output import days_text, model_data, slot_text, table, write_json
from andersen_ev.models import SCHEDULE_SLOTS, DayMap, Schedule

__all__ = ["register"]

_SLOTS = range(SCHEDULE_SLOTS)


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``schedules`` and its actions."""
    actions = add_group(
        commands,
        common,
        "schedules",
        help="list, set, enable or disable charging schedules",
        description=(
            "A charger has five schedule slots (0-4, as in the Konnect+ app). While any"
            " schedule is enabled, the charger only charges inside enabled slots."
            " Without an action, list them."
        ),
        read=("list", "list the five slots (the default)", _list),
    )

    setting = actions.add_parser(
        "set",
        parents=[common],
        help="write one slot: times, days, enabled",
        description=(
            "Write one slot, then wait until the charger shows it (unless --no-wait). A"
            " window ending before it starts runs past midnight."
        ),
    )
    setting.add_argument("slot", type=int, choices=_SLOTS, metavar="SLOT", help="the slot, 0-4")
    setting.add_argument("start", type=clock, metavar="START", help="start time, HH:MM")
    setting.add_argument("end", type=clock, metavar="END", help="end time, HH:MM")
    setting.add_argument(
        "--days",
        type=day_map,
        default=DayMap.every_day(),
        help="all (default), weekdays, weekends, or days such as mon,wed,fri-sun",
    )
    setting.add_argument(
        "--disabled", action="store_true", help="write the slot disabled (default: enabled)"
    )
    setting.add_argument("--name", help="also name the slot (as shown in the app)")
    add_device(setting, positional=False)
    add_wait(setting)
    setting.set_defaults(handler=_set)

    for name, enabled in (("enable", True), ("disable", False)):
        action = actions.add_parser(
            name,
            parents=[common],
            help=f"{name} one slot, keeping its times",
            description=(
                f"{name.capitalize()} one slot, keeping its times and days, then wait until"
                " the charger shows it (unless --no-wait)."
            ),
        )
        action.add_argument("slot", type=int, choices=_SLOTS, metavar="SLOT", help="the slot, 0-4")
        add_device(action, positional=False)
        add_wait(action)
        action.set_defaults(handler=_enable, enabled=enabled)

    everything = actions.add_parser(
        "disable-all",
        parents=[common],
        help="disable every slot (this also unlocks the charger)",
        description=(
            "Disable every schedule and unlock the charger, as the app's 'charge now': a"
            " connected car starts charging."
        ),
    )
    add_device(everything, positional=False)
    add_wait(everything)
    everything.set_defaults(handler=_disable_all)


async def _list(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.client() as a2:
        found = await ctx.device(a2, device_of(args))
        device = await a2.get_device(found.id)
    names = device.device_info.schedule_names if device.device_info else (None,) * len(_SLOTS)
    slots = device.device_status.schedules if device.device_status else ()
    listed = [
        (number, names[number], slots[number] if number < len(slots) else None) for number in _SLOTS
    ]
    if wants_json(args):
        write_json(
            ctx.stdout,
            [
                {"slot": number, "name": name, **(model_data(slot) if slot else {})}
                for number, name, slot in listed
            ],
        )
        return ExitCode.OK
    rows = [
        (
            str(number),
            name or "-",
            "-" if slot is None else ("on" if slot.enabled else "off"),
            "-" if slot is None else slot_text(slot).split(" ", 1)[0],
            "-" if slot is None else days_text(slot.day_map),
        )
        for number, name, slot in listed
    ]
    ctx.stdout.write(table(("SLOT", "NAME", "ENABLED", "TIME", "DAYS"), rows))
    return ExitCode.OK


async def _set(ctx: Context, args: argparse.Namespace) -> int:
    (start_hour, start_minute), (end_hour, end_minute) = args.start, args.end
    schedule = Schedule(
        start_hour=start_hour,
        start_minute=start_minute,
        end_hour=end_hour,
        end_minute=end_minute,
        enabled=not args.disabled,
        day_map=args.days,
    )
    async with ctx.client() as a2:
        device = await ctx.device(a2, device_of(args))
        await a2.create_schedule(device.id, args.slot, schedule, confirm=confirm_of(args))
        if args.name:
            await a2.set_schedule_names(device.id, {args.slot: args.name})
    ctx.write(
        f"Slot {args.slot} of {device.friendly_name or device.id} set to"
        f" {start_hour:02d}:{start_minute:02d}-{end_hour:02d}:{end_minute:02d}"
        f" {days_text(args.days)}, {'disabled' if args.disabled else 'enabled'}."
    )
    return ExitCode.OK


async def _enable(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.client() as a2:
        device = await ctx.device(a2, device_of(args))
        await a2.enable_schedule(device.id, args.slot, args.enabled, confirm=confirm_of(args))
    state = "enabled" if args.enabled else "disabled"
    ctx.write(f"Slot {args.slot} of {device.friendly_name or device.id} is {state}.")
    return ExitCode.OK


async def _disable_all(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.client() as a2:
        device = await ctx.device(a2, device_of(args))
        await a2.set_all_schedules_disabled(device.id, confirm=confirm_of(args))
    ctx.write(
        f"Every schedule of {device.friendly_name or device.id} is disabled and the charger"
        " is unlocked: a connected car charges now."
    )
    return ExitCode.OK
