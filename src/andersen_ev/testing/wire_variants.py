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

:func:`vary` is the one form the emulator sends. :func:`forms` lists every form a value of a
GraphQL scalar type may take on the wire (the service notes' "Types on the wire": integers
as text, padded text or floats; floats as text or exponent form; booleans as 0/1, ``1.0``
or text; timestamps in other ISO-8601 spellings), and :func:`vary_typed` varies a whole
value by its GraphQL type, leaving the choice of each form (and of dropping nulls and
adding unknown keys) to a caller's ``choose``: the library's property tests draw those
choices with hypothesis, and :func:`vary`'s forms are among them (a test checks it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final

from graphql import (
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    get_named_type,
    get_nullable_type,
)

__all__ = ["AS_FLOAT", "AS_STRING", "UNKNOWN_KEYS", "Choose", "forms", "vary", "vary_typed"]

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


# -- every form, by GraphQL type ------------------------------------------------------------------

Choose = Callable[[Sequence[Any]], Any]
"""Picks one of the options it is given (the caller's source of variety)."""

_ONE_HOUR_EAST: Final = timezone(timedelta(hours=1))


def _int_forms(value: int) -> list[object]:
    return [value, str(value), f" {value}\t", float(value), f"{float(value)}"]


def _float_forms(value: float) -> list[object]:
    found: list[object] = [value, repr(value), f" {value!r} ", f"{value:.17e}"]
    if value.is_integer():
        found.append(int(value))
    return found


def _bool_forms(value: bool) -> list[object]:
    word = str(value)
    return [value, int(value), float(value), str(int(value)), word.lower(), word, word.upper()]


def _date_forms(value: str) -> list[object]:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        return [value]
    utc = moment.astimezone(UTC)
    found: list[object] = [
        value,
        utc.isoformat(),
        utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        moment.astimezone(_ONE_HOUR_EAST).isoformat(),
    ]
    if utc.microsecond == 0:
        found.append(int(utc.timestamp()))  # seconds since the epoch
    return found


_FORMS: Final[dict[str, Callable[[Any], list[object]]]] = {
    "Int": _int_forms,
    "Float": _float_forms,
    "Boolean": _bool_forms,
    "Date": _date_forms,
}


def forms(value: object, type_name: str) -> list[object]:
    """Every wire form of ``value``, a canonical value of the GraphQL scalar ``type_name``.

    The canonical value comes first. Types without variants (``String``, ``ID``, ``JSON``)
    and values that do not fit their type have only themselves.
    """
    maker = _FORMS.get(type_name)
    if maker is None or value is None or isinstance(value, bool) != (type_name == "Boolean"):
        return [value]
    if type_name == "Float" and isinstance(value, int):
        value = float(value)
    if not isinstance(value, str | int | float):
        return [value]
    return maker(value)


def vary_typed(value: Any, kind: GraphQLOutputType, choose: Choose) -> Any:
    """``value``, of GraphQL type ``kind``, with each leaf in a form ``choose`` picks.

    In objects, ``choose`` also decides whether each null is left out and which of
    :data:`UNKNOWN_KEYS` are added (from the options ``[False, True]`` and the keys).
    """
    if value is None:
        return None
    nullable = get_nullable_type(kind)
    if isinstance(nullable, GraphQLList):
        return [vary_typed(item, nullable.of_type, choose) for item in value]
    named = get_named_type(nullable)
    if isinstance(named, GraphQLObjectType):
        return _vary_object(value, named, choose)
    return choose(forms(value, named.name))


def _vary_object(value: dict[str, Any], kind: GraphQLObjectType, choose: Choose) -> Any:
    varied: dict[str, Any] = {}
    for key, item in value.items():
        if item is None and choose([False, True]):
            continue  # a null may as well be missing
        field = kind.fields.get(key)
        varied[key] = item if field is None else vary_typed(item, field.type, choose)
    added = {key: item for key, item in UNKNOWN_KEYS.items() if key not in kind.fields}
    return varied | {key: item for key, item in added.items() if choose([False, True])}
