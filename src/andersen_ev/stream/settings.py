"""How a stream is tuned (:class:`StreamSettings`) and how to watch it (state and stats).

Shared by the connection (which counts pings, dead and malformed connections) and the
manager (which owns them and reports the state).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from andersen_ev.batch import BATCH_LIMIT
from andersen_ev.exceptions import InvalidInputError
from andersen_ev.retry import backoff_delay

__all__ = [
    "DEFAULT_PENDING",
    "MIN_PENDING",
    "StateCallback",
    "StreamSettings",
    "StreamState",
    "StreamStats",
]

#: The least ``max_pending``: coalescing leaves up to two statuses per device (a snapshot
#: and the latest update after it), so a bound of four keeps compaction rare.
MIN_PENDING: Final = 4
#: The default ``max_pending``.
DEFAULT_PENDING: Final = 64
_MAX_DOUBLINGS: Final = 64


class StreamState(StrEnum):
    """Where the session's websocket stands."""

    CLOSED = "closed"
    """No websocket: nobody is subscribed, or the session is closed."""
    CONNECTING = "connecting"
    """Opening the first connection for the current consumers."""
    CONNECTED = "connected"
    """The server acknowledged the connection: live events flow."""
    RECONNECTING = "reconnecting"
    """Live events do not flow: the connection was lost (waiting out the backoff, or opening
    a new one), or it is suspect (a ping unanswered for ``suspect_after``): back to
    ``CONNECTED`` when the server answers, reconnecting when it stays silent."""


StateCallback = Callable[[StreamState], object]
"""Called with the new :class:`StreamState` on every change (synchronously: do not block)."""


@dataclass(frozen=True, kw_only=True)
class StreamSettings:
    """How streams reconnect, detect dead connections and resync (seconds, counts).

    A connection that dies silently (no close, no reset: a half-open TCP connection) is
    noticed at worst :attr:`worst_detection` seconds after its last frame (20 s with the
    defaults), in both subprotocols, and reported as ``RECONNECTING`` from
    ``ping_interval + suspect_after`` (13 s) on.

    Attributes:
        backoff: Upper bound of the first reconnect delay; doubles with each consecutive
            failure (full jitter: the delay is uniform between 0 and the bound).
        max_backoff: Cap of the reconnect delay. A connection that stayed up at least this
            long starts the backoff over; one that failed sooner keeps doubling it.
        ping_interval: Seconds without a frame from the server before a ping is sent (a
            ``ping`` message in ``graphql-transport-ws``, a websocket ping in ``graphql-ws``,
            whose protocol has none). Any frame answers it.
        suspect_after: Seconds a ping may go unanswered before the connection is suspect:
            the state becomes ``RECONNECTING`` (back to ``CONNECTED`` if an answer comes).
        keepalive_timeout: Seconds a ping may go unanswered before the connection is dead
            and replaced.
        connect_timeout: Time allowed to open the websocket and get ``connection_ack``.
        snapshot_batch: Devices whose statuses one snapshot request reads (1 to 50).
        snapshot_concurrency: Snapshot requests in flight at once while resyncing.
        max_pending: Statuses per device that may wait for a consumer that does not keep
            up; beyond that its statuses are coalesced (the latest complete status of each
            device is kept, snapshots are never lost), so its memory stays bounded.
    """

    backoff: float = 1.0
    max_backoff: float = 60.0
    ping_interval: float = 10.0
    suspect_after: float = 3.0
    keepalive_timeout: float = 10.0
    connect_timeout: float = 20.0
    snapshot_batch: int = BATCH_LIMIT
    snapshot_concurrency: int = 8
    max_pending: int = DEFAULT_PENDING

    def __post_init__(self) -> None:
        if self.backoff < 0 or self.max_backoff < 0:
            raise InvalidInputError("StreamSettings backoff delays must not be negative")
        for name in ("ping_interval", "suspect_after", "keepalive_timeout", "connect_timeout"):
            if getattr(self, name) <= 0:
                raise InvalidInputError(f"StreamSettings.{name} must be positive")
        if self.snapshot_concurrency < 1:
            raise InvalidInputError("StreamSettings.snapshot_concurrency must be at least 1")
        if not 1 <= self.snapshot_batch <= BATCH_LIMIT:
            raise InvalidInputError(
                f"StreamSettings.snapshot_batch must be between 1 and {BATCH_LIMIT}"
            )
        if self.max_pending < MIN_PENDING:
            raise InvalidInputError(f"StreamSettings.max_pending must be at least {MIN_PENDING}")

    @property
    def worst_detection(self) -> float:
        """Seconds after its last frame by which a silent connection is given up, at worst."""
        return self.ping_interval + self.keepalive_timeout

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failures (1 for the first)."""
        # a stream retries for ever: past this many doublings the cap is reached anyway,
        # and 2 ** failures would overflow a float after about a thousand failures
        return backoff_delay(min(failures, _MAX_DOUBLINGS), self.backoff, self.max_backoff)


@dataclass
class StreamStats:
    """What the stream manager has seen since it was created (for diagnostics)."""

    connects: int = 0
    """Connections the server acknowledged."""
    events: int = 0
    """Live events received (each counted once, however many consumers got it)."""
    snapshots: int = 0
    """Device statuses read as snapshots after a (re)connect or for a new consumer."""
    malformed_frames: int = 0
    """Frames that were not JSON or did not fit the protocol (each cost a reconnect)."""
    keepalive_timeouts: int = 0
    """Connections given up as dead: a ping unanswered for ``keepalive_timeout``."""
    suspects: int = 0
    """Times a connection became suspect: a ping unanswered for ``suspect_after``."""
    pings: int = 0
    """Pings sent after a silence of ``ping_interval`` (both subprotocols)."""
    auth_refusals: int = 0
    """Connections the server refused for their token (each answered by a refresh)."""
    snapshot_requests: int = 0
    """Requests that read snapshots (each reads up to ``snapshot_batch`` devices)."""
    coalesced: int = 0
    """Statuses replaced by a later one before a consumer took them (slow consumers), or
    events folded together while a snapshot was on its way."""
