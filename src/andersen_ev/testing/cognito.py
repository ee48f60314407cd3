"""The emulator's Cognito identity provider: AWS JSON 1.1 with real server-side SRP.

``POST /`` with ``X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>`` serves:

* ``InitiateAuth``: ``USER_SRP_AUTH`` (answers ``PASSWORD_VERIFIER``), ``REFRESH_TOKEN_AUTH``
  and ``REFRESH_TOKEN`` (new id and access tokens, never a new refresh token);
* ``RespondToAuthChallenge``: ``PASSWORD_VERIFIER`` (the claim signature is checked against
  the user's SRP verifier), ``DEVICE_SRP_AUTH`` and ``DEVICE_PASSWORD_VERIFIER`` (checked
  against the verifier ``ConfirmDevice`` stored), and the challenges a test can force with
  :attr:`EmulatedUser.forced_challenge <andersen_ev.testing.state.EmulatedUser>`
  (``NEW_PASSWORD_REQUIRED``, ``SMS_MFA``, ``SOFTWARE_TOKEN_MFA``);
* ``ConfirmDevice``, ``UpdateDeviceStatus``, ``ForgetDevice``, ``GlobalSignOut`` and
  ``RevokeToken``.

``GET /<poolId>/.well-known/jwks.json`` serves the token signing keys.

Every answer, error or not, has the shape, code and message recorded for the real service
(the project's Cognito wire reference); wordings not seen on the wire are marked
*unconfirmed* where they are made up. Bad input is answered with Cognito's error, logged,
and never escapes a handler as an exception.

The pool keeps, per running emulator, the secret blocks it issued (single use, three
minutes) and its challenge sessions (single use, three minutes). It reads the time from
the token service's clock (``cloud.tokens.clock``), so a test that replaces that clock
moves timestamps, sessions, lockouts and token expiry together.

Sessions on the device challenges are checked when sent but not required: AWS's own SRP
example and pycognito answer ``DEVICE_SRP_AUTH`` and ``DEVICE_PASSWORD_VERIFIER`` without
one, and succeed against the real service.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from aiohttp import web

from andersen_ev import srp
from andersen_ev.testing._keys import CLOUD_KEY
from andersen_ev.testing.cognito_flows import initiate_auth, respond_to_auth_challenge
from andersen_ev.testing.cognito_wire import (
    CONTENT_TYPE,
    LOCKOUT_THRESHOLD,
    POOL_KEY,
    REMEMBERED_STATUSES,
    SERVICE,
    SESSION_LIFETIME,
    UNKNOWN_OPERATION,
    Call,
    CognitoError,
    PoolState,
    camel,
    echo,
    invalid,
    not_in_enum,
    not_null,
    serialization,
    tracked_device,
    type_error,
)

__all__ = [
    "LOCKOUT_THRESHOLD",
    "SESSION_LIFETIME",
    "CognitoError",
    "setup_routes",
]

_LOG = logging.getLogger(__name__)


# -- devices and sign-out -----------------------------------------------------------------


def _decode_number(config: Mapping[str, Any], member: str) -> int:
    value = config.get(member)
    if value is None:
        raise not_null(f"deviceSecretVerifierConfig.{camel(member)}")
    if not isinstance(value, str):
        raise type_error(value)
    try:
        number = int.from_bytes(base64.b64decode(value, validate=True), "big")
    except ValueError:  # binascii.Error: not base64
        number = 0
    if not 0 < number < srp.N:
        # wording *unconfirmed*
        raise invalid(f"Invalid {member} in DeviceSecretVerifierConfig.")
    return number


def _confirm_device(call: Call) -> dict[str, Any]:
    user = call.access_user()
    device = tracked_device(user, call.required("DeviceKey"))
    config = call.structure("DeviceSecretVerifierConfig")
    salt = _decode_number(config, "Salt")
    verifier = _decode_number(config, "PasswordVerifier")
    device.name = call.optional("DeviceName") or device.name
    device.salt, device.verifier = salt, verifier
    _LOG.info("Cognito: %s confirmed device %s", user.username, device.device_key)
    return {"UserConfirmationNecessary": False}


def _update_device_status(call: Call) -> dict[str, Any]:
    user = call.access_user()
    device = tracked_device(user, call.required("DeviceKey"))
    status = call.optional("DeviceRememberedStatus")
    if status is not None and status not in REMEMBERED_STATUSES:
        raise not_in_enum(status, "DeviceRememberedStatus", REMEMBERED_STATUSES)
    device.remembered = status == "remembered"
    return {}


def _forget_device(call: Call) -> dict[str, Any]:
    user = call.access_user()
    device = tracked_device(user, call.required("DeviceKey"))
    del user.devices[device.device_key]
    _LOG.info("Cognito: %s forgot device %s", user.username, device.device_key)
    return {}


def _global_sign_out(call: Call) -> dict[str, Any]:
    user = call.access_user()
    call.cloud.tokens.revoke_user(user.username)
    return {}


def _revoke_token(call: Call) -> dict[str, Any]:
    token = call.required("Token")
    call.check_client()
    # Like OAuth revocation (RFC 7009), an unknown token is not an error.
    call.cloud.tokens.revoke_refresh_token(token)
    return {}


_OPERATIONS: Final[dict[str, Callable[[Call], dict[str, Any]]]] = {
    "InitiateAuth": initiate_auth,
    "RespondToAuthChallenge": respond_to_auth_challenge,
    "ConfirmDevice": _confirm_device,
    "UpdateDeviceStatus": _update_device_status,
    "ForgetDevice": _forget_device,
    "GlobalSignOut": _global_sign_out,
    "RevokeToken": _revoke_token,
}


# -- the HTTP envelope ----------------------------------------------------------------------


def _header_safe(text: str) -> str:
    return "".join(c if " " <= c <= "~" else "?" for c in text)


def _error_response(error: CognitoError, request_id: str) -> web.Response:
    message_key = "Message" if error.code == "SerializationException" else "message"
    return web.json_response(
        {"__type": error.code, message_key: error.message},
        status=error.status,
        content_type=CONTENT_TYPE,
        headers={
            "x-amzn-RequestId": request_id,
            "x-amzn-ErrorType": f"{error.code}:",
            "x-amzn-ErrorMessage": _header_safe(error.message),
        },
    )


def _parse_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        # the code is the service's; the wording is *unconfirmed*
        raise serialization("Unable to parse the request body as JSON.") from None
    if body is None:
        return {}
    if isinstance(body, dict):
        return body
    raise serialization("Expected map or null")


def _stat_key(operation: str, body: Mapping[str, Any]) -> str:
    detail = None
    if operation == "InitiateAuth":
        detail = body.get("AuthFlow")
    elif operation == "RespondToAuthChallenge":
        detail = body.get("ChallengeName")
    return f"{operation}:{detail}" if isinstance(detail, str) else operation


def _answer(
    request: web.Request, operation: str, handler: Callable[[Call], dict[str, Any]], raw: bytes
) -> dict[str, Any]:
    """Count the call, apply faults and run ``handler``; raises :class:`CognitoError`."""
    cloud = request.app[CLOUD_KEY]
    try:
        body = _parse_body(raw)
    except CognitoError:
        cloud.stats.cognito_calls[operation] += 1
        raise
    cloud.stats.cognito_calls[_stat_key(operation, body)] += 1
    if cloud.faults.take("cognito_throttled"):
        cloud.stats.faults_injected["cognito_throttled"] += 1
        raise CognitoError("TooManyRequestsException", "Rate exceeded")
    return handler(Call(cloud, request.app[POOL_KEY], body, cloud.tokens.clock()))


async def _handle(request: web.Request) -> web.Response:
    """``POST /``: route by ``X-Amz-Target`` and answer in AWS JSON 1.1."""
    request_id = str(uuid.uuid4())
    service, _, operation = request.headers.get("X-Amz-Target", "").partition(".")
    handler = _OPERATIONS.get(operation) if service == SERVICE else None
    if handler is None:
        _LOG.warning("Cognito: unknown operation %r", echo(f"{service}.{operation}"))
        return web.json_response(
            UNKNOWN_OPERATION, status=404, headers={"x-amzn-RequestId": request_id}
        )
    await request.app[CLOUD_KEY].delay()
    try:
        answer = _answer(request, operation, handler, await request.read())
    except CognitoError as error:
        _LOG.info("Cognito %s answered %s: %s", operation, error.code, error.message)
        return _error_response(error, request_id)
    return web.json_response(
        answer, content_type=CONTENT_TYPE, headers={"x-amzn-RequestId": request_id}
    )


async def _jwks(request: web.Request) -> web.Response:
    """``GET /<poolId>/.well-known/jwks.json``: the public keys tokens are signed with."""
    cloud = request.app[CLOUD_KEY]
    if request.match_info["pool_id"] != cloud.user_pool_id:
        return web.json_response({"message": "User pool does not exist."}, status=404)
    return web.json_response(cloud.tokens.jwks())


async def _warm_up(app: web.Application) -> None:
    # Generating the token signing key takes about a second of pure Python: do it in a
    # thread before serving rather than on the event loop at the first login.
    tokens = app[CLOUD_KEY].tokens
    await asyncio.to_thread(lambda: tokens.key_id)


def setup_routes(app: web.Application) -> None:
    """Serve the Cognito identity provider on ``app`` (which carries ``CLOUD_KEY``)."""
    app[POOL_KEY] = PoolState()
    app.on_startup.append(_warm_up)
    app.router.add_post("/", _handle)
    app.router.add_get("/{pool_id}/.well-known/jwks.json", _jwks)
