"""Time and schedules of a simulated charger: local time, and the five schedule slots.

A charger decides whether a schedule holds it by its local time (``timeZoneRegion``,
UK time when unknown); a slot is a daily window on given days, and a window whose end is
before its start runs past midnight.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from andersen_ev.testing.sample_data import InputError

__all__ = [
    "DAYS",
    "DEFAULT_SLOTS",
    "SLOT_KEYS",
    "ScheduleSlot",
    "in_window",
    "local_time",
    "minutes_of_day",
    "whole",
]

_LOG = logging.getLogger(__name__)

DAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SLOT_KEYS: Final = tuple(f"sch{n}" for n in range(5))
_TIME_LOCAL = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


# -- time zones ---------------------------------------------------------------------------


def _last_sunday(year: int, month: int) -> datetime:
    day = datetime(year, month + 1, 1, 1, tzinfo=UTC) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() - 6) % 7)


def _british_time(moment: datetime) -> tuple[datetime, bool]:
    """UK civil time (GMT, or BST from the last Sunday of March to that of October)."""
    start, end = _last_sunday(moment.year, 3), _last_sunday(moment.year, 10)
    summer = start <= moment < end
    local = moment.astimezone(UTC) + timedelta(hours=1 if summer else 0)
    return local.replace(tzinfo=None), summer


@cache
def _zone(region: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(region)
    except (ZoneInfoNotFoundError, ValueError):
        _LOG.warning("unknown time zone %r: using UK time (the Andersen market)", region)
        return None


# the chargers' default zone (device_fields.py) is read here, at import, rather than in an
# event loop's first status
_zone("Europe/London")


def local_time(moment: datetime, region: object) -> tuple[datetime, bool]:
    """``moment`` as naive local time in ``region``, and whether summer time is on.

    An unknown region, or a machine without the time zone database, falls back to UK
    time, where Andersen chargers are sold.
    """
    zone = _zone(region) if isinstance(region, str) and region else None
    if zone is None:
        return _british_time(moment)
    local = moment.astimezone(zone)
    return local.replace(tzinfo=None), bool(local.dst())


# -- schedules ------------------------------------------------------------------------------


def in_window(minute: int, start: int, end: int) -> bool:
    """Whether minute-of-day ``minute`` is in the window ``[start, end)``.

    The window wraps past midnight when ``end < start``; ``start == end`` is the whole day.
    """
    if start == end:
        return True
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


def whole(value: object, name: str, low: int, high: int) -> int:
    """``value`` if it is an integer (not a bool) from ``low`` to ``high``.

    Raises:
        InputError: it is not.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    return value


@dataclass(frozen=True)
class ScheduleSlot:
    """One of the five schedule slots: a daily window and the days it applies to.

    A window whose end is before its start runs past midnight (it belongs to the day it
    starts on); a window whose start equals its end covers the whole day.
    """

    start_hour: int = 0
    start_minute: int = 0
    end_hour: int = 0
    end_minute: int = 0
    enabled: bool = False
    days: tuple[bool, ...] = (True,) * 7
    """Monday first."""

    @classmethod
    def from_wire(cls, slot: Mapping[str, Any], name: str = "slot") -> ScheduleSlot:
        """Build a slot from a ``ScheduleSlotInput``/``ScheduleSlot`` object.

        Raises:
            InputError: hours outside 0-23, minutes outside 0-59, or missing keys.
        """
        if not isinstance(slot, Mapping):
            raise InputError(f"{name} must be an object, got {slot!r}")
        day_map = slot.get("dayMap")
        if not isinstance(day_map, Mapping):
            raise InputError(f"{name}.dayMap must be an object, got {day_map!r}")
        return cls(
            start_hour=whole(slot.get("startHour"), f"{name}.startHour", 0, 23),
            start_minute=whole(slot.get("startMinute"), f"{name}.startMinute", 0, 59),
            end_hour=whole(slot.get("endHour"), f"{name}.endHour", 0, 23),
            end_minute=whole(slot.get("endMinute"), f"{name}.endMinute", 0, 59),
            enabled=bool(slot.get("enabled")),
            days=tuple(bool(day_map.get(day)) for day in DAYS),
        )

    def to_wire(self) -> dict[str, Any]:
        """The ``ScheduleSlot`` object."""
        return {
            "startHour": self.start_hour,
            "startMinute": self.start_minute,
            "endHour": self.end_hour,
            "endMinute": self.end_minute,
            "enabled": self.enabled,
            "dayMap": dict(zip(DAYS, self.days, strict=True)),
        }

    def sys_string(self) -> str:
        """The ``sysSchN`` string: ``enabled,start,end,days`` e.g. ``1,00:30,04:30,1111100``.

        The device's own encoding has not been observed; this one is the emulator's.
        """
        days = "".join("1" if day else "0" for day in self.days)
        return (
            f"{int(self.enabled)},{self.start_hour:02d}:{self.start_minute:02d},"
            f"{self.end_hour:02d}:{self.end_minute:02d},{days}"
        )

    @property
    def is_set(self) -> bool:
        """True when the window is not the blank 00:00-00:00 every day."""
        return self != ScheduleSlot(enabled=self.enabled)

    def covers(self, local: datetime) -> bool:
        """Whether the window contains the local time ``local`` (the enabled flag aside)."""
        minute = local.hour * 60 + local.minute
        start = self.start_hour * 60 + self.start_minute
        end = self.end_hour * 60 + self.end_minute
        if start <= end:
            return self.days[local.weekday()] and in_window(minute, start, end)
        # past midnight: the early hours belong to the previous day's window
        today = self.days[local.weekday()] and minute >= start
        return today or (self.days[(local.weekday() - 1) % 7] and minute < end)


DEFAULT_SLOTS: Final = (
    ScheduleSlot(start_hour=0, start_minute=30, end_hour=4, end_minute=30),
    *(ScheduleSlot() for _ in range(4)),
)
"""The slots of a new charger: slot 0 is 00:30-04:30 every day, disabled."""


def minutes_of_day(value: object, name: str) -> int:
    """Minutes since midnight of an ``HH:MM`` (or ``HH:MM:SS``) string.

    Raises:
        InputError: not such a string, or hours/minutes out of range.
    """
    match = _TIME_LOCAL.match(value) if isinstance(value, str) else None
    if match is None:
        raise InputError(f"{name} must look like HH:MM, got {value!r}")
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59 or int(match[3] or 0) > 59:  # noqa: PLR2004 - clock limits
        raise InputError(f"{name} must be a time of day, got {value!r}")
    return hour * 60 + minute
