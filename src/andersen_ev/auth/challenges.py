"""The answers to Cognito's login challenges: one function per challenge, no I/O.

They are coroutines only so that their SRP maths run in slices on the event loop
(:func:`andersen_ev.auth.compute.finish`), never holding it for long.

Cognito's ``USER_SRP_AUTH`` asks for up to three answers, each built here from the
challenge's parameters and what the login knows (:class:`Credentials`):

- ``PASSWORD_VERIFIER``: the SRP proof of the password (:func:`_prove_password`);
- ``DEVICE_SRP_AUTH``: a new SRP pair for the remembered device (:func:`_offer_device`);
- ``DEVICE_PASSWORD_VERIFIER``: the SRP proof of the device secret (:func:`_prove_device`).

The exchange itself (sending, the order, the retry without a device) is
:mod:`andersen_ev.auth.login`'s.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from andersen_ev import srp
from andersen_ev.auth.compute import finish
from andersen_ev.exceptions import CognitoError, UnsupportedChallengeError

if TYPE_CHECKING:
    from andersen_ev.auth.answers import AuthStep
    from andersen_ev.auth.device import RememberedDevice

__all__ = ["DEVICE_CHALLENGES", "Credentials", "Ephemeral", "Reply", "reply_to"]

#: Bits of the client's private SRP value ``a``. Twice the 128-bit security of the 3072-bit
#: group, as NIST SP 800-56A asks of safe-prime groups; the AWS SDKs draw 1024 bits, which
#: costs three times the CPU (pure-Python modular exponentiation) for no added strength.
_A_BITS: Final = 256
#: The challenges that prove the remembered device rather than the password.
DEVICE_CHALLENGES: Final = frozenset({"DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER"})


@dataclass(frozen=True, slots=True)
class Ephemeral:
    """The client's one-time SRP pair: private ``a`` and public ``A = g^a``."""

    a: int = field(repr=False)
    big_a: int

    @classmethod
    async def new(cls) -> Ephemeral:
        """A fresh random pair (one per SRP exchange), computed in slices of the loop."""
        a = secrets.randbelow((1 << _A_BITS) - 1) + 1
        return cls(a, await finish(srp.client_public_steps(a)))

    @property
    def srp_a(self) -> str:
        """``SRP_A`` as Cognito wants it: lowercase hex."""
        return format(self.big_a, "x")


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a login proves: the password (in its pool) and the remembered device, if any."""

    pool_name: str
    password: str = field(repr=False)
    device: RememberedDevice | None


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to one challenge, and the username and SRP pair the next one builds on."""

    responses: dict[str, str] = field(repr=False)
    username: str
    ephemeral: Ephemeral


async def reply_to(
    step: AuthStep, credentials: Credentials, *, username: str, ephemeral: Ephemeral
) -> Reply:
    """The answer to the challenge of ``step``, by the function for it.

    Args:
        step: Cognito's answer naming the challenge, with its parameters.
        credentials: The password and the remembered device.
        username: The username answered so far.
        ephemeral: The SRP pair of the exchange under way.

    Raises:
        UnsupportedChallengeError: a challenge this library cannot answer (MFA, a new
            password), or a device challenge when no device is remembered.
        CognitoError: the challenge lacks or garbles its SRP parameters.
    """
    challenge = str(step.challenge)
    device = credentials.device
    if challenge == "PASSWORD_VERIFIER":
        return await _prove_password(step.parameters, credentials, username, ephemeral)
    if challenge == "DEVICE_SRP_AUTH" and device is not None:
        return await _offer_device(device, username)
    if challenge == "DEVICE_PASSWORD_VERIFIER" and device is not None:
        return await _prove_device(step.parameters, device, username, ephemeral)
    raise UnsupportedChallengeError(challenge)


async def _prove_password(
    parameters: Mapping[str, str], credentials: Credentials, username: str, ephemeral: Ephemeral
) -> Reply:
    """``PASSWORD_VERIFIER``: the SRP proof of the password."""
    # Amplify's rule: answer as USERNAME, hash with USER_ID_FOR_SRP
    username = parameters.get("USERNAME", username)
    srp_user = parameters.get("USER_ID_FOR_SRP", username)
    responses = await _password_claim(
        "PASSWORD_VERIFIER",
        ephemeral,
        prefix=credentials.pool_name,
        name=srp_user,
        password=credentials.password,
        parameters=parameters,
    )
    responses["USERNAME"] = username
    if credentials.device is not None:
        responses["DEVICE_KEY"] = credentials.device.key
    return Reply(responses, username, ephemeral)


async def _offer_device(device: RememberedDevice, username: str) -> Reply:
    """``DEVICE_SRP_AUTH``: start the device's own SRP exchange, with a new pair."""
    ephemeral = await Ephemeral.new()
    responses = {"USERNAME": username, "DEVICE_KEY": device.key, "SRP_A": ephemeral.srp_a}
    return Reply(responses, username, ephemeral)


async def _prove_device(
    parameters: Mapping[str, str], device: RememberedDevice, username: str, ephemeral: Ephemeral
) -> Reply:
    """``DEVICE_PASSWORD_VERIFIER``: the SRP proof of the device secret."""
    responses = await _password_claim(
        "DEVICE_PASSWORD_VERIFIER",
        ephemeral,
        prefix=device.group_key,
        name=device.key,
        password=device.password,
        parameters=parameters,
    )
    responses["USERNAME"] = username
    responses["DEVICE_KEY"] = device.key
    return Reply(responses, username, ephemeral)


async def _password_claim(
    challenge: str,
    ephemeral: Ephemeral,
    *,
    prefix: str,
    name: str,
    password: str,
    parameters: Mapping[str, str],
) -> dict[str, str]:
    """The SRP proof answering a PASSWORD_VERIFIER or DEVICE_PASSWORD_VERIFIER challenge."""
    try:
        salt = int(parameters["SALT"], 16)
        big_b = int(parameters["SRP_B"], 16)
        block = parameters["SECRET_BLOCK"]
        x = srp.password_x(salt, srp.inner_hash(prefix, name, password))
        u, premaster = await finish(
            srp.client_session_key_steps(ephemeral.a, big_b, x, big_a=ephemeral.big_a)
        )
        key = srp.derive_key(premaster, u)
        timestamp = srp.format_timestamp(datetime.now(UTC))
        signature = srp.claim_signature(key, prefix, name, block, timestamp)
    except (KeyError, ValueError) as exc:  # binascii.Error is a ValueError
        raise CognitoError(
            "MalformedResponse",
            f"the {challenge} challenge lacks or garbles SALT, SRP_B or SECRET_BLOCK",
            operation="RespondToAuthChallenge",
        ) from exc
    return {
        "TIMESTAMP": timestamp,
        "PASSWORD_CLAIM_SECRET_BLOCK": block,
        "PASSWORD_CLAIM_SIGNATURE": signature,
    }
