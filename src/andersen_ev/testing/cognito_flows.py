"""The Cognito emulator's login flows: SRP for passwords and devices, refresh, challenges.

``InitiateAuth`` (``USER_SRP_AUTH`` answers ``PASSWORD_VERIFIER``; ``REFRESH_TOKEN_AUTH``
and ``REFRESH_TOKEN`` issue new id and access tokens, never a new refresh token) and
``RespondToAuthChallenge`` (``PASSWORD_VERIFIER``, checked against the user's SRP
verifier; ``DEVICE_SRP_AUTH`` and ``DEVICE_PASSWORD_VERIFIER``, checked against the
verifier ``ConfirmDevice`` stored; and the challenges a test can force). Sessions on the
device challenges are checked when sent but not required, as the real service does.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from andersen_ev import srp
from andersen_ev.testing.cognito_srp import ServerExchange
from andersen_ev.testing.cognito_wire import (
    AUTH_FLOWS,
    B_BITS,
    BAD_REFRESH,
    BAD_SESSION,
    BAD_TIMESTAMP,
    HEX,
    INCORRECT,
    LOCKED,
    LOCKOUT_THRESHOLD,
    MAX_LOCKOUT,
    NO_DEVICE,
    REFRESH_MESSAGES,
    Call,
    ChallengeSession,
    CognitoError,
    PendingSrp,
    invalid,
    not_authorized,
    not_in_enum,
    param,
    tracked_device,
)
from andersen_ev.testing.state import EmulatedUser, ForcedChallenge, TrackedDevice
from andersen_ev.testing.tokens import TokenError

__all__ = ["initiate_auth", "respond_to_auth_challenge"]

_LOG = logging.getLogger(__name__)


def _parse_srp_a(text: str) -> int:
    if not HEX.fullmatch(text):
        raise invalid("SRP_A must be a hexadecimal number.")  # wording *unconfirmed*
    big_a = int(text, 16)
    if big_a % srp.N == 0:
        raise invalid("SRP_A is not a valid SRP public value.")  # wording *unconfirmed*
    return big_a


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
        raise invalid(BAD_TIMESTAMP) from None
    return srp.format_timestamp(moment), moment


def _new_exchange(big_a: int, verifier: int, salt: int) -> ServerExchange:
    b = secrets.randbits(B_BITS) | 1  # never zero
    return ServerExchange.start(big_a, verifier=verifier, salt=salt, b=b)


def _verifier_parameters(exchange: ServerExchange, block: str, username: str) -> dict[str, str]:
    return {
        "SALT": f"{exchange.salt:x}",
        "SECRET_BLOCK": block,
        "SRP_B": f"{exchange.big_b:x}",
        "USERNAME": username,
    }


# -- InitiateAuth ---------------------------------------------------------------------------


def initiate_auth(call: Call) -> dict[str, Any]:
    """``InitiateAuth``: start an SRP login, or refresh the tokens."""
    flow = call.required("AuthFlow")
    if flow not in AUTH_FLOWS:
        raise not_in_enum(flow, "AuthFlow", AUTH_FLOWS)
    call.check_client()
    params = call.string_map("AuthParameters")
    if flow == "USER_SRP_AUTH":
        return _start_user_srp(call, params)
    if flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
        return _refresh(call, params)
    raise invalid(f"{flow} flow not enabled for this client")


def _start_user_srp(call: Call, params: Mapping[str, str]) -> dict[str, Any]:
    username = param(params, "USERNAME")
    srp_a = param(params, "SRP_A")
    user = call.user(username)
    exchange = _new_exchange(_parse_srp_a(srp_a), user.verifier, user.salt)
    pending = PendingSrp(
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


def _refresh(call: Call, params: Mapping[str, str]) -> dict[str, Any]:
    token = param(params, "REFRESH_TOKEN")
    try:
        grant = call.cloud.tokens.refresh_grant(token)
    except TokenError as exc:
        raise not_authorized(REFRESH_MESSAGES.get(exc.reason, BAD_REFRESH)) from None
    user = call.cloud.state.users_by_username.get(grant.username)
    if user is None or (grant.device_key and params.get("DEVICE_KEY") != grant.device_key):
        raise not_authorized(BAD_REFRESH)
    if grant.device_key:
        tracked_device(user, grant.device_key)
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


_Responder = Callable[[Call, Mapping[str, str], str | None], dict[str, Any]]


def respond_to_auth_challenge(call: Call) -> dict[str, Any]:
    """``RespondToAuthChallenge``: answer the challenge with the next one, or tokens."""
    challenge = call.required("ChallengeName")
    responder = _RESPONDERS.get(challenge)
    if responder is None:
        raise not_in_enum(challenge, "ChallengeName", tuple(_RESPONDERS))
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
        username = param(responses, "USERNAME")
        secret_block = param(responses, "PASSWORD_CLAIM_SECRET_BLOCK")
        timestamp, moment = _canonical_timestamp(param(responses, "TIMESTAMP"))
        signature = param(responses, "PASSWORD_CLAIM_SIGNATURE")
        return cls(username, secret_block, timestamp, moment, signature)

    def check(
        self, call: Call, kind: Literal["user", "device"], prefix: str, name: str
    ) -> PendingSrp | None:
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
    call: Call, responses: Mapping[str, str], _session: str | None
) -> dict[str, Any]:
    claim = _Claim.parse(responses)
    user = call.user(claim.username)
    if call.now < user.locked_until:
        raise not_authorized(LOCKED)
    pending = claim.check(call, "user", call.pool_name, user.username)
    if pending is None:
        user.failed_logins += 1
        if user.failed_logins >= LOCKOUT_THRESHOLD:
            lockout = min(2.0 ** (user.failed_logins - LOCKOUT_THRESHOLD), MAX_LOCKOUT)
            user.locked_until = call.now + lockout
        raise not_authorized(INCORRECT)
    user.failed_logins = 0
    device_key = responses.get("DEVICE_KEY") or pending.device_key
    if device_key and tracked_device(user, device_key).confirmed:
        session = ChallengeSession(user.username, "DEVICE_SRP_AUTH", call.now, device_key)
        return {
            "ChallengeName": "DEVICE_SRP_AUTH",
            "Session": call.pool.open_session(session),
            "ChallengeParameters": {},
        }
    if user.forced_challenge is not None:
        return _force_challenge(call, user, user.forced_challenge, device_key)
    return _authenticated(call, user, device_key)


def _device_srp_auth(
    call: Call, responses: Mapping[str, str], session: str | None
) -> dict[str, Any]:
    username = param(responses, "USERNAME")
    device_key = param(responses, "DEVICE_KEY")
    srp_a = param(responses, "SRP_A")
    if session is not None:
        _device_session(call, session, "DEVICE_SRP_AUTH", username, device_key)
    user = call.user(username)
    device = tracked_device(user, device_key)
    if device.salt is None or device.verifier is None:
        raise CognitoError("ResourceNotFoundException", NO_DEVICE)
    exchange = _new_exchange(_parse_srp_a(srp_a), device.verifier, device.salt)
    pending = PendingSrp(user.username, "device", exchange, call.now, device_key)
    block = call.pool.issue_secret_block(pending)
    next_session = ChallengeSession(user.username, "DEVICE_PASSWORD_VERIFIER", call.now, device_key)
    return {
        "ChallengeName": "DEVICE_PASSWORD_VERIFIER",
        "Session": call.pool.open_session(next_session),
        "ChallengeParameters": _verifier_parameters(exchange, block, user.username),
    }


def _device_password_verifier(
    call: Call, responses: Mapping[str, str], session: str | None
) -> dict[str, Any]:
    claim = _Claim.parse(responses)
    device_key = param(responses, "DEVICE_KEY")
    if session is not None:
        _device_session(call, session, "DEVICE_PASSWORD_VERIFIER", claim.username, device_key)
    user = call.user(claim.username)
    device = tracked_device(user, device_key)
    if claim.check(call, "device", device.group_key, device_key) is None:
        raise not_authorized(INCORRECT)
    return _authenticated(call, user, device_key)


def _device_session(call: Call, token: str, challenge: str, username: str, device_key: str) -> None:
    session = call.pool.take_session(token, challenge, username, call.now)
    if session.device_key != device_key:
        raise not_authorized(BAD_SESSION)


def _force_challenge(
    call: Call, user: EmulatedUser, challenge: ForcedChallenge, device_key: str | None
) -> dict[str, Any]:
    parameters = {"USER_ID_FOR_SRP": user.username}
    if challenge == "NEW_PASSWORD_REQUIRED":
        parameters["requiredAttributes"] = "[]"
        parameters["userAttributes"] = json.dumps({"email": user.email, "email_verified": "true"})
    elif challenge == "SMS_MFA":
        parameters["CODE_DELIVERY_DELIVERY_MEDIUM"] = "SMS"
        parameters["CODE_DELIVERY_DESTINATION"] = "+*******0000"
    session = ChallengeSession(user.username, challenge, call.now, device_key)
    return {
        "ChallengeName": challenge,
        "Session": call.pool.open_session(session),
        "ChallengeParameters": parameters,
    }


def _new_password_required(
    call: Call, responses: Mapping[str, str], session: str | None
) -> dict[str, Any]:
    username = param(responses, "USERNAME")
    new_password = param(responses, "NEW_PASSWORD")
    state = call.pool.take_session(session, "NEW_PASSWORD_REQUIRED", username, call.now)
    user = call.user(username)
    user.set_password(new_password, call.pool_name)
    user.forced_challenge = None
    return _authenticated(call, user, state.device_key)


def _mfa_responder(challenge: ForcedChallenge, code_parameter: str) -> _Responder:
    def respond(call: Call, responses: Mapping[str, str], session: str | None) -> dict[str, Any]:
        username = param(responses, "USERNAME")
        code = param(responses, code_parameter)
        state = call.pool.take_session(session, challenge, username, call.now)
        user = call.user(username)
        if not secrets.compare_digest(code.encode(), user.mfa_code.encode()):
            raise CognitoError("CodeMismatchException", "Invalid code or auth state for the user.")
        return _authenticated(call, user, state.device_key)

    return respond


def _authenticated(call: Call, user: EmulatedUser, device_key: str | None) -> dict[str, Any]:
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
