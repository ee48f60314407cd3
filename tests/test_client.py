"""AndersenA2's operations against the emulator: the seed's walk-through, typed results,
validation before sending, retries and their limits, and errors a program can act on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import aiohttp
import pytest
from pydantic import ValidationError
from pydantic.alias_generators import to_snake

from andersen_ev import (
    AndersenA2,
    AndersenConnectionError,
    ApiError,
    CommandNotConfirmedError,
    DeviceNotFoundError,
    EvseState,
    InvalidInputError,
    OutcomeUnknownError,
    RateLimitedError,
    ResponseError,
    Schedule,
    ServerError,
)
from andersen_ev.const import Endpoints
from andersen_ev.testing import AndersenCloud, Charger, EmulatedUser
from tests.scripted_server import Script, json_reply

SEED_SCHEDULE: dict[str, Any] = {
    "startHour": 0,
    "startMinute": 30,
    "endHour": 4,
    "endMinute": 30,
    "enabled": True,
    "dayMap": {
        "monday": True,
        "tuesday": True,
        "wednesday": True,
        "thursday": True,
        "friday": True,
        "saturday": True,
        "sunday": True,
    },
}


def requests(cloud: AndersenCloud) -> int:
    return cloud.stats.http_requests


async def test_seed_readme_walk_through(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    # Retrieve device ID
    devices = await a2.get_current_user_devices()
    device_id = devices[0].id
    assert device_id == andersen_charger.id
    assert await a2.device_id_from_name("Driveway") == device_id

    # Enable scheduled charging (slot 0 is set first, as a schedule must exist to enable)
    await a2.create_schedule(device_id, 0, SEED_SCHEDULE)
    andersen_cloud.advance(2)  # the charger applies a command a second or two later
    await a2.enable_schedule(device_id, 0)
    andersen_cloud.advance(2)
    status = await a2.get_device_status(device_id)
    slot = status.schedules[0]
    assert slot is not None
    assert slot.enabled is True
    assert (slot.start_hour, slot.start_minute, slot.end_hour, slot.end_minute) == (0, 30, 4, 30)
    assert status.sys_sch_enabled is True

    # Disable scheduled charging: every slot off and the charger unlocked
    await a2.set_all_schedules_disabled(device_id)
    andersen_cloud.advance(2)
    status = await a2.get_device_status(device_id)
    assert all(s is None or s.enabled is False for s in status.schedules)
    assert status.sys_user_lock is False
    assert status.sys_sch_enabled is False

    # Define a new schedule (slot 1, from a Schedule model this time)
    await a2.create_schedule(device_id, 1, Schedule.model_validate(SEED_SCHEDULE))
    andersen_cloud.advance(2)
    slot1 = (await a2.get_device_status(device_id)).schedules[1]
    assert slot1 is not None
    assert slot1.enabled is True

    # Lock the charger
    await a2.user_lock(device_id)
    assert (await a2.get_device_status(device_id)).sys_user_lock is False  # read too early
    andersen_cloud.advance(2)
    status = await a2.get_device_status(device_id)
    assert status.sys_user_lock is True
    assert status.evse_state is EvseState.DISABLED
    assert status.is_locked

    # Unlock the charger
    await a2.user_unlock(device_id)
    andersen_cloud.advance(2)
    status = await a2.get_device_status(device_id)
    assert status.sys_user_lock is False
    assert status.is_locked is False


async def test_typed_queries(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    device_id = andersen_charger.id
    device = await a2.get_device(device_id)
    assert device.friendly_name == "Driveway"
    assert device.device_status is not None
    assert len(device.device_status.schedules) == 5
    simple = await a2.get_device_status_simple(device_id)
    assert simple.online is True
    assert simple.evse_state is EvseState.READY
    assert isinstance(await a2.get_support_message(), str | None)
    logs = await a2.get_device_calculated_charge_logs(device_id, limit=3)
    assert 0 < len(logs) <= 3
    assert all(log.charge_energy_total is not None for log in logs)
    binned = await a2.get_calculated_power_logs_binned(
        device_id, date(2025, 1, 1), None, 60, 10, 0, "day"
    )
    assert binned is not None
    addresses = await a2.search_address("10 Downing", "GB")
    assert all(address.summaryline for address in addresses)
    assert await a2.get_device_lora(device_id) is not None
    solar_info = await a2.get_device_solar(device_id)
    assert solar_info.id == device_id
    solar = await a2.get_solar(device_id)
    assert solar.max_grid_charge_percent is not None


async def test_charging_session_reads_through(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    andersen_charger.plug_in(energy_wanted_kwh=5)
    andersen_cloud.advance(600)
    status = await a2.get_device_status(andersen_charger.id)
    assert status.is_charging
    assert status.is_car_connected
    assert status.charge_status is not None
    assert status.charge_status.charge_energy_total
    assert status.charge_power


async def test_mutations_change_state(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    device_id = andersen_charger.id
    assert await a2.upsert_device_friendly_name(device_id, "Garage") == "Garage"
    assert await a2.device_id_from_name("Garage") == device_id
    info = await a2.set_schedule_names(device_id, {0: "Night", 4: "Solar"})
    assert info.schedule0_name == "Night"
    assert info.schedule4_name == "Solar"
    info = await a2.set_schedule_names(device_id, [None, "Cheap"])
    assert info.schedule1_name == "Cheap"
    with andersen_cloud.fast_forward():
        await a2.set_solar(device_id, True, True, 19, True, confirm=True)
    status = await a2.get_device_status(device_id)
    assert status.solar_override is True
    assert status.solar_max_grid_charge_percent == 19
    assert andersen_charger.charge_outside_schedules is True

    rate = await a2.create_charge_rate(
        device_id, 0.075, time_start_local="00:30", time_stop_local="04:30"
    )
    assert rate.id
    rates = await a2.get_device_charge_rates(device_id)
    assert [r.id for r in rates] == [rate.id]
    await a2.set_charge_rate(rate.id, 0.09, days=[True] * 5 + [False] * 2)
    assert (await a2.get_device_charge_rates(device_id))[0].price == pytest.approx(0.09)
    await a2.delete_charge_rate(rate.id)
    assert await a2.get_device_charge_rates(device_id) == []

    result = await a2.run_aev_command(device_id, "rcmReset")
    assert result is not None
    assert result.return_value is None
    await a2.upsert_account("Ada", "Lovelace")
    await a2.register_mobile_device("push-token")
    await a2.unregister_mobile_device("push-token")

    await a2.unclaim_device(device_id)
    assert await a2.get_current_user_devices() == []
    claimed = await a2.claim_device_by_name(andersen_charger.name)
    assert claimed is not None
    assert claimed.id == device_id


async def test_confirmed_commands(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    device_id = andersen_charger.id
    with andersen_cloud.fast_forward():  # each command lands as soon as it is answered
        await a2.user_lock(device_id, confirm=True)
        await a2.user_unlock(device_id, confirm=2.0)
        await a2.create_schedule(device_id, 2, confirm=True)
        await a2.enable_schedule(device_id, 2, False, confirm=True)
        await a2.enable_schedule(device_id, 2, confirm=True)
    slot = (await a2.get_device_status(device_id)).schedules[2]
    assert slot is not None
    assert (slot.start_hour, slot.end_hour, slot.enabled) == (0, 4, True)  # the window kept
    with andersen_cloud.fast_forward():
        await a2.set_all_schedules_disabled(device_id, confirm=True)
    with pytest.raises(InvalidInputError, match="positive timeout"):
        await a2.user_lock(device_id, confirm=-1)


async def test_unconfirmed_command_raises(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    andersen_charger.set_online(False)  # commands queue until the charger is back
    with pytest.raises(CommandNotConfirmedError, match="not confirmed") as info:
        await a2.user_lock(andersen_charger.id, confirm=0.05)
    assert info.value.command == "userLock"
    assert info.value.device_id == andersen_charger.id


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda a2, d: a2.enable_schedule(d, 7), "slot must be an integer from 0 to 4"),
        (lambda a2, d: a2.enable_schedule(d, True), "slot"),
        (lambda a2, d: a2.get_schedule(d, -1), "slot"),
        (lambda a2, d: a2.create_schedule(d, 5), "slot"),
        (lambda a2, d: a2.create_schedule(d, 0, {**SEED_SCHEDULE, "startHour": 25}), "0-23"),
        (lambda a2, d: a2.create_schedule(d, 0, {**SEED_SCHEDULE, "endMinute": 60}), "0-59"),
        (lambda a2, d: a2.create_schedule(d, 0, {"startHour": 1}), "required"),
        (lambda a2, d: a2.create_schedule(d, 0, "00:30"), "must be a Schedule or a dict"),
        (lambda a2, d: a2.set_schedules(d, {}), "non-empty"),
        (lambda a2, d: a2.set_schedules(d, {0: SEED_SCHEDULE, "sch0": SEED_SCHEDULE}), "twice"),
        (lambda a2, d: a2.set_schedules(d, {"sch9": SEED_SCHEDULE}), "slot"),
        (
            lambda a2, d: a2.set_schedules(
                d, {0: SEED_SCHEDULE, 1: {**SEED_SCHEDULE, "startMinute": -5}}
            ),
            "slot 1",
        ),
        (lambda a2, d: a2.set_solar(d, False, False, -1), "0 to 100"),
        (lambda a2, d: a2.set_solar(d, False, False, 101), "0 to 100"),
        (lambda a2, d: a2.get_device_status(""), "non-empty"),
        (lambda a2, d: a2.get_device_status(" x "), "whitespace"),
        (lambda a2, d: a2.user_lock(None), "non-empty"),
        (lambda a2, d: a2.run_aev_command(d, ""), "function_name"),
        (lambda a2, d: a2.set_schedule_names(d, {}), "at least one"),
        (lambda a2, d: a2.set_schedule_names(d, {6: "x"}), "slot"),
        (lambda a2, d: a2.set_schedule_names(d, {0: 3}), "must be a string"),
        (lambda a2, d: a2.create_charge_rate(d, -1.0), "price"),
        (lambda a2, d: a2.create_charge_rate(d, 0.1, days=[True]), "seven booleans"),
        (lambda a2, d: a2.get_device_calculated_charge_logs(d, limit=-1), "limit"),
        (lambda a2, d: a2.get_device_calculated_charge_logs(d, min_energy=-1), "min_energy"),
        (lambda a2, d: a2.get_calculated_power_logs_binned(d, group_by="YEAR"), "group_by"),
        (lambda a2, d: a2.device_by_name(""), "name"),
        (lambda a2, d: a2.search_address(""), "address_fragment"),
        (lambda a2, d: a2.user_lock(d, confirm="soon"), "confirm must be True or a positive"),
        (lambda a2, d: a2.user_unlock(d, confirm=float("nan")), "confirm"),
        (lambda a2, d: a2.set_solar(d, True, confirm=0), "confirm"),
        (lambda a2, d: a2.set_all_schedules_disabled(d, confirm=-2), "confirm"),
        (lambda a2, d: a2.enable_schedule(d, 0, confirm=None), "confirm"),
        (lambda a2, d: a2.get_device(d, timeout=0), "timeout must be a positive number"),
        (lambda a2, d: a2.user_lock(d, timeout=-1.0), "timeout"),
        (lambda a2, d: a2.get_device_status(d, timeout="5"), "timeout"),
        (lambda a2, d: a2.wait_for(d, lambda s: True, timeout=float("inf")), "timeout"),
        (lambda a2, d: a2.wait_for(d, "charging"), "predicate"),
        (lambda a2, d: a2.is_car_connected(d, probe=True, probe_timeout=0), "probe_timeout"),
        (lambda a2, d: a2.set_schedule_names(d, "Night"), "mapping of slot number"),
        (lambda a2, d: a2.set_schedule_names(d, 3), "mapping of slot number"),
        (lambda a2, d: a2.create_charge_rate(d, 0.1, days=5), "seven booleans"),
        (lambda a2, d: a2.create_charge_rate(d, 0.1, days="1111100"), "seven booleans"),
        (lambda a2, d: a2.create_charge_rate(d, True), "price"),
        (lambda a2, d: a2.create_charge_rate(d, float("inf")), "price"),
        (lambda a2, d: a2.set_charge_rate("r", 0.1, start_date_time=20250101), "start_date"),
        (lambda a2, d: a2.set_charge_rate("r", 0.1, time_start_local=1), "time_start_local"),
        (lambda a2, d: a2.get_calculated_power_logs_binned(d, 1.5), "date_from"),
        (lambda a2, d: a2.get_calculated_power_logs_binned(d, binned_minutes=1.5), "binned"),
        (lambda a2, d: a2.get_device_calculated_charge_logs(d, min_energy="1"), "min_energy"),
        (lambda a2, d: a2.search_address("10 Downing", 44), "country_code"),
        (lambda a2, d: a2.run_aev_command(d, "rcmReset", 1), "param_string"),
        (lambda a2, d: a2.upsert_account(["Ada"], None), "first_name"),
        (lambda a2, d: a2.find_device(""), "name_or_id"),
        (lambda a2, d: a2.find_device(" Driveway"), "whitespace"),
    ],
)
async def test_invalid_input_raises_before_sending(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger, call: Any, match: str
) -> None:
    before = requests(andersen_cloud)
    state_before = andersen_charger.status()
    with pytest.raises(InvalidInputError, match=match):
        await call(a2, andersen_charger.id)
    assert requests(andersen_cloud) == before
    assert andersen_charger.status() == state_before


#: Each schedule time one past its range, and below it: what a charger cannot take.
OUT_OF_RANGE: list[tuple[str, int]] = [
    ("startHour", 24),
    ("endHour", 24),
    ("startMinute", 60),
    ("endMinute", 60),
    *((name, -1) for name in ("startHour", "startMinute", "endHour", "endMinute")),
]


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE)
async def test_schedule_times_out_of_range_are_refused_before_sending(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    field: str,
    value: int,
) -> None:
    """Hours 0-23, minutes 0-59: the model refuses the rest, and so does every way of
    sending a schedule, before anything reaches the service (counted at the emulator),
    including a Schedule changed with model_copy, which pydantic does not validate."""
    bad = {**SEED_SCHEDULE, field: value}
    with pytest.raises(ValidationError, match=field):
        Schedule.model_validate(bad)
    valid = Schedule.model_validate(SEED_SCHEDULE)
    copied = valid.model_copy(update={to_snake(field): value})
    device = andersen_charger.id
    before = requests(andersen_cloud)
    state_before = andersen_charger.status()
    expected = "0-23" if field.endswith("Hour") else "0-59"
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: a2.create_schedule(device, 0, bad),
        lambda: a2.create_schedule(device, 2, copied),
        lambda: a2.set_schedules(device, {0: bad}),
        lambda: a2.set_schedules(device, {1: SEED_SCHEDULE, "sch2": bad}),
        lambda: a2.set_schedules(device, {3: valid, 4: copied}),
    ]
    for call in calls:
        with pytest.raises(InvalidInputError, match=expected):
            await call()
    assert requests(andersen_cloud) == before
    assert andersen_charger.status() == state_before


async def test_unknown_and_shared_device_names(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_charger: Charger,
) -> None:
    with pytest.raises(DeviceNotFoundError, match="no charger named 'Nope'"):
        await a2.device_id_from_name("Nope")
    andersen_cloud.add_charger(andersen_user, name="Driveway")
    with pytest.raises(InvalidInputError, match="2 chargers are named 'Driveway'"):
        await a2.device_by_name("Driveway")


async def test_unknown_device_id(a2: AndersenA2, andersen_charger: Charger) -> None:
    with pytest.raises(DeviceNotFoundError) as info:
        await a2.get_device_status("0123456789abcdef01234567")
    assert isinstance(info.value, ApiError)
    with pytest.raises(DeviceNotFoundError):
        await a2.get_schedule("0123456789abcdef01234567", 0)


async def test_queries_retry_5xx_and_429(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    andersen_cloud.faults.fail_http(2)
    before = requests(andersen_cloud)
    status = await a2.get_device_status(andersen_charger.id)
    assert status.id == andersen_charger.id
    assert requests(andersen_cloud) == before + 3
    andersen_cloud.faults.rate_limit(1, retry_after=0.01)
    assert (await a2.get_device_status_simple(andersen_charger.id)).id == andersen_charger.id
    assert andersen_cloud.stats.faults_injected["http_429"] == 1


async def test_queries_give_up_after_the_policy(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    andersen_cloud.faults.fail_http(10, status=502)
    with pytest.raises(ServerError, match="HTTP 502") as info:
        await a2.get_device_status(andersen_charger.id)
    assert info.value.status == 502
    andersen_cloud.faults.clear()
    andersen_cloud.faults.rate_limit(1, retry_after=3600)
    with pytest.raises(RateLimitedError, match="wait 3600 s") as limited:
        await a2.get_device_status(andersen_charger.id)
    assert limited.value.retry_after == 3600


@pytest.mark.parametrize("fault", ["5xx", "429"])
async def test_mutations_are_not_retried(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger, fault: str
) -> None:
    if fault == "5xx":
        andersen_cloud.faults.fail_http(1)
    else:
        andersen_cloud.faults.rate_limit(1, retry_after=0)
    before = andersen_cloud.stats.graphql_requests["runAEVCommand"]
    # a 5xx may come after the command was applied: the outcome is unknown; a 429 refused it
    with pytest.raises(OutcomeUnknownError if fault == "5xx" else RateLimitedError):
        await a2.user_lock(andersen_charger.id)
    assert andersen_cloud.stats.graphql_requests["runAEVCommand"] == before + 1
    andersen_cloud.advance(2)
    assert andersen_charger.status()["sysUserLock"] is False  # applied at most once: never
    await a2.user_lock(andersen_charger.id)
    andersen_cloud.advance(2)
    assert andersen_charger.status()["sysUserLock"] is True


async def test_malformed_reply_raises_response_error(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    andersen_cloud.faults.corrupt_replies(1)
    with pytest.raises(ResponseError) as info:
        await a2.get_device_status(andersen_charger.id)
    assert info.value.operation == "getDeviceStatus"
    assert info.value.path is not None
    assert info.value.path.startswith("getDevice")


async def test_expired_token_is_refreshed_and_request_retried_once(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    andersen_cloud.expire_tokens()
    before = andersen_cloud.stats.refreshes
    await a2.user_lock(andersen_charger.id)  # a mutation: refused before execution, so resent
    assert andersen_cloud.stats.refreshes == before + 1
    assert andersen_charger.pending_command_names() == ["userLock"]  # sent once
    andersen_cloud.advance(2)
    assert andersen_charger.status()["sysUserLock"] is True


async def test_connection_refused_maps_to_connection_error(a2: AndersenA2) -> None:
    async with aiohttp.ClientSession() as http:
        # a port that was free a moment ago: nothing listens there any more
        probe = AndersenCloud()
        async with probe:
            dead = probe.endpoints.graphql_url
    a2._graphql._url = dead
    with pytest.raises(AndersenConnectionError) as info:
        await a2.get_device_status("x")
    assert info.value.before_request
    with pytest.raises(AndersenConnectionError):
        await a2.user_lock("x")
    assert http.closed


async def test_shared_session_is_not_closed(
    andersen_cloud: AndersenCloud, andersen_user: EmulatedUser, andersen_charger: Charger
) -> None:
    async with aiohttp.ClientSession() as http:
        async with AndersenA2(http, endpoints=andersen_cloud.endpoints) as a2:
            await a2.authenticate(andersen_user.email, "correct horse battery staple")
            assert (await a2.get_device(andersen_charger.id)).id == andersen_charger.id
        assert not http.closed


def test_production_endpoints_by_default() -> None:
    client = AndersenA2()
    assert client.endpoints == Endpoints()
    assert "graphql.andersen-ev.com" in repr(client)


SLOT = {**SEED_SCHEDULE, "enabled": False}


@pytest.mark.parametrize(
    ("reply", "call", "error", "path"),
    [
        (
            {"data": {"getDevice": {"deviceStatus": None}}},
            lambda a2: a2.get_device_status("d"),
            "has no status",
            "getDevice.deviceStatus",
        ),
        (
            {"data": {"getDevice": {"deviceStatus": {"evseState": "charging"}}}},
            lambda a2: a2.get_device_status("d"),
            "unexpected value",
            "getDevice.deviceStatus.evseState",
        ),
        (
            {"data": {"getDevice": "malformed"}},
            lambda a2: a2.get_device("d"),
            "not an object",
            "getDevice",
        ),
        (
            {"data": {"getDevice": {"id": "d", "deviceStatus": {"scheduleSlotsArray": [SLOT]}}}},
            lambda a2: a2.get_schedule("d", 3),
            "no schedule slot 3",
            "getDevice.deviceStatus.scheduleSlotsArray.3",
        ),
        (
            {
                "data": {
                    "getDevice": {
                        "id": "d",
                        "deviceStatus": {"scheduleSlotsArray": [{"enabled": False}]},
                    }
                }
            },
            lambda a2: a2.enable_schedule("d", 0),
            "incomplete",
            "getDevice.deviceStatus.scheduleSlotsArray.0",
        ),
    ],
)
async def test_replies_that_do_not_fit(
    scripted_a2: AndersenA2, script: Script, reply: Any, call: Any, error: str, path: str
) -> None:
    script.replies = [json_reply(reply)]
    with pytest.raises(ResponseError, match=error) as info:
        await call(scripted_a2)
    assert info.value.path == path


async def test_missing_device_on_the_slow_path(scripted_a2: AndersenA2, script: Script) -> None:
    script.replies = [json_reply({"data": {"getDevice": None}})]
    with pytest.raises(DeviceNotFoundError, match="no device 'd'"):
        await scripted_a2.get_device_status("d")


async def test_dates_are_sent_as_iso_text(scripted_a2: AndersenA2, script: Script) -> None:
    script.replies = [json_reply({"data": {"getDevice": {"deviceCalculatedChargeLogs": []}}})] * 2
    assert (
        await scripted_a2.get_device_calculated_charge_logs("d", date_from=date(2025, 1, 2)) == []
    )
    assert await scripted_a2.get_device_calculated_charge_logs("d", date_from="2025-01-03") == []
    assert [body["variables"]["dateFrom"] for body in script.bodies] == ["2025-01-02", "2025-01-03"]


async def test_find_device_by_id_name_or_device_name(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_charger: Charger,
) -> None:
    garage = andersen_cloud.add_charger(andersen_user, name="Garage", device_name="A2-GARAGE")
    assert (await a2.find_device(andersen_charger.id)).id == andersen_charger.id
    assert (await a2.find_device("Garage")).id == garage.id
    assert (await a2.find_device("garage")).id == garage.id  # the friendly name, any case
    assert (await a2.find_device("a2-garage")).id == garage.id  # the device name, any case
    # an exact id beats a name, and an exact name beats names in another case
    decoy = andersen_cloud.add_charger(andersen_user, name=garage.id)
    assert (await a2.find_device(garage.id)).id == garage.id
    shed = andersen_cloud.add_charger(andersen_user, name="SHED")
    shed_too = andersen_cloud.add_charger(andersen_user, name="Shed")
    assert (await a2.find_device("Shed")).id == shed_too.id
    with pytest.raises(InvalidInputError, match="2 chargers are called 'shed'") as ambiguous:
        await a2.find_device("shed")
    assert shed.id in str(ambiguous.value)
    assert shed_too.id in str(ambiguous.value)
    with pytest.raises(DeviceNotFoundError, match="no charger called 'Barn'") as missing:
        await a2.find_device("Barn")
    assert f"'Garage' ({garage.id})" in str(missing.value)
    assert decoy.id in str(missing.value)
    # device_by_name keeps its rule: the friendly name, exactly
    with pytest.raises(DeviceNotFoundError, match="no charger named 'garage'"):
        await a2.device_by_name("garage")
    assert (await a2.device_by_name("SHED")).id == shed.id


async def test_boolean_and_json_answers_are_typed(
    a2: AndersenA2, andersen_charger: Charger
) -> None:
    device_id = andersen_charger.id
    rate = await a2.create_charge_rate(device_id, 0.1)
    assert await a2.set_charge_rate(rate.id, 0.2) is True
    assert await a2.delete_charge_rate(rate.id) is True
    assert await a2.upsert_account("Ada", None) is True
    assert await a2.register_mobile_device("push-token") is True
    assert await a2.unregister_mobile_device("push-token") is True
    lora = await a2.get_device_lora(device_id)
    assert isinstance(lora, list)
    binned = await a2.get_calculated_power_logs_binned(device_id, group_by="hour")
    assert isinstance(binned, list)
    assert all(isinstance(entry, dict) for entry in binned)
    assert await a2.unclaim_device(device_id) is True
    with pytest.raises(DeviceNotFoundError, match="it has no charger"):
        await a2.find_device("Driveway")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"confirm_interval": -1}, "confirm_interval"),
    ],
)
def test_constructor_arguments_are_checked(options: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        AndersenA2(**options)
