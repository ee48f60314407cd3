"""Third-party proof: gql's AIOHTTPTransport runs every operation against the emulator.

gql is an independent GraphQL client: if it can run the library's documents against the
emulator, validate them against the schema on its side, and sees Apollo's error shapes
where the reference says they are, the emulator speaks GraphQL over HTTP as a server should.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.client import AsyncClientSession
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.exceptions import TransportQueryError, TransportServerError
from graphql import build_schema, parse, validate

from andersen_ev.graphql import OPERATION_NAMES, operation_document, schema_sdl
from andersen_ev.testing import AndersenCloud, Charger, EmulatedUser
from tests.testing.ws_helpers import bearer

SUBSCRIPTIONS = {"deviceStatusUpdated"}
EVERY_DAY = dict.fromkeys(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"), True
)


@pytest.mark.parametrize("name", OPERATION_NAMES)
def test_every_operation_validates_against_the_schema(name: str) -> None:
    schema = build_schema(schema_sdl())
    assert validate(schema, parse(operation_document(name))) == []


def gql_client(cloud: AndersenCloud, authorization: str) -> Client:
    transport = AIOHTTPTransport(
        url=cloud.endpoints.graphql_url, headers={"Authorization": authorization}
    )
    # the schema makes gql validate every document on its side too
    return Client(transport=transport, schema=schema_sdl(), fetch_schema_from_transport=False)


@pytest.fixture
async def session(
    andersen_cloud: AndersenCloud, andersen_user: EmulatedUser
) -> AsyncIterator[AsyncClientSession]:
    async with gql_client(andersen_cloud, bearer(andersen_cloud, andersen_user)) as session:
        yield session


class Runner:
    """Runs the library's operations by name through a gql session, noting which ran."""

    def __init__(self, session: AsyncClientSession) -> None:
        self.session = session
        self.ran: list[str] = []

    async def __call__(self, name: str, **variables: Any) -> Any:
        request = GraphQLRequest(
            operation_document(name), variable_values=variables or None, operation_name=name
        )
        result = await self.session.execute(request)
        self.ran.append(name)
        return result


async def run_queries(run: Runner, charger: Charger) -> None:
    device = charger.id
    assert await run("getSupportMessage") == {"getSupportMessage": None}
    devices = (await run("getCurrentUserDevices"))["getCurrentUserDevices"]
    assert [d["id"] for d in devices] == [device]
    assert devices[0]["deviceStatus"]["cfgCTConfig"] == 1
    got = (await run("getDevice", id=device))["getDevice"]
    assert (got["name"], got["last_ip_address"]) == (charger.name, "203.0.113.47")
    assert got["deviceInfo"]["timeZoneRegion"] == "Europe/London"
    assert len(got["deviceStatus"]["scheduleSlotsArray"]) == 5
    status = (await run("getDeviceStatus", id=device))["getDevice"]["deviceStatus"]
    assert (status["evseState"], status["online"], status["sysRssi"]) == (1, True, -60)
    simple = (await run("getDeviceStatusSimple", id=device))["getDevice"]["deviceStatus"]
    assert simple == {
        "id": device,
        "online": True,
        "evseState": 1,
        "sysSchEnabled": False,
        "sysUserLock": False,
        "sysScheduleLock": False,
    }
    lora = (await run("getDeviceLora", id=device))["getDevice"]["deviceInfo"]["loraDevices"]
    assert lora[0]["eui"] == "70B3D57ED0051A2B"
    solar_info = (await run("getDeviceSolar", id=device))["getDevice"]["deviceInfo"]
    assert solar_info == {"id": device, "solarOverrideStart": None}
    addresses = (await run("searchAddress", addressFragment="Orchard", countryCode="GB"))[
        "searchAddress"
    ]
    assert len(addresses) == 3
    logs = (
        await run(
            "getDeviceCalculatedChargeLogs",
            id=device,
            limit=5,
            offset=0,
            minEnergy=1.0,
            dateFrom="2024-12-01T00:00:00Z",
        )
    )["getDevice"]["deviceCalculatedChargeLogs"]
    assert 0 < len(logs) <= 5
    assert all(log["deviceId"] == device for log in logs)
    binned = (
        await run(
            "getCalculatedPowerLogsBinned",
            id=device,
            dateFrom="2025-01-05T00:00:00Z",
            dateTo="2025-01-06T00:00:00Z",
            binnedMinutes=60,
            groupBy="HOUR",
            limit=24,
            offset=0,
        )
    )["getDevice"]["deviceCalculatedPowerLogsBinned"]
    assert len(binned) == 24


async def run_charge_rates_and_names(run: Runner, charger: Charger) -> None:
    device = charger.id
    created = await run(
        "createChargeRate",
        deviceId=device,
        price=0.075,
        timeStartLocal="00:30",
        timeStopLocal="04:30",
        dayMon=True,
        daySun=False,
        startDateTime="2025-01-01T00:00:00Z",
    )
    rate_id = created["createChargeRate"]["id"]
    assert await run("updateChargeRate", id=rate_id, price=0.085) == {"updateChargeRate": True}
    rates = (await run("getDeviceChargeRates", id=device))["getDevice"]["deviceChargeRates"]
    assert rates == [
        {
            "id": rate_id,
            "price": 0.085,
            "timeStartLocal": "00:30",
            "timeStopLocal": "04:30",
            "startDateTime": "2025-01-01T00:00:00Z",
            "stopDateTime": None,
        }
    ]
    assert await run("deleteChargeRate", id=rate_id) == {"deleteChargeRate": True}
    assert charger.charge_rates() == []
    names = await run("setScheduleNames", deviceId=device, schedule0Name="Off-peak")
    assert names["upsertDeviceInfo"]["schedule0Name"] == "Off-peak"
    renamed = await run("upsertDeviceFriendlyName", deviceId=device, friendlyName="Garage")
    assert renamed == {"upsertDeviceInfo": {"friendlyName": "Garage"}}
    assert charger.friendly_name == "Garage"


async def run_charger_commands(run: Runner, charger: Charger) -> None:
    """Device commands are answered at once and applied a second or two later."""
    device = charger.id
    locked = await run("runAEVCommand", deviceId=device, functionName="userLock", params="")
    assert locked == {"runAEVCommand": {"return_value": None}}
    assert charger.status()["evseState"] == 1  # queued: the charger has not applied it yet
    charger.advance(2)
    assert charger.status()["evseState"] == 255
    night = {
        "startHour": 0,
        "startMinute": 30,
        "endHour": 4,
        "endMinute": 30,
        "enabled": True,
        "dayMap": EVERY_DAY,
    }
    scheduled = await run(
        "setSchedules", deviceId=device, scheduleSlots={"sch0": night, "sch2": night}
    )
    assert scheduled == {"setSchedules": None}  # as the real service answers
    charger.advance(2)
    assert charger.status()["sysSchEnabled"] is True
    disabled = await run("setAllSchedulesDisabled", deviceId=device)
    assert disabled == {"setAllSchedulesDisabled": None}
    charger.advance(2)
    assert (charger.status()["sysSchEnabled"], charger.evse_state) == (False, 1)
    solar = await run(
        "setSolar",
        deviceId=device,
        override=False,
        chargeAlways=True,
        maxGridChargePercent=19,
        chargeOutsideSchedules=False,
    )
    assert solar == {"setSolar": None}
    charger.advance(2)
    settings = (await run("getSolar", deviceId=device))["getSolar"]
    # getSolar is stale, as on the real service: the settings the charger was added with
    assert (settings["chargeAlways"], settings["maxGridChargePercent"]) == (False, 100)
    assert (charger.status()["solarChargeAlways"], charger.charge_outside_schedules) == (
        True,
        False,
    )


async def run_account_and_ownership(run: Runner, cloud: AndersenCloud, user: EmulatedUser) -> None:
    assert await run("registerMobileDevice", token="fcm-1") == {"registerMobileDevice": True}
    assert user.mobile_tokens == {"fcm-1"}
    assert await run("unregisterMobileDevice", token="fcm-1") == {"unregisterMobileDevice": True}
    assert await run("upsertAccount", firstName="Ada", lastName="Lovelace") == {
        "upsertAccount": True
    }
    assert (user.first_name, user.last_name) == ("Ada", "Lovelace")
    spare = cloud.add_charger(None, device_name="A2-SPARE1")
    claimed = await run("claimDeviceByName", deviceName="A2-SPARE1")
    assert claimed == {"claimDeviceByName": {"id": spare.id, "name": "A2-SPARE1"}}
    assert await run("unclaimDevice", deviceId=spare.id) == {"unclaimDevice": True}
    assert spare.id not in cloud.state.owners


async def test_gql_runs_every_operation(
    session: AsyncClientSession,
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_charger: Charger,
) -> None:
    run = Runner(session)
    await run_queries(run, andersen_charger)
    await run_charge_rates_and_names(run, andersen_charger)
    await run_charger_commands(run, andersen_charger)
    await run_account_and_ownership(run, andersen_cloud, andersen_user)
    assert sorted(set(run.ran)) == sorted(set(OPERATION_NAMES) - SUBSCRIPTIONS)
    for name in run.ran:
        assert andersen_cloud.stats.graphql_requests[name] == run.ran.count(name)


async def test_gql_sees_not_found_with_path_and_code(session: AsyncClientSession) -> None:
    with pytest.raises(TransportQueryError) as caught:
        await Runner(session)("getDevice", id="missing")
    assert caught.value.data == {"getDevice": None}
    assert caught.value.errors is not None
    (error,) = caught.value.errors
    assert error["path"] == ["getDevice"]
    assert error["extensions"] == {"code": "NOT_FOUND"}


async def test_gql_sees_apollos_unauthenticated_error(
    session: AsyncClientSession, andersen_cloud: AndersenCloud
) -> None:
    andersen_cloud.expire_tokens()
    with pytest.raises(TransportQueryError) as caught:
        await Runner(session)("getSupportMessage")
    assert caught.value.errors == [
        {
            "message": "Context creation failed: Invalid/expired login token",
            "extensions": {"code": "UNAUTHENTICATED"},
        }
    ]


async def test_gql_sees_injected_server_errors(
    session: AsyncClientSession, andersen_cloud: AndersenCloud
) -> None:
    andersen_cloud.faults.fail_http(1, status=502)
    with pytest.raises(TransportServerError) as caught:
        await Runner(session)("getSupportMessage")
    assert caught.value.code == 502
    andersen_cloud.faults.rate_limit(1)
    with pytest.raises(TransportServerError) as caught:
        await Runner(session)("getSupportMessage")
    assert caught.value.code == 429
    assert await Runner(session)("getSupportMessage") == {"getSupportMessage": None}


async def test_gql_with_an_invalid_token(andersen_cloud: AndersenCloud) -> None:
    async with gql_client(andersen_cloud, "Bearer forged") as session:
        with pytest.raises(TransportQueryError, match="UNAUTHENTICATED"):
            await Runner(session)("getSupportMessage")
