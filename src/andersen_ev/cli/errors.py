"""Exit codes of ``andersen-ev`` and the one place where errors become a line on stderr.

Every failure ends the command with one line on stderr (the message, then a hint saying
what to do) and a documented exit code, never a traceback (``--debug`` shows one).
"""

from __future__ import annotations

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
    RateLimitedError,
    ResponseError,
    TokenStoreError,
    UnsupportedChallengeError,
)

__all__ = ["CliError", "ExitCode", "explain", "one_line"]


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
    NOT_CONFIRMED = 5
    """A command was sent but the charger did not show its effect in time."""
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


_LOGIN_HINT: Final = "run 'andersen-ev login'"
_DEVICES_HINT: Final = "run 'andersen-ev devices' to list the account's chargers"

#: Library errors, most specific first: the exit code and the hint for each.
_LIBRARY_ERRORS: Final[tuple[tuple[type[AndersenError], ExitCode, str | None], ...]] = (
    (
        InvalidCredentialsError,
        ExitCode.AUTH,
        "use the email and password of the Konnect+ app with 'andersen-ev login'",
    ),
    (UnsupportedChallengeError, ExitCode.AUTH, None),
    (AuthenticationError, ExitCode.AUTH, _LOGIN_HINT),
    (TokenStoreError, ExitCode.AUTH, _LOGIN_HINT),
    (DeviceNotFoundError, ExitCode.NOT_FOUND, _DEVICES_HINT),
    (InvalidInputError, ExitCode.USAGE, "see 'andersen-ev COMMAND --help'"),
    (
        CommandNotConfirmedError,
        ExitCode.NOT_CONFIRMED,
        "run 'andersen-ev status' to see what the charger reports",
    ),
    (
        OutcomeUnknownError,
        ExitCode.NOT_CONFIRMED,
        "run 'andersen-ev status' to see whether it was applied before repeating it",
    ),
    (RateLimitedError, ExitCode.ERROR, None),
    (
        AndersenConnectionError,
        ExitCode.ERROR,
        "check the network; for an emulator, check that it still runs and that"
        " --endpoints or ANDERSEN_EV_ENDPOINTS names it",
    ),
    (AndersenTimeoutError, ExitCode.ERROR, "try again in a minute"),
    (ResponseError, ExitCode.ERROR, None),
    (AndersenError, ExitCode.ERROR, None),
)


def explain(exc: Exception) -> tuple[ExitCode, str, str | None]:
    """The exit code, message and hint for an error that ended a command.

    Returns:
        ``(code, message, hint)``; ``hint`` is None when the message says what to do.
    """
    if isinstance(exc, CliError):
        return exc.code, str(exc), exc.hint
    for cls, code, hint in _LIBRARY_ERRORS:
        if isinstance(exc, cls):
            return code, str(exc), hint
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
