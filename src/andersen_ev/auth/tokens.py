"""A user's tokens: :class:`Tokens`, the callback that is told of each new set, and refreshes.

Tokens change on every login and refresh; the application hears of it through a
:data:`TokensCallback` (``on_tokens_updated``) and may save them, for example with
:class:`andersen_ev.TokenStore` or in a host's config entry (:meth:`Tokens.to_dict`),
instead of the password.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    SecretStr,
    ValidationError,
    field_serializer,
)

from andersen_ev.exceptions import InvalidInputError
from andersen_ev.wire import MalformedJsonError, parse_json

if TYPE_CHECKING:
    from andersen_ev.auth.answers import AuthResult

__all__ = [
    "TOKENS_TO_REDACT",
    "Tokens",
    "TokensCallback",
    "fields_at_fault",
    "refreshed_tokens",
]

#: The keys of :meth:`Tokens.to_dict` (and of the token file) to redact from diagnostics
#: and logs: the four secrets, and what identifies the account and the device. Hosts feed
#: it to their redaction (Home Assistant: ``async_redact_data(data, TOKENS_TO_REDACT)``).
TOKENS_TO_REDACT: Final = frozenset(
    {
        "id_token",
        "access_token",
        "refresh_token",
        "device_password",
        "username",
        "device_key",
        "device_group_key",
    }
)
#: Longest id token whose claims are read (real ones are about a kilobyte).
_MAX_JWT_LENGTH: Final = 16 * 1024
_JWT_PARTS: Final = 3


class Tokens(BaseModel):
    """A user's Cognito tokens and, once confirmed, the secret of this remembered device.

    Secrets are :class:`~pydantic.SecretStr`: ``repr()`` and ``str()`` never show them.
    :meth:`to_json` and :meth:`to_dict` write them *on purpose*, in clear, so that the
    tokens can be saved and loaded again with :meth:`from_json` or :meth:`from_dict`: keep
    what they return private (it grants access to the account), and redact
    :data:`TOKENS_TO_REDACT` from anything shown or shared.

    A refresh replaces ``id_token``, ``access_token``, ``expires_at`` and ``issued_at``
    and keeps ``login_at``; a new login changes ``login_at`` too. So a saved set and a new
    one with the same ``login_at`` belong to the same login.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    id_token: SecretStr
    """The bearer token for the Andersen GraphQL API."""
    access_token: SecretStr
    """Cognito's access token (device operations, sign-out)."""
    refresh_token: SecretStr
    """Cognito's refresh token (30 days by default); opaque, never parsed."""
    expires_at: AwareDatetime
    """When the id and access tokens expire (from ``ExpiresIn``, counted from the request)."""
    issued_at: AwareDatetime | None = None
    """When the id and access tokens were requested; bounds the refresh margin."""
    login_at: AwareDatetime | None = None
    """When the password login behind these tokens was sent: kept by every refresh and
    device change, new with each login (None for tokens saved by andersen-ev 0.1 or 0.2
    before this field existed)."""
    username: str
    """Cognito's username (the USERNAME of the login challenge), not the email."""
    device_key: str | None = None
    """``DeviceKey`` of this device, from ``NewDeviceMetadata``."""
    device_group_key: str | None = None
    """``DeviceGroupKey`` of this device."""
    device_password: SecretStr | None = None
    """The random device password, set once :meth:`Authenticator.confirm_device` succeeded."""

    @field_serializer(
        "id_token", "access_token", "refresh_token", "device_password", when_used="json"
    )
    def _write_secret(self, value: SecretStr | None) -> str | None:
        return None if value is None else value.get_secret_value()

    @property
    def device_remembered(self) -> bool:
        """True when this device was confirmed: later logins answer DEVICE_SRP_AUTH."""
        return bool(self.device_key and self.device_group_key and self.device_password)

    @property
    def account_id(self) -> str | None:
        """The account's stable id: the ``sub`` claim of the id token (a UUID).

        Cognito gives each user one ``sub`` for life: the same on every device, after a
        password change and across refreshes, and never reused for another user (a
        username can be, once its user is deleted), so it is the one to key an account
        by (a host's ``unique_id``). Read from the token without checking its signature
        (the API checks it); None when the id token is not a JWT.
        """
        sub = _claims(self.id_token.get_secret_value()).get("sub")
        return sub if isinstance(sub, str) and sub else None

    def to_dict(self) -> dict[str, Any]:
        """The tokens as plain JSON types (str, None), secrets included in clear.

        For a host's own storage (a Home Assistant config entry); :meth:`from_dict` reads
        it back. Redact :data:`TOKENS_TO_REDACT` before showing it to anybody.
        """
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tokens:
        """The tokens :meth:`to_dict` (or :meth:`to_json`, parsed) wrote; unknown keys ignored.

        Raises:
            InvalidInputError: ``data`` does not hold valid tokens; the message names the
                fields at fault, never their values.
        """
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _invalid(exc) from None

    def to_json(self) -> str:
        """The tokens as a JSON object, secrets included in clear (see :meth:`to_dict`)."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> Tokens:
        """The tokens :meth:`to_json` wrote.

        Raises:
            InvalidInputError: ``text`` is not JSON of valid tokens; the message names the
                fields at fault (``(text)`` for the whole), never their values.
        """
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise _invalid(exc) from None


def fields_at_fault(exc: ValidationError, whole: str = "(text)") -> str:
    """The fields a validation of tokens failed on, never their values (``whole`` for all).

    pydantic's own message quotes the input, secrets included: never show that one.
    """
    return ", ".join(sorted({".".join(map(str, e["loc"])) or whole for e in exc.errors()}))


def _invalid(exc: ValidationError) -> InvalidInputError:
    return InvalidInputError(
        f"not valid tokens (check {fields_at_fault(exc)}): save them with to_json() or"
        " to_dict(), or log in again"
    )


def _claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified; empty when ``token`` is not a readable JWT."""
    parts = token.split(".")
    if len(token) > _MAX_JWT_LENGTH or len(parts) != _JWT_PARTS:
        return {}
    payload = parts[1]
    try:
        claims = parse_json(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError, MalformedJsonError):
        return {}
    return claims if isinstance(claims, dict) else {}


TokensCallback: TypeAlias = Callable[[Tokens | None], Awaitable[None] | None]
"""Called with the new :class:`Tokens` whenever they change (None after sign-out)."""


def refreshed_tokens(start: Tokens, result: AuthResult, sent_at: datetime) -> Tokens:
    """``start`` with the id and access tokens of a refresh sent at ``sent_at``.

    The refresh token is replaced only when Cognito sent a new one (pools with rotation);
    otherwise the old one stays valid. The device fields are kept as they are.
    """
    update: dict[str, object] = {
        "id_token": SecretStr(result.id_token),
        "access_token": SecretStr(result.access_token),
        "expires_at": sent_at + timedelta(seconds=result.expires_in),
        "issued_at": sent_at,
    }
    if result.refresh_token:
        update["refresh_token"] = SecretStr(result.refresh_token)
    return start.model_copy(update=update)
