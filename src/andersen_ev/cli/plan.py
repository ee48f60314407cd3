"""``plan``: the cheapest times to charge before a deadline, shown or programmed into a charger.

Reads prices from a file (a CSV ``start,end,price`` or an Octopus unit-rates JSON answer),
plans with :func:`andersen_ev.planning.plan_charging` in the charger's time zone, and
prints the windows, their cost and what the charger's schedules would become. ``--apply``
programs the charger (:meth:`andersen_ev.AndersenA2.apply_charging_plan`) and keeps what
was there in ``plan-<device id>.json`` in the config directory, which ``plan --restore``
writes back.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from datetime import UTC, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from andersen_ev.cli.arguments import (
    Commands,
    add_device,
    add_json,
    add_wait,
    clock,
    confirm_of,
    count,
    device_of,
    positive,
    wants_json,
)
from andersen_ev.cli.context import Context
from andersen_ev.cli.errors import CliError, ExitCode
from andersen_ev.cli.output import model_data, slot_text, table, write_json
from andersen_ev.control import ChargeNow, SavedChargeState
from andersen_ev.models import SCHEDULE_SLOTS, Device, Schedule
from andersen_ev.plan_control import plan_slots
from andersen_ev.planning import (
    DEFAULT_POWER_KW,
    ChargePlan,
    PricePeriod,
    plan_charging,
    prices_from_csv,
    prices_from_octopus,
)

__all__ = ["register"]

#: A price file larger than this is refused (a year of half-hours is about 2 MB of CSV).
MAX_PRICE_BYTES: Final = 8 * 1024 * 1024
_PRIVATE_MODE: Final = 0o600
_PLAN_OPTIONS: Final = (
    ("prices", "--prices"),
    ("kwh", "--kwh"),
    ("hours", "--hours"),
    ("by", "--by"),
    ("power", "--power"),
    ("slots", "--slots"),
    ("start", "--from"),
    ("time_zone", "--time-zone"),
)


def _moment(text: str) -> datetime:
    """An ISO 8601 date-time (a naive one is read in the charger's time zone later)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 date-time (YYYY-MM-DDTHH:MM[+HH:MM]): {text!r}"
        ) from None


def _zone(text: str) -> ZoneInfo:
    """An IANA time zone (``Europe/London``)."""
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"unknown time zone {text!r} (an IANA name such as Europe/London)"
        ) from None


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``plan``."""
    parser = commands.add_parser(
        "plan",
        parents=[common],
        help="charge when electricity is cheapest: plan, apply, restore",
        description=(
            "Find the cheapest times to charge before a deadline, in at most five schedule"
            " windows, from a price file, and show them with what the charger's schedules"
            " would become. --apply programs the charger (its windows become schedule"
            " slots, the other slots are disabled, a locked charger is unlocked) and keeps"
            " what was there; 'plan --restore' puts it back. The prices are a CSV with a"
            " header naming start, end and price (ISO 8601 times with offsets), or the JSON"
            " of an Octopus unit-rates answer ('-': read stdin)."
        ),
    )
    parser.add_argument("--prices", metavar="FILE", help="the price file (CSV or Octopus JSON)")
    amount = parser.add_mutually_exclusive_group()
    amount.add_argument("--kwh", type=positive, metavar="N", help="the energy wanted, in kWh")
    amount.add_argument("--hours", type=positive, metavar="H", help="or a charging time, in hours")
    parser.add_argument(
        "--by", type=clock, metavar="HH:MM", help="ready by this time (the next one to come)"
    )
    parser.add_argument(
        "--power",
        type=positive,
        metavar="KW",
        help=f"the charging power in kW (default {DEFAULT_POWER_KW:g}, the A2's full power)",
    )
    parser.add_argument(
        "--slots",
        type=count,
        metavar="N",
        help=f"schedule slots the plan may use, 1-{SCHEDULE_SLOTS} (default {SCHEDULE_SLOTS})",
    )
    parser.add_argument(
        "--from",
        dest="start",
        type=_moment,
        metavar="DATETIME",
        help="plan from this time instead of now (ISO 8601)",
    )
    parser.add_argument(
        "--time-zone",
        type=_zone,
        metavar="ZONE",
        help="the charger's time zone (default: the one it reports)",
    )
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--apply", action="store_true", help="program the charger with the plan")
    modes.add_argument(
        "--restore",
        action="store_true",
        help="put back what the last 'plan --apply' changed on the charger",
    )
    add_device(parser)
    add_json(parser)
    add_wait(parser)
    parser.set_defaults(handler=_plan, prepare=_check_options)


def _check_options(ctx: Context, args: argparse.Namespace) -> None:
    """The options each mode needs, checked before anything is read or sent."""
    given = [option for dest, option in _PLAN_OPTIONS if getattr(args, dest) is not None]
    if args.restore:
        if given or wants_json(args):
            extra = [*given, *(["--json"] if wants_json(args) else [])]
            raise CliError(
                f"'plan --restore' puts back the saved state and takes no {', '.join(extra)}",
                hint=f"run '{ctx.hints.run('plan', '--restore')}'",
                code=ExitCode.USAGE,
            )
        return
    missing = [
        option
        for option, present in (
            ("--prices FILE", args.prices is not None),
            ("--kwh N (or --hours H)", args.kwh is not None or args.hours is not None),
            ("--by HH:MM", args.by is not None),
        )
        if not present
    ]
    if missing:
        raise CliError(
            f"a plan needs {', '.join(missing)}",
            hint=f"see '{ctx.hints.help()}'",
            code=ExitCode.USAGE,
        )
    if args.slots is not None and args.slots > SCHEDULE_SLOTS:
        raise CliError(
            f"--slots is at most {SCHEDULE_SLOTS} (the charger's schedule slots), got {args.slots}",
            code=ExitCode.USAGE,
        )


def _read_prices(path: str, stdin: Any) -> str:
    """The price file's text (``-``: stdin); bounded in size."""
    if path == "-":
        text: str = stdin.read(MAX_PRICE_BYTES + 1)
    else:
        try:
            with Path(path).expanduser().open(encoding="utf-8") as file:
                text = file.read(MAX_PRICE_BYTES + 1)
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise CliError(
                f"cannot read the prices from {path} ({reason or exc})",
                hint="give the path of a CSV (start,end,price) or of an Octopus JSON answer",
                code=ExitCode.USAGE,
            ) from None
    if len(text) > MAX_PRICE_BYTES:
        raise CliError(
            f"the price file {path} is larger than {MAX_PRICE_BYTES // (1024 * 1024)} MB",
            hint="give only the prices up to the deadline",
            code=ExitCode.USAGE,
        )
    return text


def parse_prices(text: str) -> tuple[PricePeriod, ...]:
    """Prices from a file's text: Octopus JSON when it starts with ``{`` or ``[``, else CSV.

    Raises:
        PriceDataError: the text is neither, or an entry is wrong (the message names it).
    """
    if text.lstrip().startswith(("{", "[")):
        return prices_from_octopus(text)
    return prices_from_csv(text)


def deadline(start: datetime, by: tuple[int, int], zone: tzinfo) -> datetime:
    """The first ``by`` (hour, minute) of ``zone``'s clock after ``start``."""
    local = start.astimezone(zone)
    for days in (0, 1, 2):
        day = local.date() + timedelta(days=days)
        candidate = datetime.combine(day, time(*by), tzinfo=zone)
        if candidate.astimezone(UTC) > start.astimezone(UTC):
            return candidate
    raise AssertionError("unreachable: a time of day comes within two days")  # pragma: no cover


def _plan_zone(device: Device, given: ZoneInfo | None) -> ZoneInfo:
    if given is not None:
        return given
    region = device.device_info.time_zone_region if device.device_info else None
    if not region:
        raise CliError(
            f"charger {device.friendly_name or device.id} reports no time zone",
            hint="give its time zone with --time-zone (e.g. Europe/London)",
            code=ExitCode.USAGE,
        )
    try:
        return ZoneInfo(region)
    except (ZoneInfoNotFoundError, ValueError):
        raise CliError(
            f"charger {device.friendly_name or device.id} reports an unknown time zone {region!r}",
            hint="give its time zone with --time-zone (e.g. Europe/London)",
            code=ExitCode.USAGE,
        ) from None


async def _make_plan(ctx: Context, args: argparse.Namespace, zone: ZoneInfo) -> ChargePlan:
    text = await asyncio.to_thread(_read_prices, args.prices, ctx.stdin)
    start: datetime = args.start or datetime.now(UTC)
    if start.tzinfo is None:
        start = start.replace(tzinfo=zone)
    duration = timedelta(hours=args.hours) if args.hours is not None else None

    def planned() -> ChargePlan:  # CPU work (milliseconds, up to ~40): off the loop
        return plan_charging(
            parse_prices(text),
            energy_kwh=args.kwh,
            duration=duration,
            power_kw=args.power or DEFAULT_POWER_KW,
            not_before=start,
            ready_by=deadline(start, args.by, zone),
            time_zone=zone,
            slots=args.slots or SCHEDULE_SLOTS,
        )

    return await asyncio.to_thread(planned)


async def _plan(ctx: Context, args: argparse.Namespace) -> int:
    if args.restore:
        return await _restore(ctx, args)
    async with ctx.client() as a2:
        device = await ctx.device(a2, device_of(args))
        name = device.friendly_name or device.id
        saved_file = ctx.paths.saved_plan(device.id)
        if args.apply and await asyncio.to_thread(saved_file.exists):
            raise CliError(
                f"a plan applied earlier may still be in force on {name} ({saved_file} keeps"
                " what was there before it)",
                hint=f"run '{_restore_command(ctx, args)}' first, then apply the new plan",
                code=ExitCode.USAGE,
            )
        zone = _plan_zone(await a2.get_device(device.id), args.time_zone)
        plan = await _make_plan(ctx, args, zone)
        saved = SavedChargeState.from_status(device.id, await a2.get_device_status(device.id))
        slots = plan_slots(plan, saved)
        if args.apply:
            handle = await a2.apply_charging_plan(device.id, plan, confirm=confirm_of(args))
            saved, slots = handle.saved, handle.slots
            try:
                await asyncio.to_thread(_save, saved_file, saved, plan)
            except OSError as exc:  # without the record, nobody could restore: undo now
                await handle.restore(confirm=confirm_of(args))
                raise CliError(
                    f"cannot keep what the plan changes in {saved_file}"
                    f" ({exc.strerror or exc}), so the charger was put back as it was",
                    hint="give a config directory you can write with --config-dir",
                ) from None
    if wants_json(args):
        write_json(ctx.stdout, _plan_data(device, plan, saved, slots, args.apply))
        return ExitCode.OK
    ctx.stdout.write(_plan_text(name, plan, saved, slots))
    if args.apply:
        over = plan.ready_by.astimezone(ZoneInfo(plan.time_zone))
        ctx.write(
            f"Applied to {name}. The schedules repeat every week: once the plan is over"
            f" ({over:%a %d %b %H:%M}), put the charger back as it was with"
            f" '{_restore_command(ctx, args)}'."
        )
    else:
        ctx.write("Nothing was changed: run the same command with --apply to program the charger.")
    return ExitCode.OK


def _restore_command(ctx: Context, args: argparse.Namespace) -> str:
    device = device_of(args)
    return ctx.hints.run("plan", "--restore", *([device] if device else []))


def _plan_text(
    name: str, plan: ChargePlan, saved: SavedChargeState, slots: tuple[Schedule, ...]
) -> str:
    """The windows, the total, and what the charger's schedules become (in its local time)."""
    zone = ZoneInfo(plan.time_zone)
    rows = [
        (
            f"{window.start.astimezone(zone):%a %d %b %H:%M}",
            f"{window.end.astimezone(zone):%H:%M}",
            f"{window.energy_kwh:.2f}",
            f"{window.cost:.2f}",
        )
        for window in plan.windows
    ]
    rows.append(("total", "", f"{plan.energy_kwh:.2f}", f"{plan.cost:.2f}"))
    average = f", {plan.average_price:.2f} per kWh" if plan.average_price is not None else ""
    lines = [
        f"Plan for {name} ({plan.time_zone}): {plan.energy_kwh:.2f} kWh at {plan.power_kw:g} kW"
        f" by {plan.ready_by.astimezone(zone):%a %d %b %H:%M}, in {plan.slots_used} schedule"
        f" slot{'s' if plan.slots_used != 1 else ''}{average}",
        table(("START", "END", "KWH", "COST"), rows, right="KWH,COST").rstrip("\n"),
        "Schedule slots (now -> with the plan):",
    ]
    for number, (before, after) in enumerate(zip(saved.slots, slots, strict=True)):
        lines.append(f"  {number}: {_slot_state(before)} -> {_slot_state(after)}")
    if saved.locked:
        lines.append("The charger is locked: the plan unlocks it (restoring locks it again).")
    return "\n".join(lines) + "\n"


def _slot_state(slot: Schedule) -> str:
    return f"{slot_text(slot)}, {'on' if slot.enabled else 'off'}"


def _plan_data(
    device: Device,
    plan: ChargePlan,
    saved: SavedChargeState,
    slots: tuple[Schedule, ...],
    applied: bool,
) -> dict[str, Any]:
    """The plan as JSON: ``windows``, ``energy_kwh``, ``cost``, and the charger's side."""
    return {
        "device_id": device.id,
        "friendly_name": device.friendly_name,
        **model_data(plan),
        "slots": [model_data(slot) for slot in slots],
        "unlocks": saved.locked,
        "applied": applied,
    }


def _save(path: Path, saved: SavedChargeState, plan: ChargePlan) -> None:
    """Write what ``plan --restore`` puts back (mode 0600, replaced atomically)."""
    data = {
        "device_id": saved.device_id,
        "locked": saved.locked,
        "slots": [slot.model_dump(mode="json") for slot in saved.slots],
        "ready_by": plan.ready_by.isoformat(),
    }
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _PRIVATE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(json.dumps(data, indent=2) + "\n")
    temporary.replace(path)


def _load(path: Path, device_id: str) -> SavedChargeState | None:
    """What ``plan --apply`` saved for ``device_id``, or None when nothing is saved."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        saved = SavedChargeState(
            device_id=device_id,
            locked=data["locked"],
            slots=tuple(Schedule.model_validate(slot) for slot in data["slots"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CliError(
            f"cannot read the saved state in {path} ({type(exc).__name__})",
            hint="set the schedules and the lock by hand ('andersen-ev schedules set',"
            " 'andersen-ev lock'), then delete the file",
        ) from None
    if not isinstance(saved.locked, bool) or len(saved.slots) != SCHEDULE_SLOTS:
        raise CliError(
            f"the saved state in {path} is incomplete",
            hint="set the schedules and the lock by hand, then delete the file",
        )
    return saved


async def _restore(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.client() as a2:
        device = await ctx.device(a2, device_of(args))
        name = device.friendly_name or device.id
        path = ctx.paths.saved_plan(device.id)
        saved = await asyncio.to_thread(_load, path, device.id)
        if saved is None:
            raise CliError(
                f"no plan applied with 'andersen-ev plan --apply' to restore on {name} (no {path})",
                hint=f"run '{ctx.hints.run('schedules')}' to see the charger's schedules",
                code=ExitCode.USAGE,
            )
        await ChargeNow(a2, saved).restore(confirm=confirm_of(args))  # idempotent writes
        await asyncio.to_thread(path.unlink, missing_ok=True)
    enabled = sum(slot.enabled for slot in saved.slots)
    ctx.write(
        f"{name} is back as it was before the plan: {'locked' if saved.locked else 'unlocked'},"
        f" {enabled} schedule slot{'s' if enabled != 1 else ''} enabled."
    )
    return ExitCode.OK
