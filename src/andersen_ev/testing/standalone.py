"""The emulator as a process: ``python -m andersen_ev.testing`` (and ``andersen-ev emulator``).

Starts :class:`~andersen_ev.testing.AndersenCloud`, adds a demo account and charger, prints
ONE line of JSON on stdout with the endpoints and demo credentials (so programs in other
processes or languages can read it), then serves until SIGINT or SIGTERM.
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

from andersen_ev.testing.cloud import AndersenCloud

__all__ = ["build_parser", "main", "serve"]

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "andersen-demo"  # noqa: S105 - a public demo account of a local emulator


def build_parser() -> argparse.ArgumentParser:
    """The command-line options of the standalone emulator."""
    parser = argparse.ArgumentParser(
        prog="python -m andersen_ev.testing",
        description="Run a local emulator of the Andersen cloud (GraphQL, websockets, Cognito).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="API port (0: any free port)")
    parser.add_argument(
        "--cognito-port", type=int, default=0, help="Cognito port (0: any free port)"
    )
    parser.add_argument("--email", default=DEMO_EMAIL, help="demo account email")
    parser.add_argument("--password", default=DEMO_PASSWORD, help="demo account password")
    parser.add_argument("--charger-name", default="Driveway", help="demo charger's friendly name")
    parser.add_argument(
        "--token-lifetime", type=float, default=3600.0, help="id/access token lifetime, seconds"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="simulated seconds per real second for the chargers' clock",
    )
    return parser


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
        ) as cloud:
            user = cloud.add_user(options.email, options.password)
            charger = cloud.add_charger(user, name=options.charger_name)
            cloud.run_in_real_time(speed=options.speed)
            line: dict[str, Any] = {
                "endpoints": dataclasses.asdict(cloud.endpoints),
                "email": options.email,
                "password": options.password,
                "device_id": charger.id,
                "charger_name": options.charger_name,
            }
            out.write(json.dumps(line) + "\n")
            out.flush()
            await stop.wait()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m andersen_ev.testing``; returns the exit status."""
    options = build_parser().parse_args(argv)
    asyncio.run(serve(options, sys.stdout))
    return 0
