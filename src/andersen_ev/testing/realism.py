"""How unkind the emulator is: the real service's habits it imitates, each with a knob.

The emulator is no kinder than production by default (``AndersenCloud()`` and
``andersen-ev emulator``): device commands land a second or two late, ``getSolar`` is
stale, device mutations answer null, the legacy REST list sometimes lacks ``userLock``.
``Realism.off()`` (``AndersenCloud(realism=False)``, ``andersen-ev emulator --kind``) is
the kind emulator of old: everything at once and as typed. The wire variants (strings
for numbers, floats for integers, missing and unknown keys) are off unless asked for, or
unless the environment variable :data:`WIRE_VARIANTS_ENV` is set (``nox -s
tests_wire_variants`` runs the whole suite so). Where each habit comes from is in
``docs/service-notes.md``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

__all__ = ["WIRE_VARIANTS_ENV", "Realism", "SolarQuery", "wire_variants_from_env"]

#: Set to ``1`` (or ``true``/``yes``/``on``), every emulator sends the wire variants.
WIRE_VARIANTS_ENV: Final = "ANDERSEN_EV_EMULATOR_WIRE_VARIANTS"

SolarQuery: TypeAlias = Literal["stale", "null", "live"]
"""What ``getSolar`` answers: the settings as first registered, null, or the live ones."""

_SOLAR_QUERIES: Final = ("stale", "null", "live")
_TRUE: Final = frozenset({"1", "true", "yes", "on"})


def wire_variants_from_env() -> bool:
    """Whether :data:`WIRE_VARIANTS_ENV` asks for the wire variants."""
    return os.environ.get(WIRE_VARIANTS_ENV, "").strip().lower() in _TRUE


@dataclass(frozen=True)
class Realism:
    """The real service's habits the emulator imitates (all on by default, but variants).

    Args:
        command_delay: Seconds a device command (``runAEVCommand``, ``setSchedules``,
            ``setAllSchedulesDisabled``, ``setSolar``) takes to be applied: ``(low,
            high)`` draws each delay uniformly (jitter), a number is fixed, 0 applies
            commands at once.
        real_time_commands: Whether a command also lands once its delay has passed in
            real time, when nobody advances the clock (so ``confirm=`` never waits
            forever on a cloud whose clock stands still). False: only the emulator's
            clock lands it (``cloud.advance``, ``run_in_real_time``).
        get_solar: What ``getSolar`` answers: ``"stale"`` (the settings as they were when
            the charger was added), ``"null"``, or ``"live"`` (the current settings).
        null_command_results: ``setSchedules``, ``setAllSchedulesDisabled`` and
            ``setSolar`` answer null (``runAEVCommand`` answers ``return_value`` null
            either way); False: they answer the device cloud's object.
        legacy_user_lock_gaps: ``GET /api/getDevices`` leaves ``userLock`` out for some
            chargers (decided by the device id, or by ``Charger.legacy_user_lock``).
        wire_variants: Send the types other clients saw (numbers as strings, floats for
            integers, booleans as strings or floats), leave out null keys and add unknown
            ones. Off by default unless :data:`WIRE_VARIANTS_ENV` is set.
        seed: Seed of the delays' jitter (None: a different run each time).

    Raises:
        ValueError: a negative or reversed delay, or an unknown ``get_solar``.
    """

    command_delay: tuple[float, float] | float = (1.0, 2.0)
    real_time_commands: bool = True
    get_solar: SolarQuery = "stale"
    null_command_results: bool = True
    legacy_user_lock_gaps: bool = True
    wire_variants: bool = field(default_factory=wire_variants_from_env)
    seed: int | None = None

    def __post_init__(self) -> None:
        delay = self.command_delay
        low, high = (delay, delay) if isinstance(delay, int | float) else delay
        low, high = float(low), float(high)
        if not 0 <= low <= high:
            raise ValueError(f"command_delay must be 0 <= low <= high seconds, got {delay!r}")
        object.__setattr__(self, "command_delay", (low, high))
        if self.get_solar not in _SOLAR_QUERIES:
            raise ValueError(f"get_solar must be one of {_SOLAR_QUERIES}, got {self.get_solar!r}")

    @property
    def delay_range(self) -> tuple[float, float]:
        """``command_delay`` as ``(low, high)`` seconds."""
        delay = self.command_delay
        assert isinstance(delay, tuple)  # noqa: S101 - normalised in __post_init__
        return delay

    @classmethod
    def off(cls) -> Realism:
        """The kind emulator: commands at once, ``getSolar`` live, objects, one type per field."""
        return cls(
            command_delay=0.0,
            get_solar="live",
            null_command_results=False,
            legacy_user_lock_gaps=False,
            wire_variants=False,
        )

    @classmethod
    def of(cls, value: Realism | bool) -> Realism:
        """``value`` itself, the defaults for True, or :meth:`off` for False."""
        if isinstance(value, Realism):
            return value
        return cls() if value else cls.off()
