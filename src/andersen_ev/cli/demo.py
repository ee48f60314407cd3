"""``demo``: a guided tour of the command line against an embedded emulator, in seconds.

Starts :class:`~andersen_ev.testing.AndersenCloud` in this process with a demo account, a
locked charger and a car plugged in, then runs the real commands (``login``, ``devices``,
``status``, ``unlock``, ``watch``, ``lock``, ``logs``) against it with a temporary config
directory, explaining each step. Nothing reaches the real service, and the user's own
login is left alone.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import shlex
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from andersen_ev.cli.arguments import Commands, positive
from andersen_ev.cli.config import Paths
from andersen_ev.cli.context import Context
from andersen_ev.cli.errors import ExitCode

__all__ = ["register"]

DEMO_EMAIL: Final = "demo@example.com"
DEMO_PASSWORD: Final = "andersen-demo"  # noqa: S105 - the emulator's public demo account
DEFAULT_WATCH: Final = 5.0
#: The emulator's clock: it advances SPEED simulated seconds per real second, in TICK steps.
TICK: Final = 0.25
SPEED: Final = 8.0
FAST_FORWARD: Final = 45 * 60


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``demo``."""
    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="a guided tour on a local emulator: log in, unlock, watch a car charge, lock",
        description=(
            "Start a local emulator of the Andersen cloud with a demo account, a charger"
            " and a car, and run the commands against it: login, devices, status, unlock,"
            " a live charging session, lock and the charge log. Takes a few seconds;"
            " nothing reaches the real service and your own login is untouched."
        ),
    )
    demo.add_argument(
        "--watch",
        type=positive,
        default=DEFAULT_WATCH,
        metavar="SECONDS",
        help=f"how long to watch the car charge (default {DEFAULT_WATCH:g})",
    )
    demo.set_defaults(handler=_demo)


class _Tour:
    """Runs commands in the demo's own configuration, narrating as it goes."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.step = 0

    def say(self, text: str) -> None:
        self.step += 1
        self.ctx.write(f"\n{self.step}. {text}")

    async def run(self, argv: Sequence[str], *, stdin: str = "", note: str = "") -> None:
        from andersen_ev.cli.app import build_parser  # noqa: PLC0415 - app imports this module

        self.ctx.write(f"$ andersen-ev {shlex.join(argv)}{note}")
        # argparse looks translations up on disk (gettext): parse in a thread, not the loop
        args = await asyncio.to_thread(lambda: build_parser().parse_args(argv))
        self.ctx.stdin = io.StringIO(stdin)
        if getattr(args, "prepare", None) is not None:
            args.prepare(self.ctx, args)
        code = await args.handler(self.ctx, args)
        if code != ExitCode.OK:  # pragma: no cover - every step succeeds on the emulator
            raise RuntimeError(f"the demo's step 'andersen-ev {shlex.join(argv)}' failed")


async def _demo(ctx: Context, args: argparse.Namespace) -> int:
    from andersen_ev.testing import AndersenCloud  # noqa: PLC0415 - the emulator, lazily

    began = time.monotonic()
    ctx.write(
        "andersen-ev demo: the command line against a local emulator of the Andersen cloud."
        "\nNothing here reaches the real service, and your own login (if any) is untouched."
    )
    # made and removed in a thread: file system calls do not belong in the event loop
    temporary = await asyncio.to_thread(tempfile.TemporaryDirectory, prefix="andersen-ev-demo-")
    try:
        directory = temporary.name
        async with AndersenCloud() as cloud:
            user = cloud.add_user(DEMO_EMAIL, DEMO_PASSWORD)
            charger = cloud.add_charger(user, name="Driveway", sysUserLock=True)
            charger.plug_in(energy_wanted_kwh=40.0)
            endpoints = cloud.endpoints
            tour = _Tour(
                Context(
                    paths=Paths(Path(directory)),
                    endpoints_override=endpoints,
                    stdin=io.StringIO(),
                    stdout=ctx.stdout,
                    stderr=ctx.stderr,
                    confirm_interval=0.1,
                )
            )
            tour.say(
                "The emulator runs: a demo account, a charger called Driveway (locked) and"
                " a car plugged in.\n"
                f"   API at {endpoints.graphql_url}, Cognito at {endpoints.cognito_url}"
                " (run your own with 'andersen-ev emulator')."
            )
            tour.say(
                "Log in. The password is proved with SRP, so it never leaves this machine,"
                " and it is not stored:\n   this machine is remembered as a device and the"
                " tokens are saved instead (mode 0600)."
            )
            await tour.run(
                ["login", DEMO_EMAIL, "--password-stdin", "--device-name", "andersen-ev demo"],
                stdin=DEMO_PASSWORD + "\n",
                note="    (password typed for you)",
            )
            tour.say("The account's chargers.")
            await tour.run(["devices"])
            tour.say("Its status: the car is plugged in, but the charger is locked.")
            await tour.run(["status"])
            cloud.run_in_real_time(interval=TICK, speed=SPEED)  # commands land within a tick
            tour.say("Unlock it (the command waits until the charger shows the change).")
            await tour.run(["unlock"])
            tour.say(
                f"Watch the car charge: power ramps up, energy and duration grow (the"
                f" emulator's clock runs {SPEED:g}x faster than yours)."
            )
            await tour.run(["watch", "--for", f"{args.watch:g}"])
            cloud.advance(FAST_FORWARD)
            tour.say(f"Fast-forward {FAST_FORWARD // 60} minutes: the session goes on.")
            await tour.run(["status"])
            tour.say("Lock the charger: charging stops at once.")
            await tour.run(["lock"])
            await tour.run(["status"])
            charger.unplug()
            tour.say("Unplug the car: the session is now in the charge log (newest first).")
            await tour.run(["logs", "--limit", "3"])
    finally:
        await asyncio.to_thread(temporary.cleanup)
    ctx.write(
        f"\nDone in {time.monotonic() - began:.1f} s. Next: 'andersen-ev --help', the"
        " README's Python example, or 'andersen-ev emulator' to test your own code."
    )
    return ExitCode.OK
