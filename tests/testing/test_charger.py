"""The simulated charger: state, commands, derived evseState, the simulated car, publishing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from graphql import GraphQLObjectType, build_schema

from andersen_ev.graphql import schema_sdl
from andersen_ev.testing.charger import (
    DEFAULT_START,
    MIN_POWER_KW,
    RAMP_KW_PER_SECOND,
    Charger,
    InputError,
    ScheduleSlot,
    local_time,
)
from andersen_ev.testing.sample_data import (
    DEFAULT_PRICE,
    ChargeSession,
    bin_power_logs,
    parse_date,
    search_addresses,
)
from andersen_ev.testing.state import StatusHub

EVERY_DAY = dict.fromkeys(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"), True
)


def make_charger(hub: StatusHub | None = None, **options: Any) -> Charger:
    return Charger(
        device_id="0123456789abcdef01234567",
        friendly_name="Driveway",
        device_name="A2-TEST01",
        hub=hub or StatusHub(),
        **options,
    )


def slot(
    start: str, end: str, *, enabled: bool = True, days: dict[str, bool] | None = None
) -> dict[str, Any]:
    (start_hour, start_minute), (end_hour, end_minute) = (
        map(int, start.split(":")),
        map(int, end.split(":")),
    )
    return {
        "startHour": start_hour,
        "startMinute": start_minute,
        "endHour": end_hour,
        "endMinute": end_minute,
        "enabled": enabled,
        "dayMap": days or EVERY_DAY,
    }


def ramped_energy(seconds: float, power: float = 7.2) -> float:
    """kWh delivered in ``seconds`` from a standing start, ramping to ``power``."""
    ramp = power / RAMP_KW_PER_SECOND
    if seconds <= ramp:
        return RAMP_KW_PER_SECOND * seconds * seconds / 2 / 3600
    return (power * seconds - power * ramp / 2) / 3600


def schema_fields(type_name: str) -> set[str]:
    object_type = build_schema(schema_sdl()).type_map[type_name]
    assert isinstance(object_type, GraphQLObjectType)
    return set(object_type.fields)


class Feed:
    """A real ``deviceStatusUpdated`` subscriber on the hub, read one payload at a time."""

    def __init__(self, hub: StatusHub, device_id: str) -> None:
        self._hub, self._id = hub, device_id
        stream = hub.watch(device_id)
        assert isinstance(stream, AsyncGenerator)
        self._stream: AsyncGenerator[dict[str, Any], None] = stream
        self._first: asyncio.Future[dict[str, Any]] | None = None

    async def start(self) -> None:
        before = self._hub.subscriber_count(self._id)
        self._first = asyncio.ensure_future(anext(self._stream))
        await asyncio.sleep(0)  # one turn of the loop: the generator runs up to queue.get()
        assert self._hub.subscriber_count(self._id) == before + 1

    async def next(self) -> dict[str, Any]:
        if self._first is not None:
            first, self._first = self._first, None
            return await asyncio.wait_for(first, 1)
        return await asyncio.wait_for(anext(self._stream), 1)

    async def assert_quiet(self) -> None:
        """Nothing was published since the last :meth:`next` (checked with a sentinel)."""
        self._hub.publish(self._id, {"sentinel": True})
        assert await self.next() == {"sentinel": True}

    async def close(self) -> None:
        if self._first is not None:
            self._first.cancel()
        await self._stream.aclose()


@pytest.fixture
async def feed_and_charger() -> AsyncIterator[tuple[Feed, Charger]]:
    hub = StatusHub()
    charger = make_charger(hub)
    feed = Feed(hub, charger.id)
    await feed.start()
    yield feed, charger
    await feed.close()


# -- shape and defaults -----------------------------------------------------------------------


def test_status_is_a_complete_device_status() -> None:
    status = make_charger().status()
    assert set(status) == schema_fields("DeviceStatus")
    assert status["id"] == "0123456789abcdef01234567"
    assert status["online"] is True
    assert status["sysRssi"] == -60
    assert status["cfgChargeAmpMax"] == 32
    assert status["cfgCTConfig"] == 1
    assert 230 < status["sysVoltageA"] < 250
    assert status["evseState"] == 1
    assert status["konnectSerial"].startswith("AK")
    assert status["sysTime"] == "2025-01-06T12:00:00Z"
    assert status["sysRuntime"] > 0
    assert status["cfgDSTActive"] is False
    assert len(status["scheduleSlotsArray"]) == 5
    assert set(status["scheduleSlotsArray"][0]["dayMap"]) == set(EVERY_DAY)
    assert set(status["chargeStatus"]) == schema_fields("ChargeStatus")
    assert set(status["cfgLora0"]) == schema_fields("LoraConfig")
    assert status["sysSch0"] == "0,00:30,04:30,1111111"
    assert status["sysSchSet"] is True


def test_info_is_a_complete_device_info() -> None:
    charger = make_charger()
    info = charger.info()
    assert set(info) == schema_fields("DeviceInfo")
    assert info["friendlyName"] == charger.friendly_name == "Driveway"
    assert info["timeZoneRegion"] == "Europe/London"
    assert info["currency"] == "GBP"
    assert info["userLock"] is False
    assert [name for n in range(5) if (name := info[f"schedule{n}Name"])] == [
        f"Schedule {n}" for n in range(5)
    ]
    assert info["loraDevices"] == [
        {"eui": "70B3D57ED0051A2B", "name": "LoRa sensor 0", "rssi": -87}
    ]
    assert "Driveway" in repr(charger)


def test_status_and_info_are_copies() -> None:
    charger = make_charger()
    charger.status()["cfgLora0"]["on"] = False
    charger.info()["friendlyName"] = "changed"
    assert charger.status()["cfgLora0"]["on"] is True
    assert charger.friendly_name == "Driveway"


def test_constructor_options() -> None:
    start = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
    charger = make_charger(
        now=start,
        last_ip_address="198.51.100.7",
        history_sessions=0,
        sysFwVersion="1.0.40",
        addressPostcode="RG1 8DQ",
        online=False,
    )
    assert charger.now == start
    assert charger.last_ip_address == "198.51.100.7"
    assert charger.sessions == []
    assert charger.status()["sysFwVersion"] == "1.0.40"
    assert charger.info()["addressPostcode"] == "RG1 8DQ"
    assert charger.status()["online"] is False
    with pytest.raises(TypeError, match="aware"):
        make_charger(now=datetime(2024, 1, 1))  # noqa: DTZ001 - the point of the test
    with pytest.raises(TypeError, match="bogus"):
        make_charger(bogus=1)


# -- commands ---------------------------------------------------------------------------------


def test_user_lock_and_unlock() -> None:
    charger = make_charger()
    result = charger.run_command("userLock", "ignored")
    assert result == {
        "id": charger.id,
        "name": "A2-TEST01",
        "last_app": "",
        "connected": True,
        "return_value": None,
    }
    status = charger.status()
    assert (status["sysUserLock"], status["evseState"], status["sysChargingEnabled"]) == (
        True,
        255,
        False,
    )
    assert charger.info()["userLock"] is True
    charger.run_command("userUnlock")
    assert (charger.status()["sysUserLock"], charger.status()["evseState"]) == (False, 1)
    charger.user_lock()
    assert charger.evse_state == 255
    charger.user_unlock()
    assert charger.evse_state == 1


def test_unknown_command_is_refused() -> None:
    charger = make_charger()
    with pytest.raises(InputError, match="'selfDestruct' not found"):
        charger.run_command("selfDestruct")


def test_fault_and_rcm_reset() -> None:
    charger = make_charger()
    charger.set_error(7)
    assert (charger.status()["evseState"], charger.status()["sysFaultCode"]) == (4, 7)
    assert charger.status()["sysRcmUserCleared"] is False
    charger.user_lock()
    assert charger.evse_state == 4  # a fault outranks the lock
    charger.user_unlock()
    charger.run_command("rcmReset")
    status = charger.status()
    assert (status["evseState"], status["sysFaultCode"], status["sysRcmUserCleared"]) == (
        1,
        0,
        True,
    )
    charger.set_error(3)
    charger.set_error(0)
    assert charger.evse_state == 1
    charger.rcm_reset()  # nothing to clear
    assert charger.status()["sysRcmUserCleared"] is False


def test_sleeping() -> None:
    charger = make_charger()
    charger.set_sleeping()
    assert charger.evse_state == 254
    charger.set_sleeping(sleeping=False)
    assert charger.evse_state == 1


def test_set_schedules_changes_only_the_given_slots() -> None:
    charger = make_charger()
    before = charger.status()["scheduleSlotsArray"]
    result = charger.set_schedules(
        {"sch1": slot("11:00", "13:00"), "sch3": slot("22:00", "06:00", enabled=False)}
    )
    assert result["return_value"] is None
    slots = charger.status()["scheduleSlotsArray"]
    assert slots[1] == slot("11:00", "13:00")
    assert slots[3] == slot("22:00", "06:00", enabled=False)
    assert [slots[n] for n in (0, 2, 4)] == [before[n] for n in (0, 2, 4)]
    status = charger.status()
    assert status["sysSchEnabled"] is True
    assert status["sysSch1"] == "1,11:00,13:00,1111111"
    assert status["sysScheduleLock"] is False  # noon is inside 11:00-13:00
    charger.set_schedules({"sch1": slot("11:00", "13:00", enabled=False), "sch2": None})
    assert charger.status()["sysSchEnabled"] is False


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"startHour": 24}, "startHour"),
        ({"endMinute": 60}, "endMinute"),
        ({"startMinute": -1}, "startMinute"),
        ({"endHour": True}, "endHour"),
        ({"dayMap": None}, "dayMap"),
    ],
)
def test_invalid_slot_changes_nothing(bad: dict[str, Any], message: str) -> None:
    charger = make_charger()
    before = charger.status()
    with pytest.raises(InputError, match=message):
        charger.set_schedules(
            {"sch0": slot("01:00", "02:00"), "sch2": slot("03:00", "04:00") | bad}
        )
    assert charger.status() == before


def test_schedule_input_shape_is_checked() -> None:
    charger = make_charger()
    with pytest.raises(InputError, match="sch7"):
        charger.set_schedules({"sch7": slot("01:00", "02:00")})
    with pytest.raises(InputError, match="must be an object"):
        charger.set_schedules({"sch0": "01:00-02:00"})


def test_set_all_schedules_disabled_unlocks() -> None:
    charger = make_charger()
    charger.set_schedules({f"sch{n}": slot("01:00", "02:00") for n in range(5)})
    charger.user_lock()
    charger.disable_all_schedules()
    status = charger.status()
    assert not any(s["enabled"] for s in status["scheduleSlotsArray"])
    assert status["scheduleSlotsArray"][4]["startHour"] == 1  # windows are kept
    assert (status["sysUserLock"], status["sysSchEnabled"], status["evseState"]) == (
        False,
        False,
        1,
    )


def test_set_solar() -> None:
    charger = make_charger()
    charger.set_solar(
        override=True, charge_always=True, max_grid_charge_percent=19, charge_outside_schedules=True
    )
    status = charger.status()
    assert (
        status["solarOverride"],
        status["solarChargeAlways"],
        status["solarMaxGridChargePercent"],
    ) == (True, True, 19)
    assert charger.charge_outside_schedules is True
    assert charger.info()["solarOverrideStart"] == "2025-01-06T12:00:00Z"
    assert charger.info()["solarChargeAlways"] is True
    assert charger.solar_settings() == {
        "deviceId": charger.id,
        "override": True,
        "chargeAlways": True,
        "maxGridChargePercent": 19,
        "return_value": None,
    }
    charger.set_solar(override=False)  # the others stay
    assert charger.info()["solarOverrideStart"] is None
    assert charger.status()["solarMaxGridChargePercent"] == 19
    for bad in (101, -1):
        with pytest.raises(InputError, match="maxGridChargePercent"):
            charger.set_solar(override=True, max_grid_charge_percent=bad)
    assert charger.status()["solarOverride"] is False


def test_names() -> None:
    charger = make_charger()
    info = charger.update_info(friendlyName="Garage", schedule2Name="Cheap", schedule3Name=None)
    assert (info["friendlyName"], info["schedule2Name"], info["schedule3Name"]) == (
        "Garage",
        "Cheap",
        "Schedule 3",
    )
    with pytest.raises(InputError, match="currency"):
        charger.update_info(currency="EUR")


def test_charge_rates() -> None:
    charger = make_charger()
    rate = charger.create_charge_rate(
        {"price": 0.075, "timeStartLocal": "00:30", "timeStopLocal": "04:30", "daySun": False}
    )
    assert rate["dayMon"] is True
    assert rate["daySun"] is False
    assert rate["startDateTime"] is None
    assert charger.has_charge_rate(rate["id"])
    charger.update_charge_rate(rate["id"], {"price": 0.09, "stopDateTime": "2026-01-01"})
    (stored,) = charger.charge_rates()
    assert (stored["price"], stored["timeStartLocal"], stored["stopDateTime"]) == (
        0.09,
        "00:30",
        "2026-01-01",
    )
    for bad in (
        {"price": 1.0, "timeStartLocal": "24:00"},
        {"price": 1.0, "timeStopLocal": "7pm"},
        {"price": 1.0, "timeStopLocal": "07:00:61"},
        {"price": 1.0, "startDateTime": "yesterday"},
        {"price": float("nan")},
        {"price": True},
        {"price": 1.0, "colour": "red"},
    ):
        with pytest.raises(InputError):
            charger.create_charge_rate(bad)
        with pytest.raises(InputError):
            charger.update_charge_rate(rate["id"], bad)
    assert charger.charge_rates() == [stored]
    charger.delete_charge_rate(rate["id"])
    assert charger.charge_rates() == []
    with pytest.raises(KeyError):
        charger.delete_charge_rate(rate["id"])


# -- derived evseState --------------------------------------------------------------------------


def test_schedule_lock_outside_every_enabled_slot() -> None:
    charger = make_charger()  # Monday 12:00 GMT
    charger.set_schedules({"sch0": slot("00:30", "04:30")})
    status = charger.status()
    assert (status["evseState"], status["sysScheduleLock"], status["sysUserLock"]) == (
        255,
        True,
        False,
    )
    charger.set_schedules({"sch4": slot("12:00", "12:01")})
    assert (charger.status()["evseState"], charger.status()["sysScheduleLock"]) == (1, False)
    charger.advance(60)
    assert charger.status()["sysScheduleLock"] is True


def test_schedule_day_map_and_whole_day_slots() -> None:
    charger = make_charger()  # a Monday
    weekend = EVERY_DAY | dict.fromkeys(("monday", "tuesday", "wednesday", "thursday"), False)
    charger.set_schedules({"sch0": slot("00:00", "00:00", days=weekend)})
    assert charger.status()["sysScheduleLock"] is True
    charger.set_schedules({"sch0": slot("00:00", "00:00")})
    assert charger.status()["sysScheduleLock"] is False


def test_overnight_slot_belongs_to_the_day_it_starts() -> None:
    monday_only = dict.fromkeys(EVERY_DAY, False) | {"monday": True}
    window = ScheduleSlot.from_wire(slot("22:00", "06:00", days=monday_only))
    monday = datetime(2025, 1, 6)  # noqa: DTZ001 - local wall-clock times
    assert window.covers(monday.replace(hour=23))
    assert window.covers(monday.replace(hour=3) + timedelta(days=1))  # Tuesday 03:00
    assert not window.covers(monday.replace(hour=3))  # Monday 03:00: Sunday's window
    assert not window.covers(monday.replace(hour=23) + timedelta(days=1))
    assert not window.covers(monday.replace(hour=12))


def test_schedules_follow_local_summer_time() -> None:
    summer = datetime(2025, 7, 7, 11, 30, tzinfo=UTC)  # Monday 12:30 BST
    for region in ("Europe/London", "Mars/Olympus"):  # unknown zones fall back to UK time
        charger = make_charger(now=summer, timeZoneRegion=region)
        charger.set_schedules({"sch0": slot("12:00", "13:00")})
        assert charger.status()["sysScheduleLock"] is False
        assert charger.status()["cfgDSTActive"] is True
    assert local_time(summer, None) == (datetime(2025, 7, 7, 12, 30), True)  # noqa: DTZ001
    winter = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
    assert local_time(winter, "Mars/Olympus") == (datetime(2025, 1, 6, 12, 0), False)  # noqa: DTZ001
    assert local_time(winter, "Europe/Paris")[0].hour == 13


def test_lock_with_car_plugged_in_and_unlock_resumes() -> None:
    charger = make_charger()
    charger.plug_in(energy_wanted_kwh=20)
    assert charger.evse_state == 2  # plugged in, not drawing yet
    charger.advance(60)
    assert charger.evse_state == 3
    charger.user_lock()
    assert charger.evse_state == 255
    energy = charger.status()["chargeStatus"]["chargeEnergyTotal"]
    charger.advance(600)
    assert charger.status()["chargeStatus"]["chargeEnergyTotal"] == energy
    assert charger.status()["chargeStatus"]["chargePower"] == 0
    charger.user_unlock()
    charger.advance(60)
    assert charger.evse_state == 3
    assert charger.status()["chargeStatus"]["chargeEnergyTotal"] == pytest.approx(
        energy + ramped_energy(60), abs=1e-4
    )


# -- the simulated car --------------------------------------------------------------------------


def test_charging_session_grows_with_time() -> None:
    charger = make_charger()
    charger.plug_in(energy_wanted_kwh=50, max_power_kw=7.2)
    assert charger.car is not None
    assert charger.status()["chargeStatus"]["start"] is None
    charger.advance(3)  # still ramping
    status = charger.status()
    assert status["evseState"] == 3
    assert status["chargeStatus"]["chargePower"] == pytest.approx(3.0)
    charger.advance(3597)
    status = charger.status()
    charge = status["chargeStatus"]
    assert charge["start"] == "2025-01-06T12:00:00Z"
    assert charge["chargePower"] == pytest.approx(7.2)
    assert charge["chargePowerMax"] == pytest.approx(7.2)
    assert charge["duration"] == 3600
    assert charge["chargeEnergyTotal"] == pytest.approx(ramped_energy(3600), abs=1e-4)
    assert charge["gridEnergyTotal"] == charge["chargeEnergyTotal"]
    assert status["sysChargePower"] == pytest.approx(7.2)
    assert status["sysPowerA"] == pytest.approx(7.2)
    assert status["sysAmpA"] == pytest.approx(7200 / 240.3, abs=0.01)
    assert status["sysGridPower"] == pytest.approx(7.6)
    delta = ramped_energy(3600) - ramped_energy(3)  # energy of the last advance() only
    assert status["sysGridEnergyDelta"] == pytest.approx(delta, abs=1e-4)
    assert status["sysTime"] == "2025-01-06T13:00:00Z"


def test_car_full_stops_charging_and_unplug_logs_the_session() -> None:
    charger = make_charger(history_sessions=2)
    charger.create_charge_rate({"price": 0.3})
    charger.plug_in(energy_wanted_kwh=10, max_power_kw=7.2)
    charger.advance(2 * 3600)
    status = charger.status()
    assert status["evseState"] == 2
    assert status["chargeStatus"]["chargePower"] == 0
    assert status["chargeStatus"]["chargeEnergyTotal"] == pytest.approx(10)
    assert status["chargeStatus"]["duration"] == round(10 / 7.2 * 3600 + 3.6)
    car = charger.car
    assert car is not None
    assert car.remaining == 0
    logged = charger.unplug()
    assert isinstance(logged, ChargeSession)
    assert charger.evse_state == 1
    assert charger.car is None
    assert charger.status()["chargeStatus"]["chargeEnergyTotal"] == pytest.approx(10)
    newest = charger.charge_logs(limit=1)[0]
    assert newest["uuid"] == logged.uuid
    assert newest["deviceId"] == charger.id
    assert newest["chargeEnergyTotal"] == pytest.approx(10)
    assert newest["chargeCostTotal"] == pytest.approx(3.0)
    assert newest["startDateTimeLocal"] == "2025-01-06T12:00:00"
    assert newest["particleFwVersion"] == "1.0.31"
    assert len(charger.sessions) == 3


def test_session_price_comes_from_the_covering_charge_rate() -> None:
    charger = make_charger(history_sessions=0)  # sessions start Monday 12:00 local
    not_monday = dict.fromkeys(("dayMon",), False)
    charger.create_charge_rate({"price": 1.0} | not_monday)
    charger.create_charge_rate({"price": 2.0, "startDateTime": "2025-02-01T00:00:00Z"})
    charger.create_charge_rate({"price": 3.0, "stopDateTime": "2025-01-01"})
    charger.create_charge_rate({"price": 4.0, "timeStartLocal": "13:00", "timeStopLocal": "14:00"})
    charger.create_charge_rate({"price": 0.5, "timeStartLocal": "23:00", "timeStopLocal": "12:30"})
    charger.plug_in(energy_wanted_kwh=2)
    charger.advance(3600)
    charger.unplug()
    assert charger.charge_logs()[0]["chargeCostTotal"] == pytest.approx(1.0)  # 2 kWh at 0.5


def test_car_that_fills_up_while_power_ramps() -> None:
    charger = make_charger()
    charger.plug_in(energy_wanted_kwh=0.001)
    charger.advance(60)
    charge = charger.status()["chargeStatus"]
    assert charge["chargeEnergyTotal"] == pytest.approx(0.001)
    # 1 Wh while ramping at 1 kW/s from zero: t = sqrt(2 * 3.6 kJ / 1 kW/s) ~ 2.7 s
    assert charge["duration"] == 3
    assert charge["chargePowerMax"] == pytest.approx(2.683, abs=1e-3)
    assert charger.evse_state == 2
    assert charger.unplug() is not None
    assert charger.sessions[-1].price == DEFAULT_PRICE


def test_unplug_without_energy_logs_nothing() -> None:
    charger = make_charger(history_sessions=0)
    assert charger.unplug() is None
    charger.user_lock()
    charger.plug_in()
    charger.advance(600)
    assert charger.unplug() is None
    assert charger.sessions == []


def test_plug_in_is_checked() -> None:
    charger = make_charger()
    with pytest.raises(ValueError, match="positive"):
        charger.plug_in(energy_wanted_kwh=0)
    with pytest.raises(ValueError, match="positive"):
        charger.plug_in(max_power_kw=-1)
    charger.plug_in(energy_wanted_kwh=None)
    with pytest.raises(RuntimeError, match="plugged in already"):
        charger.plug_in()
    with pytest.raises(ValueError, match="forward"):
        charger.advance(-1)
    charger.advance(10 * 3600)
    assert charger.evse_state == 3  # a car that never fills up


def test_slow_car_and_charger_limits() -> None:
    charger = make_charger()
    charger.plug_in(max_power_kw=3.6)
    charger.advance(600)
    assert charger.status()["chargeStatus"]["chargePower"] == pytest.approx(3.6)
    charger.set(cfgChargeAmpMax=16)  # 3.6 kW on a 7.2 kW unit
    charger.unplug()
    charger.plug_in(max_power_kw=11)
    charger.advance(600)
    assert charger.status()["chargeStatus"]["chargePower"] == pytest.approx(3.6)


def test_charging_starts_when_the_schedule_window_opens() -> None:
    charger = make_charger()  # Monday 12:00
    charger.set_schedules({"sch0": slot("12:30", "13:00")})
    charger.plug_in(energy_wanted_kwh=40)
    charger.advance(3600)
    status = charger.status()
    assert status["evseState"] == 255
    assert status["chargeStatus"]["start"] == "2025-01-06T12:30:00Z"
    assert status["chargeStatus"]["duration"] == 1800
    assert status["chargeStatus"]["chargeEnergyTotal"] == pytest.approx(
        ramped_energy(1800), abs=1e-4
    )


def test_solar_mode_limits_power_to_surplus_and_grid_allowance() -> None:
    charger = make_charger(sysSolarCT=True, sysSolarPower=3.0)
    charger.set_solar(max_grid_charge_percent=0)
    charger.plug_in(energy_wanted_kwh=40)
    charger.advance(3600)
    charge = charger.status()["chargeStatus"]
    assert charge["chargePower"] == pytest.approx(3.0)
    assert charge["solarPower"] == pytest.approx(3.0)
    assert charge["gridPower"] == 0
    assert charge["solarEnergyTotal"] == pytest.approx(charge["chargeEnergyTotal"])
    assert charger.status()["sysSolarEnergyDelta"] == pytest.approx(
        ramped_energy(3600, 3.0), abs=1e-4
    )

    charger.set(sysSolarPower=0.5)  # below the charger's minimum: pause
    charger.advance(60)
    assert charger.evse_state == 2
    charger.set_solar(charge_always=True)  # ... unless told to charge anyway
    charger.advance(60)
    assert charger.status()["chargeStatus"]["chargePower"] == pytest.approx(MIN_POWER_KW)
    charger.set_solar(override=True)  # full power, part of it solar
    charger.advance(60)
    charge = charger.status()["chargeStatus"]
    assert charge["chargePower"] == pytest.approx(7.2)
    assert charge["solarPower"] == pytest.approx(0.5)
    assert charge["gridPower"] == pytest.approx(6.7)


def test_advance_crosses_many_minutes_quickly() -> None:
    charger = make_charger()
    charger.plug_in(energy_wanted_kwh=None)
    charger.advance(7 * 24 * 3600)
    assert charger.now == DEFAULT_START + timedelta(days=7)
    assert charger.status()["chargeStatus"]["duration"] == 7 * 24 * 3600


# -- charge logs and binned power ---------------------------------------------------------------


def test_charge_log_history_filters_and_pages() -> None:
    charger = make_charger()
    logs = charger.charge_logs()
    assert len(logs) == 12
    assert set(logs[0]) == schema_fields("ChargeLog")
    starts = [log["startDateTimeLocal"] for log in logs]
    assert starts == sorted(starts, reverse=True)
    assert charger.charge_logs(limit=3, offset=2) == logs[2:5]
    assert charger.charge_logs(offset=10) == logs[10:]
    big = charger.charge_logs(min_energy=30)
    assert big
    assert all(log["chargeEnergyTotal"] >= 30 for log in big)
    since = charger.charge_logs(date_from=logs[3]["startDateTimeLocal"] + "Z")
    assert since == logs[:4]
    assert make_charger().charge_logs() == logs  # deterministic per device id
    with pytest.raises(InputError):
        charger.charge_logs(limit=-1)
    with pytest.raises(InputError):
        charger.charge_logs(date_from="last week")
    with pytest.raises(InputError):
        charger.charge_logs(date_from=5)  # type: ignore[arg-type]


def test_power_logs_binned_include_the_current_session() -> None:
    charger = make_charger(history_sessions=0)
    charger.plug_in(energy_wanted_kwh=None)
    charger.advance(2 * 3600)
    bins = charger.power_logs_binned()
    assert len(bins) == 24
    assert bins[-1]["dateTo"] == "2025-01-06T14:00:00Z"
    assert bins[-1]["chargeEnergyTotal"] == pytest.approx(7.2, abs=0.01)
    assert bins[-1]["chargePowerAvg"] == pytest.approx(7.2, abs=0.01)
    assert sum(b["chargeEnergyTotal"] for b in bins) == pytest.approx(ramped_energy(7200), abs=0.01)
    quarter = charger.power_logs_binned(
        date_from="2025-01-06T12:00:00Z", date_to="2025-01-06T13:00:00", binned_minutes=15
    )
    assert [b["dateFrom"][11:16] for b in quarter] == ["12:00", "12:15", "12:30", "12:45"]
    assert charger.power_logs_binned(binned_minutes=15, limit=2, offset=1)[0]["dateFrom"].endswith(
        "14:15:00Z"
    )
    with pytest.raises(InputError):
        charger.power_logs_binned(binned_minutes=0)
    with pytest.raises(InputError):
        charger.power_logs_binned(date_from="2025-02-01", date_to="2025-01-01")
    with pytest.raises(InputError):
        charger.power_logs_binned(offset=-2)


def test_power_bins_grouped_by_calendar_units() -> None:
    sessions = make_charger(now=datetime(2025, 3, 1, tzinfo=UTC), history_sessions=40).sessions
    start, end = parse_date("2024-11-15", "from"), parse_date("2025-03-01", "to")

    def bins(group_by: str) -> list[dict[str, Any]]:
        return bin_power_logs(
            sessions,
            date_from=start,
            date_to=end,
            binned_minutes=None,
            group_by=group_by,
            limit=None,
            offset=None,
        )

    months = bins("MONTH")
    assert [b["dateFrom"][:10] for b in months] == [
        "2024-11-01",
        "2024-12-01",
        "2025-01-01",
        "2025-02-01",
    ]
    total = sum(s.energy for s in sessions if s.start >= start)
    assert sum(b["chargeEnergyTotal"] for b in months) == pytest.approx(total, abs=0.05)
    assert len(bins("WEEK")) == 16
    assert len(bins("DAY")) == 106
    assert bins("HOUR")[0]["dateTo"] == "2024-11-15T01:00:00Z"


def test_search_addresses() -> None:
    assert [a["number"] for a in search_addresses("orchard lane", None)] == ["1", "3", None]
    (cottage,) = search_addresses("gu11ab", "GB")
    assert cottage["buildingname"] == "Rose Cottage"
    assert cottage["summaryline"] == "Rose Cottage, Orchard Lane, Guildford, GU1 1AB"
    assert search_addresses("orchard", "FR") == []
    assert search_addresses(" ", "GB") == []


def test_sample_dates() -> None:
    assert parse_date("2023-01-05T00:30:00Z", "d") == datetime(2023, 1, 5, 0, 30, tzinfo=UTC)
    assert parse_date("2023-01-05T01:30:00+01:00", "d") == datetime(2023, 1, 5, 0, 30, tzinfo=UTC)
    with pytest.raises(InputError, match="d must"):
        parse_date(None, "d")
    assert DEFAULT_PRICE > 0


# -- offline ------------------------------------------------------------------------------------


async def test_offline_freezes_the_cloud_view_and_queues_commands(
    feed_and_charger: tuple[Feed, Charger],
) -> None:
    feed, charger = feed_and_charger
    charger.plug_in(energy_wanted_kwh=None)
    await feed.next()
    charger.set_online(False)
    frozen = await feed.next()
    assert frozen["online"] is False
    assert frozen["evseState"] == 2
    assert frozen["lastEventAge"] == 0

    charger.advance(600)  # the device charges on, unseen; nothing is published
    await feed.assert_quiet()
    status = charger.status()
    assert (status["evseState"], status["lastEventAge"]) == (2, 600)
    assert charger.evse_state == 3  # what the device really does

    result = charger.user_lock()
    assert (result["connected"], result["return_value"]) == (False, None)
    charger.set_schedules({"sch1": slot("01:00", "02:00")})
    assert charger.pending_commands == 2
    await feed.assert_quiet()
    assert charger.status()["sysUserLock"] is False

    charger.update_info(friendlyName="Offline garage")  # cloud-side: at once
    assert (await feed.next())["online"] is False
    assert charger.info()["friendlyName"] == "Offline garage"

    charger.set(online=True)
    back = await feed.next()
    assert back["online"] is True
    assert (back["sysUserLock"], back["evseState"], back["lastEventAge"]) == (True, 255, 0)
    assert back["scheduleSlotsArray"][1]["enabled"] is True
    assert back["chargeStatus"]["duration"] == 600
    assert charger.pending_commands == 0
    charger.set_online(True)  # no change, still publishes the status
    assert (await feed.next())["online"] is True


# -- test knobs ---------------------------------------------------------------------------------


def test_set_overrides_and_reset() -> None:
    charger = make_charger()
    charger.set(sysRssi=-85, friendlyName="Renamed", userLock=True)
    assert charger.status()["sysRssi"] == -85
    assert charger.friendly_name == "Renamed"
    assert charger.status()["sysUserLock"] is True
    charger.set(userLock=False, evseState=3, chargeStatus={"chargePower": 5.5})
    status = charger.status()
    assert status["evseState"] == 3
    assert status["chargeStatus"]["chargePower"] == 5.5
    assert status["chargeStatus"]["duration"] == 0  # merged, not replaced
    charger.reset("evseState")
    assert charger.status()["evseState"] == 1
    assert charger.status()["chargeStatus"]["chargePower"] == 5.5
    charger.reset()
    assert charger.status()["chargeStatus"]["chargePower"] == 0
    charger.set(
        scheduleSlotsArray=[slot("00:00", "00:00", enabled=False)] * 4 + [slot("01:00", "02:00")]
    )
    assert charger.status()["sysSch4"] == "1,01:00,02:00,1111111"
    assert charger.status()["sysSchSet"] is True
    charger.set(scheduleSlotsArray=[slot("00:00", "00:00", enabled=False)] * 5)
    assert charger.status()["sysSchSet"] is False
    with pytest.raises(InputError, match="5 slots"):
        charger.set(scheduleSlotsArray=[])
    with pytest.raises(TypeError, match="warpDrive"):
        charger.set(warpDrive=True)
    with pytest.raises(TypeError, match="id"):
        charger.set(id="other")


def test_garbage_knob_values_do_not_crash_the_model() -> None:
    charger = make_charger()
    charger.set(sysBootup="not a date", cfgChargeAmpMax="lots", sysVoltageA=0, cfgLora1=None)
    charger.plug_in()
    charger.advance(60)
    status = charger.status()
    assert status["sysRuntime"] is None
    assert status["evseState"] == 3  # a garbage amp limit falls back to 32 A
    assert status["sysAmpA"] == pytest.approx(status["sysChargePower"] * 1000 / 240, abs=0.01)


# -- publishing -------------------------------------------------------------------------------


ACTIONS: dict[str, Callable[[Charger], object]] = {
    "userLock": lambda c: c.run_command("userLock"),
    "userUnlock": lambda c: c.user_unlock(),
    "rcmReset": lambda c: c.rcm_reset(),
    "setSchedules": lambda c: c.set_schedules({"sch0": slot("01:00", "02:00")}),
    "setAllSchedulesDisabled": lambda c: c.disable_all_schedules(),
    "setSolar": lambda c: c.set_solar(charge_always=True),
    "upsertDeviceInfo": lambda c: c.update_info(friendlyName="x"),
    "createChargeRate": lambda c: c.create_charge_rate({"price": 0.1}),
    "plug_in": lambda c: c.plug_in(),
    "unplug": lambda c: c.unplug(),  # the fixture's charger has a car for this one
    "advance": lambda c: c.advance(1),
    "set": lambda c: c.set(sysRssi=-70),
    "reset": lambda c: c.reset(),
    "set_online": lambda c: c.set_online(False),
    "set_error": lambda c: c.set_error(2),
    "set_sleeping": lambda c: c.set_sleeping(),
}


@pytest.mark.parametrize("action", list(ACTIONS))
async def test_every_change_publishes_the_status_once(
    feed_and_charger: tuple[Feed, Charger], action: str
) -> None:
    feed, charger = feed_and_charger
    if action == "unplug":
        charger.plug_in()
        await feed.next()
    ACTIONS[action](charger)
    assert await feed.next() == charger.status()
    await feed.assert_quiet()


async def test_rate_changes_publish(feed_and_charger: tuple[Feed, Charger]) -> None:
    feed, charger = feed_and_charger
    rate = charger.create_charge_rate({"price": 0.1})
    await feed.next()
    charger.update_charge_rate(rate["id"], {"price": 0.2})
    await feed.next()
    charger.delete_charge_rate(rate["id"])
    await feed.next()
    await feed.assert_quiet()


async def test_advance_by_nothing_publishes_nothing(feed_and_charger: tuple[Feed, Charger]) -> None:
    feed, charger = feed_and_charger
    charger.advance(0)
    await feed.assert_quiet()


async def test_every_subscriber_gets_every_change() -> None:
    hub = StatusHub()
    charger = make_charger(hub)
    feeds = [Feed(hub, charger.id) for _ in range(3)]
    for feed in feeds:
        await feed.start()
    charger.user_lock()
    charger.plug_in()
    for feed in feeds:
        assert (await feed.next())["sysUserLock"] is True
        assert (await feed.next())["evseState"] == 255
        await feed.close()


def test_unknown_zone_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        local_time(DEFAULT_START, "Atlantis/Capital")
        local_time(DEFAULT_START, "Atlantis/Capital")
    assert [r.message for r in caplog.records].count(
        "unknown time zone 'Atlantis/Capital': using UK time (the Andersen market)"
    ) == 1
