"""A tiny Cognito SRP client for tests, built only on ``andersen_ev.srp`` and aiohttp.

It speaks raw AWS JSON 1.1 so that tests see exactly what the server answers (status,
headers, body), and it lets a test bend any part of the exchange (timestamp, signature,
secret block, session). Reusable by any test that needs tokens from the emulator::

    async with CognitoTestClient(cloud.endpoints) as cognito:
        reply = await cognito.login(user.username, password)
        tokens = reply.body["AuthenticationResult"]
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import aiohttp

from andersen_ev import srp
from andersen_ev.const import Endpoints

TARGET_PREFIX = "AWSCognitoIdentityProviderService."
CONTENT_TYPE = "application/x-amz-json-1.1"


@dataclass(frozen=True)
class Reply:
    """One answer from the Cognito endpoint."""

    status: int
    body: dict[str, Any]
    headers: Mapping[str, str]

    @property
    def error(self) -> tuple[str, str] | None:
        """``(code, message)`` of an error answer, None on success."""
        if self.status == 200:
            return None
        message = self.body.get("message", self.body.get("Message", ""))
        return str(self.body.get("__type", self.body.get("code"))), str(message)

    @property
    def result(self) -> dict[str, Any]:
        """The ``AuthenticationResult`` of a successful login or refresh."""
        result: dict[str, Any] = self.body["AuthenticationResult"]
        return result

    @property
    def parameters(self) -> dict[str, str]:
        """The ``ChallengeParameters`` of the answer."""
        parameters: dict[str, str] = self.body["ChallengeParameters"]
        return parameters


@dataclass(frozen=True)
class DeviceSecret:
    """A remembered device as the client keeps it: keys from NewDeviceMetadata, a password."""

    device_key: str
    group_key: str
    password: str = field(default_factory=lambda: secrets.token_urlsafe(30), repr=False)
    salt: int = field(default_factory=lambda: secrets.randbits(128), repr=False)

    def verifier_config(self) -> dict[str, str]:
        """``DeviceSecretVerifierConfig`` for ConfirmDevice (base64 verifier and salt)."""
        x = srp.password_x(
            self.salt, srp.inner_hash(self.group_key, self.device_key, self.password)
        )
        return {
            "PasswordVerifier": base64.b64encode(srp.pad(srp.verifier(x))).decode(),
            "Salt": base64.b64encode(srp.pad(self.salt)).decode(),
        }


def new_a() -> int:
    """A fresh private SRP value ``a``."""
    return secrets.randbits(1024) | 1


def timestamp(moment: datetime | None = None) -> str:
    """Cognito's TIMESTAMP for ``moment`` (now by default)."""
    return srp.format_timestamp(moment or datetime.now(UTC))


def claim(
    parameters: Mapping[str, str],
    *,
    a: int,
    prefix: str,
    name: str,
    password: str,
    when: str | None = None,
    sign_as: str | None = None,
) -> tuple[str, str]:
    """``(TIMESTAMP, PASSWORD_CLAIM_SIGNATURE)`` answering a verifier challenge.

    ``prefix``/``name`` are the pool name and user id (user) or group and device key
    (device). ``when`` sends a chosen TIMESTAMP; ``sign_as`` signs a different text than
    the one sent (to model clients that disagree with the server about formatting).
    """
    when = when or timestamp()
    x = srp.password_x(int(parameters["SALT"], 16), srp.inner_hash(prefix, name, password))
    u, premaster = srp.client_session_key(a, int(parameters["SRP_B"], 16), x)
    key = srp.derive_key(premaster, u)
    signature = srp.claim_signature(
        key, prefix, name, parameters["SECRET_BLOCK"], sign_as if sign_as is not None else when
    )
    return when, signature


class CognitoTestClient:
    """Raw Cognito calls and complete SRP flows against an emulator's endpoints."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._http = aiohttp.ClientSession()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._http is not None:
            await self._http.close()

    @property
    def http(self) -> aiohttp.ClientSession:
        """The session (only inside ``async with``)."""
        assert self._http is not None, "use 'async with CognitoTestClient(...)'"
        return self._http

    async def post(self, target: str, data: bytes) -> Reply:
        """POST raw bytes with an arbitrary ``X-Amz-Target``."""
        headers = {"Content-Type": CONTENT_TYPE, "X-Amz-Target": target}
        async with self.http.post(self.endpoints.cognito_url, data=data, headers=headers) as resp:
            body = await resp.json(content_type=None)
            return Reply(resp.status, body, resp.headers)

    async def call(self, operation: str, payload: Mapping[str, Any]) -> Reply:
        """One Cognito operation with a JSON payload."""
        headers = {"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET_PREFIX + operation}
        async with self.http.post(
            self.endpoints.cognito_url, json=payload, headers=headers
        ) as resp:
            body = await resp.json(content_type=None)
            return Reply(resp.status, body, resp.headers)

    async def initiate(self, username: str, a: int, *, device_key: str | None = None) -> Reply:
        """InitiateAuth USER_SRP_AUTH."""
        params = {"USERNAME": username, "SRP_A": f"{srp.client_public(a):x}"}
        if device_key:
            params["DEVICE_KEY"] = device_key
        return await self.call(
            "InitiateAuth",
            {
                "AuthFlow": "USER_SRP_AUTH",
                "ClientId": self.endpoints.client_id,
                "AuthParameters": params,
            },
        )

    async def respond(
        self, challenge: str, responses: Mapping[str, str], session: str | None = None
    ) -> Reply:
        """RespondToAuthChallenge (Session only when given)."""
        payload: dict[str, Any] = {
            "ChallengeName": challenge,
            "ClientId": self.endpoints.client_id,
            "ChallengeResponses": dict(responses),
        }
        if session is not None:
            payload["Session"] = session
        return await self.call("RespondToAuthChallenge", payload)

    async def verify_password(
        self,
        challenge: Reply,
        password: str,
        a: int,
        *,
        device_key: str | None = None,
        when: str | None = None,
        sign_as: str | None = None,
        secret_block: str | None = None,
    ) -> Reply:
        """Answer a PASSWORD_VERIFIER challenge (optionally bending parts of the answer)."""
        parameters = dict(challenge.parameters)
        if secret_block is not None:
            parameters["SECRET_BLOCK"] = secret_block
        user_id = parameters["USER_ID_FOR_SRP"]
        when, signature = claim(
            parameters,
            a=a,
            prefix=self.endpoints.pool_name,
            name=user_id,
            password=password,
            when=when,
            sign_as=sign_as,
        )
        responses = {
            "USERNAME": user_id,
            "PASSWORD_CLAIM_SECRET_BLOCK": parameters["SECRET_BLOCK"],
            "TIMESTAMP": when,
            "PASSWORD_CLAIM_SIGNATURE": signature,
        }
        if device_key:
            responses["DEVICE_KEY"] = device_key
        return await self.respond("PASSWORD_VERIFIER", responses)

    async def device_challenge(
        self, username: str, device: DeviceSecret, a: int, session: str | None
    ) -> Reply:
        """Answer DEVICE_SRP_AUTH: send the device key and ``SRP_A``."""
        responses = {
            "USERNAME": username,
            "DEVICE_KEY": device.device_key,
            "SRP_A": f"{srp.client_public(a):x}",
        }
        return await self.respond("DEVICE_SRP_AUTH", responses, session)

    async def verify_device(
        self, challenge: Reply, device: DeviceSecret, a: int, *, password: str | None = None
    ) -> Reply:
        """Answer DEVICE_PASSWORD_VERIFIER with the device password (or a wrong one)."""
        parameters = challenge.parameters
        when, signature = claim(
            parameters,
            a=a,
            prefix=device.group_key,
            name=device.device_key,
            password=device.password if password is None else password,
        )
        responses = {
            "USERNAME": parameters["USERNAME"],
            "PASSWORD_CLAIM_SECRET_BLOCK": parameters["SECRET_BLOCK"],
            "TIMESTAMP": when,
            "PASSWORD_CLAIM_SIGNATURE": signature,
            "DEVICE_KEY": device.device_key,
        }
        return await self.respond(
            "DEVICE_PASSWORD_VERIFIER", responses, challenge.body.get("Session")
        )

    async def login(
        self, username: str, password: str, *, device: DeviceSecret | None = None
    ) -> Reply:
        """The whole USER_SRP_AUTH flow, with the device challenges when ``device`` is given.

        Returns the last answer (tokens, or the first error or unexpected challenge).
        """
        a = new_a()
        device_key = device.device_key if device else None
        reply = await self.initiate(username, a, device_key=device_key)
        if reply.error:
            return reply
        reply = await self.verify_password(reply, password, a, device_key=device_key)
        if device is None or reply.body.get("ChallengeName") != "DEVICE_SRP_AUTH":
            return reply
        a = new_a()
        user_id = reply.body.get("ChallengeParameters", {}).get("USERNAME", username)
        reply = await self.device_challenge(user_id, device, a, reply.body["Session"])
        if reply.error:
            return reply
        return await self.verify_device(reply, device, a)

    async def confirm_device(self, result: Mapping[str, Any]) -> DeviceSecret:
        """ConfirmDevice for the NewDeviceMetadata of a login's AuthenticationResult."""
        metadata = result["NewDeviceMetadata"]
        device = DeviceSecret(metadata["DeviceKey"], metadata["DeviceGroupKey"])
        reply = await self.call(
            "ConfirmDevice",
            {
                "AccessToken": result["AccessToken"],
                "DeviceKey": device.device_key,
                "DeviceSecretVerifierConfig": device.verifier_config(),
                "DeviceName": "pytest",
            },
        )
        assert reply.body == {"UserConfirmationNecessary": False}, reply.body
        return device

    async def refresh(
        self, refresh_token: str, device_key: str | None, *, flow: str = "REFRESH_TOKEN_AUTH"
    ) -> Reply:
        """InitiateAuth with a refresh token (and DEVICE_KEY when given)."""
        params = {"REFRESH_TOKEN": refresh_token}
        if device_key:
            params["DEVICE_KEY"] = device_key
        return await self.call(
            "InitiateAuth",
            {"AuthFlow": flow, "ClientId": self.endpoints.client_id, "AuthParameters": params},
        )
