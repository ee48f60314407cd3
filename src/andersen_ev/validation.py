"""Argument checks run before anything is sent: bad input never reaches the service.

Each function returns the normalised value or raises
:class:`~andersen_ev.exceptions.InvalidInputError` with a message naming the argument and
the accepted range.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Final

from pydantic import ValidationError

from andersen_ev.exceptions import InvalidInputError
from andersen_ev.models import SCHEDULE_SLOTS, Schedule

__all__ = [
    "GROUPS",
    "SlotSchedules",
    "check_amount",
    "check_count",
    "check_date",
    "check_days",
    "check_group_by",
    "check_id",
    "check_percentage",
    "check_schedule",
    "check_schedule_names",
    "check_seconds",
    "check_slot",
    "check_slots",
    "check_text",
]

#: Schedules keyed by slot: ``{0: ...}`` or the seed's ``{"sch0": ...}``. Keys are checked
#: at run time (``Mapping`` keys are invariant: ``int | str`` would refuse a ``dict[int, ...]``).
SlotSchedules = Mapping[Any, Schedule | Mapping[str, Any]]

_SLOT_KEY_PREFIX: Final = "sch"
#: How ``group_by`` bins power logs (values reported by users).
GROUPS: Final = ("HOUR", "DAY", "WEEK", "MONTH")
_WEEK: Final = 7


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


def _number(value: object) -> float | None:
    """A finite int or float as a float, else None (JSON has no NaN or infinity; no bools)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def check_seconds(value: object, name: str = "timeout") -> float:
    """A duration in seconds: a finite number above 0.

    (aiohttp would read 0 or a negative total timeout as "no timeout at all".)
    """
    seconds = _number(value)
    if seconds is None or seconds <= 0:
        raise InvalidInputError(f"{name} must be a positive number of seconds, got {value!r}")
    return seconds


def check_amount(value: object, name: str) -> float:
    """A finite number >= 0 (a price, an energy)."""
    amount = _number(value)
    if amount is None or amount < 0:
        raise InvalidInputError(f"{name} must be a non-negative number, got {value!r}")
    return amount


def check_count(value: object, name: str) -> int | None:
    """None, or a whole number >= 0 (``limit``, ``offset``, ``binned_minutes``)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def check_text(value: object, name: str) -> str | None:
    """None, or a string (sent as it is)."""
    if value is not None and not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string or None, got {type(value).__name__}")
    return value


def check_date(value: object, name: str) -> str | None:
    """None, or a ``Date`` variable: a date or datetime as ISO-8601 text, or text as given."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, date):  # datetime is a date too
        return value.isoformat()
    raise InvalidInputError(
        f"{name} must be a date, a datetime or ISO-8601 text, got {type(value).__name__}"
    )


def check_group_by(value: object) -> str | None:
    """None, or one of :data:`GROUPS` (any case)."""
    if value is None:
        return None
    upper = value.upper() if isinstance(value, str) else value
    if upper not in GROUPS:
        raise InvalidInputError(f"group_by must be one of {', '.join(GROUPS)}, got {value!r}")
    return str(upper)


def check_days(days: object) -> list[bool]:
    """Seven booleans, Monday first; None means every day."""
    if days is None:
        return [True] * _WEEK
    chosen = list(days) if isinstance(days, Iterable) and not isinstance(days, str) else None
    if chosen is None or len(chosen) != _WEEK or not all(isinstance(d, bool) for d in chosen):
        raise InvalidInputError("days must be seven booleans, Monday first")
    return chosen


def check_schedule_names(names: object) -> dict[str, str]:
    """``setScheduleNames`` variables from ``{slot: name}`` or a sequence indexed by slot.

    None in a sequence (or as a name) skips that slot; at least one name must remain.
    """
    if isinstance(names, Mapping):
        pairs: Iterable[tuple[object, object]] = names.items()
    elif isinstance(names, Iterable) and not isinstance(names, str):
        pairs = enumerate(names)
    else:
        raise InvalidInputError(
            "names must be a mapping of slot number to name, or a sequence indexed by slot"
        )
    variables: dict[str, str] = {}
    for slot_number, name in pairs:
        slot = check_slot(slot_number)
        if name is not None:
            if not isinstance(name, str):
                raise InvalidInputError(f"schedule name for slot {slot} must be a string")
            variables[f"schedule{slot}Name"] = name
    if not variables:
        raise InvalidInputError("names must give at least one schedule name")
    return variables
