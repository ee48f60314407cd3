"""`AndersenCloud`: the local emulator of the whole Andersen cloud, as one async context manager.

It serves, on loopback ports chosen by the OS:

* the Andersen API host: GraphQL over HTTP (``POST /``), subscriptions over websockets
  (``/graphql``) and the username lookup (``POST /get-pending-user``);
* a Cognito identity provider host (AWS JSON 1.1 on ``POST /``) with real SRP;
* on request, a control surface for harnesses in other processes (:mod:`.control`).

It is no kinder than production (see :class:`~andersen_ev.testing.realism.Realism`):
device commands land a second or two after they are answered. Its clock stands still
unless a test moves it (:meth:`AndersenCloud.advance`) or lets it run
(:meth:`AndersenCloud.run_in_real_time`); a command nobody advances the clock for lands
after its delay in real time.

Example::

    async with AndersenCloud() as cloud:
        user = cloud.add_user("me@example.com", "s3cret!")
        charger = cloud.add_charger(user, name="Driveway")
        async with AndersenA2(endpoints=cloud.endpoints) as a2:
            await a2.authenticate("me@example.com", "s3cret!")
            await a2.user_lock(charger.id)
            cloud.advance(2)  # the charger applies the command a second or two later
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from andersen_ev import srp
from andersen_ev.const import PRODUCTION, Endpoints
from andersen_ev.testing import cognito, control, graphql_http, legacy_rest, websocket
from andersen_ev.testing._keys import CLOUD_KEY
from andersen_ev.testing.charger import Charger
from andersen_ev.testing.clock import CloudClock
from andersen_ev.testing.faults import CloudStats, Faults
from andersen_ev.testing.realism import Realism
from andersen_ev.testing.state import CloudState, EmulatedUser
from andersen_ev.testing.tokens import TokenError, TokenService

__all__ = ["AndersenCloud"]

_LOG = logging.getLogger(__name__)


class AndersenCloud:
    """A faithful, stateful local stand-in for the Andersen cloud and its Cognito user pool.

    Args:
        host: Address to listen on; loopback by default. Never expose it beyond loopback:
            it accepts any test account.
        port: Port of the Andersen API host; 0 picks a free one.
        cognito_port: Port of the Cognito host; 0 picks a free one.
        user_pool_id: Cognito pool id; the production value by default, so a client with
            production constants only needs the URLs changed.
        client_id: Cognito app client id (production by default).
        token_lifetime: Lifetime of id and access tokens in seconds (Cognito: 3600). Tests
            of refresh logic set it to a second or two.
        device_tracking: Whether the pool tracks devices (answers ``NewDeviceMetadata``),
            as the Andersen pool does.
        timestamp_tolerance: How far (seconds) an SRP ``TIMESTAMP`` may be from the
            emulator's clock before the password claim is refused.
        unauthenticated_status: HTTP status of Apollo's ``UNAUTHENTICATED`` answer to a bad
            bearer token (400 or 500 depending on the server version; never 401).
        realism: The real service's habits to imitate: True (the default: all of them
            but the wire variants, which :data:`~.realism.WIRE_VARIANTS_ENV` turns on),
            False (the kind emulator: commands at once, one type per field), or a
            :class:`~andersen_ev.testing.realism.Realism`.
        control_port: Serve the control surface (JSON over HTTP for other processes) on
            this port, 0 for any free one; None (the default) serves none.
        control_host: Address of the control surface: loopback, and keep it so (it takes
            no token).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cognito_port: int = 0,
        user_pool_id: str = PRODUCTION.user_pool_id,
        client_id: str = PRODUCTION.client_id,
        region: str | None = None,
        token_lifetime: float = 3600.0,
        device_tracking: bool = True,
        timestamp_tolerance: float = 300.0,
        unauthenticated_status: int = 400,
        realism: Realism | bool = True,
        control_port: int | None = None,
        control_host: str = "127.0.0.1",
    ) -> None:
        self.host = host
        self._requested_ports = (port, cognito_port)
        pool_region, pool_name = srp.split_pool_id(user_pool_id)
        self.region = region or pool_region
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self.device_tracking = device_tracking
        self.timestamp_tolerance = timestamp_tolerance
        self.unauthenticated_status = unauthenticated_status
        self.state = CloudState(pool_name=pool_name)
        self.clock = CloudClock(self.state.chargers, Realism.of(realism))
        """The emulator's time, and the delay of device commands."""
        self._control = (control_host, control_port)
        self._control_url: str | None = None
        self.faults = Faults()
        self.stats = CloudStats()
        self.tokens = TokenService(
            issuer=f"https://cognito-idp.{self.region}.amazonaws.com/{user_pool_id}",
            client_id=client_id,
            access_lifetime=token_lifetime,
        )
        self.websockets: set[web.WebSocketResponse] = set()
        # Websocket subprotocols served, most preferred first: the real server is Apollo with
        # authToken connection params, so the legacy graphql-ws comes first (unconfirmed).
        self.websocket_protocols: tuple[str, ...] = ("graphql-ws", "graphql-transport-ws")
        # Seconds between server keep-alives (graphql-ws "ka", graphql-transport-ws "ping");
        # None sends none. Seconds a new websocket may take to send connection_init.
        self.websocket_keepalive: float | None = 10.0
        self.websocket_init_timeout: float = 10.0
        self._runners: list[web.AppRunner] = []
        self._endpoints: Endpoints | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> Endpoints:
        """Start serving; returns :attr:`endpoints`. Prefer ``async with``."""
        if self._endpoints is not None:
            raise RuntimeError("this AndersenCloud is running already")
        api = web.Application()
        api[CLOUD_KEY] = self
        graphql_http.setup_routes(api)
        websocket.setup_routes(api)
        legacy_rest.setup_routes(api)
        api.router.add_post("/get-pending-user", _get_pending_user)
        idp = web.Application()
        idp[CLOUD_KEY] = self
        cognito.setup_routes(idp)
        try:
            api_port = await self._serve(api, self.host, self._requested_ports[0])
            idp_port = await self._serve(idp, self.host, self._requested_ports[1])
            await self._serve_control()
        except BaseException:
            await self.close()
            raise
        base = f"http://{self.host}:{api_port}"
        self._endpoints = Endpoints(
            graphql_url=base,
            websocket_url=f"ws://{self.host}:{api_port}/graphql",
            user_lookup_url=f"{base}/get-pending-user",
            cognito_url=f"http://{self.host}:{idp_port}/",
            region=self.region,
            user_pool_id=self.user_pool_id,
            client_id=self.client_id,
        )
        _LOG.info("Andersen cloud emulator serving at %s (Cognito on port %d)", base, idp_port)
        return self._endpoints

    async def _serve_control(self) -> None:
        host, port = self._control
        if port is None:
            return
        app = web.Application()
        app[CLOUD_KEY] = self
        control.setup_routes(app)
        bound = await self._serve(app, host, port)
        self._control_url = f"http://{host}:{bound}"
        _LOG.info("control surface at %s", self._control_url)

    async def _serve(self, app: web.Application, host: str, port: int) -> int:
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound: int = runner.addresses[0][1]
        return bound

    async def close(self) -> None:
        """Stop serving: stop the clock, close every websocket and listener. Idempotent."""
        await self.clock.close()
        await self.drop_websockets()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        self._endpoints = None
        self._control_url = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def endpoints(self) -> Endpoints:
        """Where the emulator serves, in the form :class:`andersen_ev.AndersenA2` accepts.

        Raises:
            RuntimeError: the emulator is not running.
        """
        if self._endpoints is None:
            raise RuntimeError("the emulator is not running: use 'async with AndersenCloud()'")
        return self._endpoints

    @property
    def control_url(self) -> str:
        """The base URL of the control surface (see :mod:`andersen_ev.testing.control`).

        Raises:
            RuntimeError: not running, or started without ``control_port``.
        """
        if self._control_url is None:
            raise RuntimeError("no control surface: start AndersenCloud(control_port=0)")
        return self._control_url

    @property
    def realism(self) -> Realism:
        """The real service's habits imitated now; assign a new one to change them."""
        return self.clock.realism

    @realism.setter
    def realism(self, value: Realism | bool) -> None:
        self.clock.realism = Realism.of(value)

    # -- world building --------------------------------------------------------------------

    def add_user(self, email: str, password: str) -> EmulatedUser:
        """Create an account that can log in with ``email`` and ``password``."""
        return self.state.add_user(email, password)

    def add_charger(
        self,
        user: EmulatedUser | None,
        name: str = "Andersen A2",
        *,
        device_id: str | None = None,
        device_name: str | None = None,
        **options: Any,
    ) -> Charger:
        """Add a simulated charger, claimed by ``user`` (or unclaimed when None).

        Args:
            user: The owner, as returned by :meth:`add_user`.
            name: The friendly name shown in the app (``deviceInfo.friendlyName``).
            device_id: The device id; a random 24-hex-digit id (Particle style) by default.
            device_name: The device name printed on the unit, used by ``claimDeviceByName``.
            options: Initial state passed to :class:`~andersen_ev.testing.charger.Charger`.
        """
        device_id = device_id or secrets.token_hex(12)
        if device_id in self.state.chargers:
            raise ValueError(f"a charger with id {device_id!r} exists already")
        charger = Charger(
            device_id=device_id,
            friendly_name=name,
            device_name=device_name or f"A2-{device_id[-6:].upper()}",
            hub=self.state.hub,
            link=self.clock,
            **options,
        )
        self.state.chargers[device_id] = charger
        if user is not None:
            self.state.owners[device_id] = user.username
        return charger

    def charger(self, device_id: str) -> Charger:
        """The simulated charger with this id.

        Raises:
            KeyError: no such charger.
        """
        return self.state.chargers[device_id]

    # -- the clock ---------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move the simulated clock of every charger forward (energy, duration, schedules).

        Device commands that come due meanwhile are applied at their time: after a command,
        ``cloud.advance(2)`` is past the default delay.

        Raises:
            ValueError: ``seconds`` is negative.
        """
        self.clock.advance(seconds)

    def settle(self) -> float:
        """Advance just far enough for every pending device command to be applied.

        Returns:
            The simulated seconds the clock moved (0: no command was pending).
        """
        return self.clock.settle()

    def fast_forward(self) -> contextlib.AbstractContextManager[None]:
        """Within ``with cloud.fast_forward():``, device commands land as soon as answered.

        The clock jumps over each command's delay right after the mutation's answer, so
        ``await a2.user_lock(device_id, confirm=True)`` returns without waiting in real
        time (a read straight after the command still sees it applied, unlike production).
        """
        return self.clock.fast_forward()

    def run_in_real_time(self, *, interval: float = 1.0, speed: float = 1.0) -> None:
        """Keep the clock moving: every ``interval`` seconds, by the time elapsed times ``speed``.

        Runs until :meth:`close`; calling it again changes the speed (0 stops it). Used by
        demos and the standalone emulator to show a live charging session.
        """
        self.clock.run_in_real_time(interval=interval, speed=speed)

    # -- fault knobs that act now ---------------------------------------------------------

    async def drop_websockets(self, *, code: int = 1011) -> int:
        """Close every open websocket now (as a server restart would); returns how many."""
        sockets = list(self.websockets)
        for ws in sockets:
            await ws.close(code=code, message=b"emulator dropped the connection")
        self.stats.faults_injected["websocket_drop"] += len(sockets)
        return len(sockets)

    def expire_tokens(self) -> None:
        """Make every id and access token issued so far expired (refresh tokens stay valid)."""
        self.tokens.expire_all()
        self.stats.faults_injected["token_expiry"] += 1

    def revoke_refresh_tokens(self, user: EmulatedUser | None = None) -> int:
        """Revoke the refresh tokens of ``user`` (everyone's if None); returns how many."""
        return self.tokens.revoke_user(user.username if user else None)

    # -- helpers for the handlers -----------------------------------------------------------

    def user_for_bearer(self, authorization: str | None) -> EmulatedUser:
        """The user a ``Bearer <IdToken>`` header (or bare token) belongs to.

        Raises:
            TokenError: missing, malformed, expired or revoked token, or unknown user.
        """
        if not authorization:
            raise TokenError("missing")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            token = authorization.strip()
        claims = self.tokens.verify(token.strip(), "id")
        user = self.state.users_by_username.get(str(claims.get("cognito:username")))
        if user is None:
            raise TokenError("unknown user")
        return user

    async def delay(self) -> None:
        """Sleep for the configured latency fault, if any."""
        if self.faults.latency > 0:
            await asyncio.sleep(self.faults.latency)


async def _get_pending_user(request: web.Request) -> web.Response:
    """``POST /get-pending-user``: map an email to the Cognito username."""
    cloud = request.app[CLOUD_KEY]
    cloud.stats.lookups += 1
    await cloud.delay()
    try:
        body = await request.json()
        email = body["email"]
        if not isinstance(email, str):
            raise TypeError(email)  # noqa: TRY301 - same answer as a missing key
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": "Request body must be JSON with an email"}, status=400)
    user = cloud.state.user_by_email(email)
    if user is None:
        return web.json_response({"error": f'Pending user with email "{email}" not found'})
    return web.json_response({"username": user.username})
