"""The emulator's time: every charger's simulated clock, and when device commands land.

The clock stands still unless something moves it:

* a test calls :meth:`CloudClock.advance` (``cloud.advance(60)``): every charger lives
  through that minute at once, and the commands that come due meanwhile are applied at
  their time;
* :meth:`CloudClock.run_in_real_time` keeps it moving with the wall clock (``speed``
  simulated seconds per real second), as the standalone emulator does.

Device commands are applied after the realism's command delay. With
``real_time_commands`` (the default), a command also lands once its delay has passed in
real time, so a program that awaits ``confirm=`` on a cloud nobody advances still sees
it land, a second or two later, as in production. :meth:`CloudClock.settle` and
:meth:`CloudClock.fast_forward` land commands without waiting, by moving the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from andersen_ev.testing.device_commands import PendingCommand
from andersen_ev.testing.realism import Realism

if TYPE_CHECKING:
    from andersen_ev.testing.charger import Charger
    from andersen_ev.testing.charger_commands import DeviceCommands

__all__ = ["CloudClock"]

_LOG = logging.getLogger(__name__)


class CloudClock:
    """The clock of one emulated cloud, and the link through which commands reach chargers.

    Args:
        chargers: The cloud's chargers by id (read when the clock moves).
        realism: The command delay and whether it also runs in real time.
    """

    def __init__(self, chargers: Mapping[str, Charger], realism: Realism) -> None:
        self._chargers = chargers
        self.realism = realism
        self._rng = random.Random(realism.seed)  # noqa: S311 - jitter, not secrets
        self._speed = 0.0
        self._interval = 1.0
        self._ticker: asyncio.Task[None] | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._fast_forward = 0

    # -- moving the clock -------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move every charger's clock forward by ``seconds``.

        Raises:
            ValueError: ``seconds`` is negative.
        """
        if seconds < 0:
            raise ValueError("time only moves forward")
        for charger in list(self._chargers.values()):
            charger.advance(seconds)

    def settle(self) -> float:
        """Advance just far enough for every pending device command to be applied.

        Returns:
            The simulated seconds the clock moved (0: nothing was pending).
        """
        seconds = max((c.seconds_until_applied() for c in self._chargers.values()), default=0.0)
        if seconds > 0:
            self.advance(seconds)
        return seconds

    @contextlib.contextmanager
    def fast_forward(self) -> Iterator[None]:
        """Within the block, every device command lands as soon as it has been answered.

        The clock jumps over each command's delay (what :meth:`settle` does), right after
        the mutation's answer: a test can await ``confirm=`` without waiting in real time.
        """
        self._fast_forward += 1
        try:
            yield
        finally:
            self._fast_forward -= 1

    @property
    def speed(self) -> float:
        """Simulated seconds per real second while running in real time (0: stopped)."""
        return self._speed

    def run_in_real_time(self, *, interval: float = 1.0, speed: float = 1.0) -> None:
        """Keep the clock moving: every ``interval`` seconds, by the time elapsed times ``speed``.

        Calling it again changes the interval and speed; ``speed=0`` stops it. Needs a
        running event loop; stops at :meth:`close`.

        Raises:
            ValueError: a negative speed or a non-positive interval.
        """
        if speed < 0 or interval <= 0:
            raise ValueError("speed must be >= 0 and interval > 0")
        self._speed, self._interval = float(speed), float(interval)
        if speed == 0:
            self._stop_ticker()
        elif self._ticker is None:
            loop = asyncio.get_running_loop()
            self._ticker = loop.create_task(self._tick(), name="andersen-cloud-clock")

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(self._interval)
            now = loop.time()
            self.advance((now - last) * self._speed)
            last = now

    def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    async def close(self) -> None:
        """Stop the real-time clock and forget every timer."""
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    # -- the link to the chargers -----------------------------------------------------------

    def command_delay(self) -> float:
        """Seconds the next device command takes: drawn from the realism's range."""
        low, high = self.realism.delay_range
        return low if high <= low else self._rng.uniform(low, high)

    def command_queued(
        self, charger: DeviceCommands, command: PendingCommand, delay: float
    ) -> None:
        """Arrange for ``command`` to land: fast-forwarded, or after ``delay`` real seconds."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # queued from synchronous test code: only advance() lands it
            return
        if self._fast_forward:
            loop.call_soon(self.settle)
        elif self.realism.real_time_commands:
            timer: asyncio.TimerHandle

            def land() -> None:
                self._timers.discard(timer)
                charger.land(command.seq)

            # in real time at speed S > 1, the emulator's clock reaches the command S times
            # sooner than the wall clock: the timer follows whichever comes first
            timer = loop.call_later(delay / max(self._speed, 1.0), land)
            self._timers.add(timer)
        _LOG.debug("device %s: %s queued, due in %.2f s", charger.id, command.name, delay)
