"""The wire variants: the same answers, in the types other clients of the real service saw.

One client's fixtures carry ``evseState`` as the string ``"3"``; the one client-side schema
of the service types a dozen fields differently from this project's (see
``docs/service-notes.md``, "Types on the wire"). With ``Realism(wire_variants=True)`` the
emulator rewrites every GraphQL answer and subscription event so:

* :data:`AS_STRING` fields are sent as strings (numbers as ``"3"``, booleans as ``"1"`` or
  ``"0"``);
* :data:`AS_FLOAT` fields are sent as floats (``32.0``; booleans as ``1.0`` or ``0.0``),
  LoRa ``rssi`` included;
* keys whose value is null are left out (a liberal client reads both as "not reported");
* every ``DeviceStatus`` and ``DeviceInfo`` object gains :data:`UNKNOWN_KEYS`, fields a
  newer service might add, some null.

Opaque JSON values (``loraDevices``, ``deviceCalculatedPowerLogsBinned``) are left alone:
they have no schema to vary from. Timestamps are strings already.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["AS_FLOAT", "AS_STRING", "UNKNOWN_KEYS", "vary"]

#: Fields sent as strings in the variant form.
AS_STRING: Final = frozenset(
    {
        "evseState",
        "lastEventAge",
        "evseResponseTime",
        "sysProductId",
        "sysButton",
        "sysFaultCode",
        "cfgCTConfig",
        "sysSchDSORandom",
        "sysAdaptiveFuse",
        "sysOtaUpdate",
        "sysSchSet",
    }
)
#: Fields sent as floats in the variant form.
AS_FLOAT: Final = frozenset(
    {"cfgChargeAmpMax", "cfgChargeAmpMin", "cfgAFAmpMax", "sysSolarCT", "sysGridCT", "rssi"}
)
#: Keys added to every status and info object: what a newer service might send.
UNKNOWN_KEYS: Final = {"sysFutureReading": None, "cfgFutureSetting": "enabled"}
_OPAQUE: Final = frozenset({"loraDevices", "deviceCalculatedPowerLogsBinned"})
_MARKERS: Final = frozenset({"evseState", "sysUserLock", "friendlyName", "online"})


def vary(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """A GraphQL ``data`` object in the variant form (its root fields all kept, null or not)."""
    if data is None:
        return None
    return {key: _vary(value) for key, value in data.items()}


def _vary(value: Any) -> Any:
    if isinstance(value, list):
        return [_vary(item) for item in value]
    if not isinstance(value, dict):
        return value
    varied: dict[str, Any] = {}
    for key, item in value.items():
        if item is None:
            continue
        if key in _OPAQUE:
            varied[key] = item
        elif key in AS_STRING:
            varied[key] = _as_string(item)
        elif key in AS_FLOAT:
            varied[key] = _as_float(item)
        else:
            varied[key] = _vary(item)
    if not _MARKERS.isdisjoint(value):
        varied |= UNKNOWN_KEYS
    return varied


def _as_string(value: object) -> object:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    return value


def _as_float(value: object) -> object:
    if isinstance(value, bool | int):
        return float(value)
    return value
