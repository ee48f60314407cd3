"""The wire-variant mode: the same answers in the types other clients saw the real service send.

The generator itself, then the emulator's answers over HTTP and the websocket with the mode
on, then the library reading them (that every model accepts every variant is the models'
own test; here the whole client path reads a varied status as it reads the canonical one).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from andersen_ev import AndersenA2
from andersen_ev.testing import AndersenCloud, Charger, Realism
from andersen_ev.testing.realism import WIRE_VARIANTS_ENV, wire_variants_from_env
from andersen_ev.testing.wire_variants import AS_FLOAT, AS_STRING, UNKNOWN_KEYS, vary
from tests.client_fixtures import logged_in


def test_numbers_become_strings_or_floats_nulls_go_unknown_keys_come() -> None:
    status = {
        "id": "dev",
        "evseState": 3,
        "sysButton": True,
        "sysAdaptiveFuse": False,
        "sysFaultCode": 0,
        "cfgCTConfig": "2",
        "cfgChargeAmpMax": 32,
        "sysSolarCT": True,
        "sysGridCT": 1.5,
        "sysUserLock": False,
        "sysTemperature": None,
        "loraDevices": {"evseState": 3, "x": None},
        "cfgLora0": {"rssi": -70, "eui": None},
        "scheduleSlotsArray": [{"startHour": 23, "enabled": True}],
    }
    assert vary({"getDevice": {"deviceStatus": status}, "other": None}) == {
        "getDevice": {
            "deviceStatus": {
                "id": "dev",
                "evseState": "3",
                "sysButton": "1",
                "sysAdaptiveFuse": "0",
                "sysFaultCode": "0",
                "cfgCTConfig": "2",
                "cfgChargeAmpMax": 32.0,
                "sysSolarCT": 1.0,
                "sysGridCT": 1.5,
                "sysUserLock": False,
                "loraDevices": {"evseState": 3, "x": None},  # opaque JSON: as it is
                "cfgLora0": {"rssi": -70.0},
                "scheduleSlotsArray": [{"startHour": 23, "enabled": True}],
                **UNKNOWN_KEYS,
            }
        },
        "other": None,  # root fields stay, null or not
    }
    assert vary(None) is None


def test_the_varied_fields_are_those_of_the_service_notes() -> None:
    assert {"evseState", "sysFaultCode", "cfgCTConfig", "sysSchSet"} <= AS_STRING
    assert {"cfgChargeAmpMax", "sysSolarCT", "rssi"} <= AS_FLOAT
    assert AS_STRING.isdisjoint(AS_FLOAT)


@pytest.mark.parametrize(
    ("value", "on"), [("1", True), (" TRUE ", True), ("on", True), ("0", False), ("", False)]
)
def test_the_environment_turns_the_mode_on_for_every_emulator(
    monkeypatch: pytest.MonkeyPatch, value: str, on: bool
) -> None:
    monkeypatch.setenv(WIRE_VARIANTS_ENV, value)
    assert wire_variants_from_env() is on
    assert Realism().wire_variants is on
    assert Realism.off().wire_variants is False


def varied(cloud: AndersenCloud) -> None:
    cloud.realism = dataclasses.replace(cloud.realism, wire_variants=True)


async def canonical_and_varied(a2: AndersenA2, cloud: AndersenCloud, device_id: str) -> Any:
    cloud.realism = dataclasses.replace(cloud.realism, wire_variants=False)
    canonical = await a2.get_device_status(device_id)
    varied(cloud)
    return canonical, await a2.get_device_status(device_id)


async def test_the_library_reads_a_varied_status_as_the_canonical_one(
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    andersen_credentials: tuple[str, str],
) -> None:
    andersen_charger.plug_in()
    andersen_cloud.advance(60)
    async with await logged_in(andersen_cloud, andersen_credentials) as a2:
        canonical, variant = await canonical_and_varied(a2, andersen_cloud, andersen_charger.id)
        assert variant.evse_state == canonical.evse_state == 3
        # null keys left out read as None, as null does
        assert variant.model_dump(exclude={"model_extra"}) == canonical.model_dump(
            exclude={"model_extra"}
        )
        devices = await a2.get_current_user_devices()
        assert [device.id for device in devices] == [andersen_charger.id]


async def test_stream_events_are_varied_too(
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    andersen_credentials: tuple[str, str],
) -> None:
    varied(andersen_cloud)
    andersen_charger.plug_in()
    async with await logged_in(andersen_cloud, andersen_credentials) as a2:
        updates = a2.subscribe_device_updates(andersen_charger.id)
        first = await anext(updates)
        andersen_cloud.advance(60)
        event = await anext(updates)
        await updates.aclose()
    assert first.id == event.id == andersen_charger.id
    assert event.evse_state == 3
    assert event.charge_status is not None
    assert (
        event.charge_status.charge_power == andersen_charger.status()["chargeStatus"]["chargePower"]
    )
