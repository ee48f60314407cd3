"""A plan's windows as the charger's schedule slots (local time, one weekday each)."""

from __future__ import annotations

from datetime import UTC, tzinfo
from typing import Final
from zoneinfo import ZoneInfo

from andersen_ev.exceptions import InvalidInputError
from andersen_ev.models import DayMap, Schedule
from andersen_ev.planning.models import ChargePlan, ChargeWindow
from andersen_ev.planning.timeline import DAY_MINUTES, MINUTE, is_whole_minute

__all__ = ["plan_schedules", "window_schedule"]

_DAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def window_schedule(window: ChargeWindow, zone: tzinfo) -> Schedule:
    """The schedule slot that charges through ``window``, in the local time of ``zone``.

    The slot runs from the clock time of the window's first minute to one minute after that
    of its last (so a window ending as the clocks go back ends at 02:00, not at the 01:00
    the clock then shows), on the window's weekday only. A window ending at local midnight
    ends at 00:00; one filling a whole local day is 00:00 to 00:00 (the emulator's reading
    of start = end). The window must lie within one local day and start and end on whole
    minutes, as the windows of :func:`~andersen_ev.planning.plan_charging` do.

    Raises:
        InvalidInputError: the window crosses local midnight or is not in whole minutes.
    """
    if not (is_whole_minute(window.start) and is_whole_minute(window.end)):
        raise InvalidInputError(
            f"the window {window.start.isoformat()} to {window.end.isoformat()} does not start"
            " and end on whole minutes, as schedule slots do"
        )
    start = window.start.astimezone(zone)
    # in UTC: arithmetic on a datetime with a ZoneInfo is wall-clock arithmetic
    last = (window.end.astimezone(UTC) - MINUTE).astimezone(zone)
    if start.date() != last.date():
        raise InvalidInputError(
            f"the window {start.isoformat()} to {window.end.astimezone(zone).isoformat()}"
            " crosses local midnight: split it there, one slot per day"
        )
    end_hour, end_minute = divmod((last.hour * 60 + last.minute + 1) % DAY_MINUTES, 60)
    return Schedule(
        start_hour=start.hour,
        start_minute=start.minute,
        end_hour=end_hour,
        end_minute=end_minute,
        enabled=True,
        day_map=DayMap.model_validate({_DAYS[start.weekday()]: True}),
    )


def plan_schedules(plan: ChargePlan) -> tuple[Schedule, ...]:
    """The schedule slots that carry out ``plan``, one per window, in the plan's time zone.

    Apply them from ``plan.not_before`` and put the previous schedules back at
    ``plan.ready_by``: they repeat every week.
    """
    zone = ZoneInfo(plan.time_zone)
    return tuple(window_schedule(window, zone) for window in plan.windows)
