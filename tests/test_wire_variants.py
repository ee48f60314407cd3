"""One value, many wire forms: the models read every form a real client has seen the same way.

Issue 13: the service is known only from observation, and one client's schema types a dozen
fields differently from ours. Statuses of the emulated charger, in varied states, are sent
in other forms (``tests/wire_variants.py``): each must give the model its canonical form
gives, through ``model_validate``, from JSON text, and through the client's own reading of
a reply. Issue 15: what no real reading can be (NaN, infinities, absurd magnitudes, kilobytes
of digits) is malformed, and the client says where.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from graphql import (
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    get_named_type,
    get_nullable_type,
)
from hypothesis import event, given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from andersen_ev import AndersenA2, ResponseError
from andersen_ev.http import GraphQLResult
from andersen_ev.models import (
    MAX_MAGNITUDE,
    MAX_NUMBER_TEXT,
    ChargeLog,
    ChargeRate,
    ChargeStatus,
    DeviceInfo,
    DeviceStatus,
    EvseState,
    LoraConfig,
    WireModel,
)
from andersen_ev.models.values import _WireNumber
from andersen_ev.operations import GET_DEVICE_STATUS
from andersen_ev.testing import Charger
from andersen_ev.testing.wire_variants import UNKNOWN_KEYS, forms, vary
from tests.fuzz_support import FUZZ
from tests.scripted_server import Script, json_reply, text_reply
from tests.wire_variants import charger_states, new_charger, object_type, variants

pytestmark = pytest.mark.timeout(90)


def read_like_the_client(status: object) -> DeviceStatus:
    """A getDeviceStatus reply holding ``status``, read as the client reads replies."""
    body = json.dumps({"data": {"getDevice": {"deviceStatus": status}}}).encode()
    return GET_DEVICE_STATUS.read(GraphQLResult("getDeviceStatus", body, 200), {"id": "dev-0"})


def attribute_of(model: type[WireModel], wire: str) -> str:
    """The attribute name of a wire name."""
    (attribute,) = (name for name in model.model_fields if model.wire_name(name) == wire)
    return attribute


def same_reading(model: type[BaseModel], canonical: object, variant: object) -> None:
    """``variant`` reads as ``canonical`` does: from Python data and from JSON text."""
    expected = model.model_validate(canonical)
    assert model.model_validate(variant) == expected, variant
    assert model.model_validate_json(json.dumps(variant)) == expected, variant


@st.composite
def status_variants(draw: st.DrawFn) -> tuple[dict[str, Any], Any]:
    canonical = draw(charger_states()).status()
    return canonical, draw(variants(canonical, object_type("DeviceStatus")))


@FUZZ
@given(pair=status_variants())
def test_wire_variants_of_emulator_statuses_read_the_same(pair: tuple[dict[str, Any], Any]) -> None:
    canonical, variant = pair
    same_reading(DeviceStatus, canonical, variant)
    assert read_like_the_client(variant) == DeviceStatus.model_validate(canonical)
    event(f"evseState {canonical['evseState']}")


@FUZZ
@given(data=st.data(), charger=charger_states())
def test_wire_variants_of_info_logs_and_rates_read_the_same(
    data: st.DataObject, charger: Charger
) -> None:
    info = charger.info()
    info.pop("loraDevices")  # opaque JSON: read as sent, not varied
    same_reading(DeviceInfo, info, data.draw(variants(info, object_type("DeviceInfo"))))
    for log in charger.charge_logs(limit=2):
        same_reading(ChargeLog, log, data.draw(variants(log, object_type("ChargeLog"))))
    charger.create_charge_rate({"price": 0.07, "timeStartLocal": "00:30", "dayMon": False})
    (rate,) = charger.charge_rates()
    same_reading(ChargeRate, rate, data.draw(variants(rate, object_type("ChargeRate"))))


@FUZZ
@given(charger=charger_states(), data=st.data())
def test_missing_keys_read_as_none(charger: Charger, data: st.DataObject) -> None:
    canonical = charger.status()
    left_out = data.draw(st.sets(st.sampled_from(sorted(canonical))))
    session_left_out = data.draw(st.sets(st.sampled_from(sorted(canonical["chargeStatus"]))))
    sent = {key: value for key, value in canonical.items() if key not in left_out}
    if "chargeStatus" in sent:
        sent["chargeStatus"] = {
            key: value
            for key, value in canonical["chargeStatus"].items()
            if key not in session_left_out
        }
    status = DeviceStatus.model_validate(sent)
    full = DeviceStatus.model_validate(canonical)
    for name in DeviceStatus.model_fields:
        wire = DeviceStatus.wire_name(name)
        if wire in left_out:
            assert getattr(status, name) is None, name
        elif name != "charge_status":
            assert getattr(status, name) == getattr(full, name), name
    if status.charge_status is not None:
        assert full.charge_status is not None
        for name in ChargeStatus.model_fields:
            expected = getattr(full.charge_status, name)
            left = ChargeStatus.wire_name(name) in session_left_out
            assert getattr(status.charge_status, name) == (None if left else expected), name


@FUZZ
@given(charger=charger_states())
def test_the_emulator_s_own_variant_reads_the_same(charger: Charger) -> None:
    canonical = charger.status()
    varied = vary({"getDevice": {"deviceStatus": canonical}})
    assert varied is not None
    status = varied["getDevice"]["deviceStatus"]
    same_reading(DeviceStatus, canonical, status)
    assert read_like_the_client(status) == DeviceStatus.model_validate(canonical)
    info = vary({"info": charger.info()})
    assert info is not None
    same_reading(DeviceInfo, charger.info(), info["info"])


def is_a_typed_variant(canonical: Any, sent: Any, kind: GraphQLOutputType) -> bool:
    """Whether ``sent`` is one of the values ``vary_typed`` can make of ``canonical``."""
    nullable = get_nullable_type(kind)
    if isinstance(nullable, GraphQLList):
        return len(sent) == len(canonical) and all(
            is_a_typed_variant(c, s, nullable.of_type) for c, s in zip(canonical, sent, strict=True)
        )
    named = get_named_type(nullable)
    if not isinstance(named, GraphQLObjectType):
        return any(
            type(form) is type(sent) and form == sent for form in forms(canonical, named.name)
        )
    unknown = sent.keys() - canonical.keys()
    dropped = canonical.keys() - sent.keys()
    return (
        unknown <= UNKNOWN_KEYS.keys()
        and all(canonical[key] is None for key in dropped)
        and all(sent[key] == UNKNOWN_KEYS[key] for key in unknown)
        and all(
            key not in named.fields
            or is_a_typed_variant(canonical[key], sent[key], named.fields[key].type)
            for key in sent.keys() & canonical.keys()
        )
    )


@FUZZ
@given(charger=charger_states())
def test_the_emulator_s_variant_is_one_the_property_tests_draw(charger: Charger) -> None:
    """One generator: the emulator's mode sends a form that ``vary_typed`` can make too."""
    canonical = charger.status()
    varied = vary({"s": canonical})
    assert varied is not None
    assert varied["s"] != canonical  # the mode does change the forms
    assert is_a_typed_variant(canonical, varied["s"], object_type("DeviceStatus"))
    info = vary({"i": charger.info()})
    assert info is not None
    assert is_a_typed_variant(charger.info(), info["i"], object_type("DeviceInfo"))
    status_type = object_type("DeviceStatus")
    assert not is_a_typed_variant(canonical, canonical | {"evseState": True}, status_type)


# -- every form the reference notes list, one by one -------------------------------------------

#: "Types seen as other than ours" in the one client-side schema that exists, and the seed
#: client's fixtures: the field, a canonical value, and the other forms seen or implied.
LISTED = [
    ("evseState", 3, ["3", " 3 ", 3.0]),
    ("lastEventAge", 12, ["12", 12.0]),
    ("evseResponseTime", 112, ["112"]),
    ("sysProductId", 13042, ["13042"]),
    ("sysButton", 0, ["0"]),
    ("sysFaultCode", 0, ["0", 0.0]),
    ("cfgCTConfig", 1, ["1", 1.0]),
    ("sysSchDSORandom", 600, ["600"]),
    ("sysAdaptiveFuse", True, ["true", "1", 1]),
    ("sysOtaUpdate", False, ["false", "0", 0]),
    ("sysSchSet", True, ["true", "True"]),
    ("cfgChargeAmpMax", 32, [32.0, "32.0", "32"]),
    ("cfgChargeAmpMin", 6, [6.0]),
    ("cfgAFAmpMax", 60, [60.0]),
    ("sysSolarCT", False, [0.0, 0]),
    ("sysGridCT", True, [1.0, 1]),
    ("sysTime", "2025-01-06T12:00:00Z", ["2025-01-06T12:00:00+00:00", "2025-01-06T13:00:00+01:00"]),
    ("sysBootup", "2025-01-03T09:43:00Z", ["2025-01-03T09:43:00.000Z"]),
]


@pytest.mark.parametrize(("key", "canonical", "forms"), LISTED, ids=[row[0] for row in LISTED])
def test_every_listed_form_reads_as_the_canonical_value(
    key: str, canonical: object, forms: list[object]
) -> None:
    expected = DeviceStatus.model_validate({key: canonical})
    assert getattr(expected, attribute_of(DeviceStatus, key)) is not None
    for form in forms:
        same_reading(DeviceStatus, {key: canonical}, {key: form})


@pytest.mark.parametrize("form", [-87, "-87", -87.0, "-87.0"])
def test_lora_rssi_as_float_or_text(form: object) -> None:
    event_status = {"cfgLora0": {"rssi": form, "on": 1.0, "cfg": "1", "epow": 14.0}}
    lora = DeviceStatus.model_validate(event_status).cfg_lora0
    assert lora == LoraConfig(rssi=-87, on=True, cfg=1, epow=14)


def test_unknown_codes_take_the_same_forms() -> None:
    for form in (42, "42", 42.0, "42.0", " 42 "):
        state = DeviceStatus.model_validate({"evseState": form}).evse_state
        assert state == 42
        assert state is not None
        assert state.name == "UNKNOWN_42"
    for bad in ("4.5", 4.5, "nan", "inf", "x" * 100, "9" * (MAX_NUMBER_TEXT + 1)):
        with pytest.raises(ValidationError):
            DeviceStatus.model_validate({"evseState": bad})
    assert EvseState(2.0) is EvseState.CONNECTED  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="EvseState"):
        EvseState(2**63)


# -- malformed numbers (issue 15) ---------------------------------------------------------------


def number_fields(model: type[WireModel]) -> list[tuple[str, bool]]:
    """A model's number fields as (wire name, integer?), read from their annotations."""
    return [
        (model.wire_name(name), marker.integer)
        for name, field in model.model_fields.items()
        for arg in _args(field.annotation)
        for marker in getattr(arg, "__metadata__", ())
        if isinstance(marker, _WireNumber)
    ]


def _args(annotation: object) -> list[object]:
    return [annotation, *getattr(annotation, "__args__", ())]


NUMBER_FIELDS = [
    (model, wire, integer)
    for model in (DeviceStatus, ChargeStatus, DeviceInfo, ChargeLog, ChargeRate, LoraConfig)
    for wire, integer in number_fields(model)
]
MALFORMED: list[object] = [
    math.nan,
    math.inf,
    -math.inf,
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "-1e400",
    "1e400",
    1e300,
    -(2**60),
    MAX_MAGNITUDE * 2,
    "9" * 1_000_000,
    "0" * 100 + "1",
    " " * 100 + "1",
    True,
    False,
    "",
    "one",
    [1],
    {"value": 1},
]


def test_every_number_field_is_covered() -> None:
    models = {model for model, _, _ in NUMBER_FIELDS}
    assert {DeviceStatus, ChargeStatus, DeviceInfo, ChargeLog, ChargeRate, LoraConfig} == models
    assert ("chargePower", False) in number_fields(ChargeStatus)
    assert ("sysRssi", True) in number_fields(DeviceStatus)
    assert len(NUMBER_FIELDS) > 50


@pytest.mark.parametrize(
    ("model", "wire", "integer"),
    NUMBER_FIELDS,
    ids=[f"{m.__name__}.{w}" for m, w, _ in NUMBER_FIELDS],
)
def test_malformed_numbers_are_refused_in_every_number_field(
    model: type[WireModel], wire: str, integer: bool
) -> None:
    base = {"id": "rate-1"} if model is ChargeRate else {}
    for bad in MALFORMED:
        with pytest.raises(ValidationError) as caught:
            model.model_validate(base | {wire: bad})
        assert caught.value.errors()[0]["type"] == "malformed_number", bad
        assert caught.value.errors()[0]["loc"] == (wire,)
    with pytest.raises(ValidationError):  # a NaN literal in the JSON text too
        model.model_validate_json(json.dumps(base | {wire: math.nan}))
    good = [7, "7", " 7 ", 7.0, "7.0", -MAX_MAGNITUDE, MAX_MAGNITUDE]
    if not integer:
        good += [7.25, "7.25", "7.25e0", "-0.5"]
    for number in good:
        value = getattr(model.model_validate(base | {wire: number}), attribute_of(model, wire))
        assert value == float(str(number)), number
        assert type(value) is (int if integer else float)
    if integer:
        with pytest.raises(ValidationError):
            model.model_validate(base | {wire: 7.5})


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (
            b'{"data": {"getDevice": {"deviceStatus": {"chargeStatus": {"chargePower": "NaN"}}}}}',
            "getDeviceStatus.chargeStatus.chargePower",
        ),
        (
            b'{"data": {"getDevice": {"deviceStatus": {"sysVoltageA": -1e400}}}}',
            "getDeviceStatus.sysVoltageA",
        ),
        (
            b'{"data": {"getDevice": {"deviceStatus": {"sysPowerA": "'
            + b"9" * 1_000_000
            + b'"}}}}',
            "getDeviceStatus.sysPowerA",
        ),
        (
            b'{"data": {"getDevice": {"deviceStatus": {"sysRssi": "-1e400"}}}}',
            "getDeviceStatus.sysRssi",
        ),
    ],
    ids=["text-nan", "overflow", "megabyte-of-digits", "int-overflow"],
)
async def test_malformed_numbers_are_response_errors(
    scripted_a2: AndersenA2, script: Script, body: bytes, path: str
) -> None:
    script.replies.append(text_reply(body.decode()))
    with pytest.raises(ResponseError) as caught:
        await scripted_a2.get_device_status("dev-0")
    assert caught.value.operation == "getDeviceStatus"
    assert caught.value.path == path.replace("getDeviceStatus.", "getDevice.deviceStatus.")
    assert "finite number" in str(caught.value)


async def test_a_nan_literal_is_refused_before_the_models(
    scripted_a2: AndersenA2, script: Script
) -> None:
    # NaN is not JSON: the reply is refused as a whole (wire.parse_json), before any model
    body = '{"data": {"getDevice": {"deviceStatus": {"sysGridPower": NaN}}}}'
    script.replies.append(text_reply(body))
    with pytest.raises(ResponseError, match="not a GraphQL JSON answer") as caught:
        await scripted_a2.get_device_status("dev-0")
    assert caught.value.operation == "getDeviceStatus"


async def test_numbers_as_text_still_reach_the_caller(
    scripted_a2: AndersenA2, script: Script
) -> None:
    sent = {"evseState": "3", "sysRssi": "-70", "cfgChargeAmpMax": 32.0, "sysTime": "1736164800"}
    sent |= {"chargeStatus": {"chargePower": "7.2", "duration": "60"}}
    script.replies.append(json_reply({"data": {"getDevice": {"deviceStatus": sent}}}))
    status = await scripted_a2.get_device_status("dev-0")
    assert status.evse_state is EvseState.CHARGING
    assert (status.sys_rssi, status.cfg_charge_amp_max) == (-70, 32)
    assert status.charge_power == 7.2
    assert status.sys_time == datetime(2025, 1, 6, 12, tzinfo=UTC)


def test_a_fresh_charger_has_a_canonical_status_the_models_read() -> None:
    status = DeviceStatus.model_validate(new_charger().status())
    assert status.evse_state is EvseState.READY
    assert status.sys_product_name == "Andersen A2"


def test_forms_of_each_type() -> None:
    assert forms(3, "Int") == [3, "3", " 3\t", 3.0, "3.0"]
    assert forms(7, "Float")[:2] == [7.0, "7.0"]  # an integral Float is a float first
    assert 7 in forms(7.0, "Float")
    assert forms("2025-01-06T12:00:00.5+00:00", "Date")[-1] == "2025-01-06T13:00:00.500000+01:00"
    assert forms("2025-01-06T12:00:00", "Date") == ["2025-01-06T12:00:00"]  # no offset
    for value, kind in [
        ("x", "String"),
        (None, "Int"),
        (True, "Int"),
        (3, "Boolean"),
        ([1], "Int"),
    ]:
        assert forms(value, kind) == [value]


def test_what_is_no_number_or_timestamp() -> None:
    with pytest.raises(ValueError, match="EvseState"):
        EvseState(False)  # a boolean is no code (True is 1, a member)
    long_text = "2025-01-06T12:00:00" + "0" * 100
    assert DeviceStatus.model_validate({"sysTime": long_text}).sys_time is None
    assert repr(DeviceStatus(id="x", online=True)) == "DeviceStatus(id='x', online=True)"
