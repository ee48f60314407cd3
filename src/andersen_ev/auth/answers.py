"""What Cognito's authentication operations answer, read strictly: tokens or a challenge.

``InitiateAuth`` and ``RespondToAuthChallenge`` answer with an :class:`AuthStep`: either
the tokens (:class:`AuthResult`) or the next challenge to answer. Anything Cognito would
not send (a Session out of bounds, tokens that are not text, an absurd lifetime) is
refused as ``MalformedResponse`` rather than trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from andersen_ev.auth.codec import SESSION_LENGTH, malformed_answer

__all__ = ["AuthResult", "AuthStep", "read_auth_step"]


@dataclass(frozen=True, slots=True)
class AuthResult:
    """Cognito's ``AuthenticationResult``: the tokens of a login or refresh.

    ``refresh_token`` is None on a refresh (Cognito keeps the old one valid);
    ``device_key`` and ``device_group_key`` come from ``NewDeviceMetadata``, present when
    the pool tracks devices and the login presented no known device.
    """

    id_token: str = field(repr=False)
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_in: int
    device_key: str | None = None
    device_group_key: str | None = None


@dataclass(frozen=True, slots=True)
class AuthStep:
    """One answer of InitiateAuth or RespondToAuthChallenge: tokens, or a further challenge."""

    challenge: str | None
    """The challenge to answer next (``PASSWORD_VERIFIER`` ...), None with a result."""
    parameters: dict[str, str] = field(repr=False)
    """``ChallengeParameters`` (empty with a result)."""
    session: str | None = field(repr=False)
    """The ``Session`` to send back with the answer, when Cognito sent one."""
    result: AuthResult | None = None
    """The tokens, when the login (or refresh) is complete."""


#: A sane token lifetime: at most 10 years.
_MAX_EXPIRES_IN: Final = 10 * 365 * 24 * 3600


def read_auth_step(operation: str, answer: Mapping[str, Any]) -> AuthStep:
    """The :class:`AuthStep` in ``operation``'s parsed answer.

    Raises:
        CognitoError: ``MalformedResponse``, the answer is not one Cognito would send.
    """
    result = answer.get("AuthenticationResult")
    challenge = answer.get("ChallengeName")
    session = answer.get("Session")
    raw_parameters = answer.get("ChallengeParameters") or {}
    if not isinstance(raw_parameters, Mapping):
        raise malformed_answer(operation, "has ChallengeParameters that are not an object")
    if session is not None and not (isinstance(session, str) and len(session) in SESSION_LENGTH):
        raise malformed_answer(operation, "has a Session Cognito would not send")
    parameters = {str(k): str(v) for k, v in raw_parameters.items()}
    if result:
        return AuthStep(
            challenge=None,
            parameters=parameters,
            session=session,
            result=_auth_result(operation, result),
        )
    if not challenge or not isinstance(challenge, str):
        raise malformed_answer(operation, "holds neither tokens nor a challenge")
    return AuthStep(challenge=challenge, parameters=parameters, session=session)


def _auth_result(operation: str, result: object) -> AuthResult:
    if not isinstance(result, Mapping):
        raise malformed_answer(operation, "has an AuthenticationResult that is not an object")
    id_token, access_token = result.get("IdToken"), result.get("AccessToken")
    refresh_token = result.get("RefreshToken")
    if not (
        isinstance(id_token, str) and id_token and isinstance(access_token, str) and access_token
    ):
        raise malformed_answer(operation, "has an AuthenticationResult without tokens")
    if refresh_token is not None and not isinstance(refresh_token, str):
        raise malformed_answer(operation, "has a RefreshToken that is not text")
    expires_in = result.get("ExpiresIn", 3600)
    if (
        isinstance(expires_in, bool)
        or not isinstance(expires_in, int)
        or not 0 < expires_in <= _MAX_EXPIRES_IN
    ):
        raise malformed_answer(operation, "has an ExpiresIn that is not a lifetime in seconds")
    device = result.get("NewDeviceMetadata") or {}
    if not isinstance(device, Mapping):
        raise malformed_answer(operation, "has NewDeviceMetadata that is not an object")
    device_key, group_key = device.get("DeviceKey"), device.get("DeviceGroupKey")
    if not all(key is None or isinstance(key, str) for key in (device_key, group_key)):
        raise malformed_answer(operation, "has a DeviceKey or DeviceGroupKey that is not text")
    return AuthResult(
        id_token=id_token,
        access_token=access_token,
        refresh_token=refresh_token,
        expires_in=expires_in,
        device_key=device_key,
        device_group_key=group_key,
    )
