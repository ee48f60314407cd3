"""The ``andersen-ev`` command: options, dispatch, exit codes and error handling.

``main(argv)`` parses the command line, runs the command in an event loop and returns the
exit status (see :class:`~andersen_ev.cli.errors.ExitCode`): errors become one line on
stderr with a hint, never a traceback (unless ``--debug``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, TextIO

import argcomplete
from argcomplete.completers import DirectoriesCompleter

from andersen_ev._version import __version__
from andersen_ev.cli import (
    account,
    completion,
    demo,
    devices,
    emulator,
    logs,
    plan,
    schedules,
    solar,
    watch,
)
from andersen_ev.cli.arguments import device_of
from andersen_ev.cli.config import ENDPOINTS_ENV, Paths, default_config_dir, parse_endpoints
from andersen_ev.cli.context import Context
from andersen_ev.cli.errors import CliError, ExitCode, Hints, explain, one_line

__all__ = ["build_parser", "main", "run"]

_EPILOG: Final = """\
exit status:
  0    done                      3  not logged in: run 'andersen-ev login'
  1    service or network error  4  no such charger
  2    usage                     5  a command's outcome is unknown: see 'status'
  130  interrupted (Ctrl-C; 'watch' exits 0)

Try it without a charger or an account: andersen-ev demo
Tab completion: andersen-ev completion --help
"""

#: Commands that use neither the saved tokens nor a configured cloud: --config-dir and
#: --endpoints would be ignored, so they are refused.
_SELF_CONTAINED: Final = frozenset({"demo", "emulator", "completion"})


def _directory(text: str) -> Path:
    return Path(text).expanduser()


def _common_options() -> argparse.ArgumentParser:
    """Options every command takes, before or after its name."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("common options")
    group.add_argument(
        "--config-dir",
        type=_directory,
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="where the tokens are kept (default: $XDG_CONFIG_HOME/andersen-ev,"
        " else ~/.config/andersen-ev)",
    ).completer = DirectoriesCompleter()  # type: ignore[attr-defined]
    group.add_argument(
        "--endpoints",
        default=argparse.SUPPRESS,
        metavar="JSON|FILE",
        help=f"the cloud to use: the JSON line 'andersen-ev emulator' prints, a file holding"
        f" it, or 'production' (default: ${ENDPOINTS_ENV}, else what login recorded,"
        " else production)",
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log requests and the library's warnings, and show tracebacks",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: every command and its options."""
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="andersen-ev",
        description=(
            "Control an Andersen A2 EV charger through the Andersen cloud (Konnect+),\n"
            "or try everything on a local emulator. 'andersen-ev COMMAND --help' tells more."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"andersen-ev {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for module in (
        account,
        devices,
        watch,
        schedules,
        solar,
        plan,
        logs,
        emulator,
        demo,
        completion,
    ):
        module.register(commands, common)
    return parser


class _OneLine(logging.Formatter):
    """Log records as ``andersen-ev: error: message``, without tracebacks."""

    def format(self, record: logging.LogRecord) -> str:
        return f"andersen-ev: {record.levelname.lower()}: {record.getMessage()}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``andersen-ev`` with ``argv`` (default: the process's arguments).

    Under a shell's Tab completion (the script of ``andersen-ev completion``), it prints
    the completions and exits instead.

    Returns:
        The exit status (see :class:`~andersen_ev.cli.errors.ExitCode`).
    """
    parser = build_parser()
    argcomplete.autocomplete(parser, always_complete_options=False)
    return run(argv, stdin=sys.stdin, stdout=sys.stdout, stderr=sys.stderr, parser=parser)


def _parse(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None, stderr: TextIO
) -> argparse.Namespace | int:
    """The parsed command line, or the exit status when parsing ended the command."""
    try:
        args, extra = parser.parse_known_args(argv)
        if args.command is None:
            parser.print_usage(stderr)
            stderr.write("andersen-ev: error: name a command (andersen-ev --help lists them)\n")
            return ExitCode.USAGE
        if extra and not getattr(args, "passthrough", False):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        ignored = [
            option
            for option, dest in (("--config-dir", "config_dir"), ("--endpoints", "endpoints"))
            if hasattr(args, dest)
        ]
        if args.command in _SELF_CONTAINED and ignored:
            parser.error(
                f"'{args.command}' uses neither saved tokens nor a configured cloud:"
                f" {' and '.join(ignored)} would change nothing"
            )
        if getattr(args, "group_json", False) and args.handler is not args.read_handler:
            parser.error(
                f"'{args.command} {args.action}' prints no JSON (--json is for reading:"
                f" 'andersen-ev {args.command} --json')"
            )
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE
    args.extra = extra
    return args


def run(
    argv: Sequence[str] | None,
    *,
    stdin: TextIO,
    stdout: TextIO,
    stderr: TextIO,
    parser: argparse.ArgumentParser | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """:func:`main` with explicit streams, parser and environment (default: the process's)."""
    args = _parse(parser or build_parser(), argv, stderr)
    if isinstance(args, int):
        return args
    debug = bool(getattr(args, "debug", False))
    handler = logging.StreamHandler(stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        if debug
        else _OneLine()
    )
    logger = logging.getLogger("andersen_ev")
    level = logger.level
    logger.addHandler(handler)
    # Without --debug the command says itself what went wrong: the library's warnings
    # (a refused refresh, a reconnecting stream) would only repeat it in its own terms.
    logger.setLevel(logging.DEBUG if debug else logging.ERROR)
    hints = _hints(args)
    try:
        env = os.environ if environ is None else environ
        return _dispatch(args, hints, env, stdin=stdin, stdout=stdout, stderr=stderr)
    except KeyboardInterrupt:
        stdout.flush()
        code: int = getattr(args, "interrupt_code", ExitCode.INTERRUPTED)
        if code != ExitCode.OK:
            stderr.write("andersen-ev: interrupted\n")
        return code
    except SystemExit as exc:  # the emulator's own --help and usage errors
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE
    except Exception as exc:
        if debug:
            raise
        code, message, hint = explain(exc, hints)
        stderr.write(one_line(message, hint))
        return code
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _hints(args: argparse.Namespace) -> Hints:
    """How the command was run: the options its hints must repeat."""
    options: list[str] = []
    if hasattr(args, "config_dir"):
        options += ["--config-dir", str(args.config_dir)]
    if hasattr(args, "endpoints"):
        options += ["--endpoints", args.endpoints]
    action = getattr(args, "action", None)
    try:
        device = device_of(args)
    except CliError:  # named twice: the command itself reports it
        device = None
    return Hints(
        command=(args.command, *([action] if action else [])),
        options=tuple(options),
        device=device,
    )


def _dispatch(
    args: argparse.Namespace,
    hints: Hints,
    environ: Mapping[str, str],
    *,
    stdin: TextIO,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    given = getattr(args, "endpoints", None)
    own_cloud = args.command in _SELF_CONTAINED  # the variable is for the other commands
    override = given or (None if own_cloud else environ.get(ENDPOINTS_ENV)) or None
    source = "--endpoints" if given else ENDPOINTS_ENV
    ctx = Context(
        paths=Paths(getattr(args, "config_dir", None) or default_config_dir(environ)),
        endpoints_override=parse_endpoints(override, source) if override else None,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        hints=hints,
        environ=environ,
    )
    prepare = getattr(args, "prepare", None)
    if prepare is not None:
        prepare(ctx, args)
    code: int = asyncio.run(args.handler(ctx, args))
    return code
