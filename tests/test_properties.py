"""Properties of the models and of input validation, over random data (hypothesis).

* Models: any JSON object gives a model or pydantic's ``ValidationError`` (nothing else), a
  valid model's helpers never raise, and models survive a round trip through their JSON;
  ``EvseState`` keeps every code, known or not.
* Inputs: random schedules, slots, percentages, prices, ids and names either validate (and
  then exactly one request reaches the emulator, which applies exactly what was validated)
  or raise :class:`~andersen_ev.InvalidInputError` before any request is sent.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Mapping
from typing import Any

import pytest
from hypothesis import currently_in_test_context, event, given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from andersen_ev import (
    AndersenA2,
    AndersenError,
    ChargeRate,
    DeviceNotFoundError,
    DeviceStatus,
    EvseState,
    InvalidInputError,
    Schedule,
)
from andersen_ev.models import Device, DeviceInfo, EvseCode
from andersen_ev.testing import AndersenCloud, Charger
from tests.fuzz_support import FUZZ, json_values, keys, outcome

#: Hypothesis runs a few hundred examples per test: up to 15 s each with coverage on.
pytestmark = pytest.mark.timeout(60)

# -- models ---------------------------------------------------------------------------------------


def wire_names(model: type[Any]) -> list[str]:
    """The camelCase names a model reads."""
    return [field.alias or name for name, field in model.model_fields.items()]


status_keys = st.sampled_from(wire_names(DeviceStatus)) | keys
status_objects = st.dictionaries(status_keys, json_values, max_size=12)
info_objects = st.dictionaries(
    st.sampled_from(wire_names(DeviceInfo)) | keys, json_values, max_size=6
)
rate_objects = st.dictionaries(
    st.sampled_from(wire_names(ChargeRate)) | keys, json_values, max_size=6
)
device_objects = st.fixed_dictionaries(
    {"id": st.text(max_size=8)},
    optional={
        "name": json_values,
        "lastIpAddress": json_values,
        "deviceInfo": info_objects | json_values,
        "deviceStatus": status_objects | json_values,
        "deviceChargeRates": st.lists(rate_objects, max_size=2) | json_values,
    },
) | st.dictionaries(keys, json_values, max_size=4)


def check_model(model: type[DeviceStatus] | type[Device], value: object) -> None:
    """Validating ``value`` gives a model or a ValidationError; a model round-trips."""
    try:
        parsed = model.model_validate(value)
    except ValidationError:
        event("rejected")
        return
    event("accepted")
    again = model.model_validate_json(parsed.model_dump_json(by_alias=True))
    assert again == parsed
    assert repr(parsed).startswith(model.__name__)
    status = parsed if isinstance(parsed, DeviceStatus) else parsed.device_status
    if status is not None:  # the derived helpers never raise
        assert isinstance(status.is_charging, bool)
        assert status.is_locked in (True, False, None)
        assert status.is_car_connected in (True, False, None)
        assert status.charge_power is None or isinstance(status.charge_power, float)
        assert len(status.schedules) >= 0


@FUZZ
@given(value=status_objects | json_values)
def test_device_status_accepts_any_json_or_raises_validation_error(value: object) -> None:
    check_model(DeviceStatus, value)


@FUZZ
@given(value=device_objects)
def test_device_accepts_any_json_or_raises_validation_error(value: object) -> None:
    check_model(Device, value)


@FUZZ
@given(text=st.text(max_size=30))
def test_device_status_from_any_text_or_validation_error(text: str) -> None:
    try:
        status = DeviceStatus.model_validate_json(text)
    except ValidationError:
        return
    assert isinstance(status, DeviceStatus)  # e.g. "{}"


KNOWN_CODES = {state.value for state in EvseState}
I64 = st.integers(-(2**63), 2**63 - 1)


@FUZZ
@given(code=I64 | st.sampled_from(sorted(KNOWN_CODES)))
def test_evse_state_round_trips_every_code(code: int) -> None:
    state = EvseState(code)
    assert state == code
    assert int(state) == code
    assert EvseState(str(code)) == code  # type: ignore[arg-type] # text codes are accepted
    assert EvseState(f" {code} ") == code  # type: ignore[arg-type]
    assert state.is_known is (code in KNOWN_CODES)
    assert state.name == (state.name if code in KNOWN_CODES else f"UNKNOWN_{code}")
    status = DeviceStatus(evse_state=code)
    for again in (
        DeviceStatus.model_validate_json(status.model_dump_json(by_alias=True)),
        DeviceStatus.model_validate({"evseState": str(code)}),
        DeviceStatus.model_validate(status.model_dump()),
    ):
        assert again.evse_state == code
        assert isinstance(again.evse_state, EvseState)
    assert TypeAdapter(EvseCode).validate_json(str(code)) == code


@FUZZ
@given(value=json_values)
def test_evse_state_from_anything_is_a_state_or_a_validation_error(value: object) -> None:
    try:
        state = TypeAdapter(EvseCode).validate_python(value)
    except ValidationError:
        return
    assert state is None or isinstance(state, EvseState)
    assert not isinstance(value, bool)


# -- inputs: validated, or refused before anything is sent ----------------------------------------


def is_whole(value: object, low: int, high: int) -> bool:
    """An int (not a bool) within ``low``-``high``."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def out_of_range(value: object, low: int, high: int) -> bool:
    """Clearly wrong whatever the coercion: an int (not a bool) outside ``low``-``high``."""
    return isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high


anything = json_values | st.floats() | st.integers(-100, 100)
hours = st.integers(0, 23) | st.integers(-5, 30) | anything
minutes = st.integers(0, 59) | st.integers(-5, 70) | anything
slots = st.integers(0, 4) | st.integers(-3, 8) | anything
slot_keys = st.integers(-3, 8) | st.none() | st.booleans() | st.floats() | st.text(max_size=4)
days = st.fixed_dictionaries(
    {},
    optional={day: st.booleans() | anything for day in ("monday", "friday", "sunday")},
)
valid_schedule_dicts = st.fixed_dictionaries(
    {
        "startHour": st.integers(0, 23),
        "startMinute": st.integers(0, 59),
        "endHour": st.integers(0, 23),
        "endMinute": st.integers(0, 59),
    },
    optional={
        "enabled": st.booleans(),
        "dayMap": st.fixed_dictionaries(
            {}, optional={day: st.booleans() for day in ("monday", "wednesday", "saturday")}
        ),
    },
)
#: The seed's camelCase schedule dicts: valid ones, and ones where any field may be missing,
#: of a wrong type or out of range.
schedule_dicts = valid_schedule_dicts | st.fixed_dictionaries(
    {},
    optional={
        "startHour": hours,
        "startMinute": minutes,
        "endHour": hours,
        "endMinute": minutes,
        "enabled": st.booleans() | anything,
        "dayMap": days | anything,
        "extra": anything,
    },
)
RANGES = {"startHour": 23, "startMinute": 59, "endHour": 23, "endMinute": 59}


class Counter:
    """Requests the emulator saw, and what one charger holds, before a call."""

    def __init__(self, cloud: AndersenCloud, charger: Charger) -> None:
        self.cloud = cloud
        self.charger = charger
        self.requests = cloud.stats.http_requests
        self.status = charger.status()

    def sent(self) -> int:
        return self.cloud.stats.http_requests - self.requests

    def refused_before_sending(self, result: object) -> bool:
        """True for an InvalidInputError; then nothing reached the emulator or changed."""
        if not isinstance(result, InvalidInputError):
            return False
        assert self.sent() == 0
        assert self.charger.status() == self.status
        if currently_in_test_context():  # also used by plain parametrized tests
            event("refused before sending")
        return True


@FUZZ
@given(slot=slots, schedule=schedule_dicts)
async def test_random_schedules_validate_or_raise_before_sending(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    slot: object,
    schedule: dict[str, Any],
) -> None:
    counter = Counter(andersen_cloud, andersen_charger)
    result = await outcome(a2.create_schedule(andersen_charger.id, slot, schedule))  # type: ignore[arg-type]
    must_fail = (
        not is_whole(slot, 0, 4)
        or not RANGES.keys() <= schedule.keys()
        or any(out_of_range(schedule.get(key), 0, high) for key, high in RANGES.items())
        or "extra" in schedule
    )
    if counter.refused_before_sending(result):
        return
    assert not must_fail, (slot, schedule)
    assert not isinstance(result, AndersenError), result  # validated means accepted
    assert counter.sent() == 1
    andersen_cloud.settle()  # the command lands a second or two later, as on the service
    applied = andersen_charger.status()["scheduleSlotsArray"][slot]
    assert applied == Schedule.model_validate(schedule).to_wire()
    event("applied")


def whole_schedule(start: int, end: int) -> Schedule:
    return Schedule(start_hour=start, start_minute=0, end_hour=end, end_minute=15)


@FUZZ
@given(
    slots_given=st.dictionaries(
        st.integers(-1, 6) | st.sampled_from(["sch0", "sch3", "sch5", "sch", "x"]),
        schedule_dicts | st.builds(whole_schedule, st.integers(0, 23), st.integers(0, 23)),
        max_size=3,
    )
)
async def test_several_slots_are_all_valid_or_none_is_sent(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    slots_given: Mapping[int | str, Any],
) -> None:
    counter = Counter(andersen_cloud, andersen_charger)
    result = await outcome(a2.set_schedules(andersen_charger.id, slots_given))
    if counter.refused_before_sending(result):
        return
    assert not isinstance(result, AndersenError), result
    assert counter.sent() == 1
    andersen_cloud.settle()  # the command lands a second or two later, as on the service
    applied = andersen_charger.status()["scheduleSlotsArray"]
    for key, schedule in slots_given.items():
        slot = int(key.removeprefix("sch")) if isinstance(key, str) else key
        expected = schedule if isinstance(schedule, Schedule) else Schedule.model_validate(schedule)
        assert applied[slot] == expected.to_wire()
    event("applied")


@FUZZ
@given(percent=st.integers(0, 100) | st.integers(-10, 110) | anything)
async def test_random_percentages_validate_or_raise_before_sending(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger, percent: object
) -> None:
    counter = Counter(andersen_cloud, andersen_charger)
    result = await outcome(a2.set_solar(andersen_charger.id, False, True, percent))  # type: ignore[arg-type]
    if counter.refused_before_sending(result):
        assert not is_whole(percent, 0, 100)
        return
    assert is_whole(percent, 0, 100), percent
    assert not isinstance(result, AndersenError), result
    assert counter.sent() == 1
    andersen_cloud.settle()  # the command lands a second or two later, as on the service
    assert andersen_charger.status()["solarMaxGridChargePercent"] == percent
    event("applied")


def valid_text(value: object) -> bool:
    """The rule for ids and names: a non-empty string without surrounding whitespace."""
    return isinstance(value, str) and bool(value.strip()) and value == value.strip()


texts = st.text(max_size=12) | st.sampled_from(["", " ", " x", "x ", "\t", "\u3000a"]) | anything


@FUZZ
@given(device_id=texts)
async def test_random_ids_validate_or_raise_before_sending(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger, device_id: object
) -> None:
    counter = Counter(andersen_cloud, andersen_charger)
    result = await outcome(a2.get_device_status(device_id))  # type: ignore[arg-type]
    if counter.refused_before_sending(result):
        assert not valid_text(device_id)
        return
    assert valid_text(device_id), device_id
    assert counter.sent() == 1
    if device_id == andersen_charger.id:
        assert isinstance(result, DeviceStatus)
    else:  # sent, and answered as the service does for an id it does not know
        assert isinstance(result, DeviceNotFoundError), result
    event("sent")


@FUZZ
@given(name=texts)
async def test_random_friendly_names_validate_or_raise_before_sending(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger, name: object
) -> None:
    counter = Counter(andersen_cloud, andersen_charger)
    result = await outcome(a2.upsert_device_friendly_name(andersen_charger.id, name))  # type: ignore[arg-type]
    if counter.refused_before_sending(result):
        assert not valid_text(name)
        return
    assert valid_text(name), name
    assert result == name
    assert counter.sent() == 1
    assert andersen_charger.friendly_name == name
    event("applied")


@FUZZ
@given(
    names=st.dictionaries(slot_keys, texts | st.none(), max_size=3)
    | st.lists(texts | st.none(), max_size=6)
)
async def test_random_schedule_names_validate_or_raise_before_sending(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    names: dict[Any, Any] | list[Any],
) -> None:
    counter = Counter(andersen_cloud, andersen_charger)
    result = await outcome(a2.set_schedule_names(andersen_charger.id, names))
    pairs = list(names.items() if isinstance(names, dict) else enumerate(names))
    if counter.refused_before_sending(result):
        return
    assert all(is_whole(slot, 0, 4) for slot, _ in pairs)
    given_names = {slot: name for slot, name in pairs if name is not None}
    assert given_names
    assert all(isinstance(name, str) for name in given_names.values())
    assert not isinstance(result, AndersenError), result
    assert counter.sent() == 1
    info = andersen_charger.info()
    for slot, name in given_names.items():
        assert info[f"schedule{slot}Name"] == name
    event("applied")


finite = json_values | st.floats(allow_nan=False, allow_infinity=False) | st.integers(-100, 100)
prices = st.floats(0, 10) | st.integers(0, 10) | finite | st.floats()
week = st.lists(st.booleans(), min_size=7, max_size=7) | st.lists(anything, max_size=8)


@FUZZ
@given(price=prices, chosen_days=week | st.none())
async def test_random_charge_rates_validate_or_raise_before_sending(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    price: object,
    chosen_days: list[Any] | None,
) -> None:
    counter = Counter(andersen_cloud, andersen_charger)
    result = await outcome(
        a2.create_charge_rate(andersen_charger.id, price, days=chosen_days)  # type: ignore[arg-type]
    )
    if counter.refused_before_sending(result):
        return
    assert isinstance(price, int | float)
    assert not isinstance(price, bool)
    assert math.isfinite(price)
    assert price >= 0
    assert chosen_days is None or (
        len(chosen_days) == 7 and all(d in (True, False) for d in chosen_days)
    )
    assert isinstance(result, ChargeRate), result
    assert counter.sent() == 1
    assert andersen_charger.has_charge_rate(result.id)
    event("applied")


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("call", ["create_charge_rate", "set_charge_rate", "charge_logs"])
async def test_non_finite_numbers_are_refused_before_sending(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    number: float,
    call: str,
) -> None:
    counter = Counter(andersen_cloud, andersen_charger)
    sent: Awaitable[Any]
    if call == "create_charge_rate":
        sent = a2.create_charge_rate(andersen_charger.id, number)
    elif call == "set_charge_rate":
        sent = a2.set_charge_rate("rate-1", number)
    else:
        sent = a2.get_device_calculated_charge_logs(andersen_charger.id, min_energy=number)
    assert counter.refused_before_sending(await outcome(sent))
