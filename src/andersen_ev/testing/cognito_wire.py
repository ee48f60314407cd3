"""The Cognito emulator's wire: its errors, its short-lived server state, one call's body.

Shared by the SRP flows (:mod:`.cognito_flows`) and the other operations and HTTP
envelope (:mod:`.cognito`). Every error has the shape, code and message recorded for the
real service (the project's Cognito wire reference); wordings not seen on the wire are
marked *unconfirmed* where they are made up.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from aiohttp import web

from andersen_ev.testing.cognito_srp import ServerExchange
from andersen_ev.testing.state import EmulatedUser, TrackedDevice
from andersen_ev.testing.tokens import TokenError

if TYPE_CHECKING:
    from andersen_ev.testing.cloud import AndersenCloud

__all__ = [
    "ACCESS_MESSAGES",
    "AUTH_FLOWS",
    "BAD_REFRESH",
    "BAD_SESSION",
    "BAD_TIMESTAMP",
    "B_BITS",
    "CONTENT_TYPE",
    "HEX",
    "INCORRECT",
    "LOCKED",
    "LOCKOUT_THRESHOLD",
    "MAX_ECHO",
    "MAX_LOCKOUT",
    "NO_DEVICE",
    "NO_USER",
    "POOL_KEY",
    "REFRESH_MESSAGES",
    "REMEMBERED_STATUSES",
    "SERVICE",
    "SESSION_LIFETIME",
    "UNKNOWN_OPERATION",
    "Call",
    "ChallengeSession",
    "CognitoError",
    "PendingSrp",
    "PoolState",
    "camel",
    "echo",
    "invalid",
    "missing",
    "not_authorized",
    "not_in_enum",
    "not_null",
    "param",
    "serialization",
    "tracked_device",
    "type_error",
]

SERVICE: Final = "AWSCognitoIdentityProviderService"
CONTENT_TYPE: Final = "application/x-amz-json-1.1"

#: Seconds a Session or a SECRET_BLOCK stays usable (Cognito: three minutes).
SESSION_LIFETIME: Final = 180.0
#: Consecutive password failures after which logins answer "Password attempts exceeded".
LOCKOUT_THRESHOLD: Final = 5
#: The longest lockout (Cognito doubles from one second up to about fifteen minutes).
MAX_LOCKOUT: Final = 900.0
#: Bits of the server's private SRP value ``b``.
B_BITS: Final = 256

# Cognito's own messages (shared/reference/cognito-wire.md).
INCORRECT: Final = "Incorrect username or password."
LOCKED: Final = "Password attempts exceeded"
NO_USER: Final = "User does not exist."
NO_DEVICE: Final = "Device does not exist."
BAD_REFRESH: Final = "Invalid Refresh Token."
BAD_SESSION: Final = "Invalid session for the user."
BAD_TIMESTAMP: Final = "TIMESTAMP format should be EEE MMM d HH:mm:ss z yyyy in english."
ACCESS_MESSAGES: Final = {
    "expired": "Access Token has expired",
    "revoked": "Access Token has been revoked",
}
REFRESH_MESSAGES: Final = {
    "revoked": "Refresh Token has been revoked",
    "expired": "Refresh Token has expired",
}
UNKNOWN_OPERATION: Final = {
    "code": "BadRequest",
    "message": "The server did not understand the operation that was requested.",
    "type": "client",
}

AUTH_FLOWS: Final = (
    "USER_SRP_AUTH",
    "REFRESH_TOKEN_AUTH",
    "REFRESH_TOKEN",
    "CUSTOM_AUTH",
    "ADMIN_NO_SRP_AUTH",
    "USER_PASSWORD_AUTH",
    "ADMIN_USER_PASSWORD_AUTH",
    "USER_AUTH",
)
REMEMBERED_STATUSES: Final = ("remembered", "not_remembered")
HEX: Final = re.compile(r"[0-9a-fA-F]+")
MAX_ECHO: Final = 100


class CognitoError(Exception):
    """An error answer in Cognito's shape: ``code`` (``__type``), ``message``, HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def invalid(message: str) -> CognitoError:
    """``InvalidParameterException`` with ``message``."""
    return CognitoError("InvalidParameterException", message)


def not_authorized(message: str) -> CognitoError:
    """``NotAuthorizedException`` with ``message``."""
    return CognitoError("NotAuthorizedException", message)


def serialization(message: str) -> CognitoError:
    """``SerializationException`` with ``message``."""
    return CognitoError("SerializationException", message)


def echo(value: str) -> str:
    """A client-supplied value, shortened for an error message."""
    return value if len(value) <= MAX_ECHO else value[:MAX_ECHO] + "..."


def camel(member: str) -> str:
    """A request member's name as the validation messages spell it (``authFlow``)."""
    return member[:1].lower() + member[1:]


def not_null(member: str) -> CognitoError:
    """The validation error for a required member that is null or absent."""
    return invalid(
        f"1 validation error detected: Value null at '{camel(member)}' failed to satisfy "
        "constraint: Member must not be null"
    )


def not_in_enum(value: str, member: str, allowed: tuple[str, ...]) -> CognitoError:
    """The validation error for a value outside the member's enum."""
    return invalid(
        f"1 validation error detected: Value '{echo(value)}' at '{camel(member)}' failed to "
        f"satisfy constraint: Member must satisfy enum value set: [{', '.join(allowed)}]"
    )


def missing(parameter: str) -> CognitoError:
    """The error for a missing ``AuthParameters``/``ChallengeResponses`` entry."""
    return invalid(f"Missing required parameter {parameter}")


def type_error(value: object) -> CognitoError:
    """The SerializationException for a JSON value where a string was expected.

    The map and list wordings were seen on the wire; the scalar ones are *unconfirmed*.
    """
    if isinstance(value, dict):
        return serialization("Start of structure or map found where not expected.")
    if isinstance(value, list):
        return serialization("Start of list found where not expected.")
    if isinstance(value, bool):
        return serialization("BOOLEAN_VALUE can not be converted to a String")
    return serialization("NUMBER_VALUE can not be converted to a String")


# -- the pool's short-lived server-side state ---------------------------------------------


@dataclass
class PendingSrp:
    """What the server remembers about one SECRET_BLOCK it issued."""

    username: str
    kind: Literal["user", "device"]
    exchange: ServerExchange = field(repr=False)
    issued_at: float
    device_key: str | None
    """The DEVICE_KEY presented at InitiateAuth (user) or the device being proven (device)."""


@dataclass
class ChallengeSession:
    """A challenge session: who, which challenge comes next, and with which device."""

    username: str
    challenge: str
    issued_at: float
    device_key: str | None


@dataclass
class PoolState:
    """Secret blocks and sessions of one running emulator; both single use and short-lived."""

    secret_blocks: dict[str, PendingSrp] = field(default_factory=dict)
    sessions: dict[str, ChallengeSession] = field(default_factory=dict)

    def prune(self, now: float) -> None:
        """Forget every secret block and session older than :data:`SESSION_LIFETIME`."""
        for store in (self.secret_blocks, self.sessions):
            stale = [k for k, v in store.items() if now - v.issued_at >= SESSION_LIFETIME]
            for key in stale:
                del store[key]

    def issue_secret_block(self, pending: PendingSrp) -> str:
        """Remember ``pending`` under a new opaque SECRET_BLOCK (base64, hundreds of bytes)."""
        self.prune(pending.issued_at)
        block = base64.b64encode(secrets.token_bytes(300 + secrets.randbelow(700))).decode()
        self.secret_blocks[block] = pending
        return block

    def take_secret_block(self, block: str, now: float) -> PendingSrp | None:
        """Consume a SECRET_BLOCK: its exchange if this server issued it, unused and fresh."""
        pending = self.secret_blocks.pop(block, None)
        if pending is None or now - pending.issued_at >= SESSION_LIFETIME:
            return None
        return pending

    def open_session(self, session: ChallengeSession) -> str:
        """Store ``session`` under a new opaque Session string."""
        self.prune(session.issued_at)
        token = base64.b64encode(secrets.token_bytes(600)).decode()
        self.sessions[token] = session
        return token

    def take_session(
        self, token: str | None, challenge: str, username: str, now: float
    ) -> ChallengeSession:
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
            raise not_authorized(BAD_SESSION)
        return session


POOL_KEY: Final[web.AppKey[PoolState]] = web.AppKey("cognito_pool", PoolState)


# -- one call: the request body, typed access to its members ------------------------------


@dataclass
class Call:
    """One Cognito call being answered: the emulator, the pool state and the request body."""

    cloud: AndersenCloud
    pool: PoolState
    body: dict[str, Any]
    now: float

    def optional(self, member: str) -> str | None:
        """A string member, or None when absent or null."""
        value = self.body.get(member)
        if value is None or isinstance(value, str):
            return value
        raise type_error(value)

    def required(self, member: str) -> str:
        """A string member the model requires (Cognito's validation error when absent)."""
        value = self.optional(member)
        if value is None:
            raise not_null(member)
        return value

    def structure(self, member: str) -> dict[str, Any]:
        """A map or structure member (empty when absent)."""
        value = self.body.get(member)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise serialization("Expected map or null")
        return value

    def string_map(self, member: str) -> dict[str, str]:
        """A map of strings (``AuthParameters``, ``ChallengeResponses``); null values dropped."""
        value = self.structure(member)
        for item in value.values():
            if item is not None and not isinstance(item, str):
                raise type_error(item)
        return {key: item for key, item in value.items() if item is not None}

    def check_client(self) -> None:
        """Require the pool's app client id.

        Raises:
            CognitoError: ``ResourceNotFoundException`` for any other client id.
        """
        client_id = self.required("ClientId")
        if client_id != self.cloud.client_id:
            raise CognitoError(
                "ResourceNotFoundException", f"User pool client {echo(client_id)} does not exist."
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
            raise CognitoError("UserNotFoundException", NO_USER)
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
            raise not_authorized(ACCESS_MESSAGES.get(exc.reason, "Invalid Access Token")) from None
        return self.user(str(claims.get("username")))


def param(params: Mapping[str, str], name: str) -> str:
    """The non-empty entry ``name`` of ``params``.

    Raises:
        CognitoError: it is missing or empty.
    """
    value = params.get(name)
    if not value:
        raise missing(name)
    return value


def tracked_device(user: EmulatedUser, device_key: str) -> TrackedDevice:
    """The device ``device_key`` Cognito tracks for ``user``.

    Raises:
        CognitoError: ``ResourceNotFoundException``.
    """
    device = user.devices.get(device_key)
    if device is None:
        raise CognitoError("ResourceNotFoundException", NO_DEVICE)
    return device
