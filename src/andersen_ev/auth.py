"""Log in once, then live on tokens: Cognito SRP login, refresh, and device confirmation.

:class:`Authenticator` owns a user's :class:`Tokens`. It logs in with the email and password
(Cognito ``USER_SRP_AUTH``: the password never leaves this process), refreshes the tokens
ahead of expiry with the refresh token (always sending ``DEVICE_KEY`` when there is one,
without which Cognito refuses refreshes on device-tracking pools such as Andersen's), and
can *remember this device* (``ConfirmDevice``) so that an application may persist the
tokens and the device secret instead of the password.

Typical use, through :class:`andersen_ev.AndersenA2`::

    async with AndersenA2(tokens=saved, on_tokens_updated=store.update) as a2:
        if a2.tokens is None:
            await a2.authenticate(email, password)
            await a2.confirm_device("Home Assistant")
        ...

Tokens change on every login and refresh; ``on_tokens_updated`` is called each time (and
with None after :meth:`Authenticator.sign_out`) so that the application can save them, for
example with :class:`andersen_ev.TokenStore`.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, TypeAlias

import aiohttp
from pydantic import AwareDatetime, BaseModel, ConfigDict, SecretStr, field_serializer

from andersen_ev import srp
from andersen_ev.cognito import AuthResult, AuthStep, CognitoClient
from andersen_ev.const import DEFAULT_TIMEOUT, PRODUCTION, Endpoints
from andersen_ev.exceptions import (
    AndersenError,
    AuthenticationError,
    CognitoError,
    InvalidCredentialsError,
    ReauthRequiredError,
    UnsupportedChallengeError,
    transport_errors,
)

__all__ = [
    "DEFAULT_REFRESH_MARGIN",
    "Authenticator",
    "SessionSource",
    "Tokens",
    "TokensCallback",
    "device_secret_verifier_config",
]

_LOG = logging.getLogger(__name__)

#: Seconds before expiry at which tokens are refreshed (at most half their lifetime).
DEFAULT_REFRESH_MARGIN: Final = 300.0
#: Bits of the client's private SRP value ``a``. Twice the 128-bit security of the 3072-bit
#: group, as NIST SP 800-56A asks of safe-prime groups; the AWS SDKs draw 1024 bits, which
#: costs three times the CPU (pure-Python modular exponentiation) for no added strength.
_A_BITS: Final = 256
#: A login needs at most three answers (password, device SRP, device password): more is a loop.
_MAX_CHALLENGES: Final = 5
_DEVICE_CHALLENGES: Final = frozenset({"DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER"})
#: Cognito codes on a refresh that mean the session cannot continue.
_SESSION_OVER: Final = frozenset(
    {"NotAuthorizedException", "ResourceNotFoundException", "UserNotFoundException"}
)
_DEVICE_PASSWORD_BYTES: Final = 40
_SALT_BITS: Final = 128
_HTTP_SERVER_ERROR: Final = 500


class Tokens(BaseModel):
    """A user's Cognito tokens and, once confirmed, the secret of this remembered device.

    Secrets are :class:`~pydantic.SecretStr`: ``repr()`` and ``str()`` never show them, but
    ``model_dump_json()`` writes them, so that the JSON can be saved (keep it private: it
    grants access to the account) and loaded again with ``Tokens.model_validate_json``.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

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
SessionSource: TypeAlias = aiohttp.ClientSession | Callable[[], aiohttp.ClientSession]
"""An aiohttp session, or a callable returning one (for sessions created lazily)."""


def device_secret_verifier_config(
    device_group_key: str, device_key: str, device_password: str, salt: int
) -> dict[str, str]:
    """``DeviceSecretVerifierConfig`` for ConfirmDevice: the verifier of a device password.

    ``x = H(pad(salt) | H(groupKey + deviceKey + ":" + devicePassword))`` and the verifier
    ``g^x mod N``, both sent as base64 of their padded big-endian bytes.
    """
    x = srp.password_x(salt, srp.inner_hash(device_group_key, device_key, device_password))
    return {
        "PasswordVerifier": base64.b64encode(srp.pad(srp.verifier(x))).decode(),
        "Salt": base64.b64encode(srp.pad(salt)).decode(),
    }


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Ephemeral:
    """The client's one-time SRP pair: private ``a`` and public ``A = g^a``."""

    a: int = field(repr=False)
    big_a: int

    @classmethod
    def new(cls) -> _Ephemeral:
        a = secrets.randbelow((1 << _A_BITS) - 1) + 1
        return cls(a, srp.client_public(a))

    @property
    def srp_a(self) -> str:
        """``SRP_A`` as Cognito wants it: lowercase hex."""
        return format(self.big_a, "x")


@dataclass(frozen=True, slots=True)
class _Device:
    key: str
    group_key: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class _Login:
    result: AuthResult
    username: str
    sent_at: datetime


def _remembered_device(tokens: Tokens | None) -> _Device | None:
    if (
        tokens is None
        or not tokens.device_key
        or not tokens.device_group_key
        or tokens.device_password is None
    ):
        return None
    return _Device(
        tokens.device_key, tokens.device_group_key, tokens.device_password.get_secret_value()
    )


class _DeviceRejectedError(Exception):
    """Cognito refused the remembered device during a login (forgotten, or a stale secret)."""


async def _guarded(call: Awaitable[AuthStep], stage: str, device: _Device | None) -> AuthStep:
    """Await one step of a login, turning a refusal of the remembered device into an error.

    :class:`_DeviceRejectedError` lets the login be tried once more without the device. An
    unknown device (forgotten elsewhere) or a device secret refused at a device challenge
    qualifies; anything else (throttling, a wrong password ...) does not.
    """
    try:
        return await call
    except CognitoError as exc:
        if device is not None and (
            exc.code == "ResourceNotFoundException"
            or (exc.code == "NotAuthorizedException" and stage in _DEVICE_CHALLENGES)
        ):
            raise _DeviceRejectedError from exc
        raise


def _password_claim(
    challenge: str,
    ephemeral: _Ephemeral,
    *,
    prefix: str,
    name: str,
    password: str,
    parameters: Mapping[str, str],
) -> dict[str, str]:
    """Answer a PASSWORD_VERIFIER or DEVICE_PASSWORD_VERIFIER challenge (the SRP proof)."""
    try:
        salt = int(parameters["SALT"], 16)
        big_b = int(parameters["SRP_B"], 16)
        block = parameters["SECRET_BLOCK"]
        x = srp.password_x(salt, srp.inner_hash(prefix, name, password))
        u, premaster = srp.client_session_key(ephemeral.a, big_b, x, big_a=ephemeral.big_a)
        key = srp.derive_key(premaster, u)
        timestamp = srp.format_timestamp(_now())
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


_LOGIN_REFUSALS: Final[Mapping[str, tuple[type[AuthenticationError], str]]] = {
    "UserNotFoundException": (
        InvalidCredentialsError,
        "Cognito knows no user for this email address: check the email you use in the Konnect+ app",
    ),
    "UserNotConfirmedException": (
        AuthenticationError,
        "the account is not confirmed: finish registering in the Konnect+ app",
    ),
    "PasswordResetRequiredException": (
        AuthenticationError,
        "Cognito requires a new password: reset it in the Konnect+ app",
    ),
}


def _login_error(exc: CognitoError) -> AndersenError:
    """The error a caller of login should see for Cognito's ``exc`` (``exc`` if no better)."""
    if exc.code in _LOGIN_REFUSALS:
        cls, text = _LOGIN_REFUSALS[exc.code]
        return cls(text)
    if exc.code != "NotAuthorizedException":
        return exc
    message = exc.service_message
    if "incorrect username or password" in message.lower():
        return InvalidCredentialsError(
            "the password is wrong: check it (the Konnect+ app can reset it); after five"
            " failures Cognito blocks logins for a while"
        )
    if "attempts exceeded" in message.lower():
        return AuthenticationError(
            "Cognito blocks logins after too many wrong passwords: wait up to 15 minutes"
            " before trying again"
        )
    return AuthenticationError(f"Cognito refused the login ({message}): check the account")


class Authenticator:
    """A user's Cognito session: login, refresh (single-flight), device confirmation, sign-out.

    Args:
        session: The aiohttp session to send over (never closed here), or a callable
            returning it (called at each request, for sessions created lazily).
        endpoints: Where the Andersen cloud and its Cognito pool live.
        tokens: Tokens to start from (e.g. loaded from a :class:`~andersen_ev.TokenStore`):
            no password is needed while their refresh token is valid.
        on_tokens_updated: Called (sync or async) with the new :class:`Tokens` whenever they
            change, and with None after :meth:`sign_out`. Errors it raises are logged, not
            propagated: the new tokens are in use either way.
        refresh_margin: Refresh this many seconds before expiry (capped at half the tokens'
            lifetime, so short-lived tokens are not refreshed on every call).
        timeout: Seconds allowed per request to Cognito or the user lookup.

    One instance serves one event loop: any number of concurrent callers of
    :meth:`id_token` cause at most one refresh.
    """

    def __init__(
        self,
        session: SessionSource,
        endpoints: Endpoints = PRODUCTION,
        *,
        tokens: Tokens | None = None,
        on_tokens_updated: TokensCallback | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if refresh_margin < 0:
            raise ValueError("refresh_margin must not be negative")
        self._session_source = session
        self._endpoints = endpoints
        self._tokens = tokens
        self._on_tokens_updated = on_tokens_updated
        self._margin = timedelta(seconds=refresh_margin)
        self._timeout = timeout
        self._rejected: Tokens | None = None
        self._reauth_reason: str | None = None
        self._refresh_task: asyncio.Task[Tokens] | None = None

    def __repr__(self) -> str:
        tokens = self._tokens
        if tokens is None:
            return "Authenticator(logged_in=False)"
        device = "tracked" if tokens.device_key else None
        if tokens.device_remembered:
            device = "remembered"
        return (
            f"Authenticator(username={tokens.username!r}, "
            f"expires_at={tokens.expires_at.isoformat()!r}, device={device!r})"
        )

    @property
    def tokens(self) -> Tokens | None:
        """The current tokens (None before a login, after sign-out)."""
        return self._tokens

    # -- transport ------------------------------------------------------------------------------

    def _session(self) -> aiohttp.ClientSession:
        source = self._session_source
        return source if isinstance(source, aiohttp.ClientSession) else source()

    def _cognito(self) -> CognitoClient:
        return CognitoClient(self._session(), self._endpoints, timeout=self._timeout)

    # -- login ------------------------------------------------------------------------------------

    async def login(self, email: str, password: str) -> Tokens:
        """Log in with the Konnect+ email and password (Cognito SRP: the password is not sent).

        When the current tokens hold a remembered device, the login answers Cognito's device
        challenges with its secret; if Cognito no longer knows the device, the login is
        retried once without it.

        Returns:
            The new tokens (also passed to ``on_tokens_updated``).

        Raises:
            InvalidCredentialsError: unknown email or wrong password.
            UnsupportedChallengeError: Cognito asks for MFA or a new password.
            AuthenticationError: the account is locked, unconfirmed or disabled.
            CognitoError: any other Cognito error (throttling ...).
            AndersenConnectionError: the service could not be reached.
            AndersenTimeoutError: the service did not answer in time.
        """
        username = await self._lookup_username(email)
        device = _remembered_device(self._tokens)
        try:
            try:
                login = await self._srp_login(username, password, device)
            except _DeviceRejectedError:
                _LOG.info("Cognito refused the remembered device; logging in without it")
                device = None
                login = await self._srp_login(username, password, None)
        except CognitoError as exc:
            mapped = _login_error(exc)
            if mapped is exc:
                raise
            raise mapped from exc
        return await self._accept_login(login, device)

    async def _lookup_username(self, email: str) -> str:
        """The Cognito username of ``email``, from the Andersen ``/get-pending-user`` endpoint."""
        _LOG.debug("looking up the Cognito username")
        with transport_errors("Andersen user lookup"):
            async with self._session().post(
                self._endpoints.user_lookup_url,
                json={"email": email},
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            ) as response:
                status = response.status
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
        if isinstance(body, dict):
            username = body.get("username")
            if isinstance(username, str) and username:
                return username
            if "error" in body and status < _HTTP_SERVER_ERROR:
                raise InvalidCredentialsError(
                    "no Andersen account uses this email address: check the email you use"
                    " in the Konnect+ app"
                )
        raise AuthenticationError(
            f"the Andersen user lookup answered HTTP {status} without a username: the"
            " service may be down, try again later"
        )

    async def _srp_login(self, username: str, password: str, device: _Device | None) -> _Login:
        """Run USER_SRP_AUTH to the end, answering each challenge Cognito sends."""
        cognito = self._cognito()
        pool_name = self._endpoints.pool_name
        ephemeral = _Ephemeral.new()
        parameters = {"USERNAME": username, "SRP_A": ephemeral.srp_a}
        if device is not None:
            parameters["DEVICE_KEY"] = device.key
        _LOG.debug("SRP login (remembered device: %s)", device is not None)
        sent_at = _now()
        step = await _guarded(
            cognito.initiate_auth("USER_SRP_AUTH", parameters), "USER_SRP_AUTH", device
        )
        answered = 0
        while step.result is None:
            if answered == _MAX_CHALLENGES:
                raise CognitoError(
                    "TooManyChallenges",
                    f"Cognito sent more than {_MAX_CHALLENGES} challenges in one login",
                    operation="RespondToAuthChallenge",
                )
            answered += 1
            challenge = str(step.challenge)
            _LOG.debug("answering the %s challenge", challenge)
            if challenge == "PASSWORD_VERIFIER":
                # Amplify's rule: answer as USERNAME, hash with USER_ID_FOR_SRP
                username = step.parameters.get("USERNAME", username)
                srp_user = step.parameters.get("USER_ID_FOR_SRP", username)
                answer = _password_claim(
                    challenge,
                    ephemeral,
                    prefix=pool_name,
                    name=srp_user,
                    password=password,
                    parameters=step.parameters,
                )
                answer["USERNAME"] = username
                if device is not None:
                    answer["DEVICE_KEY"] = device.key
            elif challenge == "DEVICE_SRP_AUTH" and device is not None:
                ephemeral = _Ephemeral.new()
                answer = {"USERNAME": username, "DEVICE_KEY": device.key, "SRP_A": ephemeral.srp_a}
            elif challenge == "DEVICE_PASSWORD_VERIFIER" and device is not None:
                answer = _password_claim(
                    challenge,
                    ephemeral,
                    prefix=device.group_key,
                    name=device.key,
                    password=device.password,
                    parameters=step.parameters,
                )
                answer["USERNAME"] = username
                answer["DEVICE_KEY"] = device.key
            else:
                raise UnsupportedChallengeError(challenge)
            sent_at = _now()
            step = await _guarded(
                cognito.respond_to_auth_challenge(challenge, answer, step.session),
                challenge,
                device,
            )
        return _Login(step.result, username, sent_at)

    async def _accept_login(self, login: _Login, device: _Device | None) -> Tokens:
        result = login.result
        if result.refresh_token is None:
            raise CognitoError(
                "MalformedResponse",
                "the login answer has no RefreshToken",
                operation="RespondToAuthChallenge",
            )
        device_key = device_group_key = device_password = None
        if result.device_key and result.device_group_key:  # a new device: not remembered yet
            device_key, device_group_key = result.device_key, result.device_group_key
        elif device is not None:
            device_key, device_group_key, device_password = (
                device.key,
                device.group_key,
                device.password,
            )
        tokens = Tokens(
            id_token=SecretStr(result.id_token),
            access_token=SecretStr(result.access_token),
            refresh_token=SecretStr(result.refresh_token),
            expires_at=login.sent_at + timedelta(seconds=result.expires_in),
            issued_at=login.sent_at,
            username=login.username,
            device_key=device_key,
            device_group_key=device_group_key,
            device_password=None if device_password is None else SecretStr(device_password),
        )
        _LOG.debug("logged in; tokens valid until %s", tokens.expires_at.isoformat())
        await self._set_tokens(tokens)
        return tokens

    # -- tokens and refresh ----------------------------------------------------------------------

    async def id_token(self) -> str:
        """A valid id token (the GraphQL bearer token), refreshed first when due.

        Raises:
            ReauthRequiredError: not logged in, or the refresh token was revoked or expired.
            CognitoError, AndersenConnectionError, AndersenTimeoutError: the refresh failed
                for a reason that may pass; the next call tries again.
        """
        return (await self.fresh_tokens()).id_token.get_secret_value()

    async def access_token(self) -> str:
        """A valid access token, refreshed first when due (see :meth:`id_token`)."""
        return (await self.fresh_tokens()).access_token.get_secret_value()

    async def fresh_tokens(self) -> Tokens:
        """The current tokens, refreshed first when due (see :meth:`id_token`)."""
        tokens = self._usable()
        if self._refresh_task is None and not self._due(tokens):
            return tokens
        return await self._join_refresh(tokens)

    async def refresh(self) -> Tokens:
        """Refresh now, whatever the expiry (joins a refresh already in flight)."""
        self._rejected = self._usable()
        return await self.fresh_tokens()

    def invalidate(self, id_token: str | None = None) -> None:
        """Mark the tokens rejected (GraphQL ``UNAUTHENTICATED``): the next use refreshes.

        Args:
            id_token: The token the server rejected. When it is no longer the current one
                (another caller refreshed already), nothing happens, so that many requests
                failing at once cause one refresh.
        """
        tokens = self._tokens
        if tokens is not None and (
            id_token is None or id_token == tokens.id_token.get_secret_value()
        ):
            self._rejected = tokens

    def _usable(self) -> Tokens:
        if self._tokens is None:
            raise ReauthRequiredError(
                "not logged in: call authenticate(email, password), or start from saved tokens"
            )
        if self._reauth_reason is not None:
            raise ReauthRequiredError(self._reauth_reason)
        return self._tokens

    def _due(self, tokens: Tokens) -> bool:
        if tokens is self._rejected:
            return True
        margin = self._margin
        if tokens.issued_at is not None:
            margin = min(margin, (tokens.expires_at - tokens.issued_at) / 2)
        return _now() >= tokens.expires_at - margin

    async def _join_refresh(self, tokens: Tokens) -> Tokens:
        task = self._refresh_task
        if task is None:
            task = asyncio.get_running_loop().create_task(
                self._refresh(tokens), name="andersen-ev token refresh"
            )
            self._refresh_task = task
            task.add_done_callback(self._refresh_finished)
        # shield: a caller cancelled while waiting must not cancel the others' refresh
        return await asyncio.shield(task)

    def _refresh_finished(self, task: asyncio.Task[Tokens]) -> None:
        # Until now late callers joined this (done) task; the next one starts a refresh.
        self._refresh_task = None
        # Mark the outcome retrieved: every waiter has re-raised it already (or left).
        _ = task.cancelled() or task.exception()

    async def _refresh(self, start: Tokens) -> Tokens:
        parameters = {"REFRESH_TOKEN": start.refresh_token.get_secret_value()}
        if start.device_key:
            parameters["DEVICE_KEY"] = start.device_key
        _LOG.debug("refreshing tokens (with device key: %s)", bool(start.device_key))
        sent_at = _now()
        try:
            step = await self._cognito().initiate_auth("REFRESH_TOKEN_AUTH", parameters)
        except CognitoError as exc:
            if exc.code not in _SESSION_OVER:
                raise
            reason = (
                f"the session has ended (Cognito: {exc.service_message or exc.code}):"
                " log in again with the email and password"
            )
            if self._tokens is start:
                self._reauth_reason = reason
            _LOG.warning("token refresh refused: %s", exc.code)
            raise ReauthRequiredError(reason) from exc
        result = step.result
        if result is None:
            raise CognitoError(
                "MalformedResponse",
                f"a refresh was answered with the {step.challenge} challenge",
                operation="InitiateAuth",
            )
        current = self._tokens
        if current is not start:  # a login or sign-out replaced the tokens meanwhile
            return self._usable()
        update: dict[str, object] = {
            "id_token": SecretStr(result.id_token),
            "access_token": SecretStr(result.access_token),
            "expires_at": sent_at + timedelta(seconds=result.expires_in),
            "issued_at": sent_at,
        }
        if result.refresh_token:  # pools with rotation return a new one
            update["refresh_token"] = SecretStr(result.refresh_token)
        tokens = start.model_copy(update=update)
        _LOG.debug("tokens refreshed; valid until %s", tokens.expires_at.isoformat())
        await self._set_tokens(tokens)
        return tokens

    async def _set_tokens(self, tokens: Tokens | None) -> None:
        self._tokens = tokens
        self._rejected = None
        self._reauth_reason = None
        callback = self._on_tokens_updated
        if callback is None:
            return
        try:
            outcome = callback(tokens)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:  # noqa: BLE001 - a failing callback must not break the session
            _LOG.exception("on_tokens_updated failed: the new tokens are in use but not saved")

    # -- devices and sign-out ----------------------------------------------------------------------

    async def confirm_device(self, name: str) -> Tokens:
        """Remember this device, so that its secret can stand in for the password later.

        Sends ConfirmDevice with the verifier of a fresh random device password (and
        UpdateDeviceStatus ``remembered`` when Cognito asks for it), then stores the device
        password in the tokens. Does nothing when the device is remembered already.

        Args:
            name: How the device shows in the account's device list.

        Returns:
            The tokens, now holding the device secret (also passed to ``on_tokens_updated``).

        Raises:
            AuthenticationError: the last login returned no device (the pool does not
                track devices): there is nothing to confirm.
            ReauthRequiredError: as for :meth:`id_token` (also CognitoError,
                AndersenConnectionError and AndersenTimeoutError).
        """
        tokens = await self.fresh_tokens()
        if tokens.device_remembered:
            return tokens
        if not tokens.device_key or not tokens.device_group_key:
            raise AuthenticationError(
                "Cognito returned no device for this login (the user pool does not track"
                " devices), so there is no device to confirm"
            )
        password = base64.b64encode(secrets.token_bytes(_DEVICE_PASSWORD_BYTES)).decode()
        config = device_secret_verifier_config(
            tokens.device_group_key, tokens.device_key, password, secrets.randbits(_SALT_BITS)
        )
        cognito = self._cognito()
        access = tokens.access_token.get_secret_value()
        if await cognito.confirm_device(access, tokens.device_key, name, config):
            await cognito.update_device_status(access, tokens.device_key, remembered=True)
        _LOG.debug("device confirmed and remembered")
        confirmed = (self._tokens or tokens).model_copy(
            update={"device_password": SecretStr(password)}
        )
        await self._set_tokens(confirmed)
        return confirmed

    async def forget_device(self) -> None:
        """Stop tracking this device (ForgetDevice) and drop its key and secret from the tokens.

        The current tokens stay usable until they expire; refreshes after that may be
        refused (:class:`ReauthRequiredError`), since the refresh token belonged to the device.
        """
        tokens = await self.fresh_tokens()
        if not tokens.device_key:
            return
        await self._cognito().forget_device(
            tokens.access_token.get_secret_value(), tokens.device_key
        )
        await self._set_tokens(
            tokens.model_copy(
                update={"device_key": None, "device_group_key": None, "device_password": None}
            )
        )

    async def sign_out(self) -> None:
        """Revoke the tokens at Cognito (GlobalSignOut) and forget them here.

        ``on_tokens_updated`` is called with None, so the application can delete what it
        saved. Tokens Cognito refuses already count as signed out.
        """
        if self._tokens is None:
            return
        try:
            access = await self.access_token()
            await self._cognito().global_sign_out(access)
        except ReauthRequiredError:
            pass  # the session is over at Cognito already
        except CognitoError as exc:
            if exc.code != "NotAuthorizedException":
                raise
        _LOG.debug("signed out")
        await self._set_tokens(None)
