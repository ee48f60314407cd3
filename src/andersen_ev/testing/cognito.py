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
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal

from aiohttp import web

from andersen_ev import srp
from andersen_ev.testing._keys import CLOUD_KEY
from andersen_ev.testing.cognito_srp import ServerExchange
from andersen_ev.testing.state import EmulatedUser, ForcedChallenge, TrackedDevice
from andersen_ev.testing.tokens import TokenError

if TYPE_CHECKING:
    from andersen_ev.testing.cloud import AndersenCloud

__all__ = [
    "LOCKOUT_THRESHOLD",
    "SESSION_LIFETIME",
    "CognitoError",
    "setup_routes",
]

_LOG = logging.getLogger(__name__)

_SERVICE: Final = "AWSCognitoIdentityProviderService"
_CONTENT_TYPE: Final = "application/x-amz-json-1.1"

#: Seconds a Session or a SECRET_BLOCK stays usable (Cognito: three minutes).
SESSION_LIFETIME: Final = 180.0
#: Consecutive password failures after which logins answer "Password attempts exceeded".
LOCKOUT_THRESHOLD: Final = 5
#: The longest lockout (Cognito doubles from one second up to about fifteen minutes).
_MAX_LOCKOUT: Final = 900.0
#: Bits of the server's private SRP value ``b``.
_B_BITS: Final = 256

# Cognito's own messages (shared/reference/cognito-wire.md).
_INCORRECT: Final = "Incorrect username or password."
_LOCKED: Final = "Password attempts exceeded"
_NO_USER: Final = "User does not exist."
_NO_DEVICE: Final = "Device does not exist."
_BAD_REFRESH: Final = "Invalid Refresh Token."
_BAD_SESSION: Final = "Invalid session for the user."
_BAD_TIMESTAMP: Final = "TIMESTAMP format should be EEE MMM d HH:mm:ss z yyyy in english."
_ACCESS_MESSAGES: Final = {
    "expired": "Access Token has expired",
    "revoked": "Access Token has been revoked",
}
_REFRESH_MESSAGES: Final = {
    "revoked": "Refresh Token has been revoked",
    "expired": "Refresh Token has expired",
}
_UNKNOWN_OPERATION: Final = {
    "code": "BadRequest",
    "message": "The server did not understand the operation that was requested.",
    "type": "client",
}

_AUTH_FLOWS: Final = (
    "USER_SRP_AUTH",
    "REFRESH_TOKEN_AUTH",
    "REFRESH_TOKEN",
    "CUSTOM_AUTH",
    "ADMIN_NO_SRP_AUTH",
    "USER_PASSWORD_AUTH",
    "ADMIN_USER_PASSWORD_AUTH",
    "USER_AUTH",
)
_REMEMBERED_STATUSES: Final = ("remembered", "not_remembered")
_HEX: Final = re.compile(r"[0-9a-fA-F]+")
_MAX_ECHO: Final = 100


class CognitoError(Exception):
    """An error answer in Cognito's shape: ``code`` (``__type``), ``message``, HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def _invalid(message: str) -> CognitoError:
    return CognitoError("InvalidParameterException", message)


def _not_authorized(message: str) -> CognitoError:
    return CognitoError("NotAuthorizedException", message)


def _serialization(message: str) -> CognitoError:
    return CognitoError("SerializationException", message)


def _echo(value: str) -> str:
    """A client-supplied value, shortened for an error message."""
    return value if len(value) <= _MAX_ECHO else value[:_MAX_ECHO] + "..."


def _camel(member: str) -> str:
    return member[:1].lower() + member[1:]


def _not_null(member: str) -> CognitoError:
    return _invalid(
        f"1 validation error detected: Value null at '{_camel(member)}' failed to satisfy "
        "constraint: Member must not be null"
    )


def _not_in_enum(value: str, member: str, allowed: tuple[str, ...]) -> CognitoError:
    return _invalid(
        f"1 validation error detected: Value '{_echo(value)}' at '{_camel(member)}' failed to "
        f"satisfy constraint: Member must satisfy enum value set: [{', '.join(allowed)}]"
    )


def _missing(parameter: str) -> CognitoError:
    return _invalid(f"Missing required parameter {parameter}")


def _type_error(value: object) -> CognitoError:
    """The SerializationException for a JSON value where a string was expected.

    The map and list wordings were seen on the wire; the scalar ones are *unconfirmed*.
    """
    if isinstance(value, dict):
        return _serialization("Start of structure or map found where not expected.")
    if isinstance(value, list):
        return _serialization("Start of list found where not expected.")
    if isinstance(value, bool):
        return _serialization("BOOLEAN_VALUE can not be converted to a String")
    return _serialization("NUMBER_VALUE can not be converted to a String")


# -- the pool's short-lived server-side state ---------------------------------------------


@dataclass
class _PendingSrp:
    """What the server remembers about one SECRET_BLOCK it issued."""

    username: str
    kind: Literal["user", "device"]
    exchange: ServerExchange = field(repr=False)
    issued_at: float
    device_key: str | None
    """The DEVICE_KEY presented at InitiateAuth (user) or the device being proven (device)."""


@dataclass
class _Session:
    """A challenge session: who, which challenge comes next, and with which device."""

    username: str
    challenge: str
    issued_at: float
    device_key: str | None


@dataclass
class _PoolState:
    """Secret blocks and sessions of one running emulator; both single use and short-lived."""

    secret_blocks: dict[str, _PendingSrp] = field(default_factory=dict)
    sessions: dict[str, _Session] = field(default_factory=dict)

    def prune(self, now: float) -> None:
        """Forget every secret block and session older than :data:`SESSION_LIFETIME`."""
        for store in (self.secret_blocks, self.sessions):
            stale = [k for k, v in store.items() if now - v.issued_at >= SESSION_LIFETIME]
            for key in stale:
                del store[key]

    def issue_secret_block(self, pending: _PendingSrp) -> str:
        """Remember ``pending`` under a new opaque SECRET_BLOCK (base64, hundreds of bytes)."""
        self.prune(pending.issued_at)
        block = base64.b64encode(secrets.token_bytes(300 + secrets.randbelow(700))).decode()
        self.secret_blocks[block] = pending
        return block

    def take_secret_block(self, block: str, now: float) -> _PendingSrp | None:
        """Consume a SECRET_BLOCK: its exchange if this server issued it, unused and fresh."""
        pending = self.secret_blocks.pop(block, None)
        if pending is None or now - pending.issued_at >= SESSION_LIFETIME:
            return None
        return pending

    def open_session(self, session: _Session) -> str:
        """Store ``session`` under a new opaque Session string."""
        self.prune(session.issued_at)
        token = base64.b64encode(secrets.token_bytes(600)).decode()
        self.sessions[token] = session
        return token

    def take_session(
        self, token: str | None, challenge: str, username: str, now: float
    ) -> _Session:
        """Consume a Session issued for ``challenge`` and ``username``.

        Raises:
            CognitoError: missing, unknown, used, expired, or for another challenge or user.
        """
        session = self.sessions.pop(token, None) if token is not None else None
        if (
            session is None
            or now - session.issued_at >= SESSION_LIFETIME
            or session.challenge != challenge
            or session.username != username
        ):
            raise _not_authorized(_BAD_SESSION)
        return session


_POOL_KEY: Final[web.AppKey[_PoolState]] = web.AppKey("cognito_pool", _PoolState)


# -- one call: the request body, typed access to its members ------------------------------


@dataclass
class _Call:
    """One Cognito call being answered: the emulator, the pool state and the request body."""

    cloud: AndersenCloud
    pool: _PoolState
    body: dict[str, Any]
    now: float

    def optional(self, member: str) -> str | None:
        """A string member, or None when absent or null."""
        value = self.body.get(member)
        if value is None or isinstance(value, str):
            return value
        raise _type_error(value)

    def required(self, member: str) -> str:
        """A string member the model requires (Cognito's validation error when absent)."""
        value = self.optional(member)
        if value is None:
            raise _not_null(member)
        return value

    def structure(self, member: str) -> dict[str, Any]:
        """A map or structure member (empty when absent)."""
        value = self.body.get(member)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise _serialization("Expected map or null")
        return value

    def string_map(self, member: str) -> dict[str, str]:
        """A map of strings (``AuthParameters``, ``ChallengeResponses``); null values dropped."""
        value = self.structure(member)
        for item in value.values():
            if item is not None and not isinstance(item, str):
                raise _type_error(item)
        return {key: item for key, item in value.items() if item is not None}

    def check_client(self) -> None:
        """Require the pool's app client id.

        Raises:
            CognitoError: ``ResourceNotFoundException`` for any other client id.
        """
        client_id = self.required("ClientId")
        if client_id != self.cloud.client_id:
            raise CognitoError(
                "ResourceNotFoundException", f"User pool client {_echo(client_id)} does not exist."
            )

    @property
    def pool_name(self) -> str:
        """The SRP ``poolName``: the pool id after the underscore."""
        return self.cloud.state.pool_name

    def user(self, username: str) -> EmulatedUser:
        """The user called ``username`` (the SRP username, not the email).

        Raises:
            CognitoError: ``UserNotFoundException``.
        """
        user = self.cloud.state.users_by_username.get(username)
        if user is None:
            raise CognitoError("UserNotFoundException", _NO_USER)
        return user

    def access_user(self) -> EmulatedUser:
        """The user whose ``AccessToken`` this call carries.

        Raises:
            CognitoError: ``NotAuthorizedException`` for an expired, revoked or invalid token.
        """
        token = self.required("AccessToken")
        try:
            claims = self.cloud.tokens.verify(token, "access")
        except TokenError as exc:
            raise _not_authorized(
                _ACCESS_MESSAGES.get(exc.reason, "Invalid Access Token")
            ) from None
        return self.user(str(claims.get("username")))


def _param(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise _missing(name)
    return value


def _parse_srp_a(text: str) -> int:
    if not _HEX.fullmatch(text):
        raise _invalid("SRP_A must be a hexadecimal number.")  # wording *unconfirmed*
    big_a = int(text, 16)
    if big_a % srp.N == 0:
        raise _invalid("SRP_A is not a valid SRP public value.")  # wording *unconfirmed*
    return big_a


def _device(user: EmulatedUser, device_key: str) -> TrackedDevice:
    device = user.devices.get(device_key)
    if device is None:
        raise CognitoError("ResourceNotFoundException", _NO_DEVICE)
    return device


def _canonical_timestamp(text: str) -> tuple[str, datetime]:
    """Parse a TIMESTAMP as the service does, returning the form it signs with.

    A zero-padded day parses (Java's ``d`` accepts it) but the server signs its own
    rendering of the instant, so a client that signed the padded text fails the signature,
    as clients do against the real service.

    Raises:
        CognitoError: ``InvalidParameterException`` with Cognito's format message.
    """
    parts = text.split(" ")
    try:
        if len(parts) > 2 and parts[2].isdigit():  # noqa: PLR2004 - the day field
            parts[2] = str(int(parts[2]))
        moment = srp.parse_timestamp(" ".join(parts))
    except (ValueError, OverflowError):  # OverflowError: a year beyond any calendar
        raise _invalid(_BAD_TIMESTAMP) from None
    return srp.format_timestamp(moment), moment


def _new_exchange(big_a: int, verifier: int, salt: int) -> ServerExchange:
    b = secrets.randbits(_B_BITS) | 1  # never zero
    return ServerExchange.start(big_a, verifier=verifier, salt=salt, b=b)


def _verifier_parameters(exchange: ServerExchange, block: str, username: str) -> dict[str, str]:
    return {
        "SALT": f"{exchange.salt:x}",
        "SECRET_BLOCK": block,
        "SRP_B": f"{exchange.big_b:x}",
        "USERNAME": username,
    }


# -- InitiateAuth ---------------------------------------------------------------------------


def _initiate_auth(call: _Call) -> dict[str, Any]:
    flow = call.required("AuthFlow")
    if flow not in _AUTH_FLOWS:
        raise _not_in_enum(flow, "AuthFlow", _AUTH_FLOWS)
    call.check_client()
    params = call.string_map("AuthParameters")
    if flow == "USER_SRP_AUTH":
        return _start_user_srp(call, params)
    if flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
        return _refresh(call, params)
    raise _invalid(f"{flow} flow not enabled for this client")


def _start_user_srp(call: _Call, params: Mapping[str, str]) -> dict[str, Any]:
    username = _param(params, "USERNAME")
    srp_a = _param(params, "SRP_A")
    user = call.user(username)
    exchange = _new_exchange(_parse_srp_a(srp_a), user.verifier, user.salt)
    pending = _PendingSrp(
        username=user.username,
        kind="user",
        exchange=exchange,
        issued_at=call.now,
        device_key=params.get("DEVICE_KEY") or None,
    )
    block = call.pool.issue_secret_block(pending)
    parameters = _verifier_parameters(exchange, block, user.username)
    parameters["USER_ID_FOR_SRP"] = user.username
    return {"ChallengeName": "PASSWORD_VERIFIER", "ChallengeParameters": parameters}


def _refresh(call: _Call, params: Mapping[str, str]) -> dict[str, Any]:
    token = _param(params, "REFRESH_TOKEN")
    try:
        grant = call.cloud.tokens.refresh_grant(token)
    except TokenError as exc:
        raise _not_authorized(_REFRESH_MESSAGES.get(exc.reason, _BAD_REFRESH)) from None
    user = call.cloud.state.users_by_username.get(grant.username)
    if user is None or (grant.device_key and params.get("DEVICE_KEY") != grant.device_key):
        raise _not_authorized(_BAD_REFRESH)
    if grant.device_key:
        _device(user, grant.device_key)
    id_token, access_token, expires_in = call.cloud.tokens.issue(
        sub=user.sub,
        username=user.username,
        email=user.email,
        device_key=grant.device_key,
        auth_time=grant.auth_time,
        origin_jti=grant.origin_jti,
    )
    result = {
        "AccessToken": access_token,
        "ExpiresIn": expires_in,
        "IdToken": id_token,
        "TokenType": "Bearer",
    }
    return {"AuthenticationResult": result, "ChallengeParameters": {}}


# -- RespondToAuthChallenge -------------------------------------------------------------------


_Responder = Callable[[_Call, Mapping[str, str], str | None], dict[str, Any]]


def _respond_to_auth_challenge(call: _Call) -> dict[str, Any]:
    challenge = call.required("ChallengeName")
    responder = _RESPONDERS.get(challenge)
    if responder is None:
        raise _not_in_enum(challenge, "ChallengeName", tuple(_RESPONDERS))
    call.check_client()
    return responder(call, call.string_map("ChallengeResponses"), call.optional("Session"))


@dataclass(frozen=True)
class _Claim:
    """A password claim: the answer to PASSWORD_VERIFIER or DEVICE_PASSWORD_VERIFIER."""

    username: str
    secret_block: str
    timestamp: str
    """The canonical rendering of the client's TIMESTAMP (what the server signs)."""
    moment: datetime
    signature: str = field(repr=False)

    @classmethod
    def parse(cls, responses: Mapping[str, str]) -> _Claim:
        """Read a claim from ChallengeResponses (a bad TIMESTAMP is InvalidParameter)."""
        username = _param(responses, "USERNAME")
        secret_block = _param(responses, "PASSWORD_CLAIM_SECRET_BLOCK")
        timestamp, moment = _canonical_timestamp(_param(responses, "TIMESTAMP"))
        signature = _param(responses, "PASSWORD_CLAIM_SIGNATURE")
        return cls(username, secret_block, timestamp, moment, signature)

    def check(
        self, call: _Call, kind: Literal["user", "device"], prefix: str, name: str
    ) -> _PendingSrp | None:
        """Consume the secret block; its exchange if the claim proves the secret, else None.

        The block must be one this server issued for this kind of challenge and this user
        (and, for a device, this device key, which is ``name``), unused and fresh; the
        timestamp must be within the tolerance; the signature must match.
        """
        pending = call.pool.take_secret_block(self.secret_block, call.now)
        if (
            pending is None
            or pending.kind != kind
            or pending.username != self.username
            or (kind == "device" and pending.device_key != name)
            or abs(self.moment.timestamp() - call.now) > call.cloud.timestamp_tolerance
        ):
            return None
        proven = pending.exchange.verify(
            self.signature, prefix, name, self.secret_block, self.timestamp
        )
        return pending if proven else None


def _password_verifier(
    call: _Call, responses: Mapping[str, str], _session: str | None
) -> dict[str, Any]:
    claim = _Claim.parse(responses)
    user = call.user(claim.username)
    if call.now < user.locked_until:
        raise _not_authorized(_LOCKED)
    pending = claim.check(call, "user", call.pool_name, user.username)
    if pending is None:
        user.failed_logins += 1
        if user.failed_logins >= LOCKOUT_THRESHOLD:
            lockout = min(2.0 ** (user.failed_logins - LOCKOUT_THRESHOLD), _MAX_LOCKOUT)
            user.locked_until = call.now + lockout
        raise _not_authorized(_INCORRECT)
    user.failed_logins = 0
    device_key = responses.get("DEVICE_KEY") or pending.device_key
    if device_key and _device(user, device_key).confirmed:
        session = _Session(user.username, "DEVICE_SRP_AUTH", call.now, device_key)
        return {
            "ChallengeName": "DEVICE_SRP_AUTH",
            "Session": call.pool.open_session(session),
            "ChallengeParameters": {},
        }
    if user.forced_challenge is not None:
        return _force_challenge(call, user, user.forced_challenge, device_key)
    return _authenticated(call, user, device_key)


def _device_srp_auth(
    call: _Call, responses: Mapping[str, str], session: str | None
) -> dict[str, Any]:
    username = _param(responses, "USERNAME")
    device_key = _param(responses, "DEVICE_KEY")
    srp_a = _param(responses, "SRP_A")
    if session is not None:
        _device_session(call, session, "DEVICE_SRP_AUTH", username, device_key)
    user = call.user(username)
    device = _device(user, device_key)
    if device.salt is None or device.verifier is None:
        raise CognitoError("ResourceNotFoundException", _NO_DEVICE)
    exchange = _new_exchange(_parse_srp_a(srp_a), device.verifier, device.salt)
    pending = _PendingSrp(user.username, "device", exchange, call.now, device_key)
    block = call.pool.issue_secret_block(pending)
    next_session = _Session(user.username, "DEVICE_PASSWORD_VERIFIER", call.now, device_key)
    return {
        "ChallengeName": "DEVICE_PASSWORD_VERIFIER",
        "Session": call.pool.open_session(next_session),
        "ChallengeParameters": _verifier_parameters(exchange, block, user.username),
    }


def _device_password_verifier(
    call: _Call, responses: Mapping[str, str], session: str | None
) -> dict[str, Any]:
    claim = _Claim.parse(responses)
    device_key = _param(responses, "DEVICE_KEY")
    if session is not None:
        _device_session(call, session, "DEVICE_PASSWORD_VERIFIER", claim.username, device_key)
    user = call.user(claim.username)
    device = _device(user, device_key)
    if claim.check(call, "device", device.group_key, device_key) is None:
        raise _not_authorized(_INCORRECT)
    return _authenticated(call, user, device_key)


def _device_session(
    call: _Call, token: str, challenge: str, username: str, device_key: str
) -> None:
    session = call.pool.take_session(token, challenge, username, call.now)
    if session.device_key != device_key:
        raise _not_authorized(_BAD_SESSION)


def _force_challenge(
    call: _Call, user: EmulatedUser, challenge: ForcedChallenge, device_key: str | None
) -> dict[str, Any]:
    parameters = {"USER_ID_FOR_SRP": user.username}
    if challenge == "NEW_PASSWORD_REQUIRED":
        parameters["requiredAttributes"] = "[]"
        parameters["userAttributes"] = json.dumps({"email": user.email, "email_verified": "true"})
    elif challenge == "SMS_MFA":
        parameters["CODE_DELIVERY_DELIVERY_MEDIUM"] = "SMS"
        parameters["CODE_DELIVERY_DESTINATION"] = "+*******0000"
    session = _Session(user.username, challenge, call.now, device_key)
    return {
        "ChallengeName": challenge,
        "Session": call.pool.open_session(session),
        "ChallengeParameters": parameters,
    }


def _new_password_required(
    call: _Call, responses: Mapping[str, str], session: str | None
) -> dict[str, Any]:
    username = _param(responses, "USERNAME")
    new_password = _param(responses, "NEW_PASSWORD")
    state = call.pool.take_session(session, "NEW_PASSWORD_REQUIRED", username, call.now)
    user = call.user(username)
    user.set_password(new_password, call.pool_name)
    user.forced_challenge = None
    return _authenticated(call, user, state.device_key)


def _mfa_responder(challenge: ForcedChallenge, code_parameter: str) -> _Responder:
    def respond(call: _Call, responses: Mapping[str, str], session: str | None) -> dict[str, Any]:
        username = _param(responses, "USERNAME")
        code = _param(responses, code_parameter)
        state = call.pool.take_session(session, challenge, username, call.now)
        user = call.user(username)
        if not secrets.compare_digest(code.encode(), user.mfa_code.encode()):
            raise CognitoError("CodeMismatchException", "Invalid code or auth state for the user.")
        return _authenticated(call, user, state.device_key)

    return respond


def _authenticated(call: _Call, user: EmulatedUser, device_key: str | None) -> dict[str, Any]:
    """Issue tokens; a new tracked device (NewDeviceMetadata) when none was presented."""
    result: dict[str, Any] = {}
    if device_key is None and call.cloud.device_tracking:
        device = TrackedDevice(
            device_key=f"{call.cloud.region}_{uuid.uuid4()}",
            group_key="-" + secrets.token_urlsafe(7)[:9],
        )
        user.devices[device.device_key] = device
        device_key = device.device_key
        result["NewDeviceMetadata"] = {
            "DeviceGroupKey": device.group_key,
            "DeviceKey": device.device_key,
        }
    auth_time, origin_jti = int(call.now), str(uuid.uuid4())
    tokens = call.cloud.tokens
    id_token, access_token, expires_in = tokens.issue(
        sub=user.sub,
        username=user.username,
        email=user.email,
        device_key=device_key,
        auth_time=auth_time,
        origin_jti=origin_jti,
    )
    refresh_token = tokens.issue_refresh(
        username=user.username, origin_jti=origin_jti, auth_time=auth_time, device_key=device_key
    )
    result |= {
        "AccessToken": access_token,
        "ExpiresIn": expires_in,
        "IdToken": id_token,
        "RefreshToken": refresh_token,
        "TokenType": "Bearer",
    }
    _LOG.info("Cognito: %s logged in", user.username)
    return {"AuthenticationResult": result, "ChallengeParameters": {}}


_RESPONDERS: Final[dict[str, _Responder]] = {
    "PASSWORD_VERIFIER": _password_verifier,
    "DEVICE_SRP_AUTH": _device_srp_auth,
    "DEVICE_PASSWORD_VERIFIER": _device_password_verifier,
    "NEW_PASSWORD_REQUIRED": _new_password_required,
    "SMS_MFA": _mfa_responder("SMS_MFA", "SMS_MFA_CODE"),
    "SOFTWARE_TOKEN_MFA": _mfa_responder("SOFTWARE_TOKEN_MFA", "SOFTWARE_TOKEN_MFA_CODE"),
}


# -- devices and sign-out -----------------------------------------------------------------


def _decode_number(config: Mapping[str, Any], member: str) -> int:
    value = config.get(member)
    if value is None:
        raise _not_null(f"deviceSecretVerifierConfig.{_camel(member)}")
    if not isinstance(value, str):
        raise _type_error(value)
    try:
        number = int.from_bytes(base64.b64decode(value, validate=True), "big")
    except ValueError:  # binascii.Error: not base64
        number = 0
    if not 0 < number < srp.N:
        # wording *unconfirmed*
        raise _invalid(f"Invalid {member} in DeviceSecretVerifierConfig.")
    return number


def _confirm_device(call: _Call) -> dict[str, Any]:
    user = call.access_user()
    device = _device(user, call.required("DeviceKey"))
    config = call.structure("DeviceSecretVerifierConfig")
    salt = _decode_number(config, "Salt")
    verifier = _decode_number(config, "PasswordVerifier")
    device.name = call.optional("DeviceName") or device.name
    device.salt, device.verifier = salt, verifier
    _LOG.info("Cognito: %s confirmed device %s", user.username, device.device_key)
    return {"UserConfirmationNecessary": False}


def _update_device_status(call: _Call) -> dict[str, Any]:
    user = call.access_user()
    device = _device(user, call.required("DeviceKey"))
    status = call.optional("DeviceRememberedStatus")
    if status is not None and status not in _REMEMBERED_STATUSES:
        raise _not_in_enum(status, "DeviceRememberedStatus", _REMEMBERED_STATUSES)
    device.remembered = status == "remembered"
    return {}


def _forget_device(call: _Call) -> dict[str, Any]:
    user = call.access_user()
    device = _device(user, call.required("DeviceKey"))
    del user.devices[device.device_key]
    _LOG.info("Cognito: %s forgot device %s", user.username, device.device_key)
    return {}


def _global_sign_out(call: _Call) -> dict[str, Any]:
    user = call.access_user()
    call.cloud.tokens.revoke_user(user.username)
    return {}


def _revoke_token(call: _Call) -> dict[str, Any]:
    token = call.required("Token")
    call.check_client()
    # Like OAuth revocation (RFC 7009), an unknown token is not an error.
    call.cloud.tokens.revoke_refresh_token(token)
    return {}


_OPERATIONS: Final[dict[str, Callable[[_Call], dict[str, Any]]]] = {
    "InitiateAuth": _initiate_auth,
    "RespondToAuthChallenge": _respond_to_auth_challenge,
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
        content_type=_CONTENT_TYPE,
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
        raise _serialization("Unable to parse the request body as JSON.") from None
    if body is None:
        return {}
    if isinstance(body, dict):
        return body
    raise _serialization("Expected map or null")


def _stat_key(operation: str, body: Mapping[str, Any]) -> str:
    detail = None
    if operation == "InitiateAuth":
        detail = body.get("AuthFlow")
    elif operation == "RespondToAuthChallenge":
        detail = body.get("ChallengeName")
    return f"{operation}:{detail}" if isinstance(detail, str) else operation


def _answer(
    request: web.Request, operation: str, handler: Callable[[_Call], dict[str, Any]], raw: bytes
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
    return handler(_Call(cloud, request.app[_POOL_KEY], body, cloud.tokens.clock()))


async def _handle(request: web.Request) -> web.Response:
    """``POST /``: route by ``X-Amz-Target`` and answer in AWS JSON 1.1."""
    request_id = str(uuid.uuid4())
    service, _, operation = request.headers.get("X-Amz-Target", "").partition(".")
    handler = _OPERATIONS.get(operation) if service == _SERVICE else None
    if handler is None:
        _LOG.warning("Cognito: unknown operation %r", _echo(f"{service}.{operation}"))
        return web.json_response(
            _UNKNOWN_OPERATION, status=404, headers={"x-amzn-RequestId": request_id}
        )
    await request.app[CLOUD_KEY].delay()
    try:
        answer = _answer(request, operation, handler, await request.read())
    except CognitoError as error:
        _LOG.info("Cognito %s answered %s: %s", operation, error.code, error.message)
        return _error_response(error, request_id)
    return web.json_response(
        answer, content_type=_CONTENT_TYPE, headers={"x-amzn-RequestId": request_id}
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
    app[_POOL_KEY] = _PoolState()
    app.on_startup.append(_warm_up)
    app.router.add_post("/", _handle)
    app.router.add_get("/{pool_id}/.well-known/jwks.json", _jwks)
