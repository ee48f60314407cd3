"""Options shared by several commands, and the argument types of the command line."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Final, TypeAlias

from andersen_ev.cli.context import Context
from andersen_ev.cli.errors import CliError, ExitCode
from andersen_ev.models import DayMap

__all__ = [
    "Commands",
    "Handler",
    "Prepare",
    "add_device",
    "add_group",
    "add_json",
    "add_wait",
    "clock",
    "confirm_of",
    "count",
    "day_map",
    "device_of",
    "iso_date",
    "no_completion",
    "non_negative",
    "percentage",
    "positive",
    "wants_json",
]

Handler: TypeAlias = Callable[[Context, argparse.Namespace], Awaitable[int]]
"""Runs a command inside the event loop; returns the exit code."""
Prepare: TypeAlias = Callable[[Context, argparse.Namespace], None]
"""Runs before the event loop starts (prompts, so that Ctrl-C works at once)."""
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

DEFAULT_WAIT: Final = 30.0
_DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_FIELDS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_SETS: Final = {
    "all": _DAYS,
    "every-day": _DAYS,
    "daily": _DAYS,
    "weekdays": _DAYS[:5],
    "weekends": _DAYS[5:],
}


def add_json(parser: argparse.ArgumentParser) -> None:
    """``--json``: print JSON (snake_case keys) instead of text."""
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print JSON (snake_case keys) instead of text",
    )


def wants_json(args: argparse.Namespace) -> bool:
    """Whether ``--json`` was given (before or after a sub-action)."""
    return bool(getattr(args, "json", False) or getattr(args, "group_json", False))


def add_device(parser: argparse.ArgumentParser, *, positional: bool = True) -> None:
    """``[DEVICE]`` and ``-d/--device``: a charger's name or id (default: the only one)."""
    what = "the charger's name or id (default: the account's only charger)"
    actions = [
        parser.add_argument(
            "-d",
            "--device",
            dest="device_option",
            default=argparse.SUPPRESS,
            metavar="DEVICE",
            help=what,
        )
    ]
    if positional:
        actions.append(
            parser.add_argument(
                "device", nargs="?", default=argparse.SUPPRESS, metavar="DEVICE", help=what
            )
        )
    for action in actions:  # Tab offers no file names where a charger is wanted
        action.completer = no_completion  # type: ignore[attr-defined]


def no_completion(**_: object) -> tuple[str, ...]:
    """An argcomplete completer that offers nothing (names only the service knows)."""
    return ()


def add_group(
    commands: Commands,
    common: argparse.ArgumentParser,
    name: str,
    *,
    help: str,
    description: str,
    read: tuple[str, str, Handler],
) -> Commands:
    """A command with actions whose bare form runs its read action; returns the actions.

    ``read`` is ``(action name, action help, handler)``: ``andersen-ev NAME`` and
    ``andersen-ev NAME ACTION`` both run it, with ``--device`` and ``--json``.
    """
    group = commands.add_parser(name, parents=[common], help=help, description=description)
    add_device(group, positional=False)
    group.add_argument(  # before an action, --json is for the read action only
        "--json",
        dest="group_json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print JSON (snake_case keys) instead of text",
    )
    read_name, read_help, handler = read
    group.set_defaults(handler=handler, read_handler=handler)
    actions = group.add_subparsers(title="actions", dest="action", metavar="ACTION")
    reader = actions.add_parser(read_name, parents=[common], help=read_help)
    add_device(reader)
    add_json(reader)
    reader.set_defaults(handler=handler)
    return actions


def device_of(args: argparse.Namespace) -> str | None:
    """The charger the user named, positionally or with ``--device``.

    Raises:
        CliError: two different chargers were named (exit code 2).
    """
    positional: str | None = getattr(args, "device", None)
    option: str | None = getattr(args, "device_option", None)
    if positional is not None and option is not None and positional != option:
        raise CliError(
            f"two chargers named: {positional!r} and --device {option!r}",
            hint="name one charger per command",
            code=ExitCode.USAGE,
        )
    return positional or option


def add_wait(parser: argparse.ArgumentParser) -> None:
    """``--no-wait`` and ``--wait-timeout``: whether to wait until the charger shows a change."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--no-wait",
        action="store_true",
        help="return once the command is sent, without waiting for the charger to show it",
    )
    group.add_argument(
        "--wait-timeout",
        type=positive,
        default=DEFAULT_WAIT,
        metavar="SECONDS",
        help=f"how long to wait for the charger to show the change (default {DEFAULT_WAIT:g})",
    )


def confirm_of(args: argparse.Namespace) -> float | bool:
    """The ``confirm=`` argument for the library: False, or seconds to wait."""
    if args.no_wait:
        return False
    seconds: float = args.wait_timeout
    return seconds


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def positive(text: str) -> float:
    """A positive number of seconds."""
    if not _number(text) > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text!r}")
    return float(text)


def non_negative(text: str) -> float:
    """A number, 0 or more."""
    if not _number(text) >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return float(text)


def count(text: str) -> int:
    """A whole number, 1 or more."""
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def percentage(text: str) -> int:
    """A whole percentage, 0-100."""
    value = _whole(text)
    if not 0 <= value <= 100:  # noqa: PLR2004
        raise argparse.ArgumentTypeError(f"must be from 0 to 100, got {value}")
    return value


def clock(text: str) -> tuple[int, int]:
    """``HH:MM`` as ``(hour, minute)``."""
    hour, _, minute = text.partition(":")
    try:
        parsed = (int(hour), int(minute))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time of day (HH:MM): {text!r}") from None
    if not (0 <= parsed[0] <= 23 and 0 <= parsed[1] <= 59):  # noqa: PLR2004
        raise argparse.ArgumentTypeError(f"not a time of day (00:00-23:59): {text!r}")
    return parsed


def day_map(text: str) -> DayMap:
    """Days: ``all``, ``weekdays``, ``weekends``, or a list such as ``mon,wed,fri-sun``."""
    chosen: set[str] = set()
    for part in text.lower().replace(" ", "").split(","):
        if part in _DAY_SETS:
            chosen.update(_DAY_SETS[part])
            continue
        first, _, last = part.partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise argparse.ArgumentTypeError(
                f"unknown day {part!r}: use all, weekdays, weekends, or mon,tue,... (ranges"
                " like mon-fri work)"
            )
        start, end = _DAYS.index(first), _DAYS.index(last or first)
        if end < start:
            raise argparse.ArgumentTypeError(f"a day range runs forwards: {part!r}")
        chosen.update(_DAYS[start : end + 1])
    return DayMap.model_validate(
        {field: day in chosen for field, day in zip(_DAY_FIELDS, _DAYS, strict=True)}
    )


def iso_date(text: str) -> str:
    """An ISO-8601 date or date-time, passed on as given."""
    try:
        (datetime if "T" in text else date).fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO date (YYYY-MM-DD or YYYY-MM-DDTHH:MM): {text!r}"
        ) from None
    return text
