"""The remembered device: its secret, and the verifier of that secret which Cognito keeps.

A pool that tracks devices (Andersen's does) hands each new login a device key and group
key (``NewDeviceMetadata``). Confirming the device (``ConfirmDevice``) registers the SRP
verifier of a random device password; from then on a login also proves that password
(``DEVICE_SRP_AUTH``), and refreshes name the device (``DEVICE_KEY``). The password is kept
in :class:`~andersen_ev.Tokens`, never sent.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from andersen_ev import srp
from andersen_ev.auth.compute import finish

if TYPE_CHECKING:
    from andersen_ev.auth.tokens import Tokens

__all__ = [
    "RememberedDevice",
    "device_secret_verifier_config",
    "new_device_secret",
    "remembered_device",
]

_DEVICE_PASSWORD_BYTES: Final = 40
_SALT_BITS: Final = 128


@dataclass(frozen=True, slots=True)
class RememberedDevice:
    """A confirmed device: its keys and the secret a login proves (never shown in a repr)."""

    key: str
    group_key: str
    password: str = field(repr=False)


def remembered_device(tokens: Tokens | None) -> RememberedDevice | None:
    """The device ``tokens`` remember, or None when they hold no complete device secret."""
    if (
        tokens is None
        or not tokens.device_key
        or not tokens.device_group_key
        or tokens.device_password is None
    ):
        return None
    return RememberedDevice(
        tokens.device_key, tokens.device_group_key, tokens.device_password.get_secret_value()
    )


def device_secret_verifier_config(
    device_group_key: str, device_key: str, device_password: str, salt: int
) -> dict[str, str]:
    """``DeviceSecretVerifierConfig`` for ConfirmDevice: the verifier of a device password.

    ``x = H(pad(salt) | H(groupKey + deviceKey + ":" + devicePassword))`` and the verifier
    ``g^x mod N``, both sent as base64 of their padded big-endian bytes.
    """
    return srp.run_steps(
        _verifier_config_steps(device_group_key, device_key, device_password, salt)
    )


def _verifier_config_steps(
    device_group_key: str, device_key: str, device_password: str, salt: int
) -> srp.Steps[dict[str, str]]:
    x = srp.password_x(salt, srp.inner_hash(device_group_key, device_key, device_password))
    verifier = yield from srp.verifier_steps(x)
    return {
        "PasswordVerifier": base64.b64encode(srp.pad(verifier)).decode(),
        "Salt": base64.b64encode(srp.pad(salt)).decode(),
    }


async def new_device_secret(device_group_key: str, device_key: str) -> tuple[str, dict[str, str]]:
    """A fresh random device password, and the ``DeviceSecretVerifierConfig`` of it.

    The verifier's maths run in slices of the event loop (:mod:`andersen_ev.auth.compute`).
    """
    password = base64.b64encode(secrets.token_bytes(_DEVICE_PASSWORD_BYTES)).decode()
    steps = _verifier_config_steps(
        device_group_key, device_key, password, secrets.randbits(_SALT_BITS)
    )
    return password, await finish(steps)
