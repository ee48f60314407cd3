"""A charger as the account lists it, its settings, tariffs, logs, and command answers."""

from typing import Annotated

from pydantic import AliasChoices, ConfigDict, Field

from andersen_ev.models.base import WireModel
from andersen_ev.models.status import DeviceIdentity, DeviceStatus
from andersen_ev.models.values import (
    KILOWATT_HOUR,
    PERCENT,
    PERSONAL,
    SECONDS,
    JsonValue,
    LenientDatetime,
    WireFloat,
    WireInt,
)

__all__ = [
    "Address",
    "ChargeLog",
    "ChargeRate",
    "CommandResult",
    "Device",
    "DeviceInfo",
    "SolarSettings",
]


class DeviceInfo(WireModel):
    """A charger's settings and metadata (``deviceInfo``)."""

    id: str | None = None
    currency: str | None = None
    enable_three_phase_multiplier: bool | None = None
    friendly_name: str | None = None
    location_longitude: Annotated[WireFloat | None, PERSONAL] = None
    location_latitude: Annotated[WireFloat | None, PERSONAL] = None
    schedule0_name: str | None = None
    schedule1_name: str | None = None
    schedule2_name: str | None = None
    schedule3_name: str | None = None
    schedule4_name: str | None = None
    address: Annotated[str | None, PERSONAL] = None
    address_place: Annotated[str | None, PERSONAL] = None
    address_district: Annotated[str | None, PERSONAL] = None
    address_postcode: Annotated[str | None, PERSONAL] = None
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


class ChargeRate(WireModel):
    """An electricity tariff period used to cost charging sessions (price per kWh)."""

    id: str
    price: WireFloat | None = None
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


class Device(WireModel):
    """A charger of the account, with whatever parts the query selected."""

    id: str
    name: Annotated[str | None, PERSONAL] = None
    """The device name printed on the unit: whoever knows it can claim the charger."""
    last_ip_address: Annotated[str | None, PERSONAL] = Field(
        default=None, validation_alias=AliasChoices("last_ip_address", "lastIpAddress")
    )
    device_info: DeviceInfo | None = None
    device_status: DeviceStatus | None = None
    device_charge_rates: tuple[ChargeRate, ...] | None = None

    @property
    def friendly_name(self) -> str | None:
        """The name shown in the app (``deviceInfo.friendlyName``)."""
        return self.device_info.friendly_name if self.device_info else None

    @property
    def identity(self) -> DeviceIdentity:
        """Manufacturer, model, versions, serial and name, from what the reply carried.

        ``get_current_user_devices()`` selects every part of it, so a host can register
        its chargers without reading each one's status.
        """
        status = self.device_status or DeviceStatus()
        return DeviceIdentity(
            device_id=self.id,
            name=self.friendly_name,
            model=status.sys_product_name,
            model_id=status.identity.model_id,
            hw_version=status.sys_hw_version,
            sw_version=status.sys_fw_version,
            serial_number=status.konnect_serial,
        )


class ChargeLog(WireModel):
    """One past charging session, with energy (kWh) and cost split by source."""

    uuid: str | None = None
    device_id: str | None = None
    start_date_time_local: LenientDatetime = None
    duration: Annotated[WireFloat | None, SECONDS] = None
    charge_energy_total: Annotated[WireFloat | None, KILOWATT_HOUR] = None
    charge_cost_total: WireFloat | None = None
    grid_energy_total: Annotated[WireFloat | None, KILOWATT_HOUR] = None
    grid_cost_total: WireFloat | None = None
    solar_energy_total: Annotated[WireFloat | None, KILOWATT_HOUR] = None
    solar_cost_total: WireFloat | None = None
    surplus_used_energy_total: Annotated[WireFloat | None, KILOWATT_HOUR] = None
    surplus_used_cost_total: WireFloat | None = None
    particle_fw_version: str | None = None


class Address(WireModel):
    """A postal address suggested by ``searchAddress`` (wire names are lowercase)."""

    model_config = ConfigDict(alias_generator=None)  # merged with WireModel's

    summaryline: str | None = None
    subbuildingname: str | None = None
    buildingname: str | None = None
    number: str | None = None
    premise: str | None = None
    street: str | None = None
    posttown: str | None = None
    county: str | None = None
    postcode: str | None = None


class CommandResult(WireModel):
    """What the device cloud answered to a command.

    ``return_value`` is null whether the command was applied or not: confirm through the
    status (``confirm=True`` on the command methods).
    """

    id: str | None = None
    name: Annotated[str | None, PERSONAL] = None
    last_app: str | None = Field(default=None, alias="last_app")
    connected: bool | None = None
    return_value: WireInt | None = Field(default=None, alias="return_value")


class SolarSettings(WireModel):
    """Solar charging settings (``getSolar``): override, charge always, grid share (%)."""

    device_id: str | None = None
    override: bool | None = None
    charge_always: bool | None = None
    max_grid_charge_percent: Annotated[WireInt | None, PERCENT] = None
    return_value: WireInt | None = Field(default=None, alias="return_value")
