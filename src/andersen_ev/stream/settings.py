"""How a stream is tuned (:class:`StreamSettings`) and how to watch it (state and stats).

Shared by the connection (which counts pings, dead and malformed connections) and the
manager (which owns them and reports the state).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from andersen_ev.exceptions import InvalidInputError
from andersen_ev.retry import backoff_delay

__all__ = ["StateCallback", "StreamSettings", "StreamState", "StreamStats"]


class StreamState(StrEnum):
    """Where the session's websocket stands."""

    CLOSED = "closed"
    """No websocket: nobody is subscribed, or the session is closed."""
    CONNECTING = "connecting"
    """Opening the first connection for the current consumers."""
    CONNECTED = "connected"
    """The server acknowledged the connection: live events flow."""
    RECONNECTING = "reconnecting"
    """The connection was lost: waiting out the backoff, or opening a new one."""


StateCallback = Callable[[StreamState], object]
"""Called with the new :class:`StreamState` on every change (synchronously: do not block)."""


@dataclass(frozen=True, kw_only=True)
class StreamSettings:
    """How streams reconnect and detect dead connections (seconds).

    Attributes:
        backoff: Upper bound of the first reconnect delay; doubles with each consecutive
            failure (full jitter: the delay is uniform between 0 and the bound).
        max_backoff: Cap of the reconnect delay. A connection that stayed up at least this
            long starts the backoff over; one that failed sooner keeps doubling it.
        keepalive_timeout: Silence (``graphql-ws``, after a first ``ka``) or time without
            an answer to a ping (``graphql-transport-ws``) after which the connection is dead.
        ping_interval: ``graphql-transport-ws``: seconds without a message before a ``ping``.
        connect_timeout: Time allowed to open the websocket and get ``connection_ack``.
        snapshot_concurrency: Snapshot queries in flight at once while resyncing.
    """

    backoff: float = 1.0
    max_backoff: float = 60.0
    keepalive_timeout: float = 30.0
    ping_interval: float = 15.0
    connect_timeout: float = 20.0
    snapshot_concurrency: int = 8

    def __post_init__(self) -> None:
        if self.backoff < 0 or self.max_backoff < 0:
            raise InvalidInputError("StreamSettings backoff delays must not be negative")
        for name in ("keepalive_timeout", "ping_interval", "connect_timeout"):
            if getattr(self, name) <= 0:
                raise InvalidInputError(f"StreamSettings.{name} must be positive")
        if self.snapshot_concurrency < 1:
            raise InvalidInputError("StreamSettings.snapshot_concurrency must be at least 1")

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failures (1 for the first)."""
        return backoff_delay(failures, self.backoff, self.max_backoff)


@dataclass
class StreamStats:
    """What the stream manager has seen since it was created (for diagnostics)."""

    connects: int = 0
    """Connections the server acknowledged."""
    events: int = 0
    """Live events received (each counted once, however many consumers got it)."""
    snapshots: int = 0
    """Snapshots read after a (re)connect or a new consumer."""
    malformed_frames: int = 0
    """Frames that were not JSON or did not fit the protocol (each cost a reconnect)."""
    keepalive_timeouts: int = 0
    """Connections given up as dead for lack of keep-alives or pongs."""
    pings: int = 0
    """Pings sent (``graphql-transport-ws``) after a silence of ``ping_interval``."""
    auth_refusals: int = 0
    """Connections the server refused for their token (each answered by a refresh)."""
