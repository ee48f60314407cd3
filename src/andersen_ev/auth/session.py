"""A user's Cognito session: :class:`Authenticator` keeps the tokens fresh and owns the device.

It holds the current :class:`~andersen_ev.Tokens`, logs in with the password when asked
(:mod:`andersen_ev.auth.login`), refreshes the tokens ahead of expiry with the refresh token
(always sending ``DEVICE_KEY`` when there is one, without which Cognito refuses refreshes on
device-tracking pools such as Andersen's) with at most one refresh in flight, marks them
rejected when the API refuses them, remembers or forgets this device, and signs out.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Final, TypeAlias

import aiohttp
from pydantic import SecretStr

from andersen_ev.auth.answers import AuthResult
from andersen_ev.auth.codes import REFUSALS
from andersen_ev.auth.cognito import CognitoClient
from andersen_ev.auth.device import new_device_secret, remembered_device
from andersen_ev.auth.login import lookup_username, password_login
from andersen_ev.auth.tokens import Tokens, TokensCallback, refreshed_tokens
from andersen_ev.const import DEFAULT_TIMEOUT, PRODUCTION, Endpoints
from andersen_ev.exceptions import (
    AuthenticationError,
    CognitoError,
    InvalidInputError,
    ReauthRequiredError,
)

__all__ = ["DEFAULT_REFRESH_MARGIN", "Authenticator", "SessionSource"]

_LOG = logging.getLogger(__name__)

#: Seconds before expiry at which tokens are refreshed (at most half their lifetime).
DEFAULT_REFRESH_MARGIN: Final = 300.0
#: Cognito codes on a refresh that mean the session cannot continue: every refusal.
_SESSION_OVER: Final = REFUSALS
#: Codes that mean the device is unknown to Cognito already.
_NO_DEVICE: Final = "ResourceNotFoundException"

SessionSource: TypeAlias = aiohttp.ClientSession | Callable[[], aiohttp.ClientSession]
"""An aiohttp session, or a callable returning one (for sessions created lazily)."""


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

    Raises:
        InvalidInputError: ``refresh_margin`` is negative.

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
            raise InvalidInputError(
                f"refresh_margin must not be negative (got {refresh_margin}): pass the seconds"
                f" before expiry at which to refresh, e.g. {DEFAULT_REFRESH_MARGIN:g}"
            )
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
            ServiceUnavailableError: an outage, never a refusal of the account: the user
                lookup or Cognito is throttling (:class:`RateLimitedError`), failing
                (:class:`ServerError`), unreachable or redirecting
                (:class:`AndersenConnectionError`), or slow (:class:`AndersenTimeoutError`).
            ResponseError: the user lookup answered something else than a username.
            CognitoError: any other Cognito error (its ``code`` says which).
        """
        username = await lookup_username(
            self._session(), self._endpoints.user_lookup_url, email, timeout=self._timeout
        )
        tokens = await password_login(
            self._cognito(),
            pool_name=self._endpoints.pool_name,
            username=username,
            password=password,
            device=remembered_device(self._tokens),
        )
        _LOG.debug("logged in; tokens valid until %s", tokens.expires_at.isoformat())
        await self._set_tokens(tokens)
        return tokens

    # -- tokens and refresh ----------------------------------------------------------------------

    async def id_token(self) -> str:
        """A valid id token (the GraphQL bearer token), refreshed first when due.

        Raises:
            ReauthRequiredError: not logged in, or Cognito refused the refresh (the refresh
                token was revoked or expired, the user or device is gone).
            ServiceUnavailableError: the refresh met an outage (throttled, failing,
                unreachable, slow); the next call tries again.
            CognitoError: any other Cognito error; the next call tries again.
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
        return datetime.now(UTC) >= tokens.expires_at - margin

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
        """Refresh ``start`` and make the result current, unless a login or sign-out won."""
        sent_at = datetime.now(UTC)
        result = await self._request_refresh(start)
        if self._tokens is not start:  # a login or sign-out replaced the tokens meanwhile
            return self._usable()
        tokens = refreshed_tokens(start, result, sent_at)
        _LOG.debug("tokens refreshed; valid until %s", tokens.expires_at.isoformat())
        await self._set_tokens(tokens)
        return tokens

    async def _request_refresh(self, start: Tokens) -> AuthResult:
        """``REFRESH_TOKEN_AUTH`` with the refresh token (and device key) of ``start``.

        Raises:
            ReauthRequiredError: Cognito says the session is over (revoked, expired, the
                user or device gone); later calls raise it too, until a login.
        """
        parameters = {"REFRESH_TOKEN": start.refresh_token.get_secret_value()}
        if start.device_key:
            parameters["DEVICE_KEY"] = start.device_key
        _LOG.debug("refreshing tokens (with device key: %s)", bool(start.device_key))
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
        if step.result is None:
            raise CognitoError(
                "MalformedResponse",
                f"a refresh was answered with the {step.challenge} challenge",
                operation="InitiateAuth",
            )
        return step.result

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
            InvalidInputError: ``name`` is empty or longer than Cognito takes (1024
                characters); nothing was sent.
            AuthenticationError: the last login returned no device (the pool does not
                track devices): there is nothing to confirm.
            ReauthRequiredError: as for :meth:`id_token`, or Cognito refused the access
                token (also ServiceUnavailableError and CognitoError).
        """
        tokens = await self.fresh_tokens()
        if tokens.device_remembered:
            return tokens
        if not tokens.device_key or not tokens.device_group_key:
            raise AuthenticationError(
                "Cognito returned no device for this login (the user pool does not track"
                " devices), so there is no device to confirm"
            )
        password, config = await new_device_secret(tokens.device_group_key, tokens.device_key)
        cognito = self._cognito()
        access = tokens.access_token.get_secret_value()
        with _session_refusals():
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
        A device Cognito does not know any more counts as forgotten.

        Raises:
            ReauthRequiredError: as for :meth:`confirm_device` (also
                ServiceUnavailableError and CognitoError).
        """
        tokens = await self.fresh_tokens()
        if not tokens.device_key:
            return
        try:
            with _session_refusals(but=_NO_DEVICE):
                await self._cognito().forget_device(
                    tokens.access_token.get_secret_value(), tokens.device_key
                )
        except CognitoError as exc:
            if exc.code != _NO_DEVICE:
                raise
            _LOG.debug("Cognito had forgotten the device already")
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
            if exc.code not in _SESSION_OVER:
                raise
        _LOG.debug("signed out")
        await self._set_tokens(None)


@contextmanager
def _session_refusals(but: str | None = None) -> Iterator[None]:
    """Raise Cognito's refusals of the access token (all but ``but``) as ReauthRequiredError.

    A device call refused this way means the session was revoked or the user changed:
    only a new login helps.
    """
    try:
        yield
    except CognitoError as exc:
        if exc.code not in _SESSION_OVER or exc.code == but:
            raise
        raise ReauthRequiredError(
            f"Cognito refused the session ({exc.service_message or exc.code}): log in again"
            " with the email and password"
        ) from exc
