"""Every error the library raises: one root, :class:`AndersenError`, and a small tree below it.

Catch :class:`AndersenError` to handle anything this library raises. Messages say what went
wrong and what to do; they never contain a password, token or device secret.

::

    AndersenError
    ├── ServiceUnavailableError: the cloud cannot be used right now; try again later
    │   ├── AndersenConnectionError (also a ConnectionError): it could not be reached
    │   ├── AndersenTimeoutError (also a TimeoutError): it did not answer in time
    │   ├── RateLimitedError: it asked us to slow down (carries ``retry_after``)
    │   └── ServerError: it failed (HTTP 5xx) and retrying did not help
    ├── OutcomeUnknownError: a command may or may not have been applied: read the state
    │   └── CommandNotConfirmedError: a command's effect never showed in the device status
    ├── ApiError: the GraphQL API answered errors (carries ``errors`` and ``extensions``)
    │   └── DeviceNotFoundError: no device of this account has that id or name
    ├── ResponseError: a reply that does not fit the models (carries operation and path)
    ├── RestoreError: state saved by charge_now (or a plan) could not all be put back
    ├── InvalidInputError (also a ValueError): bad arguments, refused before sending
    │   ├── PriceDataError: price data refused (carries ``where``: the line or entry)
    │   └── PlanNotFeasibleError: the energy cannot be delivered before the deadline
    ├── RunningEventLoopError (also a RuntimeError): andersen_ev.sync called inside a loop
    ├── AuthenticationError: logging in or staying logged in failed; the user must act
    │   ├── InvalidCredentialsError: wrong password or unknown email
    │   ├── ReauthRequiredError: the session is over; log in with the password again
    │   └── UnsupportedChallengeError: Cognito asked for a step this library cannot answer
    ├── CognitoError: any other error answered by Cognito (carries its ``code``)
    └── TokenStoreError: the token file cannot be read or written
        └── InsecureTokenFileError: the token file is readable by other users

Three branches tell a caller what to do without reading messages:
:class:`ServiceUnavailableError` (wait and try again: nothing was changed, or the call was
a read), :class:`AuthenticationError` (a person must log in again) and
:class:`OutcomeUnknownError` (a command may have been applied: read the status before
sending it again; never a blind retry).

Transport failures (aiohttp errors and timeouts) are mapped to these classes in one place,
:func:`transport_errors`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final, NoReturn

import aiohttp

__all__ = [
    "AndersenConnectionError",
    "AndersenError",
    "AndersenTimeoutError",
    "ApiError",
    "AuthenticationError",
    "CognitoError",
    "CommandNotConfirmedError",
    "DeviceNotFoundError",
    "InsecureTokenFileError",
    "InvalidCredentialsError",
    "InvalidInputError",
    "OutcomeUnknownError",
    "PlanNotFeasibleError",
    "PriceDataError",
    "RateLimitedError",
    "ReauthRequiredError",
    "ResponseError",
    "RestoreError",
    "RunningEventLoopError",
    "ServerError",
    "ServiceUnavailableError",
    "TokenStoreError",
    "TransportError",
    "UnsupportedChallengeError",
    "raise_without_context",
    "transport_errors",
]


class AndersenError(Exception):
    """Root of every error raised by andersen-ev."""


class ServiceUnavailableError(AndersenError):
    """The Andersen cloud (or its Cognito user pool) cannot be used right now: an outage.

    Nothing this error interrupted changed anything on the service (mutations that may have
    reached it raise :class:`OutcomeUnknownError` instead), so trying again later is safe.
    A host maps it to "not ready, retry later" (Home Assistant: ``ConfigEntryNotReady``,
    ``UpdateFailed``).
    """


class AndersenConnectionError(ServiceUnavailableError, ConnectionError):
    """The Andersen cloud (or its Cognito user pool) could not be reached.

    Usually transient: check the network connection and try again later.

    Attributes:
        before_request: True when the connection could not even be opened, so the request
            provably never reached the service (safe to send again, even a mutation).
    """

    def __init__(self, message: str, *, before_request: bool = False) -> None:
        super().__init__(message)
        self.before_request = before_request


class AndersenTimeoutError(ServiceUnavailableError, TimeoutError):
    """The Andersen cloud (or its Cognito user pool) did not answer in time. Try again later.

    Raised when a call's deadline (its ``timeout=``, or the session's) passes, whether in a
    request, between retries or while waiting for a token refresh.

    Attributes:
        before_request: True when nothing of this call reached the service (the deadline
            passed while connecting, waiting for a token refresh or before sending).
    """

    def __init__(self, message: str, *, before_request: bool = False) -> None:
        super().__init__(message)
        self.before_request = before_request


class AuthenticationError(AndersenError):
    """Logging in, or staying logged in, failed."""


class InvalidCredentialsError(AuthenticationError):
    """The email address is unknown or the password is wrong."""


class ReauthRequiredError(AuthenticationError):
    """The session cannot continue (refresh token revoked or expired, or never logged in).

    The caller must log in with the email and password again
    (:meth:`andersen_ev.AndersenA2.authenticate`). Retrying without doing so fails the same way.
    """


_CHALLENGE_ADVICE: Final[Mapping[str, str]] = {
    "NEW_PASSWORD_REQUIRED": (
        "the account must set a new password first: log in once with the Konnect+ app"
    ),
    "SMS_MFA": "the account uses SMS multi-factor authentication, which is not supported",
    "SOFTWARE_TOKEN_MFA": (
        "the account uses authenticator-app multi-factor authentication, which is not supported"
    ),
}


class UnsupportedChallengeError(AuthenticationError):
    """Cognito asked for a login step this library does not implement.

    Attributes:
        challenge: Cognito's challenge name (``NEW_PASSWORD_REQUIRED``, ``SMS_MFA`` ...).
    """

    def __init__(self, challenge: str) -> None:
        self.challenge = challenge
        advice = _CHALLENGE_ADVICE.get(
            challenge, "this library cannot answer it; please report it as an issue"
        )
        super().__init__(f"Cognito asked for the {challenge} challenge: {advice}")


class CognitoError(AndersenError):
    """Cognito answered with an error this library does not map to a more specific class.

    Attributes:
        code: Cognito's error code (``TooManyRequestsException`` ...), or the HTTP status
            as a string when the answer carried no code.
        operation: The Cognito operation that failed (``InitiateAuth`` ...).
        status: The HTTP status of the answer, if there was one.
        service_message: Cognito's own message, with anything secret removed.
    """

    def __init__(
        self, code: str, service_message: str, *, operation: str, status: int | None = None
    ) -> None:
        self.code = code
        self.operation = operation
        self.status = status
        self.service_message = service_message
        text = f"Cognito {operation} failed with {code}"
        if service_message:
            text += f": {service_message}"
        if code == "TooManyRequestsException":
            text += " (Cognito is throttling this client: wait a while before trying again)"
        super().__init__(text)


class TokenStoreError(AndersenError):
    """The token file cannot be read or written; the message names the file and the fix."""


class InsecureTokenFileError(TokenStoreError):
    """The token file can be read or written by other users: restrict it (``chmod 600``)."""


class TransportError(Exception):
    """What the network library reported, as text: the ``__cause__`` of transport errors.

    aiohttp's own exceptions may carry the request (its headers, the bearer token
    included), so they are never chained: this holds their class name and message only.
    """

    _LIMIT: Final = 300

    @classmethod
    def of(cls, exc: BaseException) -> TransportError:
        """The secret-free stand-in for ``exc``."""
        if isinstance(exc, aiohttp.ClientResponseError):  # str() would name its request
            text = f"HTTP {exc.status} {exc.message}"
        else:
            text = str(exc)
        return cls(f"{type(exc).__name__}: {text}"[: cls._LIMIT])


@contextmanager
def transport_errors(action: str) -> Iterator[None]:
    """Map aiohttp errors and timeouts raised inside the block to :class:`AndersenError`.

    This is the one place where transport failures become library errors. The aiohttp
    exception is replaced, not chained (it may hold the request's headers): the error's
    ``__cause__`` is a :class:`TransportError`, and its ``__context__`` is None.

    Args:
        action: What was being done, for the message (``"Cognito InitiateAuth"``).

    Raises:
        AndersenTimeoutError: the block timed out (``before_request`` when it was still
            connecting).
        AndersenConnectionError: any other aiohttp client error.
    """
    error: AndersenError
    try:
        yield
    except TimeoutError as exc:  # aiohttp's timeouts are TimeoutError subclasses too
        error = AndersenTimeoutError(
            f"{action} timed out: the service did not answer in time; try again later",
            before_request=isinstance(exc, aiohttp.ConnectionTimeoutError),
        )
        cause: BaseException = exc
    except aiohttp.ClientError as exc:
        error = AndersenConnectionError(
            f"{action} failed: {TransportError.of(exc)}; check the network and try again",
            before_request=isinstance(exc, aiohttp.ClientConnectorError),
        )
        cause = exc
    else:
        return
    raise_without_context(error, TransportError.of(cause))


def raise_without_context(error: BaseException, cause: BaseException | None = None) -> NoReturn:
    """Raise ``error`` caused by ``cause``, with no ``__context__``.

    For errors raised while another exception (which may hold secrets) is being handled:
    ``raise ... from None`` only hides that one, this drops it.
    """
    error.__cause__ = cause
    error.__suppress_context__ = True
    try:
        raise error
    finally:
        error.__context__ = None


#: The most GraphQL error messages, and characters, an ApiError's message quotes: a
#: hostile reply must not become a huge exception (``errors`` keeps the whole list).
_MAX_MESSAGES: Final = 5
_MAX_MESSAGE_CHARS: Final = 1000


def _bounded(text: str) -> str:
    """``text``, cut to :data:`_MAX_MESSAGE_CHARS` with a mark where it was cut."""
    if len(text) <= _MAX_MESSAGE_CHARS:
        return text
    return text[:_MAX_MESSAGE_CHARS] + " [...]"


class ApiError(AndersenError):
    """The Andersen GraphQL API answered with errors.

    Attributes:
        operation: The operation that failed (``getDevice`` ...).
        errors: The GraphQL ``errors`` list, as sent.
        extensions: The ``extensions`` of the first error (``{"code": ...}``), or ``{}``.
        code: ``extensions["code"]`` of the first error, if any.
        status: The HTTP status of the reply, if known.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        errors: list[Any],
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.errors = errors
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        extensions = first.get("extensions")
        self.extensions: dict[str, Any] = extensions if isinstance(extensions, dict) else {}
        code = self.extensions.get("code")
        self.code: str | None = code if isinstance(code, str) else None
        self.status = status

    @classmethod
    def from_errors(
        cls, operation: str, errors: list[Any], *, status: int | None = None
    ) -> ApiError:
        """Build the error for a GraphQL ``errors`` list (NOT_FOUND gives DeviceNotFoundError)."""
        messages = [
            str(error.get("message", "unknown error")) if isinstance(error, dict) else str(error)
            for error in errors[:_MAX_MESSAGES]
        ]
        text = _bounded(f"{operation} failed: {'; '.join(messages)}")
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        extensions = first.get("extensions") if isinstance(first, dict) else None
        if isinstance(extensions, dict) and extensions.get("code") == "NOT_FOUND":
            return DeviceNotFoundError(
                f"{text} (check the id with get_current_user_devices())",
                operation=operation,
                errors=errors,
                status=status,
            )
        return cls(text, operation=operation, errors=errors, status=status)


class DeviceNotFoundError(ApiError):
    """No device of this account has that id or name.

    List the account's chargers with :meth:`andersen_ev.AndersenA2.get_current_user_devices`.
    """


class RateLimitedError(ServiceUnavailableError):
    """The service answered 429 Too Many Requests.

    Attributes:
        operation: What was being sent.
        retry_after: Seconds the service asked us to wait (``Retry-After``), if it said.
    """

    def __init__(self, *, operation: str, retry_after: float | None) -> None:
        wait = f"wait {retry_after:g} s" if retry_after is not None else "wait a while"
        super().__init__(f"{operation} was rate limited by the service: {wait} and try again")
        self.operation = operation
        self.retry_after = retry_after


class ServerError(ServiceUnavailableError):
    """The service failed with an HTTP 5xx status (and retrying, where allowed, did not help).

    For a mutation this means it may or may not have been applied: read the state back
    before sending it again.

    Attributes:
        operation: What was being sent.
        status: The HTTP status.
    """

    def __init__(self, *, operation: str, status: int) -> None:
        super().__init__(
            f"{operation} failed with HTTP {status} from the service; try again later"
            " (for a command, check the device status before repeating it)"
        )
        self.operation = operation
        self.status = status


class ResponseError(AndersenError):
    """A reply did not fit what the library expects (schema drift or a broken answer).

    Attributes:
        operation: The operation whose reply was wrong.
        path: Where in the reply the problem is (``getDevice.deviceStatus.evseState``), if known.
    """

    def __init__(self, message: str, *, operation: str, path: str | None = None) -> None:
        super().__init__(
            f"{message}. If this persists, the service may have changed: please report it"
        )
        self.operation = operation
        self.path = path


class OutcomeUnknownError(AndersenError):
    """A command may or may not have been applied: read the state before sending it again.

    Raised for a mutation whose request may have reached the service when its answer was
    lost (the connection broke after sending, no answer in time, a 5xx) or never showed
    its effect (:class:`CommandNotConfirmedError`). Sending it again blindly could apply it
    twice (a second charge rate, a lock toggled back): read the device status first.

    Attributes:
        operation: The mutation (``runAEVCommand``, ``setSchedules`` ...).
        device_id: The charger, when the command was for one.
    """

    def __init__(self, message: str, *, operation: str, device_id: str | None = None) -> None:
        super().__init__(message)
        self.operation = operation
        self.device_id = device_id


class CommandNotConfirmedError(OutcomeUnknownError):
    """A command was sent but the device status never showed its effect in time.

    The service returns null whether or not a command is applied, so the library confirms
    through the status. The command may still apply later; read the status before retrying.

    Attributes:
        device_id: The charger.
        command: What was sent (``userLock`` ...).
        timeout: Seconds waited.
        answer_lost: True when the command's own answer was lost too (no answer in time,
            the connection broke after sending, a 5xx): the status was read back instead.
    """

    def __init__(
        self, *, device_id: str, command: str, timeout: float, answer_lost: bool = False
    ) -> None:
        lost = ", its answer was lost," if answer_lost else ""
        super().__init__(
            f"{command} on device {device_id} was sent{lost} but not confirmed within"
            f" {timeout:g} s; the charger may be offline: check get_device_status() before"
            " sending it again",
            operation=command,
            device_id=device_id,
        )
        self.command = command
        self.timeout = timeout
        self.answer_lost = answer_lost


class InvalidInputError(AndersenError, ValueError):
    """An argument was refused before anything was sent; the message says which and why."""


class RestoreError(AndersenError):
    """Some of the state saved by ``charge_now`` (or a charging plan) could not be put back.

    Nothing is silently left changed: the message names what is still different. Try
    again with ``await handle.restore()`` (or ``a2.restore(device_id)``), which only
    writes the saved values.

    Attributes:
        device_id: The charger.
        not_restored: What could not be put back (``"lock"``, ``"schedule slot 2"`` ...).
        saved: The state that should be restored (a
            :class:`~andersen_ev.control.SavedChargeState` for ``charge_now``).
    """

    def __init__(
        self,
        *,
        device_id: str,
        not_restored: list[str],
        cause: str,
        wanted: str,
        saved: object = None,
    ) -> None:
        super().__init__(
            f"could not restore {', '.join(not_restored)} on device {device_id}"
            f" ({wanted}): {cause}; call restore() again, or fix it in the Konnect+ app"
        )
        self.device_id = device_id
        self.not_restored = not_restored
        self.saved = saved


class RunningEventLoopError(AndersenError, RuntimeError):
    """A blocking method of :mod:`andersen_ev.sync` was called inside a running event loop.

    Waiting there would freeze that loop (and could deadlock): in async code (an
    ``async def``, a Jupyter cell, a callback of the facade) use the async client,
    :class:`andersen_ev.AndersenA2`, and ``await`` its methods.
    """

    def __init__(self, method: str) -> None:
        super().__init__(
            f"andersen_ev.sync.AndersenA2.{method}() blocks until the cloud answers, and it was"
            " called inside a running asyncio event loop (an async function, a Jupyter cell or"
            " a callback of the facade), which it would freeze: there, use the async client"
            f" instead: 'from andersen_ev import AndersenA2', then 'await a2.{method}(...)'"
        )


class PriceDataError(InvalidInputError):
    """Price data was refused; the message names the line or entry at fault and why.

    Attributes:
        where: The line (``"line 4"``) or entry (``"results[3]"``, ``"prices[0]"``) at
            fault, when one is.
    """

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where


class PlanNotFeasibleError(InvalidInputError):
    """The energy asked for cannot be delivered before ``ready_by`` within the slots allowed.

    Attributes:
        energy_kwh: The energy asked for, rounded up to whole minutes of charging.
        max_energy_kwh: The most energy the prices, the time and the slots allow (kWh).
        ready_by: The deadline the plan had to meet.
    """

    def __init__(
        self, message: str, *, energy_kwh: float, max_energy_kwh: float, ready_by: datetime
    ) -> None:
        super().__init__(message)
        self.energy_kwh = energy_kwh
        self.max_energy_kwh = max_energy_kwh
        self.ready_by = ready_by
