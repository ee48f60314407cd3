"""Typed models of everything the Andersen cloud returns, and of the schedules you send it.

Attributes are snake_case; each model also accepts (and dumps, with ``by_alias=True``) the
camelCase wire names. The models are liberal in what they accept, as the service is
only known from observation: unknown fields are ignored, every field the API may omit is
optional, numbers sent as strings are converted, and ``evseState`` codes nobody has seen
yet are kept rather than rejected.

:class:`Schedule` and :class:`DayMap` are also what you send: they validate hours (0-23),
minutes (0-59) and days before anything leaves your machine.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import IntEnum
from typing import Annotated, Any, Final, Self, TypeAlias

import pydantic
from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)
from pydantic.alias_generators import to_camel

__all__ = [
    "Address",
    "ChargeLog",
    "ChargeRate",
    "ChargeStatus",
    "CommandResult",
    "DayMap",
    "Device",
    "DeviceInfo",
    "DeviceStatus",
    "EvseState",
    "JsonValue",
    "LoraConfig",
    "Schedule",
    "ScheduleSlot",
    "SolarSettings",
]

_LOG = logging.getLogger(__name__)

JsonValue: TypeAlias = pydantic.JsonValue
"""Opaque JSON, as the API returns it where the schema says ``JSON`` (no selection set).

A recursive type: ``dict[str, JsonValue] | list[JsonValue] | str | int | float | bool | None``
(pydantic's own alias, so replies are validated as JSON, not taken as ``Any``). Used where
the service's answer has no known shape: ``get_device_lora``,
``get_calculated_power_logs_binned`` and :attr:`DeviceInfo.lora_devices`.
"""

#: Number of schedule slots on a charger (numbered 0-4, as in the Konnect+ app).
SCHEDULE_SLOTS: Final = 5


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
        if isinstance(value, str):
            text = value.strip()
            if text.lstrip("-").isdigit():
                return cls(int(text))
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            member = int.__new__(cls, value)
            member._name_ = f"UNKNOWN_{value}"
            member._value_ = value
            return member
        return None

    @property
    def is_known(self) -> bool:
        """False for codes this library does not know (``UNKNOWN_<code>``)."""
        return self.name is not None and not self.name.startswith("UNKNOWN_")


def _evse_code(value: Any) -> Any:
    """Refuse booleans, which lax validation would otherwise read as codes 0 and 1."""
    if isinstance(value, bool):
        raise ValueError("evseState must be a numeric code, not a boolean")  # noqa: TRY004
    return value


#: An ``evseState`` code: an int or a numeric string, unknown codes kept.
EvseCode = Annotated[EvseState | None, BeforeValidator(_evse_code)]


def _lenient_datetime(value: Any) -> datetime | None:
    """Parse a timestamp, or give None (and a debug log) for a value that is not one."""
    if value is None or value == "":
        return None
    try:
        return _DATETIME.validate_python(value)
    except ValidationError:
        _LOG.debug("ignoring an unparseable timestamp from the server: %r", value)
        return None


_DATETIME: Final = TypeAdapter(datetime)

#: A timestamp the service sends in an unconfirmed format: parsed if possible, else None.
LenientDatetime = Annotated[datetime | None, BeforeValidator(_lenient_datetime)]


class _WireModel(BaseModel):
    """Base of every model read from the service: camelCase aliases, unknown fields ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,  # not validate_by_name: pydantic 2.10 (Home Assistant's) lacks it
        extra="ignore",
        frozen=True,
    )

    def __repr_args__(self) -> Any:
        # the API returns dozens of optional fields: show only those that are set
        return [(name, value) for name, value in super().__repr_args__() if value is not None]


class DayMap(_WireModel):
    """The days of the week a schedule applies to."""

    monday: bool = False
    tuesday: bool = False
    wednesday: bool = False
    thursday: bool = False
    friday: bool = False
    saturday: bool = False
    sunday: bool = False

    @classmethod
    def every_day(cls) -> Self:
        """A day map with all seven days set."""
        return cls(
            monday=True,
            tuesday=True,
            wednesday=True,
            thursday=True,
            friday=True,
            saturday=True,
            sunday=True,
        )


class ScheduleSlot(_WireModel):
    """One schedule slot as the charger reports it (any field may be missing)."""

    start_hour: int | None = None
    start_minute: int | None = None
    end_hour: int | None = None
    end_minute: int | None = None
    enabled: bool | None = None
    day_map: DayMap | None = None


class Schedule(BaseModel):
    """A complete schedule to send: start and end time, enabled flag and days.

    Validated on construction: hours 0-23, minutes 0-59; all fields are required except
    ``enabled`` (default True) and ``day_map`` (default every day). Accepts the seed
    library's camelCase dict (``{"startHour": 0, ...}``) as well as snake_case.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )

    start_hour: int = Field(ge=0, le=23)
    start_minute: int = Field(ge=0, le=59)
    end_hour: int = Field(ge=0, le=23)
    end_minute: int = Field(ge=0, le=59)
    enabled: bool = True
    day_map: DayMap = Field(default_factory=DayMap.every_day)

    def to_wire(self) -> dict[str, Any]:
        """The ``ScheduleSlotInput`` the API takes (camelCase, every field present)."""
        return self.model_dump(by_alias=True)


class LoraConfig(_WireModel):
    """Settings of one LoRa channel (``cfgLora0`` .. ``cfgLora3``)."""

    cfg: int | None = None
    epow: int | None = None
    on: bool | None = None
    rssi: int | None = None
    eui: str | None = None


class ChargeStatus(_WireModel):
    """The current (or last) charging session: energies in kWh, powers in kW, seconds."""

    start: LenientDatetime = None
    charge_energy_total: float | None = None
    solar_energy_total: float | None = None
    grid_energy_total: float | None = None
    charge_power: float | None = None
    charge_power_max: float | None = None
    solar_power: float | None = None
    grid_power: float | None = None
    duration: float | None = None


def _alias(wire: str) -> Any:
    """An explicit wire name for fields whose camelCase is irregular (``sysSSID``)."""
    return Field(default=None, alias=wire)


class DeviceStatus(_WireModel):
    """A charger's live status (``deviceStatus``, or one ``deviceStatusUpdated`` event).

    Every field is optional: each query selects a different subset, and events carry
    fields that polls do not (notably ``charge_status.charge_power``).
    """

    id: str | None = None
    konnect_serial: str | None = None
    online: bool | None = None
    last_event: str | None = None
    last_event_age: int | None = None
    evse_state: EvseCode = None
    evse_response_time: int | None = None
    evse_charge_amp_current_limit: float | None = None
    sys_sch_enabled: bool | None = None
    sys_user_lock: bool | None = None
    sys_schedule_lock: bool | None = None
    sys_rssi: int | None = None
    sys_ssid: str | None = _alias("sysSSID")
    sys_lan: bool | None = None
    sys_temperature: float | None = None
    sys_free_memory: int | None = None
    sys_runtime: int | None = None
    sys_fw_version: str | None = None
    sys_hw_version: str | None = None
    evse_fw_version: str | None = None
    evse_hw_version: str | None = None
    sys_bootup: LenientDatetime = None
    sys_os: str | None = None
    sys_product_id: int | None = None
    sys_product_name: str | None = None
    sys_ota_update: bool | None = None
    sys_rcm_user_cleared: bool | None = None
    sys_button: int | None = None
    sys_fault_code: int | None = None
    sys_voltage_a: float | None = None
    sys_voltage_b: float | None = None
    sys_voltage_c: float | None = None
    sys_amp_a: float | None = None
    sys_amp_b: float | None = None
    sys_amp_c: float | None = None
    sys_power_a: float | None = None
    sys_power_b: float | None = None
    sys_power_c: float | None = None
    sys_phase: int | None = None
    sys_solar_ct: bool | None = _alias("sysSolarCT")
    sys_grid_ct: bool | None = _alias("sysGridCT")
    sys_adaptive_fuse: bool | None = None
    sys_time: LenientDatetime = None
    sys_sch0: str | None = None
    sys_sch1: str | None = None
    sys_sch2: str | None = None
    sys_sch3: str | None = None
    sys_sch4: str | None = None
    sys_charging_enabled: bool | None = None
    sys_sch_set: bool | None = None
    sys_solar_power: float | None = None
    sys_grid_power: float | None = None
    sys_charge_power: float | None = None
    sys_solar_energy_delta: float | None = None
    sys_grid_energy_delta: float | None = None
    sys_sch_dso_random: int | None = _alias("sysSchDSORandom")
    cfg_pen_earth_connected: bool | None = _alias("cfgPENEarthConnected")
    cfg_debug_enable: bool | None = None
    cfg_charge_amp_max: int | None = None
    cfg_charge_amp_min: int | None = None
    cfg_dst_active: bool | None = _alias("cfgDSTActive")
    cfg_af_enable: bool | None = _alias("cfgAFEnable")
    cfg_af_amp_max: int | None = _alias("cfgAFAmpMax")
    cfg_ct_config: int | None = _alias("cfgCTConfig")
    cfg_lora0: LoraConfig | None = None
    cfg_lora1: LoraConfig | None = None
    cfg_lora2: LoraConfig | None = None
    cfg_lora3: LoraConfig | None = None
    solar_max_grid_charge_percent: int | None = None
    solar_charge_always: bool | None = None
    solar_override: bool | None = None
    charge_status: ChargeStatus | None = None
    schedule_slots_array: tuple[ScheduleSlot | None, ...] | None = None

    @property
    def is_charging(self) -> bool:
        """True when the charger says it is charging (``evseState`` 3)."""
        return self.evse_state is EvseState.CHARGING

    @property
    def is_locked(self) -> bool | None:
        """True when locked by the user (``sysUserLock``); None if the reply did not say."""
        return self.sys_user_lock

    @property
    def is_car_connected(self) -> bool | None:
        """Whether a car is plugged in, as far as ``evseState`` tells.

        True when connected or charging, False when ready; None when it cannot tell
        (locked or held by a schedule (255), asleep, in error, or not reported).
        """
        if self.evse_state in (EvseState.CONNECTED, EvseState.CHARGING):
            return True
        if self.evse_state is EvseState.READY:
            return False
        return None

    @property
    def charge_power(self) -> float | None:
        """Power drawn now in kW: the session's ``chargePower``, else ``sysChargePower``."""
        if self.charge_status is not None and self.charge_status.charge_power is not None:
            return self.charge_status.charge_power
        return self.sys_charge_power

    @property
    def schedules(self) -> tuple[ScheduleSlot | None, ...]:
        """The schedule slots reported, indexed 0-4 (empty if the reply had none)."""
        return self.schedule_slots_array or ()


class DeviceInfo(_WireModel):
    """A charger's settings and metadata (``deviceInfo``)."""

    id: str | None = None
    currency: str | None = None
    enable_three_phase_multiplier: bool | None = None
    friendly_name: str | None = None
    location_longitude: float | None = None
    location_latitude: float | None = None
    schedule0_name: str | None = None
    schedule1_name: str | None = None
    schedule2_name: str | None = None
    schedule3_name: str | None = None
    schedule4_name: str | None = None
    address: str | None = None
    address_place: str | None = None
    address_district: str | None = None
    address_postcode: str | None = None
    address_country: str | None = None
    solar_override_start: LenientDatetime = None
    notify_rcm_error_enabled: bool | None = None
    notify_weekly_report_enabled: bool | None = None
    notify_device_offline_enabled: bool | None = None
    purpose: str | None = None
    solar_charge_always: bool | None = None
    time_zone_region: str | None = None
    user_lock: bool | None = None
    lora_devices: JsonValue = None

    @property
    def schedule_names(self) -> tuple[str | None, ...]:
        """The five schedule names, indexed by slot."""
        return (
            self.schedule0_name,
            self.schedule1_name,
            self.schedule2_name,
            self.schedule3_name,
            self.schedule4_name,
        )


class ChargeRate(_WireModel):
    """An electricity tariff period used to cost charging sessions."""

    id: str
    price: float | None = None
    time_start_local: str | None = None
    time_stop_local: str | None = None
    start_date_time: LenientDatetime = None
    stop_date_time: LenientDatetime = None
    day_mon: bool | None = None
    day_tue: bool | None = None
    day_wed: bool | None = None
    day_thu: bool | None = None
    day_fri: bool | None = None
    day_sat: bool | None = None
    day_sun: bool | None = None


class Device(_WireModel):
    """A charger of the account, with whatever parts the query selected."""

    id: str
    name: str | None = None
    last_ip_address: str | None = Field(
        default=None, validation_alias=AliasChoices("last_ip_address", "lastIpAddress")
    )
    device_info: DeviceInfo | None = None
    device_status: DeviceStatus | None = None
    device_charge_rates: tuple[ChargeRate, ...] | None = None

    @property
    def friendly_name(self) -> str | None:
        """The name shown in the app (``deviceInfo.friendlyName``)."""
        return self.device_info.friendly_name if self.device_info else None


class ChargeLog(_WireModel):
    """One past charging session, with energy (kWh) and cost split by source."""

    uuid: str | None = None
    device_id: str | None = None
    start_date_time_local: LenientDatetime = None
    duration: float | None = None
    charge_energy_total: float | None = None
    charge_cost_total: float | None = None
    grid_energy_total: float | None = None
    grid_cost_total: float | None = None
    solar_energy_total: float | None = None
    solar_cost_total: float | None = None
    surplus_used_energy_total: float | None = None
    surplus_used_cost_total: float | None = None
    particle_fw_version: str | None = None


class Address(_WireModel):
    """A postal address suggested by ``searchAddress`` (wire names are lowercase)."""

    model_config = ConfigDict(alias_generator=None, extra="ignore", frozen=True)

    summaryline: str | None = None
    subbuildingname: str | None = None
    buildingname: str | None = None
    number: str | None = None
    premise: str | None = None
    street: str | None = None
    posttown: str | None = None
    county: str | None = None
    postcode: str | None = None


class CommandResult(_WireModel):
    """What the device cloud answered to a command.

    ``return_value`` is null whether the command was applied or not: confirm through the
    status (``confirm=True`` on the command methods).
    """

    id: str | None = None
    name: str | None = None
    last_app: str | None = Field(default=None, alias="last_app")
    connected: bool | None = None
    return_value: int | None = Field(default=None, alias="return_value")


class SolarSettings(_WireModel):
    """Solar charging settings (``getSolar``): override, charge always, grid share (%)."""

    device_id: str | None = None
    override: bool | None = None
    charge_always: bool | None = None
    max_grid_charge_percent: int | None = None
    return_value: int | None = Field(default=None, alias="return_value")
