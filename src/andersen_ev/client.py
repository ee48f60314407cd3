"""`AndersenA2`: the session object of the library, composed of its parts.

One ``AndersenA2`` owns, for its lifetime, the Cognito tokens (through an
:class:`~andersen_ev.auth.Authenticator`) and one ``aiohttp.ClientSession``, which it creates
lazily when none is given and closes only if it created it. Every method of the original
(synchronous) ``andersen-ev`` library is here under the same name and with the same
positional arguments, awaited, returning typed models instead of dicts.

This module holds the lifecycle, the session, and the facades over authentication
(:mod:`andersen_ev.auth`), live status streams (:mod:`andersen_ev.stream`) and charging
control (:mod:`andersen_ev.control`). The queries and commands are mixins from
:mod:`andersen_ev.queries` and :mod:`andersen_ev.commands`, which send the operations of
:mod:`andersen_ev.operations` through GraphQL over HTTP (:mod:`andersen_ev.http`).
"""

from __future__ import annotations

import platform
import ssl
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Self

import aiohttp

from andersen_ev import control, diagnostics, plan_control
from andersen_ev.auth import DEFAULT_REFRESH_MARGIN, Authenticator, Tokens, TokensCallback
from andersen_ev.commands import DEFAULT_CONFIRM_INTERVAL, Commands, Confirm, confirm_timeout
from andersen_ev.const import DEFAULT_TIMEOUT, PRODUCTION, Endpoints
from andersen_ev.control import ChargeNow
from andersen_ev.exceptions import AndersenError, InvalidInputError
from andersen_ev.http import GraphQLHttp
from andersen_ev.plan_control import AppliedPlan
from andersen_ev.planning import ChargePlan
from andersen_ev.retry import RetryPolicy
from andersen_ev.stream import (
    DeviceUpdates,
    StateCallback,
    StreamManager,
    StreamSettings,
    StreamState,
)
from andersen_ev.validation import check_id, check_seconds

__all__ = ["AndersenA2"]


class AndersenA2(Commands):
    """An asyncio session with the Andersen cloud, for one user.

    Args:
        session: An aiohttp session to share; by default one is created on first use and
            closed by :meth:`close`. A session passed in is never closed here.
        endpoints: Where the cloud lives: production by default, or an emulator's
            ``AndersenCloud.endpoints``.
        tokens: Saved :class:`~andersen_ev.Tokens` to start from: no password is needed
            while their refresh token is valid.
        on_tokens_updated: Called (sync or async) with the new tokens whenever they change
            (login, refresh, device confirmation), and with None after :meth:`sign_out`:
            save them there, e.g. ``TokenStore(path).update``.
        refresh_margin: Seconds before expiry at which tokens are refreshed.
        timeout: Seconds allowed per request (Cognito and GraphQL); each method also takes
            ``timeout=`` for one call.
        retry: How queries are retried on connection errors, 5xx and 429 (mutations are
            never retried once they may have reached the service).
        confirm_interval: Seconds between status reads while a command is confirmed.
        stream_settings: How device update streams reconnect and detect dead connections.
        verify_tls: How the TLS certificates of the cloud and of Cognito are checked, for
            every request and websocket of the session this object creates: True (the
            default) verifies them against the system's trusted CAs; an
            ``ssl.SSLContext`` verifies with it (e.g. one that trusts a private CA);
            False turns verification off, which lets anyone on the network read and
            change the traffic, tokens included: only for tests against a local server.
            With ``session=``, that session's own settings apply and this must stay True.

    Attributes:
        endpoints: Where the cloud lives.
        auth: The token lifecycle (``id_token()``, ``invalidate()``, ``refresh()`` ...).
        streams: The websocket shared by every device update stream (state, stats).

    Use it as an async context manager::

        async with AndersenA2() as a2:
            await a2.authenticate(email, password)

    The queries (``get_*``, ``search_address``, ``find_device`` ...) are defined in
    :class:`~andersen_ev.queries.Queries`, the commands (``user_lock``, ``set_schedules``
    ... and ``wait_for``) in :class:`~andersen_ev.commands.Commands`; both are methods of
    this class.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        endpoints: Endpoints = PRODUCTION,
        tokens: Tokens | None = None,
        on_tokens_updated: TokensCallback | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        confirm_interval: float = DEFAULT_CONFIRM_INTERVAL,
        stream_settings: StreamSettings | None = None,
        verify_tls: bool | ssl.SSLContext = True,
    ) -> None:
        check_seconds(timeout)
        self._verify_tls = _check_tls(session, verify_tls)
        self.endpoints = endpoints
        self.confirm_interval = check_seconds(confirm_interval, "confirm_interval")
        self._saved_states: dict[str, ChargeNow] = {}  # AppliedPlan is a ChargeNow
        self._session = session
        self._owns_session = session is None
        self._closed = False
        self.auth = Authenticator(
            self._http,
            endpoints,
            tokens=tokens,
            on_tokens_updated=on_tokens_updated,
            refresh_margin=refresh_margin,
            timeout=timeout,
        )
        self._graphql: GraphQLHttp = GraphQLHttp(
            self._http,
            endpoints.graphql_url,
            self.auth,
            timeout=timeout,
            retry=retry or RetryPolicy(),
        )
        self.streams = StreamManager(
            self._http, endpoints.websocket_url, self.auth, self.get_device_status, stream_settings
        )

    def __repr__(self) -> str:
        return f"AndersenA2(graphql_url={self.endpoints.graphql_url!r}, auth={self.auth!r})"

    def _http(self) -> aiohttp.ClientSession:
        """The shared aiohttp session, created on first use when none was given."""
        if self._closed:
            raise AndersenError("this AndersenA2 is closed: create a new one")
        if self._session is None:
            # TLS settings live on the connector: GraphQL, Cognito and websockets all use it
            connector = aiohttp.TCPConnector(ssl=self._verify_tls)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    @property
    def tokens(self) -> Tokens | None:
        """The current tokens (None before :meth:`authenticate` and after :meth:`sign_out`).

        ``a2.tokens.to_json()`` (or ``to_dict()``) is what to save; ``AndersenA2(tokens=...)``
        resumes.
        """
        return self.auth.tokens

    @property
    def account_id(self) -> str | None:
        """The account's stable id (:attr:`Tokens.account_id`), None while not logged in."""
        tokens = self.auth.tokens
        return tokens.account_id if tokens is not None else None

    async def authenticate(self, email: str, password: str) -> Tokens:
        """Log in with the Konnect+ email and password.

        Needed once: afterwards the tokens are refreshed without the password, and, after
        :meth:`confirm_device`, saved tokens let later sessions start without it.

        Returns:
            The new tokens (the seed returned the id token string instead; use
            ``tokens.id_token.get_secret_value()`` for that).

        Raises:
            InvalidCredentialsError: unknown email or wrong password.
            UnsupportedChallengeError: the account needs MFA or a new password.
            AuthenticationError: the account is locked, unconfirmed or disabled.
        """
        return await self.auth.login(email, password)

    async def confirm_device(self, name: str | None = None) -> Tokens:
        """Remember this device at Cognito (see :meth:`Authenticator.confirm_device`).

        Args:
            name: How the device shows in the account's device list; by default
                ``andersen-ev on <host name>``.

        Returns:
            The tokens, now holding the device secret: save them instead of the password.
        """
        return await self.auth.confirm_device(name or f"andersen-ev on {platform.node()}")

    async def forget_device(self) -> None:
        """Stop remembering this device (see :meth:`Authenticator.forget_device`)."""
        await self.auth.forget_device()

    async def sign_out(self) -> None:
        """Revoke the tokens at Cognito and forget them (see :meth:`Authenticator.sign_out`)."""
        await self.auth.sign_out()

    # -- live status -------------------------------------------------------------------------

    def subscribe_device_updates(self, device_id: str, *more_device_ids: str) -> DeviceUpdates:
        """Live statuses of one or more chargers: ``async for status in ...``.

        Every stream of this session shares one websocket, which reconnects by itself
        (see :mod:`andersen_ev.stream`). Each iteration first yields a
        :class:`~andersen_ev.stream.StatusSnapshot` of every device, after each
        (re)connect, then live events; ``status.id`` says which charger.

        Raises:
            InvalidInputError: an id is not a non-empty string.
            DeviceNotFoundError: (while iterating) a device is not in this account.
            ApiError: (while iterating) the service rejected the subscription.
            ReauthRequiredError: (while iterating) the session needs a new login.
        """
        return self.streams.subscribe(device_id, *more_device_ids)

    @property
    def stream_state(self) -> StreamState:
        """Whether live updates flow: connected, connecting, reconnecting or closed."""
        return self.streams.state

    def on_stream_state(self, callback: StateCallback) -> Callable[[], None]:
        """Call ``callback(state)`` on every stream state change; returns its remover."""
        return self.streams.on_state(callback)

    # -- charging control (andersen_ev.control) ---------------------------------------------

    async def charge_now(self, device_id: str, *, confirm: Confirm = True) -> ChargeNow:
        """Start charging regardless of schedules: disable every schedule and unlock.

        The lock state and the five schedule slots are read first and kept, so that
        :meth:`restore` (or the returned handle's ``restore()``) puts back exactly what
        was there. A failure part-way puts the saved state back before raising.

        Raises:
            ResponseError: the charger reported no lock state or an incomplete schedule,
                which could not be restored exactly (nothing was changed).
            CommandNotConfirmedError: the change never showed in the status.
        """
        confirm_timeout(confirm)  # checked before the status is read
        handle = await control.charge_now(self, check_id(device_id), confirm=confirm)
        self._saved_states[device_id] = handle
        return handle

    async def restore(self, device_id: str, *, confirm: Confirm = True) -> None:
        """Put back what the last :meth:`charge_now` or charging plan on this charger changed.

        Raises:
            InvalidInputError: nothing was saved for this charger.
            RestoreError: some of it could not be put back; the message says what.
        """
        handle = self._saved_states.get(check_id(device_id))
        if handle is None or handle.restored:
            raise InvalidInputError(
                f"nothing to restore on device {device_id}: neither charge_now() nor"
                " apply_charging_plan() was called on this session, or it was restored already"
            )
        await handle.restore(confirm=confirm)

    def temporarily_unlocked(
        self, device_id: str, *, confirm: Confirm = True
    ) -> AbstractAsyncContextManager[ChargeNow]:
        """``async with``: :meth:`charge_now` for the block, restored on exit, error or cancel.

        Example::

            async with a2.temporarily_unlocked(device_id):
                await a2.wait_for(device_id, lambda s: s.is_charging, timeout=60)
        """
        confirm_timeout(confirm)
        return control.temporarily_unlocked(self, check_id(device_id), confirm=confirm)

    async def apply_charging_plan(
        self, device_id: str, plan: ChargePlan, *, confirm: Confirm = True
    ) -> AppliedPlan:
        """Program the charger with a charging plan: charge in its windows, and only in them.

        The plan's windows (:func:`andersen_ev.planning.plan_charging`) become schedule slots
        (slot 0 first, each on the weekday it falls on), the other slots are kept but
        disabled, and a locked charger is unlocked. The lock state and the five slots are
        read first and kept, so that :meth:`restore` (or the handle's ``restore()``) puts
        back exactly what was there; do so once the plan is over (``plan.ready_by``): slots
        repeat every week. A failure part-way puts the saved state back before raising.

        Raises:
            InvalidInputError: the plan is not in the charger's time zone, or has no window.
            ResponseError: the charger reported no lock state or an incomplete schedule,
                which could not be restored exactly (nothing was changed).
            CommandNotConfirmedError: the change never showed in the status.
        """
        confirm_timeout(confirm)  # checked before anything is read
        handle = await plan_control.apply_plan(self, check_id(device_id), plan, confirm=confirm)
        self._saved_states[device_id] = handle
        return handle

    def charging_plan(
        self, device_id: str, plan: ChargePlan, *, confirm: Confirm = True
    ) -> AbstractAsyncContextManager[AppliedPlan]:
        """``async with``: :meth:`apply_charging_plan` for the block, restored on exit.

        Restored on leaving the block, on error and on cancellation. Example::

            plan = plan_charging(prices, energy_kwh=20, ready_by=morning, time_zone=zone)
            async with a2.charging_plan(device_id, plan):
                await asyncio.sleep((plan.ready_by - datetime.now(UTC)).total_seconds())
        """
        confirm_timeout(confirm)
        return plan_control.charging_plan(self, check_id(device_id), plan, confirm=confirm)

    async def is_car_connected(
        self, device_id: str, probe: bool = False, *, probe_timeout: float = 30.0
    ) -> bool | None:
        """Whether a car is plugged in.

        From ``evseState``: connected or charging means yes, ready means no. When the
        charger is locked or held by a schedule (255) the state cannot tell, and the answer
        is None unless ``probe=True``: then the charger is briefly unlocked (with schedules
        disabled), the state is watched, and everything is restored, also on error.
        """
        check_seconds(probe_timeout, "probe_timeout")
        return await control.is_car_connected(
            self, check_id(device_id), probe=probe, probe_timeout=probe_timeout
        )

    async def diagnostics(self) -> dict[str, Any]:
        """A redacted snapshot to attach to a bug report.

        Library and schema versions, token expiry and whether a device is remembered,
        and each charger's status; never a secret, address, location, IP address or
        Wi-Fi name.
        """
        return await diagnostics.snapshot(self)

    async def close(self) -> None:
        """End the streams, then close the aiohttp session if this object created it.

        Idempotent. Device update iterators end quietly.
        """
        await self.streams.close()
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _check_tls(
    session: aiohttp.ClientSession | None, verify_tls: bool | ssl.SSLContext
) -> bool | ssl.SSLContext:
    """``verify_tls``, which only applies to a session AndersenA2 creates."""
    if session is not None and verify_tls is not True:
        raise InvalidInputError(
            "verify_tls applies to the aiohttp session AndersenA2 creates: configure the"
            " connector of the session you pass instead (aiohttp.TCPConnector(ssl=...))"
        )
    return verify_tls
