"""``logs``: past charging sessions, as a table, CSV or JSON."""

from __future__ import annotations

import argparse
import csv
from typing import Final

from andersen_ev.cli.arguments import (
    Commands,
    add_device,
    count,
    device_of,
    iso_date,
    non_negative,
    wants_json,
)
from andersen_ev.cli.context import Context
from andersen_ev.cli.errors import ExitCode
from andersen_ev.cli.output import duration_text, model_data, table, write_json
from andersen_ev.models import ChargeLog

__all__ = ["register"]

DEFAULT_LIMIT: Final = 20
_CSV_FIELDS: Final = (
    "start_date_time_local",
    "duration",
    "charge_energy_total",
    "solar_energy_total",
    "grid_energy_total",
    "charge_cost_total",
    "solar_cost_total",
    "grid_cost_total",
    "uuid",
)


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``logs``."""
    logs = commands.add_parser(
        "logs",
        parents=[common],
        help="list past charging sessions (table, CSV or JSON)",
        description=(
            "List past charging sessions, newest first: start (charger's local time),"
            " duration, energy from solar and grid (kWh) and cost."
        ),
    )
    add_device(logs)
    logs.add_argument(
        "--limit",
        type=count,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"at most N sessions (default {DEFAULT_LIMIT})",
    )
    logs.add_argument(
        "--since", type=iso_date, metavar="DATE", help="sessions from DATE (YYYY-MM-DD) on"
    )
    logs.add_argument(
        "--min-energy", type=non_negative, metavar="KWH", help="sessions of at least KWH only"
    )
    form = logs.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help="print CSV (with a header row)")
    form.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print JSON (snake_case keys) instead of text",
    )
    logs.set_defaults(handler=_logs)


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


async def _logs(ctx: Context, args: argparse.Namespace) -> int:
    async with ctx.client() as a2:
        device = await ctx.device(a2, device_of(args))
        logs = await a2.get_device_calculated_charge_logs(
            device.id, args.limit, None, args.min_energy, args.since
        )
    if wants_json(args):
        write_json(ctx.stdout, [model_data(log) for log in logs])
    elif args.csv:
        _write_csv(ctx, logs)
    elif not logs:
        ctx.write("No charging sessions.")
    else:
        rows = [
            (
                log.start_date_time_local.strftime("%Y-%m-%d %H:%M")
                if log.start_date_time_local
                else "-",
                duration_text(log.duration),
                _number(log.charge_energy_total, 3),
                _number(log.solar_energy_total, 3),
                _number(log.grid_energy_total, 3),
                _number(log.charge_cost_total, 2),
            )
            for log in logs
        ]
        ctx.stdout.write(
            table(
                ("START", "DURATION", "KWH", "SOLAR KWH", "GRID KWH", "COST"),
                rows,
                right="DURATION,KWH,SOLAR KWH,GRID KWH,COST",
            )
        )
    return ExitCode.OK


def _write_csv(ctx: Context, logs: list[ChargeLog]) -> None:
    writer = csv.writer(ctx.stdout, lineterminator="\n")
    writer.writerow(_CSV_FIELDS)
    for log in logs:
        data = model_data(log)
        writer.writerow([data.get(field, "") for field in _CSV_FIELDS])
