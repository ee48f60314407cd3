"""Cognito identity-provider calls over a shared aiohttp session, and what their errors mean.

Requests are written and answers read by :mod:`andersen_ev.auth.codec` (Cognito's JSON 1.1
wire, checked against botocore's model at test time only: botocore is never imported here).
Every call obeys the rules of :mod:`andersen_ev.wire`: redirects are not followed (a 3xx
names only the host it pointed at), replies are read up to a limit, JSON is parsed sanely.

Errors are sorted here, at one choke point, by :mod:`andersen_ev.auth.codes`: throttling,
outages (HTTP 429 and 5xx included) and a misconfigured pool become
:class:`~andersen_ev.ServiceUnavailableError` subclasses, whatever the call; everything
else is a :class:`~andersen_ev.CognitoError` carrying Cognito's code, which the login and
the session map to authentication errors where the code is a refusal. Messages quoted
from Cognito are scrubbed of every value sent.

These calls need no AWS credentials: the Andersen app client is public and Cognito's
authentication operations are unsigned.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, NoReturn

import aiohttp

from andersen_ev.auth.answers import AuthStep, read_auth_step
from andersen_ev.auth.codec import encode_request, malformed_answer, read_answer, read_error
from andersen_ev.auth.codes import OUTAGES, SERVICE_FAULTS, THROTTLING
from andersen_ev.const import DEFAULT_TIMEOUT
from andersen_ev.exceptions import (
    AndersenConnectionError,
    CognitoError,
    RateLimitedError,
    ServerError,
    ServiceUnavailableError,
    transport_errors,
)
from andersen_ev.wire import REQUEST_OPTIONS, ReplyTooLargeError, read_body, redirect_host

if TYPE_CHECKING:
    from andersen_ev.const import Endpoints

__all__ = ["MAX_COGNITO_REPLY_BYTES", "CognitoClient", "http_failure", "refuse_redirect"]

_LOG = logging.getLogger(__name__)

#: The largest Cognito answer read (real ones are a few kilobytes: three tokens at most).
MAX_COGNITO_REPLY_BYTES: Final = 256 * 1024
#: Longest part of Cognito's own error message (and code) kept in a :class:`CognitoError`.
_MAX_MESSAGE: Final = 300
_MAX_CODE: Final = 100
#: Request strings at least this long are scrubbed from error messages (tokens, sessions).
_SCRUB_MIN_LENGTH: Final = 12
_JWT_LIKE: Final = re.compile(r"eyJ[\w-]*\.[\w.-]+")
_REDIRECTS: Final = range(300, 400)
_HTTP_ERROR: Final = 300
_TOO_MANY_REQUESTS: Final = 429
_SERVER_ERRORS: Final = 500


def _string_leaves(value: object) -> Iterator[str]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _string_leaves(item)
    else:
        yield str(value)


def _scrub(message: str, params: Mapping[str, Any], limit: int = _MAX_MESSAGE) -> str:
    """Remove from ``message`` every long string we sent, and anything shaped like a JWT.

    Some servers echo the rejected token in the message (moto does, for GlobalSignOut).
    """
    for secret in sorted(set(_string_leaves(params)), key=len, reverse=True):
        if len(secret) >= _SCRUB_MIN_LENGTH:
            message = message.replace(secret, "[redacted]")
    message = _JWT_LIKE.sub("[redacted]", message)
    if len(message) > limit:
        message = message[:limit] + "..."
    return message


def refuse_redirect(action: str, response: aiohttp.ClientResponse) -> None:
    """Raise when ``response`` to ``action`` is a redirect, naming only the host it points at.

    Redirects are never followed: the request carries an email, a password proof or tokens.

    Raises:
        AndersenConnectionError: ``response`` is a redirect (HTTP 3xx).
    """
    if response.status in _REDIRECTS:
        raise AndersenConnectionError(
            f"{action} was answered with a redirect (HTTP {response.status}) to"
            f" {redirect_host(response)}, which was not followed: a proxy or captive portal"
            " may be in the way; check the network and try again"
        )


def http_failure(action: str, status: int) -> ServiceUnavailableError | None:
    """The outage an HTTP ``status`` answered to ``action`` means (429 or 5xx), else None."""
    if status == _TOO_MANY_REQUESTS:
        return RateLimitedError(operation=action, retry_after=None)
    if status >= _SERVER_ERRORS:
        return ServerError(operation=action, status=status)
    return None


@dataclass(frozen=True, slots=True)
class _Reply:
    """Cognito's HTTP answer."""

    status: int
    body: bytes = field(repr=False)


def _fail(operation: str, params: Mapping[str, Any], reply: _Reply) -> NoReturn:
    """Raise the error of an error answer: an outage whatever the call, else a CognitoError.

    An outage's ``__cause__`` is the :class:`CognitoError` with Cognito's code.
    """
    code, message = read_error(reply.status, reply.body)
    code = _scrub(code, params, _MAX_CODE)  # a hostile server may echo the request there too
    status = reply.status
    _LOG.debug("Cognito %s answered %s (HTTP %d)", operation, code, status)
    error = CognitoError(code, _scrub(message, params), operation=operation, status=status)
    action = f"Cognito {operation}"
    failure: ServiceUnavailableError | None
    if code in THROTTLING:
        failure = RateLimitedError(operation=action, retry_after=None)
    elif code in OUTAGES:
        failure = ServerError(operation=action, status=status)
    elif code in SERVICE_FAULTS:
        failure = ServiceUnavailableError(
            f"{action} failed with {code}: the Andersen user pool cannot serve this client"
            " right now (its configuration or firewall); try again later"
        )
    else:
        failure = http_failure(action, status)
    if failure is None:
        raise error
    raise failure from error


class CognitoClient:
    """Sends Cognito operations over an aiohttp session it does not own.

    Args:
        session: The session to send over (never closed here).
        endpoints: Where Cognito lives and which app client to use.
        timeout: Seconds allowed per call.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        endpoints: Endpoints,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._session = session
        self._endpoints = endpoints
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def __repr__(self) -> str:
        return f"CognitoClient(url={self._endpoints.cognito_url!r})"

    async def call(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Send one Cognito operation and return its parsed answer.

        Args:
            operation: One of :data:`andersen_ev.auth.codec.OPERATIONS` (``InitiateAuth`` ...).
            params: The request, in the API model's shape.

        Returns:
            The answer's JSON object.

        Raises:
            InvalidInputError: an operation this library does not send, or ``params`` that
                do not fit the model (the message names the parameters, never their
                values); nothing was sent.
            RateLimitedError: Cognito is throttling (``TooManyRequestsException``, HTTP 429).
            ServerError: Cognito failed (HTTP 5xx, ``InternalErrorException`` ...).
            ServiceUnavailableError: the pool is misconfigured or its firewall blocks us.
            AndersenConnectionError: Cognito could not be reached, or answered a redirect.
            AndersenTimeoutError: Cognito did not answer in time.
            CognitoError: any other error answer (its ``code`` says which), or an answer
                Cognito would not send (``MalformedResponse``).
        """
        headers, body = encode_request(operation, params)
        _LOG.debug("Cognito %s", operation)
        reply = await self._post(operation, headers, body)
        if reply.status >= _HTTP_ERROR:
            _fail(operation, params, reply)
        return read_answer(operation, reply.body)

    async def _post(self, operation: str, headers: Mapping[str, str], body: bytes) -> _Reply:
        """Send a request; transport failures and redirects become the library's errors."""
        action = f"Cognito {operation}"
        with transport_errors(action):
            async with self._session.post(
                self._endpoints.cognito_url,
                data=body,
                headers=headers,
                timeout=self._timeout,
                **REQUEST_OPTIONS,
            ) as response:
                refuse_redirect(action, response)
                try:
                    answer = await read_body(response, MAX_COGNITO_REPLY_BYTES)
                except ReplyTooLargeError as exc:
                    raise malformed_answer(operation, f"is larger than {exc.limit} bytes") from None
                return _Reply(response.status, answer)

    # -- authentication ------------------------------------------------------------------------

    async def initiate_auth(self, flow: str, parameters: Mapping[str, str]) -> AuthStep:
        """``InitiateAuth`` with ``flow`` (``USER_SRP_AUTH``, ``REFRESH_TOKEN_AUTH`` ...)."""
        answer = await self.call(
            "InitiateAuth",
            {
                "AuthFlow": flow,
                "ClientId": self._endpoints.client_id,
                "AuthParameters": dict(parameters),
            },
        )
        return read_auth_step("InitiateAuth", answer)

    async def respond_to_auth_challenge(
        self, challenge: str, responses: Mapping[str, str], session: str | None = None
    ) -> AuthStep:
        """``RespondToAuthChallenge``; ``session`` is sent only when Cognito gave one."""
        request: dict[str, Any] = {
            "ClientId": self._endpoints.client_id,
            "ChallengeName": challenge,
            "ChallengeResponses": dict(responses),
        }
        if session is not None:
            request["Session"] = session
        answer = await self.call("RespondToAuthChallenge", request)
        return read_auth_step("RespondToAuthChallenge", answer)

    # -- devices and sign-out -------------------------------------------------------------------

    async def confirm_device(
        self,
        access_token: str,
        device_key: str,
        device_name: str,
        verifier_config: Mapping[str, str],
    ) -> bool:
        """``ConfirmDevice``; returns ``UserConfirmationNecessary``.

        Args:
            access_token: A valid access token of the user.
            device_key: The ``DeviceKey`` from ``NewDeviceMetadata``.
            device_name: A name the user recognizes in a list of devices.
            verifier_config: ``{"PasswordVerifier": ..., "Salt": ...}``, both base64.
        """
        answer = await self.call(
            "ConfirmDevice",
            {
                "AccessToken": access_token,
                "DeviceKey": device_key,
                "DeviceName": device_name,
                "DeviceSecretVerifierConfig": dict(verifier_config),
            },
        )
        return bool(answer.get("UserConfirmationNecessary", False))

    async def update_device_status(
        self, access_token: str, device_key: str, *, remembered: bool
    ) -> None:
        """``UpdateDeviceStatus``: mark a confirmed device remembered (or not)."""
        await self.call(
            "UpdateDeviceStatus",
            {
                "AccessToken": access_token,
                "DeviceKey": device_key,
                "DeviceRememberedStatus": "remembered" if remembered else "not_remembered",
            },
        )

    async def forget_device(self, access_token: str, device_key: str) -> None:
        """``ForgetDevice``: the device is no longer tracked (its key stops working)."""
        await self.call("ForgetDevice", {"AccessToken": access_token, "DeviceKey": device_key})

    async def global_sign_out(self, access_token: str) -> None:
        """``GlobalSignOut``: revoke every access and refresh token of the user."""
        await self.call("GlobalSignOut", {"AccessToken": access_token})
