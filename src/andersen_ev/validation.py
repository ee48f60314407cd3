"""Argument checks run before anything is sent: bad input never reaches the service.

Each function returns the normalised value or raises
:class:`~andersen_ev.exceptions.InvalidInputError` with a message naming the argument and
the accepted range.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import ValidationError

from andersen_ev.exceptions import InvalidInputError
from andersen_ev.models import SCHEDULE_SLOTS, Schedule

__all__ = [
    "SlotSchedules",
    "check_id",
    "check_percentage",
    "check_schedule",
    "check_slot",
    "check_slots",
]

#: Schedules keyed by slot: ``{0: ...}`` or the seed's ``{"sch0": ...}``. Keys are checked
#: at run time (``Mapping`` keys are invariant: ``int | str`` would refuse a ``dict[int, ...]``).
SlotSchedules = Mapping[Any, Schedule | Mapping[str, Any]]

_SLOT_KEY_PREFIX: Final = "sch"


def check_id(value: object, name: str = "device_id") -> str:
    """A non-empty identifier (surrounding whitespace is an error, not silently trimmed)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{name} must be a non-empty string, got {value!r}")
    if value != value.strip():
        raise InvalidInputError(f"{name} must not start or end with whitespace: {value!r}")
    return value


def check_slot(value: object) -> int:
    """A schedule slot number, 0-4 as in the Konnect+ app."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < SCHEDULE_SLOTS:
        raise InvalidInputError(
            f"slot must be an integer from 0 to {SCHEDULE_SLOTS - 1}, got {value!r}"
        )
    return value


def check_percentage(value: object, name: str = "max_grid_charge_percent") -> int:
    """A whole percentage, 0-100."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:  # noqa: PLR2004
        raise InvalidInputError(f"{name} must be an integer from 0 to 100, got {value!r}")
    return value


def check_schedule(schedule: Schedule | Mapping[str, Any], slot: int | None = None) -> Schedule:
    """A complete schedule, from a :class:`Schedule` or the seed's camelCase dict.

    A :class:`Schedule` is checked again: ``model_copy(update=...)`` and ``model_construct``
    make instances pydantic never validated.
    """
    where = f" for slot {slot}" if slot is not None else ""
    if isinstance(schedule, Schedule):
        fields: dict[str, Any] = schedule.model_dump()
    elif isinstance(schedule, Mapping):
        fields = dict(schedule)
    else:
        raise InvalidInputError(
            f"schedule{where} must be a Schedule or a dict, got {type(schedule).__name__}"
        )
    try:
        return Schedule.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise InvalidInputError(
            f"invalid schedule{where}: {problems} (hours 0-23, minutes 0-59; startHour,"
            " startMinute, endHour and endMinute are required)"
        ) from None


def check_slots(
    slots: SlotSchedules,
) -> dict[str, dict[str, Any]]:
    """A ``ScheduleSlotsInput``: slots keyed ``0``-``4`` or ``"sch0"``-``"sch4"``, all valid.

    Every slot is checked before any is returned, so nothing is half-sent.
    """
    if not isinstance(slots, Mapping) or not slots:
        raise InvalidInputError("slots must be a non-empty mapping of slot number to schedule")
    wire: dict[str, dict[str, Any]] = {}
    items: list[tuple[object, Any]] = list(slots.items())
    for key, schedule in items:
        number: object = key
        if isinstance(key, str) and key.startswith(_SLOT_KEY_PREFIX):
            suffix = key.removeprefix(_SLOT_KEY_PREFIX)
            number = int(suffix) if suffix.isdigit() else key
        slot = check_slot(number)
        name = f"{_SLOT_KEY_PREFIX}{slot}"
        if name in wire:
            raise InvalidInputError(f"slot {slot} is given twice")
        wire[name] = check_schedule(schedule, slot).to_wire()
    return wire
