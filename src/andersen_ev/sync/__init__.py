"""A blocking facade for scripts: andersen-ev 0.1's synchronous interface, on the async client.

For cron jobs, AppDaemon apps and scripts written for the synchronous ``andersen-ev`` 0.1:
change the import and keep the calls::

    from andersen_ev.sync import AndersenA2

    a2 = AndersenA2()
    a2.authenticate(email=EMAIL, password=PASSWORD)
    device_id = a2.get_current_user_devices()[0].id
    a2.user_lock(device_id)
    a2.close()

Every method of :class:`andersen_ev.AndersenA2` is here under the same name with the same
parameters, blocking instead of awaited, returning the same typed models and raising the
same exceptions (the very objects the async client raised). Live statuses are a plain
iterator: ``for status in a2.subscribe_device_updates(device_id)``.

How it works, and what to know:

* **A private event loop per object.** The async client runs on an event loop in a daemon
  thread of its own, started by the first call that needs it; each call waits for its
  result there. Callbacks (``on_tokens_updated``, ``on_stream_state``) and ``wait_for``
  predicates run on that thread: keep them quick.
* **Closing.** :meth:`AndersenA2.close` (or ``with AndersenA2() as a2:``) closes the client
  (streams, websocket, HTTP session) and ends the thread; it is idempotent. A facade that
  is never closed is closed when it is garbage collected, or at interpreter exit: no
  "Unclosed client session" warning, no thread left behind.
* **Not from async code.** Inside a running event loop (an ``async def``, a Jupyter cell,
  a callback of this facade) every blocking method raises :class:`RunningEventLoopError`
  instead of freezing the loop: use the async :class:`andersen_ev.AndersenA2` there.
* **Threads.** Calls from several threads are safe and are *not* serialised: they run
  concurrently on the facade's loop, as concurrent tasks of the async client do (one
  shared login, one websocket). Iterate each :class:`DeviceUpdates` from one thread; its
  :meth:`~DeviceUpdates.close` may come from any thread.
* **Ctrl-C** (or any exception raised in the waiting thread) cancels the call it
  interrupts; a call cut short by :meth:`AndersenA2.close` from another thread raises
  :class:`~andersen_ev.AndersenError` (whether it took effect is then unknown).
"""

from __future__ import annotations

import contextlib
import inspect
import os
import ssl
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, Final, Self

from andersen_ev import (
    PRODUCTION,
    DeviceStatus,
    Endpoints,
    InvalidInputError,
    RetryPolicy,
    StreamSettings,
    StreamState,
    Tokens,
    TokenStore,
)
from andersen_ev import AndersenA2 as _AsyncA2
from andersen_ev import DeviceUpdates as _AsyncUpdates
from andersen_ev.planning import ChargePlan
from andersen_ev.sync._operations import Operations
from andersen_ev.sync._runtime import (
    AppliedPlan,
    ChargeNow,
    DeviceUpdates,
    LoopThread,
    RunningEventLoopError,
    entered,
)

__all__ = [
    "DEFAULT_CONFIRM_INTERVAL",
    "DEFAULT_REFRESH_MARGIN",
    "DEFAULT_TIMEOUT",
    "NOT_WRAPPED",
    "AndersenA2",
    "AppliedPlan",
    "ChargeNow",
    "DeviceUpdates",
    "RunningEventLoopError",
]

_ASYNC_OPTIONS: Final = inspect.signature(_AsyncA2).parameters
# The async client's defaults, read from its signature so that the two never drift apart.
#: Seconds allowed per request, as :class:`andersen_ev.AndersenA2`.
DEFAULT_TIMEOUT: Final[float] = _ASYNC_OPTIONS["timeout"].default
#: Seconds before expiry at which tokens are refreshed, as :class:`andersen_ev.AndersenA2`.
DEFAULT_REFRESH_MARGIN: Final[float] = _ASYNC_OPTIONS["refresh_margin"].default
#: Seconds between status reads while a command is confirmed.
DEFAULT_CONFIRM_INTERVAL: Final[float] = _ASYNC_OPTIONS["confirm_interval"].default

#: What of the async :class:`andersen_ev.AndersenA2` has no blocking counterpart, and why.
NOT_WRAPPED: Final[Mapping[str, str]] = {
    "session": (
        "an aiohttp session belongs to the event loop that created it; the facade's loop is"
        " private, so it creates (and closes) its own"
    ),
    "auth": (
        "the Authenticator's methods are coroutines bound to the facade's private loop; use"
        " authenticate, confirm_device, forget_device, sign_out and tokens instead"
    ),
    "streams": (
        "the stream manager is driven from the facade's loop; use subscribe_device_updates,"
        " stream_state and on_stream_state instead"
    ),
    "confirm_interval": "a constructor option only: it is read by the client's loop",
}


class AndersenA2(Operations):
    """A blocking session with the Andersen cloud, for one user: 0.1's interface, typed.

    The same methods as the async :class:`andersen_ev.AndersenA2` (see its documentation
    for each), blocking. Use it as a context manager, or call :meth:`close`::

        with AndersenA2(token_store="~/.config/andersen-ev/tokens.json") as a2:
            a2.user_unlock(a2.device_id_from_name("Driveway"))

    Args:
        endpoints: Where the cloud lives: production by default, or an emulator's.
        tokens: Saved :class:`~andersen_ev.Tokens` to start from (no password needed).
        on_tokens_updated: Called with the new tokens whenever they change (None after
            :meth:`sign_out`), on the facade's loop thread; may be a coroutine function.
        token_store: A :class:`~andersen_ev.TokenStore` (or its path): the tokens are
            loaded from it now (this blocks) and saved to it whenever they change. Replaces
            ``tokens`` and ``on_tokens_updated``, which must then be left out. The file
            ``andersen-ev login`` writes (``~/.config/andersen-ev/tokens.json``) works.
        refresh_margin: Seconds before expiry at which tokens are refreshed.
        timeout: Seconds allowed per request; each method also takes ``timeout=``.
        retry: How queries are retried (mutations are never retried once sent).
        confirm_interval: Seconds between status reads while a command is confirmed.
        stream_settings: How device update streams reconnect and detect dead connections.
        verify_tls: How TLS certificates are checked (see :class:`andersen_ev.AndersenA2`).

    Raises:
        InvalidInputError: ``token_store`` given with ``tokens`` or ``on_tokens_updated``.
        TokenStoreError: the token store cannot be read.
    """

    def __init__(
        self,
        *,
        endpoints: Endpoints = PRODUCTION,
        tokens: Tokens | None = None,
        on_tokens_updated: Callable[[Tokens | None], Awaitable[None] | None] | None = None,
        token_store: TokenStore | str | os.PathLike[str] | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        confirm_interval: float = DEFAULT_CONFIRM_INTERVAL,
        stream_settings: StreamSettings | None = None,
        verify_tls: bool | ssl.SSLContext = True,
    ) -> None:
        if token_store is not None and (tokens is not None or on_tokens_updated is not None):
            raise InvalidInputError(
                "token_store= loads and saves the tokens itself: leave out tokens= and"
                " on_tokens_updated= (or pass those two without token_store=)"
            )
        runner = self._runner = LoopThread()
        # closes the loop (and the client) when this object is collected, or at exit
        self._finalizer = weakref.finalize(self, runner.close)
        try:
            if token_store is not None:
                store = (
                    token_store if isinstance(token_store, TokenStore) else TokenStore(token_store)
                )
                tokens = runner.call("__init__", store.load)
                on_tokens_updated = store.update
            self._client = _AsyncA2(
                endpoints=endpoints,
                tokens=tokens,
                on_tokens_updated=on_tokens_updated,
                refresh_margin=refresh_margin,
                timeout=timeout,
                retry=retry,
                confirm_interval=confirm_interval,
                stream_settings=stream_settings,
                verify_tls=verify_tls,
            )
        except BaseException:
            self._finalizer()  # the loop may have started, to read the token store
            raise
        runner.cleanup = self._client.close

    def __repr__(self) -> str:
        return f"andersen_ev.sync.{self._client!r}"

    # -- session -----------------------------------------------------------------------------

    @property
    def endpoints(self) -> Endpoints:
        """Where the cloud lives."""
        return self._client.endpoints

    @property
    def tokens(self) -> Tokens | None:
        """The current tokens (None before :meth:`authenticate` and after :meth:`sign_out`)."""
        return self._client.tokens

    @property
    def account_id(self) -> str | None:
        """The account's stable id (:attr:`andersen_ev.Tokens.account_id`), None if logged out."""
        return self._client.account_id

    def authenticate(self, email: str, password: str) -> Tokens:
        """Log in with the Konnect+ email and password; returns the new tokens.

        0.1 returned the id token string: ``tokens.id_token.get_secret_value()`` is that.

        Raises:
            InvalidCredentialsError: unknown email or wrong password.
            UnsupportedChallengeError: the account needs MFA or a new password.
        """
        return self._call(_AsyncA2.authenticate, email, password)

    def confirm_device(self, name: str | None = None) -> Tokens:
        """Remember this machine at Cognito, so that saved tokens replace the password."""
        return self._call(_AsyncA2.confirm_device, name)

    def forget_device(self) -> None:
        """Stop remembering this machine."""
        return self._call(_AsyncA2.forget_device)

    def sign_out(self) -> None:
        """Revoke the tokens at Cognito and forget them."""
        return self._call(_AsyncA2.sign_out)

    def close(self) -> None:
        """Close the client (streams, websocket, HTTP session) and end the loop's thread.

        Idempotent; calls still running in other threads end with
        :class:`~andersen_ev.AndersenError`, device update iterators end quietly.
        """
        self._finalizer()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- live status -------------------------------------------------------------------------

    def subscribe_device_updates(self, device_id: str, *more_device_ids: str) -> DeviceUpdates:
        """Live statuses of one or more chargers: ``for status in ...`` (see DeviceUpdates).

        Raises:
            InvalidInputError: an id is not a non-empty string.
        """
        client = self._client

        async def subscribe() -> _AsyncUpdates:
            return client.subscribe_device_updates(device_id, *more_device_ids)

        updates = self._runner.call("subscribe_device_updates", subscribe)
        return DeviceUpdates(self, self._runner, updates)

    @property
    def stream_state(self) -> StreamState:
        """Whether live updates flow: connected, connecting, reconnecting or closed."""
        return self._client.stream_state

    def on_stream_state(self, callback: Callable[[StreamState], object]) -> Callable[[], None]:
        """Call ``callback(state)`` on every stream state change (on the facade's thread).

        Returns:
            A function that removes the callback.
        """
        return self._client.on_stream_state(callback)

    # -- charging control --------------------------------------------------------------------

    def charge_now(self, device_id: str, *, confirm: bool | float = True) -> ChargeNow:
        """Start charging regardless of schedules; :meth:`restore` puts everything back.

        Raises:
            ResponseError: the charger's state could not be saved exactly (nothing changed).
            CommandNotConfirmedError: the change never showed in the status.
        """
        handle = self._call(_AsyncA2.charge_now, device_id, confirm=confirm)
        return ChargeNow(self, self._runner, handle)

    def restore(self, device_id: str, *, confirm: bool | float = True) -> None:
        """Put back what the last :meth:`charge_now` or charging plan on this charger changed.

        Raises:
            InvalidInputError: nothing was saved for this charger.
            RestoreError: some of it could not be put back; the message says what.
        """
        return self._call(_AsyncA2.restore, device_id, confirm=confirm)

    @contextlib.contextmanager
    def temporarily_unlocked(
        self, device_id: str, *, confirm: bool | float = True
    ) -> Iterator[ChargeNow]:
        """``with``: :meth:`charge_now` for the block, restored on exit, error or Ctrl-C."""
        context = self._client.temporarily_unlocked(device_id, confirm=confirm)
        with entered(self._runner, "temporarily_unlocked", context) as handle:
            yield ChargeNow(self, self._runner, handle)

    def apply_charging_plan(
        self, device_id: str, plan: ChargePlan, *, confirm: bool | float = True
    ) -> AppliedPlan:
        """Program the charger with a charging plan; :meth:`restore` puts everything back.

        See :meth:`andersen_ev.AndersenA2.apply_charging_plan`.

        Raises:
            InvalidInputError: the plan is not in the charger's time zone, or has no window.
            ResponseError: the charger's state could not be saved exactly (nothing changed).
            CommandNotConfirmedError: the change never showed in the status.
        """
        handle = self._call(_AsyncA2.apply_charging_plan, device_id, plan, confirm=confirm)
        return AppliedPlan(self, self._runner, handle)

    @contextlib.contextmanager
    def charging_plan(
        self, device_id: str, plan: ChargePlan, *, confirm: bool | float = True
    ) -> Iterator[AppliedPlan]:
        """``with``: :meth:`apply_charging_plan` for the block, restored on exit or Ctrl-C."""
        context = self._client.charging_plan(device_id, plan, confirm=confirm)
        with entered(self._runner, "charging_plan", context) as handle:
            yield AppliedPlan(self, self._runner, handle)

    def is_car_connected(
        self, device_id: str, probe: bool = False, *, probe_timeout: float = 30.0
    ) -> bool | None:
        """Whether a car is plugged in (None: cannot tell unless ``probe=True``)."""
        return self._call(_AsyncA2.is_car_connected, device_id, probe, probe_timeout=probe_timeout)

    def wait_for(
        self,
        device_id: str,
        predicate: Callable[[DeviceStatus], bool],
        timeout: float | None = None,
    ) -> DeviceStatus:
        """Wait until the status satisfies ``predicate`` (called on the facade's thread).

        Raises:
            AndersenTimeoutError: not within ``timeout`` seconds (30 by default).
        """
        return self._call(_AsyncA2.wait_for, device_id, predicate, timeout)

    def diagnostics(self) -> dict[str, Any]:
        """A redacted snapshot to attach to a bug report (no secrets, no personal data)."""
        return self._call(_AsyncA2.diagnostics)
