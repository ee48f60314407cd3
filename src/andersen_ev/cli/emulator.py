"""``emulator``: the standalone emulator of the Andersen cloud, in the foreground.

The library never imports its emulator: this module loads :mod:`andersen_ev.testing` only
when the command runs.
"""

from __future__ import annotations

import argparse

from andersen_ev.cli.arguments import Commands
from andersen_ev.cli.context import Context
from andersen_ev.cli.errors import ExitCode

__all__ = ["register"]


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Add ``emulator`` (its options are the standalone emulator's)."""
    del common  # its options are those of python -m andersen_ev.testing
    emulator = commands.add_parser(
        "emulator",
        add_help=False,
        help="run a local emulator of the Andersen cloud until Ctrl-C",
        description="Run the emulator; see 'andersen-ev emulator --help' for its options.",
    )
    emulator.set_defaults(handler=_serve, prepare=_parse, passthrough=True)


def _parse(ctx: Context, args: argparse.Namespace) -> None:
    """Parse the emulator's own options (``--help`` included) before the loop starts."""
    del ctx
    from andersen_ev.testing.standalone import build_parser, parse  # noqa: PLC0415 - lazily

    parser = build_parser()
    parser.prog = "andersen-ev emulator"
    parser.description = (
        f"{parser.description} It is no kinder than the real service (commands land a"
        " second or two late; --no-realism for the kind emulator). Prints one JSON line"
        " (endpoints, the demo account's credentials and the control surface's URL; give"
        " it to other commands with --endpoints or ANDERSEN_EV_ENDPOINTS), then serves"
        " until Ctrl-C."
    )
    args.options = parse(args.extra, parser)


async def _serve(ctx: Context, args: argparse.Namespace) -> int:
    from andersen_ev.testing.standalone import serve  # noqa: PLC0415 - lazily

    await serve(args.options, ctx.stdout)
    return ExitCode.OK
