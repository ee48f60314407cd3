"""Typed models of everything the Andersen cloud returns, and of the schedules you send it.

Attributes are snake_case; each model also accepts (and dumps, with ``by_alias=True``) the
camelCase wire names. The models are liberal in what they accept, as the service is
only known from observation: unknown fields are ignored, every field the API may omit is
optional, numbers sent as text (or integers sent as floats) are converted, and
``evseState`` codes nobody has seen yet are kept rather than rejected. What no real reading
can be (``NaN``, infinities, absurd magnitudes, kilobytes of digits) is refused as
malformed: :mod:`andersen_ev.models.values` has the rules.

Measured fields carry their unit (``DeviceStatus.unit_of("charge_power") == "kW"``,
``DeviceStatus.UNITS``); fields holding personal data are listed in ``TO_REDACT`` and, for
every model at once, in :data:`REDACT_KEYS`.

:class:`Schedule` and :class:`DayMap` are also what you send: they validate hours (0-23),
minutes (0-59) and days before anything leaves your machine.

The package is split by subject (``values``, ``base``, ``status``, ``device``,
``schedule``); import every name from here.
"""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from typing import Final

from andersen_ev.models.base import WireModel
from andersen_ev.models.device import (
    Address,
    ChargeLog,
    ChargeRate,
    CommandResult,
    Device,
    DeviceInfo,
    SolarSettings,
)
from andersen_ev.models.schedule import SCHEDULE_SLOTS, Schedule
from andersen_ev.models.status import (
    MANUFACTURER,
    ChargeStatus,
    DayMap,
    DeviceIdentity,
    DeviceStatus,
    LoraConfig,
    ScheduleSlot,
)
from andersen_ev.models.values import (
    MAX_MAGNITUDE,
    MAX_NUMBER_TEXT,
    EvseCode,
    EvseState,
    JsonValue,
    LenientDatetime,
    Unit,
    WireFloat,
    WireInt,
)

__all__ = [
    "MANUFACTURER",
    "MAX_MAGNITUDE",
    "MAX_NUMBER_TEXT",
    "REDACT_KEYS",
    "SCHEDULE_SLOTS",
    "Address",
    "ChargeLog",
    "ChargeRate",
    "ChargeStatus",
    "CommandResult",
    "DayMap",
    "Device",
    "DeviceIdentity",
    "DeviceInfo",
    "DeviceStatus",
    "EvseCode",
    "EvseState",
    "JsonValue",
    "LenientDatetime",
    "LoraConfig",
    "Schedule",
    "ScheduleSlot",
    "SolarSettings",
    "Unit",
    "WireFloat",
    "WireInt",
    "WireModel",
]

_READ_MODELS: Final[tuple[type[WireModel], ...]] = (
    Device,
    DeviceInfo,
    DeviceStatus,
    ChargeStatus,
    ScheduleSlot,
    DayMap,
    LoraConfig,
    ChargeRate,
    ChargeLog,
    Address,
    CommandResult,
    SolarSettings,
)


def _redact_keys() -> frozenset[str]:
    names: set[str] = set()
    for model in _READ_MODELS:
        names.update(model.TO_REDACT)
        names.update(model.wire_name(name) for name in model.TO_REDACT)
    names.update(
        field.name for field in dataclass_fields(DeviceIdentity) if field.metadata.get("personal")
    )
    return frozenset(names)


#: Every key, attribute name and wire name, that holds personal data in any model (SSID,
#: serial, IP address, postal address, location, the unit's claim name, LoRa EUIs). Give it
#: to a redaction helper that matches keys at any depth (Home Assistant's
#: ``async_redact_data``), for dumps with or without ``by_alias``.
REDACT_KEYS: Final = _redact_keys()
