"""Exit codes of ``andersen-ev`` and the one place where errors become a line on stderr.

Every failure ends the command with one line on stderr (the message, then a hint saying
what to do) and a documented exit code, never a traceback (``--debug`` shows one). Hints
are commands the user can paste: they repeat the ``--config-dir`` and ``--endpoints`` the
failed command was given (:class:`Hints`), so that they act on the same tokens and cloud.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from andersen_ev.exceptions import (
    AndersenConnectionError,
    AndersenError,
    AndersenTimeoutError,
    AuthenticationError,
    CommandNotConfirmedError,
    DeviceNotFoundError,
    InvalidCredentialsError,
    InvalidInputError,
    OutcomeUnknownError,
    PlanNotFeasibleError,
    PriceDataError,
    RateLimitedError,
    RestoreError,
    ServerError,
    ServiceUnavailableError,
    TokenStoreError,
    UnsupportedChallengeError,
)

__all__ = ["CliError", "ExitCode", "Hints", "explain", "one_line"]


class ExitCode(IntEnum):
    """What the exit status of ``andersen-ev`` means."""

    OK = 0
    """The command did what was asked."""
    ERROR = 1
    """The service or the network failed, or anything else went wrong."""
    USAGE = 2
    """The command line was wrong (unknown option, bad value, ambiguous charger)."""
    AUTH = 3
    """Not logged in, or the session is over: run ``andersen-ev login``."""
    NOT_FOUND = 4
    """No charger of the account matches the name or id given."""
    OUTCOME_UNKNOWN = 5
    """A command was sent, but whether the charger applied it is unknown: look first."""
    INTERRUPTED = 130
    """Stopped with Ctrl-C (``watch`` exits 0 instead: that is how it ends)."""


class CliError(Exception):
    """A failure the command line detects itself, with its hint and exit code."""

    def __init__(
        self, message: str, *, hint: str | None = None, code: ExitCode = ExitCode.ERROR
    ) -> None:
        super().__init__(message)
        self.hint = hint
        self.code = code


@dataclass
class Hints:
    """How the failed command was run, to write hints the user can paste and run.

    Attributes:
        command: The command's words (``("schedules", "set")``), empty before parsing.
        options: Options every hint repeats (``--config-dir DIR`` when given).
        login_options: What ``login`` needs besides them to reach the same cloud
            (``--endpoints ...``, when the cloud came from the command line or from what
            ``login`` recorded; the environment variable reaches ``login`` by itself).
        device: The charger the user named, if any.
    """

    command: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    login_options: tuple[str, ...] = ()
    device: str | None = None

    def run(self, *words: str) -> str:
        """``andersen-ev WORDS`` with the options every hint repeats, quoted for a shell."""
        return _join(["andersen-ev", *words, *self.options])

    def login(self) -> str:
        """The ``login`` command that gets tokens for the same cloud, into the same place."""
        return self.run("login", *self.login_options)

    def status(self, device: str | None = None) -> str:
        """The ``status`` command for ``device`` (default: the charger the user named)."""
        wanted = device or self.device
        return self.run("status", *([wanted] if wanted else []))

    def help(self) -> str:
        """``andersen-ev COMMAND --help`` for the command that failed."""
        return _join(["andersen-ev", *self.command, "--help"])


def _join(words: list[str]) -> str:
    """Words as a shell command, quoting with double quotes: hints stand in single quotes."""
    return " ".join(word if shlex.quote(word) == word else _double_quoted(word) for word in words)


def _double_quoted(word: str) -> str:
    escaped = "".join(f"\\{char}" if char in '"$`\\' else char for char in word)
    return f'"{escaped}"'


def _outcome_message(exc: OutcomeUnknownError) -> str:
    """What happened to a command whose outcome is unknown, in the command line's words."""
    if isinstance(exc, CommandNotConfirmedError):
        return (
            f"the charger did not show the change ({exc.command}) within {exc.timeout:g} s;"
            " it may be offline, and the command may still be applied later"
        )
    cause = exc.__cause__
    if isinstance(cause, AndersenTimeoutError):
        lost = "no answer came in time"
    elif isinstance(cause, ServerError):
        lost = f"the service failed with HTTP {cause.status}"
    elif isinstance(cause, AndersenConnectionError):
        lost = "the connection broke after it was sent"
    else:
        lost = "its answer was lost"
    return f"{exc.operation} was sent but {lost}, so it may or may not have been applied"


def _login_hint(hints: Hints) -> str:
    return f"run '{hints.login()}'"


#: Library errors, most specific first: the exit code, and the hint if the message needs one
#: (the outages' messages say when to try again; a broken reply's asks to report it).
_LIBRARY_ERRORS: Final[
    tuple[tuple[type[AndersenError], ExitCode, Callable[[Hints], str] | None], ...]
] = (
    (
        InvalidCredentialsError,
        ExitCode.AUTH,
        lambda hints: f"use the email and password of the Konnect+ app with '{hints.login()}'",
    ),
    (UnsupportedChallengeError, ExitCode.AUTH, None),  # the message says what the account needs
    (AuthenticationError, ExitCode.AUTH, _login_hint),
    (TokenStoreError, ExitCode.AUTH, _login_hint),
    (
        DeviceNotFoundError,
        ExitCode.NOT_FOUND,
        lambda hints: f"run '{hints.run('devices')}' to list the account's chargers",
    ),
    (
        PriceDataError,
        ExitCode.USAGE,
        lambda _: (
            "the prices are a CSV with a header naming start, end and price (ISO 8601 times"
            " with offsets), or the JSON of an Octopus unit-rates answer"
        ),
    ),
    (
        PlanNotFeasibleError,
        ExitCode.USAGE,
        lambda _: (
            "ask for less energy, a later --by, more --slots, or give prices that reach further"
        ),
    ),
    (InvalidInputError, ExitCode.USAGE, lambda hints: f"see '{hints.help()}'"),
    (
        AndersenConnectionError,
        ExitCode.ERROR,
        lambda _: (
            "check the network; for an emulator, check that it still runs and that"
            " --endpoints or ANDERSEN_EV_ENDPOINTS names it"
        ),
    ),
    (AndersenTimeoutError, ExitCode.ERROR, None),
    (
        RestoreError,
        ExitCode.ERROR,
        lambda hints: (
            f"run '{hints.run('plan', '--restore')}' again once the charger is online (it"
            " only writes the saved values), or set them in the Konnect+ app"
        ),
    ),
    (RateLimitedError, ExitCode.ERROR, None),
    (ServerError, ExitCode.ERROR, None),
    (ServiceUnavailableError, ExitCode.ERROR, lambda _: "the service is unavailable: try later"),
)


def _library_error(exc: AndersenError, hints: Hints) -> tuple[ExitCode, str, str | None]:
    """The exit code, message and hint for an error of the library's one tree."""
    if isinstance(exc, OutcomeUnknownError):
        status = hints.status(exc.device_id)
        hint = f"run '{status}' to see whether it was applied before sending it again"
        return ExitCode.OUTCOME_UNKNOWN, _outcome_message(exc), hint
    for cls, code, hint_for in _LIBRARY_ERRORS:
        if isinstance(exc, cls):
            return code, str(exc), hint_for(hints) if hint_for else None
    return ExitCode.ERROR, str(exc), None


def explain(exc: Exception, hints: Hints | None = None) -> tuple[ExitCode, str, str | None]:
    """The exit code, message and hint for an error that ended a command.

    Args:
        exc: The error.
        hints: How the command was run (default: plain ``andersen-ev`` commands).

    Returns:
        ``(code, message, hint)``; ``hint`` is None when the message says what to do.
    """
    if isinstance(exc, CliError):
        return exc.code, str(exc), exc.hint
    if isinstance(exc, AndersenError):
        return _library_error(exc, hints or Hints())
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return ExitCode.ERROR, f"{exc.strerror or exc}{where}", None
    return (
        ExitCode.ERROR,
        f"unexpected {type(exc).__name__}: {exc}",
        "run again with --debug for the traceback, and please report it",
    )


def one_line(message: str, hint: str | None, prefix: str = "andersen-ev: error: ") -> str:
    """``message`` (whitespace folded) and ``hint`` as one line, ending in a newline."""
    text = " ".join(message.split()).rstrip(".")
    if hint:
        text += f" (hint: {hint})"
    return f"{prefix}{text}\n"
