"""A user's tokens: :class:`Tokens`, the callback that is told of each new set, and refreshes.

Tokens change on every login and refresh; the application hears of it through a
:data:`TokensCallback` (``on_tokens_updated``) and may save them, for example with
:class:`andersen_ev.TokenStore`, instead of the password.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeAlias

from pydantic import AwareDatetime, BaseModel, ConfigDict, SecretStr, field_serializer

if TYPE_CHECKING:
    from andersen_ev.auth.answers import AuthResult

__all__ = ["Tokens", "TokensCallback", "refreshed_tokens"]


class Tokens(BaseModel):
    """A user's Cognito tokens and, once confirmed, the secret of this remembered device.

    Secrets are :class:`~pydantic.SecretStr`: ``repr()`` and ``str()`` never show them, but
    ``model_dump_json()`` writes them, so that the JSON can be saved (keep it private: it
    grants access to the account) and loaded again with ``Tokens.model_validate_json``.
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
