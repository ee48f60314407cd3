"""The fields of a simulated charger's ``DeviceStatus`` and ``DeviceInfo``, as stored.

The charger keeps its state in the wire format of the GraphQL schema (camelCase keys):
the fields here are stored (a test may set any of them); the others are derived from the
model on every read (:data:`DERIVED_STATUS`).
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["DERIVED_STATUS", "STORED_INFO", "STORED_STATUS"]


def _lora(eui: str, rssi: int, *, on: bool) -> dict[str, Any]:
    """One ``cfgLoraN`` object."""
    return {"cfg": 1 if on else 0, "epow": 14 if on else 0, "on": on, "rssi": rssi, "eui": eui}


#: DeviceStatus fields the charger stores (everything else in ``status()`` is derived).
STORED_STATUS: Final[dict[str, Any]] = {
    "konnectSerial": None,  # set per device in __init__
    "online": True,
    "evseResponseTime": 112,
    "evseChargeAmpCurrentLimit": 32.0,
    "sysUserLock": False,
    "sysRssi": -60,
    "sysSSID": "HomeWiFi",
    "sysLan": False,
    "sysTemperature": 31.5,
    "sysFreeMemory": 41872,
    "sysFwVersion": "1.0.31",
    "sysHwVersion": "A2-R3",
    "evseFwVersion": "7.1.3",
    "evseHwVersion": "OpenEVSE-A2",
    "sysBootup": None,  # set from the clock in __init__
    "sysOs": "4.2.0",
    "sysProductId": 13042,
    "sysProductName": "Andersen A2",
    "sysOtaUpdate": False,
    "sysRcmUserCleared": False,
    "sysButton": 0,
    "sysFaultCode": 0,
    "sysVoltageA": 240.3,
    "sysVoltageB": 239.8,
    "sysVoltageC": 241.1,
    "sysAmpB": 0.0,
    "sysAmpC": 0.0,
    "sysPowerB": 0.0,
    "sysPowerC": 0.0,
    "sysPhase": 1,
    "sysSolarCT": False,
    "sysGridCT": True,
    "sysAdaptiveFuse": True,
    "sysSolarPower": 0.0,
    "sysSchDSORandom": 600,
    "cfgPENEarthConnected": True,
    "cfgDebugEnable": False,
    "cfgChargeAmpMax": 32,
    "cfgChargeAmpMin": 6,
    "cfgAFEnable": True,
    "cfgAFAmpMax": 60,
    "cfgCTConfig": 1,
    "cfgLora0": _lora("70B3D57ED0051A2B", -87, on=True),
    "cfgLora1": _lora("", 0, on=False),
    "cfgLora2": _lora("", 0, on=False),
    "cfgLora3": _lora("", 0, on=False),
    "solarMaxGridChargePercent": 100,
    "solarChargeAlways": False,
    "solarOverride": False,
}

#: DeviceStatus fields computed from the model on every ``status()``.
DERIVED_STATUS: Final = frozenset(
    {
        "id",
        "lastEvent",
        "lastEventAge",
        "evseState",
        "sysSchEnabled",
        "sysScheduleLock",
        "sysRuntime",
        "sysAmpA",
        "sysPowerA",
        "sysTime",
        "sysChargingEnabled",
        "sysSchSet",
        "sysGridPower",
        "sysChargePower",
        "sysSolarEnergyDelta",
        "sysGridEnergyDelta",
        "cfgDSTActive",
        "chargeStatus",
        "scheduleSlotsArray",
        *(f"sysSch{n}" for n in range(5)),
    }
)

#: DeviceInfo fields the charger stores; ``id``, ``userLock``, ``solarChargeAlways`` and
#: ``loraDevices`` are derived from the status.
STORED_INFO: Final[dict[str, Any]] = {
    "currency": "GBP",
    "enableThreePhaseMultiplier": False,
    "friendlyName": None,
    "locationLongitude": -0.5704,
    "locationLatitude": 51.2362,
    **{f"schedule{n}Name": f"Schedule {n}" for n in range(5)},
    "address": "1 Orchard Lane",
    "addressPlace": "Guildford",
    "addressDistrict": "Surrey",
    "addressPostcode": "GU1 1AA",
    "addressCountry": "United Kingdom",
    "solarOverrideStart": None,
    "notifyRcmErrorEnabled": True,
    "notifyWeeklyReportEnabled": False,
    "notifyDeviceOfflineEnabled": True,
    "purpose": "home",
    "timeZoneRegion": "Europe/London",
}
