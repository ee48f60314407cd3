"""Every error of the library's one tree, as the command line reports it: an exit code that
fits its branch, and a hint that can be pasted (no placeholder) and never invites a blind
retry of a command that may have been applied."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import pytest

from andersen_ev import exceptions
from andersen_ev.cli.errors import CliError, ExitCode, Hints, explain, one_line
from andersen_ev.exceptions import (
    AndersenConnectionError,
    AndersenError,
    AndersenTimeoutError,
    CommandNotConfirmedError,
    OutcomeUnknownError,
    ServerError,
)

#: One instance of every class in the tree. A class the library adds must be added here,
#: and so considered by the command line's hints.
SAMPLES: dict[str, AndersenError] = {
    "AndersenError": AndersenError("something failed"),
    "ServiceUnavailableError": exceptions.ServiceUnavailableError("the cloud is down"),
    "AndersenConnectionError": AndersenConnectionError("cannot connect"),
    "AndersenTimeoutError": AndersenTimeoutError("getDevice timed out; try again later"),
    "RateLimitedError": exceptions.RateLimitedError(operation="getDevice", retry_after=3),
    "ServerError": ServerError(operation="getDevice", status=503),
    "OutcomeUnknownError": OutcomeUnknownError("lost", operation="setSolar"),
    "CommandNotConfirmedError": CommandNotConfirmedError(
        device_id="d1", command="userLock", timeout=30
    ),
    "ApiError": exceptions.ApiError("refused", operation="setSolar", errors=[]),
    "DeviceNotFoundError": exceptions.DeviceNotFoundError("no d1", operation="x", errors=[]),
    "ResponseError": exceptions.ResponseError("bad reply", operation="getDevice"),
    "RestoreError": exceptions.RestoreError(
        device_id="d1", not_restored=["lock"], cause="down", wanted="locked"
    ),
    "InvalidInputError": exceptions.InvalidInputError("limit must be positive"),
    "PriceDataError": exceptions.PriceDataError("not a price", where="line 2"),
    "PlanNotFeasibleError": exceptions.PlanNotFeasibleError(
        "too little time",
        energy_kwh=10,
        max_energy_kwh=5,
        ready_by=datetime(2025, 1, 1, tzinfo=UTC),
    ),
    "RunningEventLoopError": exceptions.RunningEventLoopError("get_device"),
    "AuthenticationError": exceptions.AuthenticationError("no device"),
    "InvalidCredentialsError": exceptions.InvalidCredentialsError("the password is wrong"),
    "ReauthRequiredError": exceptions.ReauthRequiredError("the session has ended"),
    "UnsupportedChallengeError": exceptions.UnsupportedChallengeError("SMS_MFA"),
    "CognitoError": exceptions.CognitoError("Boom", "", operation="InitiateAuth"),
    "TokenStoreError": exceptions.TokenStoreError("cannot read the token file x"),
    "InsecureTokenFileError": exceptions.InsecureTokenFileError("x is readable by others"),
}

HINTS = Hints(
    command=("logs",),
    options=("--config-dir", "/cfg dir"),
    login_options=("--endpoints", "/cfg dir/endpoints.json"),
    device="Driveway",
)
LOGIN = 'andersen-ev login --endpoints "/cfg dir/endpoints.json" --config-dir "/cfg dir"'


def test_every_class_of_the_tree_has_a_sample() -> None:
    tree = {
        name
        for name in exceptions.__all__
        if inspect.isclass(getattr(exceptions, name))
        and issubclass(getattr(exceptions, name), AndersenError)
    }
    assert tree == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_error_has_a_code_and_a_hint_to_paste(name: str) -> None:
    error = SAMPLES[name]
    code, message, hint = explain(error, HINTS)
    assert code in set(ExitCode) - {ExitCode.OK, ExitCode.INTERRUPTED}
    text = one_line(message, hint)
    assert text.count("\n") == 1
    assert "COMMAND" not in text
    assert "in a minute" not in text
    if isinstance(error, OutcomeUnknownError):
        assert code == ExitCode.OUTCOME_UNKNOWN
        assert "see whether it was applied before sending it again" in text
        assert "get_device_status" not in text  # the library's words, not the command's
    if isinstance(error, exceptions.AuthenticationError | exceptions.TokenStoreError):
        assert code == ExitCode.AUTH
        if not isinstance(error, exceptions.UnsupportedChallengeError):  # the app is the fix
            assert LOGIN in text
    if isinstance(error, exceptions.ServiceUnavailableError):
        assert code == ExitCode.ERROR
        assert "later" in text or "network" in text or "wait" in text


def test_hints_of_the_branches_a_user_acts_on() -> None:
    assert explain(SAMPLES["AndersenTimeoutError"], HINTS) == (
        ExitCode.ERROR,
        "getDevice timed out; try again later",
        None,  # an outage: nothing was changed, the message says when to try again
    )
    assert explain(SAMPLES["CommandNotConfirmedError"], HINTS) == (
        ExitCode.OUTCOME_UNKNOWN,
        "the charger did not show the change (userLock) within 30 s; it may be offline, and"
        " the command may still be applied later",
        """run 'andersen-ev status d1 --config-dir "/cfg dir"' to see whether it was applied"""
        " before sending it again",
    )
    assert explain(SAMPLES["InvalidInputError"], HINTS)[2] == "see 'andersen-ev logs --help'"
    assert explain(SAMPLES["DeviceNotFoundError"], HINTS)[2] == (
        """run 'andersen-ev devices --config-dir "/cfg dir"' to list the account's chargers"""
    )
    assert explain(SAMPLES["ReauthRequiredError"])[2] == "run 'andersen-ev login'"
    restore = explain(SAMPLES["RestoreError"], HINTS)
    assert restore[0] == ExitCode.ERROR
    assert restore[2] is not None
    assert restore[2].startswith(
        """run 'andersen-ev plan --restore --config-dir "/cfg dir"' again"""
    )
    price, plan = (
        explain(SAMPLES["PriceDataError"], HINTS),
        explain(SAMPLES["PlanNotFeasibleError"]),
    )
    assert (price[0], plan[0]) == (ExitCode.USAGE, ExitCode.USAGE)
    assert "a CSV with a header naming start, end and price" in str(price[2])
    assert "a later --by, more --slots" in str(plan[2])


@pytest.mark.parametrize(
    ("cause", "words"),
    [
        (AndersenTimeoutError("late"), "setSolar was sent but no answer came in time"),
        (ServerError(operation="setSolar", status=502), "the service failed with HTTP 502"),
        (AndersenConnectionError("reset"), "the connection broke after it was sent"),
        (None, "setSolar was sent but its answer was lost"),
    ],
)
def test_a_command_whose_answer_was_lost(cause: AndersenError | None, words: str) -> None:
    error = OutcomeUnknownError("lost (get_device_status())", operation="setSolar")
    error.__cause__ = cause
    code, message, hint = explain(error, Hints(device="Driveway"))
    assert code == ExitCode.OUTCOME_UNKNOWN
    assert words in message
    assert message.endswith("so it may or may not have been applied")
    assert hint == (
        "run 'andersen-ev status Driveway' to see whether it was applied before sending it again"
    )


def test_errors_outside_the_tree() -> None:
    assert explain(CliError("no", hint="yes", code=ExitCode.USAGE)) == (ExitCode.USAGE, "no", "yes")
    assert explain(FileNotFoundError(2, "No such file", "/x")) == (
        ExitCode.ERROR,
        "No such file: /x",
        None,
    )
    code, message, hint = explain(RuntimeError("boom"))
    assert (code, message) == (ExitCode.ERROR, "unexpected RuntimeError: boom")
    assert hint == "run again with --debug for the traceback, and please report it"
    assert one_line("two\n  lines.", None) == "andersen-ev: error: two lines\n"
