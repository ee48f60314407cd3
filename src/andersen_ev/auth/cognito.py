"""Cognito identity-provider calls over a shared aiohttp session.

Each call is validated and serialized, and its answer (or error) parsed, by botocore's own
``cognito-idp`` service model, so requests are exactly what the AWS SDKs send and answers
are read the way the SDKs read them. Only botocore's model, serializer and parser are used:
no boto3, no botocore HTTP stack, nothing blocking on the event loop.

The model (~0.1 s and a few MB to load) is loaded lazily, once per process, in a worker
thread; botocore itself is imported only then, so ``import andersen_ev`` stays light.

These calls need no AWS credentials: the Andersen app client is public and Cognito's
authentication operations are unsigned.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import aiohttp

from andersen_ev.auth.answers import AuthResult, AuthStep, malformed_answer, read_auth_step
from andersen_ev.const import DEFAULT_TIMEOUT
from andersen_ev.exceptions import CognitoError, InvalidInputError, transport_errors

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel

    from andersen_ev.const import Endpoints

__all__ = [
    "AuthResult",
    "AuthStep",
    "CognitoClient",
    "load_service_model",
]

_LOG = logging.getLogger(__name__)

#: Longest part of Cognito's own error message kept in a :class:`CognitoError`.
_MAX_MESSAGE: Final = 300
#: Request strings at least this long are scrubbed from error messages (tokens, sessions).
_SCRUB_MIN_LENGTH: Final = 12
_JWT_LIKE: Final = re.compile(r"eyJ[\w-]*\.[\w.-]+")
#: Statuses from here on are errors (botocore's reading of HTTP).
_HTTP_ERROR: Final = 300


@dataclass(frozen=True, slots=True)
class _Codec:
    model: ServiceModel
    serializer: Any
    parser: Any
    validation_error: type[Exception]


_codec: _Codec | None = None
_codec_lock = threading.Lock()
# True while *our* call parses a response: botocore's parser logs whole response bodies
# (tokens included) at DEBUG, and the filter below drops those records, and only those.
_parsing: contextvars.ContextVar[bool] = contextvars.ContextVar("andersen_parsing", default=False)


class _HideOurResponses(logging.Filter):
    """Drops botocore.parsers' DEBUG dumps of response bodies while we parse (they hold tokens)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _parsing.get()


def _load_codec() -> _Codec:
    global _codec  # noqa: PLW0603 - a lazily built process-wide cache
    with _codec_lock:
        if _codec is None:
            # botocore is imported here, in a worker thread, never at package import
            from botocore import loaders, model, parsers, serialize  # noqa: PLC0415
            from botocore.exceptions import ParamValidationError  # noqa: PLC0415

            raw = loaders.create_loader().load_service_model("cognito-idp", "service-2")
            logging.getLogger("botocore.parsers").addFilter(_HideOurResponses())
            _codec = _Codec(
                model=model.ServiceModel(raw, service_name="cognito-idp"),
                serializer=serialize.create_serializer("json", include_validation=True),
                parser=parsers.create_parser("json"),
                validation_error=ParamValidationError,
            )
            _LOG.debug("loaded botocore's cognito-idp service model")
        return _codec


async def _codec_async() -> _Codec:
    # Fast path without a thread once loaded; the lock inside makes concurrent first
    # callers load the model once.
    return _codec if _codec is not None else await asyncio.to_thread(_load_codec)


async def load_service_model() -> ServiceModel:
    """The ``cognito-idp`` model of botocore: loaded once per process, off the event loop."""
    return (await _codec_async()).model


def _string_leaves(value: object) -> Iterator[str]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _string_leaves(item)
    else:
        yield str(value)


def _scrub(message: str, params: Mapping[str, Any]) -> str:
    """Remove from ``message`` every long string we sent, and anything shaped like a JWT.

    Some servers echo the rejected token in the message (moto does, for GlobalSignOut).
    """
    for secret in sorted(set(_string_leaves(params)), key=len, reverse=True):
        if len(secret) >= _SCRUB_MIN_LENGTH:
            message = message.replace(secret, "[redacted]")
    message = _JWT_LIKE.sub("[redacted]", message)
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + "..."
    return message


def _validation_problems(report: str) -> str:
    # botocore's report quotes offending values ("value: <the token>"): keep only the what.
    return "; ".join(line.split(", value:")[0].strip() for line in report.splitlines() if line)


@dataclass(frozen=True, slots=True)
class _Reply:
    """Cognito's HTTP answer, as botocore's parser wants it."""

    status: int
    headers: dict[str, str]
    body: bytes = field(repr=False)


def _serialize(
    codec: _Codec, op_model: OperationModel, params: Mapping[str, Any]
) -> dict[str, Any]:
    """The HTTP request of ``params``, validated against the model first."""
    try:
        request: dict[str, Any] = codec.serializer.serialize_to_request(dict(params), op_model)
    except codec.validation_error as exc:
        problems = _validation_problems(str(getattr(exc, "kwargs", {}).get("report", "")))
        raise InvalidInputError(
            f"invalid Cognito {op_model.name} request: {problems}; correct these arguments"
            " (nothing was sent)"
        ) from None
    return request


def _parse(codec: _Codec, op_model: OperationModel, reply: _Reply) -> object:
    """What botocore's parser reads in ``reply``; None when it cannot read it at all."""
    reset = _parsing.set(True)
    try:
        parsed: object = codec.parser.parse(
            {"status_code": reply.status, "headers": reply.headers, "body": reply.body},
            op_model.output_shape,
        )
    except Exception:  # noqa: BLE001 - botocore's parser fails in many ways on garbage
        return None
    finally:
        _parsing.reset(reset)
    return parsed


def _answer(
    operation: str, params: Mapping[str, Any], reply: _Reply, parsed: object
) -> dict[str, Any]:
    """The parsed answer of a successful call; an error answer raises :class:`CognitoError`."""
    status = reply.status
    if not isinstance(parsed, dict):
        if status >= _HTTP_ERROR:
            raise CognitoError(str(status), "", operation=operation, status=status)
        raise malformed_answer(operation, f"(HTTP {status}) could not be read")
    parsed.pop("ResponseMetadata", None)
    error = parsed.get("Error")
    if status >= _HTTP_ERROR or error:
        error = error if isinstance(error, dict) else {}
        code = str(error.get("Code") or status)
        message = _scrub(str(error.get("Message") or ""), params)
        _LOG.debug("Cognito %s answered %s (HTTP %d)", operation, code, status)
        raise CognitoError(code, message, operation=operation, status=status)
    return parsed


class CognitoClient:
    """Sends Cognito operations over an aiohttp session it does not own.

    Args:
        session: The session to send over (never closed here).
        endpoints: Where Cognito lives and which app client to use.
        timeout: Seconds allowed per call.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        endpoints: Endpoints,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._session = session
        self._endpoints = endpoints
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def __repr__(self) -> str:
        return f"CognitoClient(url={self._endpoints.cognito_url!r})"

    async def call(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Send one Cognito operation and return its parsed answer.

        Args:
            operation: The operation name in botocore's model (``InitiateAuth`` ...).
            params: The request, in the model's shape.

        Returns:
            The parsed answer, without botocore's ``ResponseMetadata``.

        Raises:
            InvalidInputError: ``params`` do not fit the model (the message names the
                parameters, never their values); nothing was sent.
            CognitoError: Cognito answered with an error.
            AndersenConnectionError: Cognito could not be reached.
            AndersenTimeoutError: Cognito did not answer in time.
        """
        codec = await _codec_async()
        op_model = codec.model.operation_model(operation)
        request = _serialize(codec, op_model, params)
        _LOG.debug("Cognito %s", operation)
        reply = await self._post(operation, request)
        return _answer(operation, params, reply, _parse(codec, op_model, reply))

    async def _post(self, operation: str, request: Mapping[str, Any]) -> _Reply:
        """Send a serialized request; transport failures become the library's errors."""
        with transport_errors(f"Cognito {operation}"):
            async with self._session.post(
                self._endpoints.cognito_url,
                data=request["body"],
                headers=request["headers"],
                timeout=self._timeout,
            ) as response:
                body = await response.read()
                headers = {key.lower(): value for key, value in response.headers.items()}
                return _Reply(response.status, headers, body)

    # -- authentication ------------------------------------------------------------------------

    async def initiate_auth(self, flow: str, parameters: Mapping[str, str]) -> AuthStep:
        """``InitiateAuth`` with ``flow`` (``USER_SRP_AUTH``, ``REFRESH_TOKEN_AUTH`` ...)."""
        answer = await self.call(
            "InitiateAuth",
            {
                "AuthFlow": flow,
                "ClientId": self._endpoints.client_id,
                "AuthParameters": dict(parameters),
            },
        )
        return read_auth_step("InitiateAuth", answer)

    async def respond_to_auth_challenge(
        self, challenge: str, responses: Mapping[str, str], session: str | None = None
    ) -> AuthStep:
        """``RespondToAuthChallenge``; ``session`` is sent only when Cognito gave one."""
        request: dict[str, Any] = {
            "ClientId": self._endpoints.client_id,
            "ChallengeName": challenge,
            "ChallengeResponses": dict(responses),
        }
        if session is not None:
            request["Session"] = session
        answer = await self.call("RespondToAuthChallenge", request)
        return read_auth_step("RespondToAuthChallenge", answer)

    # -- devices and sign-out -------------------------------------------------------------------

    async def confirm_device(
        self,
        access_token: str,
        device_key: str,
        device_name: str,
        verifier_config: Mapping[str, str],
    ) -> bool:
        """``ConfirmDevice``; returns ``UserConfirmationNecessary``.

        Args:
            access_token: A valid access token of the user.
            device_key: The ``DeviceKey`` from ``NewDeviceMetadata``.
            device_name: A name the user recognizes in a list of devices.
            verifier_config: ``{"PasswordVerifier": ..., "Salt": ...}``, both base64.
        """
        answer = await self.call(
            "ConfirmDevice",
            {
                "AccessToken": access_token,
                "DeviceKey": device_key,
                "DeviceName": device_name,
                "DeviceSecretVerifierConfig": dict(verifier_config),
            },
        )
        return bool(answer.get("UserConfirmationNecessary", False))

    async def update_device_status(
        self, access_token: str, device_key: str, *, remembered: bool
    ) -> None:
        """``UpdateDeviceStatus``: mark a confirmed device remembered (or not)."""
        await self.call(
            "UpdateDeviceStatus",
            {
                "AccessToken": access_token,
                "DeviceKey": device_key,
                "DeviceRememberedStatus": "remembered" if remembered else "not_remembered",
            },
        )

    async def forget_device(self, access_token: str, device_key: str) -> None:
        """``ForgetDevice``: the device is no longer tracked (its key stops working)."""
        await self.call("ForgetDevice", {"AccessToken": access_token, "DeviceKey": device_key})

    async def global_sign_out(self, access_token: str) -> None:
        """``GlobalSignOut``: revoke every access and refresh token of the user."""
        await self.call("GlobalSignOut", {"AccessToken": access_token})
