"""The typed models: liberal reading of replies, strict checking of schedules sent."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from andersen_ev import AndersenA2, InvalidInputError
from andersen_ev.diagnostics import REDACTED_STATUS_FIELDS
from andersen_ev.models import (
    MANUFACTURER,
    REDACT_KEYS,
    Address,
    ChargeLog,
    ChargeRate,
    ChargeStatus,
    CommandResult,
    DayMap,
    Device,
    DeviceIdentity,
    DeviceInfo,
    DeviceStatus,
    EvseState,
    LoraConfig,
    Schedule,
    ScheduleSlot,
    SolarSettings,
    WireModel,
)
from andersen_ev.testing import Charger
from tests.wire_variants import new_charger

SEED_EVENT: dict[str, Any] = {
    # the event shown in the original README, as the service sent it
    "id": "dev-1",
    "evseState": 255,
    "online": True,
    "sysRssi": -69,
    "sysSSID": "WIFI SSID",
    "sysSchEnabled": True,
    "sysUserLock": False,
    "sysScheduleLock": True,
    "sysSolarPower": None,
    "sysGridPower": None,
    "solarMaxGridChargePercent": 100,
    "solarChargeAlways": True,
    "solarOverride": False,
    "cfgCTConfig": 1,
    "chargeStatus": {
        "start": "2023-01-05T00:30:00Z",
        "chargeEnergyTotal": 9.128312,
        "chargePower": 0,
        "duration": 8472,
    },
}


def test_seed_event_reads_into_typed_fields() -> None:
    status = DeviceStatus.model_validate(SEED_EVENT)
    assert status.evse_state is EvseState.DISABLED
    assert status.sys_ssid == "WIFI SSID"
    assert status.cfg_ct_config == 1
    assert status.sys_rssi == -69
    assert status.sys_solar_power is None
    assert status.charge_status is not None
    assert status.charge_status.start == datetime(2023, 1, 5, 0, 30, tzinfo=UTC)
    assert status.charge_status.charge_energy_total == pytest.approx(9.128312)
    assert status.charge_status.duration == 8472
    assert status.is_locked is False
    assert not status.is_charging
    assert status.is_car_connected is None
    assert status.charge_power == 0


def test_wire_names_round_trip() -> None:
    status = DeviceStatus.model_validate(SEED_EVENT)
    dumped = status.model_dump(by_alias=True, exclude_none=True, mode="json")
    for key in ("sysSSID", "cfgCTConfig", "evseState", "chargeStatus", "sysSchEnabled"):
        assert key in dumped
    assert DeviceStatus.model_validate(dumped) == status


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(3, EvseState.CHARGING), ("3", EvseState.CHARGING), (" 1 ", EvseState.READY), (255, 255)],
)
def test_evse_state_accepts_ints_and_strings(raw: object, expected: int) -> None:
    assert DeviceStatus.model_validate({"evseState": raw}).evse_state == expected


def test_unknown_evse_state_is_kept() -> None:
    state = DeviceStatus.model_validate({"evseState": 42}).evse_state
    assert state == 42
    assert state is not None
    assert not state.is_known
    assert state.name == "UNKNOWN_42"
    assert EvseState.CHARGING.is_known
    assert DeviceStatus.model_validate({"evseState": "-1"}).evse_state == -1


@pytest.mark.parametrize("raw", ["charging", True, 1.5, None])
def test_evse_state_rejects_non_codes(raw: object) -> None:
    if raw is None:
        assert DeviceStatus.model_validate({"evseState": raw}).evse_state is None
    else:
        with pytest.raises(ValidationError):
            DeviceStatus.model_validate({"evseState": raw})


@pytest.mark.parametrize(
    ("state", "connected", "charging"),
    [
        (1, False, False),
        (2, True, False),
        (3, True, True),
        (4, None, False),
        (254, None, False),
        (255, None, False),
        (None, None, False),
    ],
)
def test_derived_helpers(state: int | None, connected: bool | None, charging: bool) -> None:
    status = DeviceStatus.model_validate({"evseState": state})
    assert status.is_car_connected is connected
    assert status.is_charging is charging


def test_charge_power_prefers_the_session_figure() -> None:
    assert DeviceStatus.model_validate({"sysChargePower": 1.5}).charge_power == 1.5
    both = {"sysChargePower": 1.5, "chargeStatus": {"chargePower": "7.2"}}
    assert DeviceStatus.model_validate(both).charge_power == 7.2
    assert DeviceStatus().charge_power is None


def test_unknown_fields_ignored_and_strings_converted() -> None:
    status = DeviceStatus.model_validate(
        {
            "sysRssi": "-70",
            "sysUserLock": "true",
            "brandNewField": {"x": 1},
            "sysTemperature": "41.5",
        }
    )
    assert status.sys_rssi == -70
    assert status.sys_user_lock is True
    assert status.sys_temperature == 41.5


def test_unparseable_timestamps_become_none(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("DEBUG", logger="andersen_ev.models"):
        status = DeviceStatus.model_validate({"sysTime": "not a time", "sysBootup": ""})
    assert status.sys_time is None
    assert status.sys_bootup is None
    assert "unparseable timestamp" in caplog.text
    unix = DeviceStatus.model_validate({"sysTime": 1_700_000_000}).sys_time
    assert unix == datetime.fromtimestamp(1_700_000_000, UTC)


def test_schedules_and_names() -> None:
    status = DeviceStatus.model_validate(
        {
            "scheduleSlotsArray": [
                {"startHour": 1, "enabled": True, "dayMap": {"sunday": True}},
                None,
            ]
        }
    )
    first = status.schedules[0]
    assert first is not None
    assert first.start_hour == 1
    assert first.end_hour is None
    assert first.day_map == DayMap(sunday=True)
    assert status.schedules[1] is None
    assert DeviceStatus().schedules == ()
    info = DeviceInfo.model_validate({"schedule0Name": "Night", "schedule4Name": "Solar"})
    assert info.schedule_names == ("Night", None, None, None, "Solar")


def test_schedule_accepts_the_seed_dict_and_validates() -> None:
    seed = {
        "startHour": 0,
        "startMinute": 30,
        "endHour": 4,
        "endMinute": 30,
        "enabled": True,
        "dayMap": dict.fromkeys(DayMap.model_fields, True),
    }
    schedule = Schedule.model_validate(seed)
    assert schedule.to_wire() == seed
    assert Schedule(start_hour=1, start_minute=0, end_hour=2, end_minute=0).day_map == (
        DayMap.every_day()
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"start_hour": 25},
        {"start_minute": 60},
        {"end_hour": -1},
        {"end_minute": 75},
        {"surprise": True},
    ],
)
def test_schedule_rejects_bad_input(bad: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"start_hour": 1, "start_minute": 0, "end_hour": 2, "end_minute": 0}
    with pytest.raises(ValidationError):
        Schedule.model_validate(fields | bad)
    with pytest.raises(ValidationError):
        Schedule.model_validate({"start_hour": 1})


def test_device_and_other_models() -> None:
    device = Device.model_validate(
        {
            "id": "dev-1",
            "name": "A2-1",
            "last_ip_address": "10.0.0.2",
            "deviceInfo": {"id": "dev-1", "friendlyName": "Driveway", "loraDevices": [1, 2]},
            "deviceStatus": {"id": "dev-1", "cfgCTConfig": 1},
            "deviceChargeRates": [{"id": "r1", "price": "0.07", "startDateTime": "2024-01-01"}],
        }
    )
    assert device.friendly_name == "Driveway"
    assert device.last_ip_address == "10.0.0.2"
    assert device.device_info is not None
    assert device.device_info.lora_devices == [1, 2]
    assert device.device_charge_rates is not None
    assert device.device_charge_rates[0].price == 0.07
    assert Device(id="x").friendly_name is None
    rate = ChargeRate.model_validate({"id": "r", "startDateTime": "2024-01-01T00:00:00Z"})
    assert rate.start_date_time == datetime(2024, 1, 1, tzinfo=UTC)
    log = ChargeLog.model_validate({"uuid": "u", "chargeEnergyTotal": 12.5, "duration": 3600})
    assert log.charge_energy_total == 12.5
    assert Address.model_validate({"postcode": "AB1 2CD"}).postcode == "AB1 2CD"
    result = CommandResult.model_validate(
        {"return_value": None, "last_app": "app", "connected": True}
    )
    assert result.last_app == "app"
    assert result.return_value is None
    solar = SolarSettings.model_validate({"maxGridChargePercent": 19, "return_value": 1})
    assert solar.max_grid_charge_percent == 19
    assert solar.return_value == 1


def test_models_are_immutable() -> None:
    status = DeviceStatus(id="x")
    with pytest.raises(ValidationError):
        status.id = "y"  # type: ignore[misc]


# -- units, identity, blank slots, personal data (issue 14) ---------------------------------------


@pytest.mark.parametrize(
    ("model", "name", "unit"),
    [
        (DeviceStatus, "charge_power", "kW"),  # a derived property
        (DeviceStatus, "sys_charge_power", "kW"),
        (DeviceStatus, "sysGridPower", "kW"),  # wire names work too
        (DeviceStatus, "charge_status.charge_energy_total", "kWh"),
        (DeviceStatus, "chargeStatus.duration", "s"),
        (DeviceStatus, "sys_voltage_a", "V"),
        (DeviceStatus, "sysAmpB", "A"),
        (DeviceStatus, "cfg_charge_amp_max", "A"),
        (DeviceStatus, "sys_temperature", "°C"),
        (DeviceStatus, "sys_rssi", "dBm"),
        (DeviceStatus, "cfg_lora2.rssi", "dBm"),
        (DeviceStatus, "solar_max_grid_charge_percent", "%"),
        (DeviceStatus, "last_event_age", "s"),
        (DeviceStatus, "evse_state", None),
        (DeviceStatus, "is_charging", None),  # a property without a unit
        (DeviceStatus, "schedule_slots_array.start_hour", None),
        (ChargeStatus, "charge_power", "kW"),
        (ChargeLog, "surplus_used_energy_total", "kWh"),
        (ChargeLog, "charge_cost_total", None),  # in the account's currency
        (SolarSettings, "maxGridChargePercent", "%"),
    ],
)
def test_units_are_readable_by_code(model: type[WireModel], name: str, unit: str | None) -> None:
    assert model.unit_of(name) == unit
    attribute = name.rsplit(".", maxsplit=1)[-1]
    if unit is not None and "." not in name and attribute in model.model_fields:
        assert model.UNITS[attribute] == unit


@pytest.mark.parametrize(
    "name", ["nope", "charge_status.nope", "sys_rssi.dbm", "", "nope.charge_power", "sysSsid"]
)
def test_unit_of_an_unknown_name_is_invalid_input(name: str) -> None:
    with pytest.raises(InvalidInputError, match="DeviceStatus"):
        DeviceStatus.unit_of(name)
    with pytest.raises(InvalidInputError):
        DeviceStatus.unit_of(3)  # type: ignore[arg-type]


def test_units_cover_every_power_energy_and_electrical_field() -> None:
    units = dict(DeviceStatus.UNITS) | {
        f"charge_status.{name}": unit for name, unit in ChargeStatus.UNITS.items()
    }
    assert set(units.values()) <= {"kW", "kWh", "V", "A", "°C", "s", "dBm", "%"}
    for name in [*DeviceStatus.model_fields, *(f"charge_status.{n}" for n in ChargeStatus.UNITS)]:
        field = name.split(".")[-1]
        if any(part in field for part in ("power", "energy", "voltage", "amp_", "amp")):
            assert name in units, name
    schema = DeviceStatus.model_json_schema(by_alias=True)
    assert schema["properties"]["sysVoltageA"]["unit"] == "V"
    assert schema["properties"]["sysVoltageA"]["anyOf"][0] == {"type": "number"}
    assert schema["properties"]["sysRssi"]["anyOf"][0] == {"type": "integer"}


EVERY_DAY = dict.fromkeys(DayMap.model_fields, True)


@pytest.mark.parametrize(
    ("slot", "is_set"),
    [
        ({}, False),
        ({"startHour": 0, "startMinute": 0, "endHour": 0, "endMinute": 0}, False),
        ({"startHour": 0, "startMinute": 0, "endHour": 0, "endMinute": 0, "enabled": True}, False),
        ({"startHour": "0", "endHour": 0.0, "dayMap": EVERY_DAY, "enabled": False}, False),
        ({"startHour": 0, "startMinute": 0, "endHour": 0, "endMinute": 0, "dayMap": {}}, False),
        ({"startHour": 0, "startMinute": 30, "endHour": 4, "endMinute": 30}, True),
        ({"startHour": 22, "startMinute": 0, "endHour": 0, "endMinute": 0}, True),
        ({"endMinute": 1}, True),
        ({"startHour": 5, "startMinute": 0, "endHour": 5, "endMinute": 0}, True),
    ],
)
def test_a_blank_slot_is_not_set(slot: dict[str, Any], is_set: bool) -> None:
    assert ScheduleSlot.model_validate(slot).is_set is is_set


def test_the_emulator_s_blank_slots_are_not_set() -> None:
    status = DeviceStatus.model_validate(new_charger().status())
    assert [slot is not None and slot.is_set for slot in status.schedules] == [True] + [False] * 4
    assert status.sys_sch_set is True  # the emulator's own summary agrees


def test_identity_from_a_device_and_from_a_status() -> None:
    device = Device.model_validate(
        {
            "id": "dev-1",
            "deviceInfo": {"friendlyName": "Driveway"},
            "deviceStatus": {
                "sysProductName": "Andersen A2",
                "sysProductId": "13042",
                "sysHwVersion": "A2-R3",
                "sysFwVersion": "1.0.31",
                "konnectSerial": "AK00000001",
            },
        }
    )
    assert device.identity == DeviceIdentity(
        device_id="dev-1",
        name="Driveway",
        manufacturer="Andersen EV",
        model="Andersen A2",
        model_id="13042",
        hw_version="A2-R3",
        sw_version="1.0.31",
        serial_number="AK00000001",
    )
    assert device.device_status is not None
    assert device.device_status.identity == replace(device.identity, device_id=None, name=None)
    assert Device(id="x").identity == DeviceIdentity(device_id="x", manufacturer=MANUFACTURER)


async def test_the_devices_list_carries_each_identity(
    a2: AndersenA2, andersen_charger: Charger
) -> None:
    (device,) = await a2.get_current_user_devices()
    served = andersen_charger.status()
    assert device.identity == DeviceIdentity(
        device_id=andersen_charger.id,
        name=andersen_charger.friendly_name,
        model=served["sysProductName"],
        model_id=str(served["sysProductId"]),
        hw_version=served["sysHwVersion"],
        sw_version=served["sysFwVersion"],
        serial_number=served["konnectSerial"],
    )


def test_personal_fields_are_listed_once_and_left_out_of_reports() -> None:
    assert {"sys_ssid", "konnect_serial"} == DeviceStatus.TO_REDACT
    assert {"last_ip_address", "name"} <= Device.TO_REDACT
    assert {"address", "address_postcode", "location_latitude"} <= DeviceInfo.TO_REDACT
    assert {"eui"} == LoraConfig.TO_REDACT
    assert not ChargeLog.TO_REDACT
    for key in ("sysSSID", "sys_ssid", "konnectSerial", "lastIpAddress", "locationLongitude"):
        assert key in REDACT_KEYS
    assert "serial_number" in REDACT_KEYS  # DeviceIdentity's
    assert {"sysSSID", "konnectSerial"} == REDACTED_STATUS_FIELDS
    status = DeviceStatus.model_validate(new_charger().status())
    assert status.cfg_lora0 is not None
    assert status.cfg_lora0.eui == "70B3D57ED0051A2B"
    report = status.redacted()
    text = json.dumps(report)
    for private in ("sysSSID", "konnectSerial", "HomeWiFi", "70B3D57ED0051A2B", "eui"):
        assert private not in text
    assert report["cfgLora0"]["rssi"] == status.cfg_lora0.rssi
    assert report["evseState"] == status.evse_state
    assert "sys_rssi" in status.redacted(by_alias=False)


class _Sensors(WireModel):
    """Personal fields inside a tuple of models are left out too."""

    sensors: tuple[LoraConfig | None, ...] | None = None


def test_redaction_reaches_into_tuples_of_models() -> None:
    sensors = _Sensors.model_validate({"sensors": [{"eui": "A1", "rssi": -80}, None]})
    assert sensors.redacted() == {
        "sensors": [{"cfg": None, "epow": None, "on": None, "rssi": -80}, None]
    }


def test_wire_names() -> None:
    assert DeviceStatus.wire_name("sys_ssid") == "sysSSID"
    assert DeviceStatus.wire_name("sys_rssi") == "sysRssi"
    assert Device.wire_name("last_ip_address") == "lastIpAddress"
    assert Address.wire_name("postcode") == "postcode"
    assert CommandResult.wire_name("return_value") == "return_value"
