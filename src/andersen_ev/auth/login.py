"""The password login: the user lookup, then Cognito's ``USER_SRP_AUTH``, one step at a time.

1. :func:`lookup_username`: Andersen's ``/get-pending-user`` maps the email to the Cognito
   username (the pool does not take the email itself).
2. :func:`_initiate`: ``InitiateAuth`` offers the public SRP value ``A`` (and the key of a
   remembered device); Cognito answers with a challenge.
3. :func:`_answer_next`, until Cognito sends tokens: ``PASSWORD_VERIFIER`` (the proof of
   the password, which never leaves this process), then for a remembered device
   ``DEVICE_SRP_AUTH`` and ``DEVICE_PASSWORD_VERIFIER``. Each answer is built by
   :mod:`andersen_ev.auth.challenges`.
4. :func:`_accept`: Cognito's ``AuthenticationResult`` becomes :class:`~andersen_ev.Tokens`.

When Cognito refuses the remembered device (forgotten elsewhere, a stale secret) the login
runs once more without it. Cognito's refusals become errors a caller can act on.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import aiohttp
from pydantic import SecretStr

from andersen_ev.auth.answers import AuthResult, AuthStep
from andersen_ev.auth.challenges import DEVICE_CHALLENGES, Credentials, Ephemeral, reply_to
from andersen_ev.auth.cognito import CognitoClient, http_failure, refuse_redirect
from andersen_ev.auth.device import RememberedDevice
from andersen_ev.auth.tokens import Tokens
from andersen_ev.exceptions import (
    AndersenError,
    AuthenticationError,
    CognitoError,
    InvalidCredentialsError,
    ResponseError,
    transport_errors,
)
from andersen_ev.wire import (
    REQUEST_OPTIONS,
    MalformedJsonError,
    ReplyTooLargeError,
    parse_json,
    read_body,
)

__all__ = ["lookup_username", "password_login"]

_LOG = logging.getLogger(__name__)

#: A login needs at most three answers (password, device SRP, device password): more is a loop.
_MAX_CHALLENGES: Final = 5
_LOOKUP: Final = "Andersen user lookup"
#: The largest lookup answer read (a real one is a username of a few dozen characters).
_MAX_LOOKUP_REPLY_BYTES: Final = 64 * 1024
_SUCCESS: Final = range(200, 300)


# -- step 1: the Cognito username of an email -------------------------------------------------


async def lookup_username(
    session: aiohttp.ClientSession, url: str, email: str, *, timeout: float
) -> str:
    """The Cognito username of ``email``, from Andersen's ``/get-pending-user`` endpoint ``url``.

    Raises:
        InvalidCredentialsError: no Andersen account uses this email.
        RateLimitedError: the lookup answered HTTP 429.
        ServerError: the lookup failed (HTTP 5xx): the service is down, try again later.
        AndersenConnectionError: the service could not be reached, or answered a redirect
            (never followed: the email would go to another host).
        AndersenTimeoutError: the service did not answer in time.
        ResponseError: an answer that is neither a username nor an unknown email.
    """
    _LOG.debug("looking up the Cognito username")
    with transport_errors(_LOOKUP):
        async with session.post(
            url,
            json={"email": email},
            timeout=aiohttp.ClientTimeout(total=timeout),
            **REQUEST_OPTIONS,
        ) as response:
            status = response.status
            refuse_redirect(_LOOKUP, response)
            try:
                body = await read_body(response, _MAX_LOOKUP_REPLY_BYTES)
            except ReplyTooLargeError as exc:
                raise ResponseError(
                    f"the {_LOOKUP} answered more than {exc.limit} bytes", operation=_LOOKUP
                ) from None
    failure = http_failure(_LOOKUP, status)
    if failure is not None:
        raise failure
    try:
        document = parse_json(body)
    except MalformedJsonError:
        document = None
    if isinstance(document, dict) and status in _SUCCESS:
        username = document.get("username")
        if isinstance(username, str) and username:
            return username
        if "error" in document:
            raise InvalidCredentialsError(
                "no Andersen account uses this email address: check the email you use"
                " in the Konnect+ app"
            )
    raise ResponseError(
        f"the {_LOOKUP} answered HTTP {status} with neither a username nor an unknown email",
        operation=_LOOKUP,
    )


# -- steps 2 to 4: the SRP exchange with Cognito ---------------------------------------------


@dataclass(frozen=True, slots=True)
class _Progress:
    """Where an exchange stands: Cognito's last answer, and what the next reply builds on."""

    step: AuthStep
    username: str
    ephemeral: Ephemeral
    sent_at: datetime
    """When the request that Cognito just answered was sent (tokens count from then)."""
    answered: int = 0


@dataclass(frozen=True, slots=True)
class _Login:
    """A finished exchange: Cognito's tokens, and who and what they were issued to."""

    result: AuthResult
    username: str
    sent_at: datetime
    device: RememberedDevice | None


class _DeviceRejectedError(Exception):
    """Cognito refused the remembered device during a login (forgotten, or a stale secret)."""


async def password_login(
    cognito: CognitoClient,
    *,
    pool_name: str,
    username: str,
    password: str,
    device: RememberedDevice | None,
) -> Tokens:
    """Log ``username`` in with ``password`` (and the secret of ``device``, if remembered).

    Returns:
        The new tokens.

    Raises:
        InvalidCredentialsError: unknown user or wrong password.
        UnsupportedChallengeError: Cognito asks for MFA or a new password.
        AuthenticationError: the account is locked, unconfirmed or must reset its password.
        ServiceUnavailableError: Cognito is throttling, failing, unreachable or slow.
        CognitoError: any other Cognito error (its ``code`` says which).
    """
    credentials = Credentials(pool_name, password, device)
    try:
        try:
            login = await _exchange(cognito, credentials, username)
        except _DeviceRejectedError:
            _LOG.info("Cognito refused the remembered device; logging in without it")
            without_device = dataclasses.replace(credentials, device=None)
            login = await _exchange(cognito, without_device, username)
    except CognitoError as exc:
        mapped = _login_error(exc)
        if mapped is exc:
            raise
        raise mapped from exc
    return _accept(login)


async def _exchange(cognito: CognitoClient, credentials: Credentials, username: str) -> _Login:
    """Run ``USER_SRP_AUTH`` to the end, answering each challenge Cognito sends."""
    progress = await _initiate(cognito, credentials, username)
    while progress.step.result is None:
        progress = await _answer_next(cognito, credentials, progress)
    return _Login(progress.step.result, progress.username, progress.sent_at, credentials.device)


async def _initiate(cognito: CognitoClient, credentials: Credentials, username: str) -> _Progress:
    """``InitiateAuth``: offer ``A`` (and the remembered device's key) for ``username``."""
    device = credentials.device
    ephemeral = await Ephemeral.new()
    parameters = {"USERNAME": username, "SRP_A": ephemeral.srp_a}
    if device is not None:
        parameters["DEVICE_KEY"] = device.key
    _LOG.debug("SRP login (remembered device: %s)", device is not None)
    sent_at = datetime.now(UTC)
    call = cognito.initiate_auth("USER_SRP_AUTH", parameters)
    step = await _await_step(call, "USER_SRP_AUTH", device)
    return _Progress(step, username, ephemeral, sent_at)


async def _answer_next(
    cognito: CognitoClient, credentials: Credentials, progress: _Progress
) -> _Progress:
    """Answer the challenge Cognito is waiting on; where the exchange stands after it."""
    if progress.answered == _MAX_CHALLENGES:
        raise CognitoError(
            "TooManyChallenges",
            f"Cognito sent more than {_MAX_CHALLENGES} challenges in one login",
            operation="RespondToAuthChallenge",
        )
    challenge = str(progress.step.challenge)
    _LOG.debug("answering the %s challenge", challenge)
    reply = await reply_to(
        progress.step, credentials, username=progress.username, ephemeral=progress.ephemeral
    )
    sent_at = datetime.now(UTC)
    call = cognito.respond_to_auth_challenge(challenge, reply.responses, progress.step.session)
    step = await _await_step(call, challenge, credentials.device)
    return _Progress(step, reply.username, reply.ephemeral, sent_at, progress.answered + 1)


async def _await_step(
    call: Awaitable[AuthStep], stage: str, device: RememberedDevice | None
) -> AuthStep:
    """Await one step of a login, turning a refusal of the remembered device into an error.

    :class:`_DeviceRejectedError` lets the login be tried once more without the device. An
    unknown device (forgotten elsewhere) or a device secret refused at a device challenge
    qualifies; anything else (throttling, a wrong password ...) does not.
    """
    try:
        return await call
    except CognitoError as exc:
        if device is not None and (
            exc.code == "ResourceNotFoundException"
            or (exc.code == "NotAuthorizedException" and stage in DEVICE_CHALLENGES)
        ):
            raise _DeviceRejectedError from exc
        raise


def _accept(login: _Login) -> Tokens:
    """The tokens of a finished exchange, with the device Cognito now knows this one by."""
    result = login.result
    if result.refresh_token is None:
        raise CognitoError(
            "MalformedResponse",
            "the login answer has no RefreshToken",
            operation="RespondToAuthChallenge",
        )
    device_key = device_group_key = device_password = None
    if result.device_key and result.device_group_key:  # a new device: not remembered yet
        device_key, device_group_key = result.device_key, result.device_group_key
    elif login.device is not None:
        device_key, device_group_key = login.device.key, login.device.group_key
        device_password = SecretStr(login.device.password)
    return Tokens(
        id_token=SecretStr(result.id_token),
        access_token=SecretStr(result.access_token),
        refresh_token=SecretStr(result.refresh_token),
        expires_at=login.sent_at + timedelta(seconds=result.expires_in),
        issued_at=login.sent_at,
        login_at=login.sent_at,
        username=login.username,
        device_key=device_key,
        device_group_key=device_group_key,
        device_password=device_password,
    )


# -- Cognito's refusals, as errors a caller can act on ------------------------------------------

_LOGIN_REFUSALS: Final[Mapping[str, tuple[type[AuthenticationError], str]]] = {
    "UserNotFoundException": (
        InvalidCredentialsError,
        "Cognito knows no user for this email address: check the email you use in the Konnect+ app",
    ),
    "UserNotConfirmedException": (
        AuthenticationError,
        "the account is not confirmed: finish registering in the Konnect+ app",
    ),
    "PasswordResetRequiredException": (
        AuthenticationError,
        "Cognito requires a new password: reset it in the Konnect+ app",
    ),
    "UserLambdaValidationException": (
        AuthenticationError,
        "the Andersen user pool's own checks refused this login: log in with the Konnect+ app"
        " to see why, or contact Andersen",
    ),
}


def _login_error(exc: CognitoError) -> AndersenError:
    """The error a caller of login should see for Cognito's ``exc`` (``exc`` if no better).

    Outages never get here (:mod:`andersen_ev.auth.cognito` raised them as such); of the
    refusals (:data:`~andersen_ev.auth.codes.REFUSALS`), ``ResourceNotFoundException``
    without a remembered device means the pool or app client is unknown (wrong
    endpoints): it stays a :class:`CognitoError`, as do request errors.
    """
    if exc.code in _LOGIN_REFUSALS:
        cls, text = _LOGIN_REFUSALS[exc.code]
        return cls(text)
    if exc.code != "NotAuthorizedException":
        return exc
    message = exc.service_message
    if "incorrect username or password" in message.lower():
        return InvalidCredentialsError(
            "the password is wrong: check it (the Konnect+ app can reset it); after five"
            " failures Cognito blocks logins for a while"
        )
    if "attempts exceeded" in message.lower():
        return AuthenticationError(
            "Cognito blocks logins after too many wrong passwords: wait up to 15 minutes"
            " before trying again"
        )
    return AuthenticationError(f"Cognito refused the login ({message}): check the account")
