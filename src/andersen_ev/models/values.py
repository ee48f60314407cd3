"""How the models read single values from the wire: numbers, state codes, timestamps, units.

The service is only known from observation, and the one client-side schema that exists
types a dozen fields differently from ours (strings for integers, floats for integers and
flags, strings for timestamps: ``docs/service-notes.md``). So every number field takes a
JSON number or numeric text and gives the same typed value whichever it got, and refuses
what no real reading can be:

* :data:`WireFloat`: a finite number within :data:`MAX_MAGNITUDE`, as a JSON number or as
  text (``"7.2"``, ``" 7.2 "``). ``NaN``, infinities (``"-1e400"``), booleans and text
  longer than :data:`MAX_NUMBER_TEXT` characters are malformed.
* :data:`WireInt`: the same for whole numbers; ``32.0`` and ``"32.0"`` read as ``32``,
  ``31.5`` is malformed.
* :data:`EvseCode`: an ``evseState`` code (int or numeric text), unknown codes kept.
* :data:`LenientDatetime`: a timestamp, or None for one that cannot be parsed.

A malformed number is a pydantic ``ValidationError`` of type ``malformed_number``, which
the client reports as :class:`~andersen_ev.ResponseError` naming the field.

Field metadata: :class:`Unit` marks a measured field's unit (read it with
``DeviceStatus.unit_of(...)`` or ``DeviceStatus.UNITS``); :data:`PERSONAL` marks a field that
holds personal data (``DeviceStatus.TO_REDACT``, :data:`andersen_ev.models.REDACT_KEYS`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeAlias

import pydantic
from pydantic import BeforeValidator, TypeAdapter, ValidationError
from pydantic_core import core_schema

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue

__all__ = [
    "AMPERE",
    "BYTES",
    "CELSIUS",
    "DBM",
    "KILOWATT",
    "KILOWATT_HOUR",
    "MAX_MAGNITUDE",
    "MAX_NUMBER_TEXT",
    "PERCENT",
    "PERSONAL",
    "SECONDS",
    "VOLT",
    "EvseCode",
    "EvseState",
    "JsonValue",
    "LenientDatetime",
    "Personal",
    "Unit",
    "WireFloat",
    "WireInt",
]

_LOG = logging.getLogger(__name__)

JsonValue: TypeAlias = pydantic.JsonValue
"""Opaque JSON, as the API returns it where the schema says ``JSON`` (no selection set).

A recursive type: ``dict[str, JsonValue] | list[JsonValue] | str | int | float | bool | None``
(pydantic's own alias, so replies are validated as JSON, not taken as ``Any``). Used where
the service's answer has no known shape: ``get_device_lora``,
``get_calculated_power_logs_binned`` and :attr:`DeviceInfo.lora_devices`.
"""

#: The largest magnitude a number read from the service may have: 2**53. The service is
#: Apollo Server, on Node.js, where every number is an IEEE double and integers beyond
#: 2**53 are not exact; no reading of a charger comes near it (kW, kWh, A, V, seconds).
MAX_MAGNITUDE: Final = 2**53
#: The longest text read as a number. The longest decimal form of a double is 24
#: characters (``-2.2250738585072014e-308``); this leaves room for padding.
MAX_NUMBER_TEXT: Final = 64

_MALFORMED: Final = "malformed_number"
_MALFORMED_MESSAGE: Final = (
    "not a finite number within ±2**53 (as a JSON number or numeric text of at most"
    f" {MAX_NUMBER_TEXT} characters)"
)


@dataclass(frozen=True, slots=True)
class _WireNumber:
    """Annotation marker: read a number from a JSON number or numeric text, bounded.

    The usual case (a JSON number of the right kind) is matched first, in pydantic-core,
    without any Python call; text and integral floats are the fallbacks.
    """

    integer: bool

    def __get_pydantic_core_schema__(
        self, source: object, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        del source, handler  # the schema is the same whatever the annotated type says
        # padded text (" 0\t") is stripped here: pydantic-core's own number parsing only
        # learned to strip it after 2.7 (the declared floor), so the rule is ours
        text = core_schema.chain_schema(
            [
                core_schema.str_schema(max_length=MAX_NUMBER_TEXT),  # padding counts
                core_schema.str_schema(strip_whitespace=True),
            ]
        )
        choices: list[core_schema.CoreSchema | tuple[core_schema.CoreSchema, str]]
        if self.integer:
            exact: core_schema.CoreSchema = core_schema.int_schema(
                strict=True, ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE
            )
            lax: core_schema.CoreSchema = core_schema.int_schema(
                ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE
            )
            number = core_schema.float_schema(strict=True, allow_inf_nan=False)
            # "32.0" as text: read as a number first (pydantic-core 2.7, the floor, does not
            # read integral float text as an int itself); bounded, so the float is exact
            text_number = core_schema.float_schema(
                allow_inf_nan=False, ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE
            )
            choices = [
                exact,
                core_schema.chain_schema([number, lax]),
                core_schema.chain_schema([text, lax]),
                core_schema.chain_schema([text, text_number, lax]),
            ]
        else:
            bounds: dict[str, Any] = {
                "ge": -MAX_MAGNITUDE,
                "le": MAX_MAGNITUDE,
                "allow_inf_nan": False,
            }
            exact = core_schema.float_schema(strict=True, **bounds)
            lax = core_schema.float_schema(**bounds)
            choices = [exact, core_schema.chain_schema([text, lax])]
        return core_schema.union_schema(
            choices, custom_error_type=_MALFORMED, custom_error_message=_MALFORMED_MESSAGE
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        del schema, handler
        return {"type": "integer" if self.integer else "number"}


#: A number field: finite, within :data:`MAX_MAGNITUDE`, from a JSON number or numeric text.
WireFloat: TypeAlias = Annotated[float, _WireNumber(integer=False)]
#: A whole-number field: as :data:`WireFloat`, and ``32.0`` or ``"32.0"`` read as ``32``.
WireInt: TypeAlias = Annotated[int, _WireNumber(integer=True)]


@dataclass(frozen=True, slots=True)
class Unit:
    """The unit of a measured field: metadata of its annotation, readable by code.

    ``symbol`` is spelled as Home Assistant spells its units (``kW``, ``kWh``, ``V``,
    ``A``, ``°C``, ``s``, ``dBm``, ``%``). Read units with ``Model.unit_of(name)`` or the
    ``Model.UNITS`` mapping; the JSON schema of a model carries them as ``"unit"``.
    """

    symbol: str

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["unit"] = self.symbol
        return json_schema


KILOWATT: Final = Unit("kW")
KILOWATT_HOUR: Final = Unit("kWh")
VOLT: Final = Unit("V")
AMPERE: Final = Unit("A")
CELSIUS: Final = Unit("°C")
SECONDS: Final = Unit("s")
DBM: Final = Unit("dBm")
PERCENT: Final = Unit("%")
BYTES: Final = Unit("B")


@dataclass(frozen=True, slots=True)
class Personal:
    """Marks a field holding personal data (network, address, location, serial, IP)."""


#: The one :class:`Personal` marker; fields annotated with it are in ``TO_REDACT``.
PERSONAL: Final = Personal()


#: Codes are 64-bit at most: anything larger is not a state.
_CODE_LIMIT: Final = 2**63


class EvseState(IntEnum):
    """The charger's state, as OpenEVSE codes.

    ``DISABLED`` (255) means locked *or* waiting for a schedule, even with a car plugged in.
    Codes not listed here are kept as pseudo-members named ``UNKNOWN_<code>`` instead of
    failing, so a new firmware cannot break a program that reads the status.
    """

    READY = 1
    """Unlocked, no car connected."""
    CONNECTED = 2
    """A car is connected but not drawing power (e.g. full)."""
    CHARGING = 3
    """A car is charging."""
    ERROR = 4
    """The charger reports a fault."""
    SLEEPING = 254
    """Asleep."""
    DISABLED = 255
    """Locked, or held by a schedule."""

    @classmethod
    def _missing_(cls, value: object) -> EvseState | None:
        code = _whole_number(value)
        if code is None or not -_CODE_LIMIT <= code < _CODE_LIMIT:
            return None
        if type(value) is not int:  # text or an integral float: look the code up
            return cls(code)
        member = int.__new__(cls, code)
        member._name_ = f"UNKNOWN_{code}"
        member._value_ = code
        return member

    @property
    def is_known(self) -> bool:
        """False for codes this library does not know (``UNKNOWN_<code>``)."""
        return self.name is not None and not self.name.startswith("UNKNOWN_")


def _whole_number(value: object) -> int | None:
    """An int from an int, an integral float or text of either; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)  # surrounding whitespace and a sign are fine, as for int()
        except ValueError:
            pass
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _evse_code(value: Any) -> Any:
    """Refuse booleans (lax validation would read them as codes 0 and 1) and huge text."""
    if isinstance(value, bool):
        raise ValueError("evseState must be a numeric code, not a boolean")  # noqa: TRY004
    if isinstance(value, str) and len(value) > MAX_NUMBER_TEXT:
        raise ValueError(f"evseState text longer than {MAX_NUMBER_TEXT} characters")
    return value


#: An ``evseState`` code: an int, an integral float or numeric text; unknown codes kept.
EvseCode = Annotated[EvseState | None, BeforeValidator(_evse_code)]

#: The longest text tried as a timestamp (ISO-8601 with nanoseconds and an offset is 35).
_MAX_TIMESTAMP_TEXT: Final = 64


@cache
def _datetimes() -> TypeAdapter[datetime]:
    """Built on first use: a module-level adapter would be built at import."""
    return TypeAdapter(datetime)


def _lenient_datetime(value: Any) -> datetime | None:
    """Parse a timestamp, or give None (and a debug log) for a value that is not one."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and len(value) > _MAX_TIMESTAMP_TEXT:
        _LOG.debug("ignoring a timestamp of %d characters from the server", len(value))
        return None
    try:
        return _datetimes().validate_python(value)
    except ValidationError:
        _LOG.debug("ignoring an unparseable timestamp from the server: %r", value)
        return None


#: A timestamp the service sends in an unconfirmed format: parsed if possible, else None.
LenientDatetime = Annotated[datetime | None, BeforeValidator(_lenient_datetime)]
