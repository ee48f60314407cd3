"""A charger's live status (``deviceStatus``), its parts, and the identity it reveals."""

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Final

from pydantic import Field

from andersen_ev.models.base import WireModel
from andersen_ev.models.values import (
    AMPERE,
    CELSIUS,
    DBM,
    KILOWATT,
    KILOWATT_HOUR,
    PERCENT,
    PERSONAL,
    SECONDS,
    VOLT,
    EvseCode,
    EvseState,
    LenientDatetime,
    WireFloat,
    WireInt,
)

__all__ = [
    "MANUFACTURER",
    "ChargeStatus",
    "DayMap",
    "DeviceIdentity",
    "DeviceStatus",
    "LoraConfig",
    "ScheduleSlot",
]

#: Who makes the chargers this library talks to (the A2 and, by report, the A3).
MANUFACTURER: Final = "Andersen EV"


def _alias(wire: str) -> Any:
    """An explicit wire name for fields whose camelCase is irregular (``sysSSID``)."""
    return Field(default=None, alias=wire)


class DayMap(WireModel):
    """The days of the week a schedule applies to."""

    monday: bool = False
    tuesday: bool = False
    wednesday: bool = False
    thursday: bool = False
    friday: bool = False
    saturday: bool = False
    sunday: bool = False

    @classmethod
    def every_day(cls) -> "DayMap":
        """A day map with all seven days set."""
        # model_construct: nothing to check, and it does not build the validator (a default
        # schedule made at import would otherwise build it, and load pydantic's plugins)
        return cls.model_construct(
            monday=True,
            tuesday=True,
            wednesday=True,
            thursday=True,
            friday=True,
            saturday=True,
            sunday=True,
        )


class ScheduleSlot(WireModel):
    """One schedule slot as the charger reports it (any field may be missing)."""

    start_hour: WireInt | None = None
    start_minute: WireInt | None = None
    end_hour: WireInt | None = None
    end_minute: WireInt | None = None
    enabled: bool | None = None
    day_map: DayMap | None = None

    @property
    def is_set(self) -> bool:
        """False for a blank slot: a 00:00-00:00 window, whatever its days and flag.

        A slot nobody wrote reads 00:00-00:00, which the charger takes as the whole day:
        enabling it would allow charging around the clock. Missing times count as 00:00.
        Write a window with ``create_schedule`` before enabling a slot that is not set.
        """
        times = (self.start_hour, self.start_minute, self.end_hour, self.end_minute)
        return any(times)


class LoraConfig(WireModel):
    """Settings of one LoRa channel (``cfgLora0`` .. ``cfgLora3``)."""

    cfg: WireInt | None = None
    epow: WireInt | None = None
    on: bool | None = None
    rssi: Annotated[WireInt | None, DBM] = None
    eui: Annotated[str | None, PERSONAL] = None


class ChargeStatus(WireModel):
    """The current (or last) charging session: energies in kWh, powers in kW, seconds."""

    start: LenientDatetime = None
    charge_energy_total: Annotated[WireFloat | None, KILOWATT_HOUR] = None
    solar_energy_total: Annotated[WireFloat | None, KILOWATT_HOUR] = None
    grid_energy_total: Annotated[WireFloat | None, KILOWATT_HOUR] = None
    charge_power: Annotated[WireFloat | None, KILOWATT] = None
    charge_power_max: Annotated[WireFloat | None, KILOWATT] = None
    solar_power: Annotated[WireFloat | None, KILOWATT] = None
    grid_power: Annotated[WireFloat | None, KILOWATT] = None
    duration: Annotated[WireFloat | None, SECONDS] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceIdentity:
    """Who a charger is, for a host's device registry; None where the reply did not say.

    The names follow Home Assistant's ``DeviceInfo`` (``sw_version``, ``hw_version``,
    ``serial_number`` ...). Read it from :attr:`Device.identity` (the devices list carries
    it, no extra request) or :attr:`DeviceStatus.identity`.
    """

    device_id: str | None
    """The device id (``getDevice(id:)``)."""
    name: str | None = None
    """The name shown in the app (``deviceInfo.friendlyName``)."""
    manufacturer: str = MANUFACTURER
    model: str | None = None
    """The product name (``sysProductName``, e.g. ``Andersen A2``)."""
    model_id: str | None = None
    """The product id (``sysProductId``), as text."""
    hw_version: str | None = None
    """The hardware revision (``sysHwVersion``)."""
    sw_version: str | None = None
    """The firmware of the charger's cloud module (``sysFwVersion``)."""
    serial_number: str | None = field(default=None, metadata={"personal": True})
    """The unit's serial (``konnectSerial``): personal data, see ``REDACT_KEYS``."""


class DeviceStatus(WireModel):
    """A charger's live status (``deviceStatus``, or one ``deviceStatusUpdated`` event).

    Every field is optional: each query selects a different subset, and events carry
    fields that polls do not (notably ``charge_status.charge_power``). Units of measured
    fields: :attr:`UNITS` and :meth:`unit_of`; personal fields: :attr:`TO_REDACT`.
    """

    DERIVED_UNITS: ClassVar = MappingProxyType({"charge_power": KILOWATT.symbol})

    id: str | None = None
    konnect_serial: Annotated[str | None, PERSONAL] = None
    online: bool | None = None
    last_event: str | None = None
    last_event_age: Annotated[WireInt | None, SECONDS] = None
    evse_state: EvseCode = None
    evse_response_time: WireInt | None = None
    evse_charge_amp_current_limit: Annotated[WireFloat | None, AMPERE] = None
    sys_sch_enabled: bool | None = None
    sys_user_lock: bool | None = None
    sys_schedule_lock: bool | None = None
    sys_rssi: Annotated[WireInt | None, DBM] = None
    sys_ssid: Annotated[str | None, PERSONAL] = _alias("sysSSID")
    sys_lan: bool | None = None
    sys_temperature: Annotated[WireFloat | None, CELSIUS] = None
    sys_free_memory: WireInt | None = None
    sys_runtime: Annotated[WireInt | None, SECONDS] = None
    sys_fw_version: str | None = None
    sys_hw_version: str | None = None
    evse_fw_version: str | None = None
    evse_hw_version: str | None = None
    sys_bootup: LenientDatetime = None
    sys_os: str | None = None
    sys_product_id: WireInt | None = None
    sys_product_name: str | None = None
    sys_ota_update: bool | None = None
    sys_rcm_user_cleared: bool | None = None
    sys_button: WireInt | None = None
    sys_fault_code: WireInt | None = None
    sys_voltage_a: Annotated[WireFloat | None, VOLT] = None
    sys_voltage_b: Annotated[WireFloat | None, VOLT] = None
    sys_voltage_c: Annotated[WireFloat | None, VOLT] = None
    sys_amp_a: Annotated[WireFloat | None, AMPERE] = None
    sys_amp_b: Annotated[WireFloat | None, AMPERE] = None
    sys_amp_c: Annotated[WireFloat | None, AMPERE] = None
    sys_power_a: Annotated[WireFloat | None, KILOWATT] = None
    sys_power_b: Annotated[WireFloat | None, KILOWATT] = None
    sys_power_c: Annotated[WireFloat | None, KILOWATT] = None
    sys_phase: WireInt | None = None
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
    sys_solar_power: Annotated[WireFloat | None, KILOWATT] = None
    sys_grid_power: Annotated[WireFloat | None, KILOWATT] = None
    sys_charge_power: Annotated[WireFloat | None, KILOWATT] = None
    sys_solar_energy_delta: Annotated[WireFloat | None, KILOWATT_HOUR] = None
    sys_grid_energy_delta: Annotated[WireFloat | None, KILOWATT_HOUR] = None
    sys_sch_dso_random: WireInt | None = _alias("sysSchDSORandom")
    cfg_pen_earth_connected: bool | None = _alias("cfgPENEarthConnected")
    cfg_debug_enable: bool | None = None
    cfg_charge_amp_max: Annotated[WireInt | None, AMPERE] = None
    cfg_charge_amp_min: Annotated[WireInt | None, AMPERE] = None
    cfg_dst_active: bool | None = _alias("cfgDSTActive")
    cfg_af_enable: bool | None = _alias("cfgAFEnable")
    cfg_af_amp_max: Annotated[WireInt | None, AMPERE] = _alias("cfgAFAmpMax")
    cfg_ct_config: WireInt | None = _alias("cfgCTConfig")
    cfg_lora0: LoraConfig | None = None
    cfg_lora1: LoraConfig | None = None
    cfg_lora2: LoraConfig | None = None
    cfg_lora3: LoraConfig | None = None
    solar_max_grid_charge_percent: Annotated[WireInt | None, PERCENT] = None
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

    @property
    def identity(self) -> DeviceIdentity:
        """Manufacturer, model, versions and serial, as far as this status carries them."""
        return DeviceIdentity(
            device_id=self.id,
            model=self.sys_product_name,
            model_id=None if self.sys_product_id is None else str(self.sys_product_id),
            hw_version=self.sys_hw_version,
            sw_version=self.sys_fw_version,
            serial_number=self.konnect_serial,
        )
