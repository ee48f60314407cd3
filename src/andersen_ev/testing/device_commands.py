"""Device commands on their way to a simulated charger: queued, then applied in order.

On the real service ``runAEVCommand`` (and ``setSchedules``, ``setAllSchedulesDisabled``,
``setSolar``) only queues the command; the charger applies it a second or two later, and
clients wait ~1.5 s before reading the status back (see ``docs/service-notes.md``). The
emulator does the same: each command gets a delay from the cloud (its
:class:`DeviceLink`), and is applied once that delay has passed

* on the charger's simulated clock (a test's ``cloud.advance(2)`` lands it at once), or
* in real time, when the cloud *ripens* it (so a program that nobody advances the clock
  for still sees its command land, as it would in production).

Commands are applied in the order they were sent, and only while the charger is online:
those that came due while it was offline are applied as soon as it is back.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from andersen_ev.testing.charger_commands import DeviceCommands

__all__ = ["IMMEDIATE", "CommandQueue", "DeviceLink", "PendingCommand"]


@dataclass
class PendingCommand:
    """A device command sent but not yet applied by the charger."""

    seq: int
    """Order of sending, from 1 (per charger)."""
    name: str
    """The mutation or function: ``userLock``, ``setSchedules``, ``setSolar`` ..."""
    action: Callable[[], None]
    due_us: int
    """When it is applied, in microseconds on the charger's clock."""
    ripe: bool = False
    """Its delay has passed in real time: apply it whatever the simulated clock says."""


class DeviceLink(Protocol):
    """What a charger asks the cloud about the way commands reach it."""

    def command_delay(self) -> float:
        """Seconds the next device command takes to be applied (0: at once)."""

    def command_queued(
        self, charger: DeviceCommands, command: PendingCommand, delay: float
    ) -> None:
        """``command`` was queued on ``charger``, to be applied after ``delay`` seconds."""


class _Immediate:
    """The link of a charger outside a cloud: every command is applied at once."""

    def command_delay(self) -> float:
        """No delay."""
        return 0.0

    def command_queued(
        self, charger: DeviceCommands, command: PendingCommand, delay: float
    ) -> None:
        """Nothing to arrange: the charger applies due commands itself."""


#: Commands applied at once (while online): the link of a charger built on its own.
IMMEDIATE: DeviceLink = _Immediate()


class CommandQueue:
    """The device commands of one charger, oldest first; due times never go backwards."""

    def __init__(self) -> None:
        self._pending: deque[PendingCommand] = deque()
        self._numbers = itertools.count(1)

    def __len__(self) -> int:
        return len(self._pending)

    def __iter__(self) -> Iterator[PendingCommand]:
        return iter(self._pending)

    def push(self, name: str, action: Callable[[], None], due_us: int) -> PendingCommand:
        """Queue a command due at ``due_us`` (or with the previous one, if that is later)."""
        if self._pending:
            due_us = max(due_us, self._pending[-1].due_us)
        command = PendingCommand(next(self._numbers), name, action, due_us)
        self._pending.append(command)
        return command

    def ripen(self, seq: int) -> None:
        """Mark command ``seq`` and every command before it as due in real time."""
        for command in self._pending:
            if command.seq <= seq:
                command.ripe = True

    def next_due_us(self) -> int | None:
        """When the oldest command is due (None: nothing queued)."""
        return self._pending[0].due_us if self._pending else None

    def last_due_us(self) -> int | None:
        """When the newest command is due (None: nothing queued)."""
        return self._pending[-1].due_us if self._pending else None

    def take_ready(self, now_us: int) -> list[PendingCommand]:
        """Remove and return the commands at the head that are due at ``now_us`` or ripe."""
        ready: list[PendingCommand] = []
        while self._pending and (self._pending[0].ripe or self._pending[0].due_us <= now_us):
            ready.append(self._pending.popleft())
        return ready
