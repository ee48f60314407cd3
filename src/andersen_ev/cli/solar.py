"""``solar``: show or change solar charging (override, charge always, grid share)."""

from __future__ import annotations

import argparse
from typing import Any, TypeVar

from andersen_ev.cli.arguments import (
    Commands,
    add_device,
    add_group,
    add_wait,
    confirm_of,
    device_of,
    percentage,
    wants_json,
)
from andersen_ev.cli.context import Context
from andersen_ev.cli.errors import CliError, ExitCode
from andersen_ev.cli.output import table, write_json
from andersen_ev.models import DeviceStatus

__all__ = ["register"]

_T = TypeVar("_T")


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``solar`` and its actions."""
    actions = add_group(
        commands,
        common,
        "solar",
        help="show or change solar charging",
        description=(
            "Solar charging (with a solar CT clamp): charge from surplus solar power plus an"
            " allowance from the grid. Without an action, show the settings."
        ),
        read=("show", "show the settings (the default)", _show),
    )

    change = actions.add_parser(
        "set",
        parents=[common],
        help="change some settings (the others keep their values)",
        description=(
            "Change solar settings; those not given keep their current values. Then wait"
            " until the charger shows them (unless --no-wait)."
        ),
    )
    add_device(change, positional=False)
    change.add_argument(
        "--override",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="charge at full power whatever the sun does (the app's boost)",
    )
    change.add_argument(
        "--charge-always",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep charging at the minimum power when the surplus is too small",
    )
    change.add_argument(
        "--max-grid-percent",
        type=percentage,
        metavar="PERCENT",
        help="share of the charger's maximum power (7.2 kW = 100) allowed from the grid",
    )
    change.add_argument(
        "--charge-outside-schedules",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whether solar charging may run outside enabled schedules",
    )
    add_wait(change)
    change.set_defaults(handler=_set)


def _settings(status: DeviceStatus) -> dict[str, Any]:
    return {
        "override": status.solar_override,
        "charge_always": status.solar_charge_always,
        "max_grid_charge_percent": status.solar_max_grid_charge_percent,
        "solar_ct": status.sys_solar_ct,
        "solar_power_kw": status.sys_solar_power,
        "grid_power_kw": status.sys_grid_power,
    }


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return "-" if value is None else str(value)


async def _show(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.client() as a2:
        device = await ctx.device(a2, device_of(args))
        status = await a2.get_device_status(device.id)
    settings = _settings(status)
    if wants_json(args):
        write_json(ctx.stdout, settings)
    else:
        labels = {
            "override": "override",
            "charge_always": "charge always",
            "max_grid_charge_percent": "grid share (%)",
            "solar_ct": "solar CT fitted",
            "solar_power_kw": "solar power (kW)",
            "grid_power_kw": "grid power (kW)",
        }
        rows = [(labels[key], _text(value)) for key, value in settings.items()]
        ctx.stdout.write(table(("SETTING", "VALUE"), rows))
    return ExitCode.OK


async def _set(ctx: Context, args: argparse.Namespace) -> int:
    given = (args.override, args.charge_always, args.max_grid_percent)
    if all(value is None for value in given) and args.charge_outside_schedules is None:
        raise CliError(
            "nothing to change",
            hint="give --override, --charge-always, --max-grid-percent or"
            " --charge-outside-schedules (see 'andersen-ev solar set --help')",
            code=ExitCode.USAGE,
        )
    async with ctx.client() as a2:
        device = await ctx.device(a2, device_of(args))
        status = await a2.get_device_status(device.id)
        override = _choose(args.override, status.solar_override, default=False)
        always = _choose(args.charge_always, status.solar_charge_always, default=False)
        percent = _choose(args.max_grid_percent, status.solar_max_grid_charge_percent, default=100)
        await a2.set_solar(
            device.id,
            override,
            always,
            percent,
            args.charge_outside_schedules,
            confirm=confirm_of(args),
        )
    ctx.write(
        f"Solar settings of {device.friendly_name or device.id}: override {_text(override)},"
        f" charge always {_text(always)}, grid share {percent} %."
    )
    return ExitCode.OK


def _choose(given: _T | None, current: _T | None, *, default: _T) -> _T:
    """What the user gave, else the charger's current value, else ``default``."""
    if given is not None:
        return given
    return default if current is None else current
