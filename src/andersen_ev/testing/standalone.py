"""The emulator as a process: ``python -m andersen_ev.testing`` (and ``andersen-ev emulator``).

Starts :class:`~andersen_ev.testing.AndersenCloud` with the real service's habits (device
commands land a second or two late ...; ``--no-realism`` for the kind emulator), adds a
demo account and charger (and whatever the flags ask for), runs the clock in real time,
prints ONE line of JSON on stdout with the endpoints, the demo credentials and the URL of
the control surface (so programs in other processes or languages can read it and drive
the emulated world), then serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import signal
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from andersen_ev.testing.charger import Charger
from andersen_ev.testing.cloud import AndersenCloud
from andersen_ev.testing.faults import Faults
from andersen_ev.testing.realism import Realism

__all__ = ["build_parser", "main", "parse", "serve"]

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "andersen-demo"  # noqa: S105 - a public demo account of a local emulator
_FAULTS = tuple(field.name for field in dataclasses.fields(Faults))


def build_parser() -> argparse.ArgumentParser:
    """The command-line options of the standalone emulator."""
    parser = argparse.ArgumentParser(
        prog="python -m andersen_ev.testing",
        description="Run a local emulator of the Andersen cloud (GraphQL, websockets, Cognito).",
    )
    _serving_options(parser)
    _world_options(parser)
    _realism_options(parser)
    return parser


def _serving_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="API port (0: any free port)")
    parser.add_argument(
        "--cognito-port", type=int, default=0, help="Cognito port (0: any free port)"
    )
    parser.add_argument(
        "--control-port",
        type=int,
        default=0,
        help="port of the control surface, JSON over HTTP (0: any free port)",
    )
    parser.add_argument(
        "--control-host",
        default="127.0.0.1",
        help="address of the control surface; it takes no token: keep it on loopback",
    )
    parser.add_argument(
        "--no-control", action="store_true", help="do not serve the control surface"
    )
    parser.add_argument(
        "--token-lifetime", type=float, default=3600.0, help="id/access token lifetime, seconds"
    )


def _world_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", default=DEMO_EMAIL, help="demo account email")
    parser.add_argument("--password", default=DEMO_PASSWORD, help="demo account password")
    parser.add_argument("--charger-name", default="Driveway", help="demo charger's friendly name")
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        type=_user,
        metavar="EMAIL:PASSWORD",
        help="another account (repeatable)",
    )
    parser.add_argument(
        "--charger",
        action="append",
        default=[],
        type=_charger,
        metavar="NAME[@EMAIL]",
        help="another charger, of the demo account or of EMAIL (repeatable)",
    )
    parser.add_argument(
        "--plug-in",
        type=_car,
        metavar="KWH[:KW]",
        help="plug a car into the demo charger: energy it wants ('inf': never full) and"
        " its maximum power (default 7.2 kW)",
    )
    parser.add_argument("--offline", action="store_true", help="the demo charger starts offline")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        type=_fault,
        metavar="NAME=VALUE",
        help=f"a fault knob to start with (repeatable): {', '.join(_FAULTS)}",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="simulated seconds per real second for the chargers' clock (0: it stands still)",
    )


def _realism_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-realism",
        action="store_true",
        help="the kind emulator: commands applied at once, getSolar live, objects from"
        " every mutation",
    )
    parser.add_argument(
        "--command-delay",
        type=_delay,
        metavar="LOW[:HIGH]",
        help="seconds a device command takes to land (default 1:2; 0: at once)",
    )
    parser.add_argument(
        "--get-solar", choices=("stale", "null", "live"), help="what getSolar answers"
    )
    parser.add_argument(
        "--wire-variants",
        action="store_true",
        help="send numbers as strings, floats for integers, leave out null keys, add unknown ones",
    )
    parser.add_argument("--seed", type=int, help="seed of the command delays' jitter")


def parse(argv: Sequence[str] | None, parser: argparse.ArgumentParser | None = None) -> Any:
    """Parse and check the options (exits with a usage error, as argparse does)."""
    parser = parser or build_parser()
    options = parser.parse_args(argv)
    emails = {options.email.lower(), *(email.lower() for email, _ in options.user)}
    for name, owner in options.charger:
        if owner is not None and owner.lower() not in emails:
            parser.error(f"--charger {name}@{owner}: no such account (add it with --user)")
    if options.speed < 0:
        parser.error("--speed must not be negative")
    return options


def _user(text: str) -> tuple[str, str]:
    email, sep, password = text.partition(":")
    if not sep or not email or not password:
        raise argparse.ArgumentTypeError(f"expected EMAIL:PASSWORD, got {text!r}")
    return email, password


def _charger(text: str) -> tuple[str, str | None]:
    name, _, owner = text.partition("@")
    if not name:
        raise argparse.ArgumentTypeError(f"expected NAME[@EMAIL], got {text!r}")
    return name, owner or None


def _car(text: str) -> tuple[float | None, float]:
    energy, _, power = text.partition(":")
    try:
        wanted = float(energy)
        kw = float(power) if power else 7.2
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected KWH[:KW], got {text!r}") from None
    if not wanted > 0 or not kw > 0:
        raise argparse.ArgumentTypeError(f"energy and power must be positive, got {text!r}")
    return (None if wanted == float("inf") else wanted), kw


def _delay(text: str) -> tuple[float, float]:
    low, _, high = text.partition(":")
    try:
        delay = (float(low), float(high or low))
        Realism(command_delay=delay)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW[:HIGH] seconds, got {text!r}") from None
    return delay


def _fault(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    if name not in _FAULTS:
        raise argparse.ArgumentTypeError(f"unknown fault {name!r}: one of {', '.join(_FAULTS)}")
    try:
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {name}=NUMBER, got {text!r}") from None


def realism_of(options: argparse.Namespace) -> Realism:
    """The realism the options ask for (the defaults, or the kind emulator, then the flags)."""
    realism = Realism.of(not options.no_realism)
    changes: dict[str, Any] = {"seed": options.seed}
    if options.command_delay is not None:
        changes["command_delay"] = options.command_delay
    if options.get_solar is not None:
        changes["get_solar"] = options.get_solar
    if options.wire_variants:
        changes["wire_variants"] = True
    return dataclasses.replace(realism, **changes)


def populate(cloud: AndersenCloud, options: argparse.Namespace) -> Charger:
    """Add the demo account and charger and what the flags ask for; the demo charger."""
    demo = cloud.add_user(options.email, options.password)
    for email, password in options.user:
        cloud.add_user(email, password)
    charger = cloud.add_charger(demo, name=options.charger_name)
    for name, owner in options.charger:
        cloud.add_charger(cloud.state.user_by_email(owner) if owner else demo, name=name)
    if options.plug_in is not None:
        charger.plug_in(*options.plug_in)
    if options.offline:
        charger.set_online(False)
    for name, value in options.fault:
        kind = type(getattr(cloud.faults, name))
        setattr(cloud.faults, name, kind(value))
    return charger


async def serve(
    options: argparse.Namespace, out: TextIO, stop: asyncio.Event | None = None
) -> None:
    """Run the emulator with ``options`` until ``stop`` is set (or SIGINT/SIGTERM)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
    try:
        async with AndersenCloud(
            host=options.host,
            port=options.port,
            cognito_port=options.cognito_port,
            token_lifetime=options.token_lifetime,
            realism=realism_of(options),
            control_port=None if options.no_control else options.control_port,
            control_host=options.control_host,
        ) as cloud:
            charger = populate(cloud, options)
            cloud.run_in_real_time(speed=options.speed)
            out.write(json.dumps(_line(cloud, charger, options)) + "\n")
            out.flush()
            await stop.wait()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def _line(cloud: AndersenCloud, charger: Charger, options: argparse.Namespace) -> dict[str, Any]:
    line: dict[str, Any] = {
        "endpoints": dataclasses.asdict(cloud.endpoints),
        "email": options.email,
        "password": options.password,
        "device_id": charger.id,
        "charger_name": options.charger_name,
    }
    if not options.no_control:
        line["control_url"] = cloud.control_url
    return line


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m andersen_ev.testing``; returns the exit status."""
    asyncio.run(serve(parse(argv), sys.stdout))
    return 0
