"""When to try again: capped exponential backoff with full jitter, one rule for the library.

Queries (:class:`RetryPolicy`) and stream reconnects
(:class:`~andersen_ev.stream.StreamSettings`) both wait :func:`backoff_delay` between tries, so
that many clients failing at once spread their retries instead of hammering the service
together (the "full jitter" of the AWS Architecture Blog, *Exponential Backoff and Jitter*).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from andersen_ev.exceptions import InvalidInputError
from andersen_ev.validation import check_seconds

__all__ = ["DEFAULT_ATTEMPT_TIMEOUT", "NO_RETRY", "RetryPolicy", "backoff_delay"]

#: Seconds one try of a query may take by default: three stalled tries fit in the
#: default 30 s deadline of a call.
DEFAULT_ATTEMPT_TIMEOUT: Final = 10.0


def backoff_delay(failures: int, backoff: float, max_backoff: float) -> float:
    """Seconds to wait after ``failures`` consecutive failures (1 for the first).

    Uniform between 0 and ``backoff * 2 ** (failures - 1)``, capped at ``max_backoff``.
    """
    ceiling = min(max_backoff, backoff * 2 ** (max(failures, 1) - 1))
    return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How queries are retried: capped exponential backoff with full jitter.

    Mutations are never retried once they may have reached the service, whatever the policy.
    Every try and every wait fits in the call's deadline (its ``timeout=``): a retry that
    would end after it is not started, and the call fails with the last error instead.

    Attributes:
        attempts: Tries in all for a query (1 disables retrying).
        backoff: Upper bound of the first delay, in seconds; doubles each retry.
        max_backoff: Cap of the delay between two tries, in seconds.
        max_retry_after: The longest ``Retry-After`` honoured by waiting; a server asking
            for longer gets a :class:`~andersen_ev.RateLimitedError` at once.
        attempt_timeout: Seconds one try of a query may take at most (None: all that is
            left of the deadline), so that a stalled connection is given up on and the
            next try can be answered. A mutation's one try always has the whole deadline.

    Raises:
        InvalidInputError: ``attempts`` below 1, a negative delay, or an
            ``attempt_timeout`` that is not a positive number of seconds.
    """

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 10.0
    max_retry_after: float = 60.0
    attempt_timeout: float | None = DEFAULT_ATTEMPT_TIMEOUT

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise InvalidInputError(
                "RetryPolicy.attempts must be at least 1 (1 disables retrying),"
                f" got {self.attempts!r}"
            )
        if self.backoff < 0 or self.max_backoff < 0 or self.max_retry_after < 0:
            raise InvalidInputError("RetryPolicy delays must not be negative")
        if self.attempt_timeout is not None:
            check_seconds(self.attempt_timeout, "RetryPolicy.attempt_timeout")

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry).

        At least ``retry_after`` (the server's ``Retry-After``) when one was given.
        """
        return max(backoff_delay(retry, self.backoff, self.max_backoff), retry_after or 0.0)


#: Try once, never again.
NO_RETRY: Final = RetryPolicy(attempts=1)
