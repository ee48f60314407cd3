"""How ``andersen-ev`` shows things: JSON for programs, aligned text for people."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final, TextIO

from pydantic import BaseModel

from andersen_ev.models import DayMap, Device, DeviceStatus, EvseState, Schedule, ScheduleSlot

__all__ = [
    "days_text",
    "device_data",
    "duration_text",
    "model_data",
    "slot_text",
    "state_text",
    "status_lines",
    "table",
    "watch_fields",
    "watch_line",
    "write_json",
]

_DAY_NAMES: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_FIELDS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAYS: Final = (True,) * 5 + (False,) * 2
_STATES: Final = {
    EvseState.READY: "ready (no car connected)",
    EvseState.CONNECTED: "car connected, not charging",
    EvseState.CHARGING: "charging",
    EvseState.SLEEPING: "asleep",
}


def model_data(model: BaseModel) -> dict[str, Any]:
    """A model as JSON-ready data: snake_case keys, unset fields left out."""
    return model.model_dump(mode="json", exclude_none=True)


def write_json(out: TextIO, value: Any) -> None:
    """Write ``value`` as indented JSON and a newline."""
    out.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], right: str = "") -> str:
    """Rows as aligned columns under a header; columns named in ``right`` align right."""
    body = [list(row) for row in rows]
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *body, strict=True)]
    lines = []
    for row in [list(headers), *body]:
        cells = [
            cell.rjust(width) if header in right.split(",") else cell.ljust(width)
            for header, cell, width in zip(headers, row, widths, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def state_text(status: DeviceStatus) -> str:
    """The charger's state in words (``locked``, ``charging`` ...)."""
    state = status.evse_state
    if state is None:
        return "unknown"
    if state is EvseState.DISABLED:
        if status.sys_user_lock:
            return "locked"
        if status.sys_schedule_lock:
            return "waiting for a schedule"
        return "disabled"
    if state is EvseState.ERROR:
        return f"fault (code {status.sys_fault_code})"
    return _STATES.get(state, f"unknown state {int(state)}")


def duration_text(seconds: float | None) -> str:
    """Seconds as ``H:MM:SS`` (``-`` when unknown)."""
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def _number(value: float | None, unit: str, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f} {unit}"


def _yes(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "-"}[value]


def _time(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M %Z").strip()


def days_text(day_map: DayMap | None) -> str:
    """The days of a schedule in words (``every day``, ``weekdays``, ``Mon Wed``)."""
    if day_map is None:
        return "-"
    days = tuple(getattr(day_map, name) for name in _DAY_FIELDS)
    if all(days):
        return "every day"
    if days == _WEEKDAYS:
        return "weekdays"
    if days == tuple(not day for day in _WEEKDAYS):
        return "weekends"
    if not any(days):
        return "no days"
    return " ".join(name for name, on in zip(_DAY_NAMES, days, strict=True) if on)


def _clock(hour: int | None, minute: int | None) -> str:
    return "--:--" if hour is None or minute is None else f"{hour:02d}:{minute:02d}"


def slot_text(slot: ScheduleSlot | Schedule) -> str:
    """``00:30-04:30 every day``."""
    start = _clock(slot.start_hour, slot.start_minute)
    end = _clock(slot.end_hour, slot.end_minute)
    return f"{start}-{end} {days_text(slot.day_map)}"


def _schedules_text(status: DeviceStatus) -> str:
    enabled = [
        f"slot {number} {slot_text(slot)}"
        for number, slot in enumerate(status.schedules)
        if slot is not None and slot.enabled
    ]
    if not enabled:
        return "none enabled"
    held = "; holding charging now" if status.sys_schedule_lock else ""
    return ", ".join(enabled) + held


def status_lines(device: Device, status: DeviceStatus) -> list[str]:
    """The status of one charger as labelled lines, for ``status`` and the demo."""
    session = status.charge_status
    energy = session.charge_energy_total if session else None
    started = f", started {_time(session.start)}" if session and session.start else ""
    solar = (
        f"override {'on' if status.solar_override else 'off'}, charge always"
        f" {'on' if status.solar_charge_always else 'off'}, grid share"
        f" {status.solar_max_grid_charge_percent} %"
        if status.solar_max_grid_charge_percent is not None
        else "-"
    )
    rows = [
        ("state", state_text(status)),
        ("online", _yes(status.online)),
        ("locked", _yes(status.sys_user_lock)),
        ("schedules", _schedules_text(status)),
        ("power", _number(status.charge_power, "kW", 2)),
        (
            "session",
            f"{_number(energy, 'kWh', 3)} in {duration_text(session.duration if session else None)}"
            f"{started}",
        ),
        ("solar", solar),
    ]
    title = device.friendly_name or device.name or device.id
    return [f"{title} ({device.id})", *(f"  {label:<10} {value}" for label, value in rows)]


def watch_fields(status: DeviceStatus) -> str:
    """What ``watch`` shows of a status: state, power, session energy and duration."""
    session = status.charge_status
    return (
        f"{state_text(status):<28} "
        f"{_number(status.charge_power, 'kW', 2):>9}  "
        f"{_number(session.charge_energy_total if session else None, 'kWh', 3):>11}  "
        f"{duration_text(session.duration if session else None):>8}"
    )


def watch_line(status: DeviceStatus, when: datetime) -> str:
    """One line of ``watch``: the time, then :func:`watch_fields`."""
    return f"{when:%H:%M:%S}  {watch_fields(status)}"


def device_data(device: Device) -> dict[str, Any]:
    """A charger as JSON-ready data, its name in the app first (``friendly_name``).

    ``name`` is the device name printed on the unit, as in the library's model.
    """
    named = {"friendly_name": device.friendly_name} if device.friendly_name else {}
    return {"id": device.id, **named, **model_data(device)}
