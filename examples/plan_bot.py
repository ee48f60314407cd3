"""A bot that charges when electricity is cheapest, and plans again when new prices arrive.

It reads a price file (a CSV ``start,end,price`` or an Octopus unit-rates JSON answer, as a
cron job or another script saves them: Agile publishes tomorrow's prices every afternoon)
every ``--interval`` seconds. When the file changes it plans again
(:func:`andersen_ev.planning.plan_charging`) and, if the windows differ, puts the charger
back as it was and applies the new plan (:meth:`andersen_ev.AndersenA2.apply_charging_plan`).
When the plan is over (``--by``), after ``--for`` seconds, on Ctrl-C or on SIGTERM, it puts
the charger back (its schedules and its lock) and exits.

The plan lives in the charger's own schedules, so the car still charges in the windows if
this bot or the house's internet goes down; the schedules then stay until restored (with
the Konnect+ app, or by running the bot again and stopping it).

    python examples/plan_bot.py --prices prices.csv --kwh 30 --by 07:00

See ``settings.py`` for where it connects and as whom.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import settings
from andersen_ev import AndersenA2, AndersenError, AppliedPlan
from andersen_ev.planning import ChargePlan, plan_charging, prices_from_csv, prices_from_octopus


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--prices", type=Path, required=True, help="the price file to watch")
    parser.add_argument("--kwh", type=float, required=True, help="the energy wanted (kWh)")
    parser.add_argument("--by", required=True, help="ready by this time of day (HH:MM)")
    parser.add_argument("--power", type=float, default=7.2, help="charging power (kW)")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between reads")
    parser.add_argument("--for", dest="seconds", type=float, help="stop after this long")
    return parser.parse_args()


def read_prices(path: Path) -> str | None:
    """The file's text, or None while it cannot be read (being replaced, say)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def make_plan(text: str, args: argparse.Namespace, zone: ZoneInfo) -> ChargePlan:
    """The cheapest plan from now until the next ``--by`` on the charger's clock."""
    prices = prices_from_octopus(text) if text.lstrip()[:1] in "{[" else prices_from_csv(text)
    now = datetime.now(UTC)
    local = now.astimezone(zone)
    ready_by = datetime.combine(local.date(), time.fromisoformat(args.by), tzinfo=zone)
    if ready_by.astimezone(UTC) <= now:
        ready_by = datetime.combine(local.date() + timedelta(days=1), ready_by.time(), zone)
    return plan_charging(
        prices,
        energy_kwh=args.kwh,
        power_kw=args.power,
        not_before=now,
        ready_by=ready_by,
        time_zone=zone,
    )


def describe(plan: ChargePlan, zone: ZoneInfo) -> str:
    windows = ", ".join(
        f"{w.start.astimezone(zone):%a %H:%M}-{w.end.astimezone(zone):%H:%M}" for w in plan.windows
    )
    return f"{plan.energy_kwh:.2f} kWh for {plan.cost:.2f} in {windows}"


async def follow_prices(
    a2: AndersenA2, device_id: str, zone: ZoneInfo, args: argparse.Namespace
) -> None:
    """Plan on every new price file until the plan is over; restore whatever is applied."""
    applied: AppliedPlan | None = None
    seen: str | None = None
    try:
        while applied is None or datetime.now(UTC) < applied.plan.ready_by:
            text = await asyncio.to_thread(read_prices, args.prices)  # no file I/O on the loop
            if text is not None and text != seen:
                seen = text
                try:
                    plan = await asyncio.to_thread(make_plan, text, args, zone)
                except AndersenError as error:  # bad prices, or the energy cannot fit
                    print(f"new prices not used: {error}", flush=True)
                else:
                    if applied is None or plan.windows != applied.plan.windows:
                        if applied is not None:
                            await applied.restore()
                        applied = await a2.apply_charging_plan(device_id, plan)
                        print(f"applied: {describe(plan, zone)}", flush=True)
            await asyncio.sleep(args.interval)
        print("the plan is over", flush=True)
    finally:
        if applied is not None:
            # shielded: a cancelled bot (Ctrl-C, SIGTERM, --for) still puts the charger back
            await asyncio.shield(applied.restore())
            print("restored the charger's schedules and lock", flush=True)


async def main() -> None:
    args = arguments()
    task = asyncio.current_task()
    if task is not None:  # SIGTERM (systemd, docker stop) ends the bot as Ctrl-C does
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    email, password = settings.credentials()
    async with AndersenA2(endpoints=settings.endpoints()) as a2:
        await a2.authenticate(email, password)
        [device] = await a2.get_current_user_devices()  # the account's one charger
        region = device.device_info.time_zone_region if device.device_info else None
        zone = ZoneInfo(region or "Europe/London")
        print(f"planning for {device.friendly_name} ({zone.key})", flush=True)
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            async with asyncio.timeout(args.seconds):
                await follow_prices(a2, device.id, zone, args)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    sys.exit(0)
