"""Fault knobs and counters: how tests make the emulated cloud misbehave, and watch it.

A test sets a knob (``cloud.faults.fail_http(2)``) and the next requests feel it; counters in
:class:`CloudStats` say what the emulator saw (requests per operation, refreshes, websocket
connections, subscriptions started and stopped), so tests assert on behaviour observed at
the server rather than on the client's own account of it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["CloudStats", "Faults", "HttpFault"]


@dataclass(frozen=True)
class HttpFault:
    """One injected HTTP failure: the status to answer and the headers to send."""

    status: int
    headers: dict[str, str]


@dataclass
class Faults:
    """Pending faults. Each ``next N`` knob is consumed one request (or connect) at a time."""

    http_failures: int = 0
    """Answer the next N GraphQL HTTP requests with :attr:`http_failure_status`."""
    http_failure_status: int = 503
    rate_limited: int = 0
    """Answer the next N GraphQL HTTP requests with 429 and ``Retry-After``."""
    retry_after: float = 1.0
    """Seconds sent in ``Retry-After`` with an injected 429."""
    latency: float = 0.0
    """Seconds added before every HTTP answer and every websocket message sent."""
    refused_websockets: int = 0
    """Refuse the next N websocket handshakes (HTTP 503)."""
    malformed_frames: int = 0
    """Replace the next N subscription data frames with a frame that is not JSON."""
    malformed_replies: int = 0
    """Answer the next N GraphQL HTTP requests with a body that does not fit the schema."""
    cognito_throttled: int = 0
    """Answer the next N Cognito calls with ``TooManyRequestsException``."""

    def fail_http(self, count: int = 1, *, status: int = 503) -> None:
        """Answer the next ``count`` GraphQL HTTP requests with HTTP ``status`` (a 5xx)."""
        self.http_failures, self.http_failure_status = count, status

    def rate_limit(self, count: int = 1, *, retry_after: float = 1.0) -> None:
        """Answer the next ``count`` GraphQL HTTP requests with 429 and ``Retry-After``."""
        self.rate_limited, self.retry_after = count, retry_after

    def refuse_websockets(self, count: int = 1) -> None:
        """Refuse the next ``count`` websocket connects."""
        self.refused_websockets = count

    def send_malformed_frames(self, count: int = 1) -> None:
        """Make the next ``count`` subscription data frames unparsable."""
        self.malformed_frames = count

    def corrupt_replies(self, count: int = 1) -> None:
        """Make the next ``count`` GraphQL HTTP replies not fit the schema."""
        self.malformed_replies = count

    def throttle_cognito(self, count: int = 1) -> None:
        """Answer the next ``count`` Cognito calls with ``TooManyRequestsException``."""
        self.cognito_throttled = count

    def take_http_fault(self) -> HttpFault | None:
        """Consume and return the next pending HTTP fault, if any (5xx before 429)."""
        if self.http_failures > 0:
            self.http_failures -= 1
            return HttpFault(self.http_failure_status, {})
        if self.rate_limited > 0:
            self.rate_limited -= 1
            seconds = self.retry_after
            value = str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
            return HttpFault(429, {"Retry-After": value})
        return None

    def take(self, knob: str) -> bool:
        """Consume one unit of a counting knob (e.g. ``"refused_websockets"``); False if none."""
        remaining: int = getattr(self, knob)
        if remaining <= 0:
            return False
        setattr(self, knob, remaining - 1)
        return True

    def clear(self) -> None:
        """Cancel every pending fault and remove latency."""
        defaults = Faults()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(defaults, name))


@dataclass
class CloudStats:
    """What the emulator observed. Tests read these; nothing in the emulator depends on them."""

    graphql_requests: Counter[str] = field(default_factory=Counter)
    """GraphQL HTTP requests per operation name (``"<anonymous>"`` when unnamed)."""
    cognito_calls: Counter[str] = field(default_factory=Counter)
    """Cognito calls per operation (``InitiateAuth:USER_SRP_AUTH``, ``ConfirmDevice`` ...)."""
    lookups: int = 0
    """``/get-pending-user`` requests."""
    legacy_requests: int = 0
    """``GET /api/getDevices`` requests (the legacy REST device list)."""
    websocket_connects: int = 0
    """Websocket connections accepted (handshake completed)."""
    websockets_open: int = 0
    """Websocket connections open right now."""
    subscriptions_started: int = 0
    """Subscriptions started (``start`` / ``subscribe`` accepted)."""
    subscriptions_stopped_by_client: int = 0
    """Subscriptions the client ended (``stop`` / ``complete``)."""
    faults_injected: Counter[str] = field(default_factory=Counter)
    """Faults actually delivered, per kind."""

    @property
    def refreshes(self) -> int:
        """Token refreshes (InitiateAuth with REFRESH_TOKEN_AUTH or REFRESH_TOKEN)."""
        return (
            self.cognito_calls["InitiateAuth:REFRESH_TOKEN_AUTH"]
            + self.cognito_calls["InitiateAuth:REFRESH_TOKEN"]
        )

    @property
    def http_requests(self) -> int:
        """All GraphQL HTTP requests."""
        return sum(self.graphql_requests.values())
