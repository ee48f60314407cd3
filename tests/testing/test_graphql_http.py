"""GraphQL over HTTP: Apollo's answers to good and bad requests, auth, faults, resolvers."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from andersen_ev.graphql import operation_document
from andersen_ev.testing import AndersenCloud, Charger, EmulatedUser
from andersen_ev.testing.graphql_http import UNAUTHENTICATED_MESSAGE
from andersen_ev.testing.realism import Realism
from tests.testing.ws_helpers import bearer

UNAUTHENTICATED = {
    "errors": [{"message": UNAUTHENTICATED_MESSAGE, "extensions": {"code": "UNAUTHENTICATED"}}]
}


class Api:
    """A raw HTTP client for the emulator's GraphQL endpoint."""

    def __init__(self, cloud: AndersenCloud, http: aiohttp.ClientSession, auth: str) -> None:
        self.cloud, self.http, self.auth = cloud, http, auth

    async def post(
        self,
        body: Any = None,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        path: str = "",
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        """POST ``body`` as JSON (or raw ``data``); returns status, decoded body and response."""
        all_headers = {"Authorization": self.auth} | (headers or {})
        url = self.cloud.endpoints.graphql_url + path
        kwargs: dict[str, Any] = {"data": data} if data is not None else {"json": body}
        async with self.http.post(url, headers=all_headers, **kwargs) as resp:
            text = await resp.text()
            try:
                decoded: Any = json.loads(text)
            except ValueError:
                decoded = text
            return resp.status, decoded, resp

    async def op(self, name: str, **variables: Any) -> tuple[int, Any]:
        """Run one of the library's operations by name."""
        body = {"query": operation_document(name), "variables": variables, "operationName": name}
        status, decoded, _ = await self.post(body)
        return status, decoded


@pytest.fixture
async def api(andersen_cloud: AndersenCloud, andersen_user: EmulatedUser) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as http:
        yield Api(andersen_cloud, http, bearer(andersen_cloud, andersen_user))


# -- happy paths ------------------------------------------------------------------------------


async def test_query_on_both_paths(api: Api, andersen_charger: Charger) -> None:
    query = {"query": "{ getCurrentUserDevices { id name deviceInfo { friendlyName } } }"}
    for path in ("", "/graphql"):
        status, body, resp = await api.post(query, path=path)
        assert status == 200
        assert resp.content_type == "application/json"
        assert body == {
            "data": {
                "getCurrentUserDevices": [
                    {
                        "id": andersen_charger.id,
                        "name": andersen_charger.name,
                        "deviceInfo": {"friendlyName": "Driveway"},
                    }
                ]
            }
        }
    assert api.cloud.stats.graphql_requests["<anonymous>"] == 2


async def test_get_device_status_serves_the_charger_state(
    api: Api, andersen_charger: Charger
) -> None:
    andersen_charger.plug_in(energy_wanted_kwh=20)
    andersen_charger.advance(600)
    status, body = await api.op("getDeviceStatus", id=andersen_charger.id)
    assert status == 200
    assert "errors" not in body
    served = body["data"]["getDevice"]["deviceStatus"]
    assert served["evseState"] == 3
    assert served["chargeStatus"]["chargePower"] == pytest.approx(7.2)
    assert served == {k: v for k, v in andersen_charger.status().items() if k in served}
    assert api.cloud.stats.graphql_requests["getDeviceStatus"] == 1


async def test_mutations_change_the_charger_a_second_or_two_later(
    api: Api, andersen_charger: Charger
) -> None:
    device = andersen_charger.id
    _, body = await api.op("runAEVCommand", deviceId=device, functionName="userLock")
    assert body == {"data": {"runAEVCommand": {"return_value": None}}}
    _, body = await api.op("getDeviceStatusSimple", id=device)
    assert body["data"]["getDevice"]["deviceStatus"]["evseState"] == 1  # not applied yet
    assert andersen_charger.pending_command_names() == ["userLock"]
    api.cloud.advance(2)
    _, body = await api.op("getDeviceStatusSimple", id=device)
    assert body["data"]["getDevice"]["deviceStatus"]["evseState"] == 255
    _, body = await api.op("setAllSchedulesDisabled", deviceId=device)
    assert body == {"data": {"setAllSchedulesDisabled": None}}
    assert api.cloud.settle() > 0
    assert andersen_charger.evse_state == 1
    _, body = await api.op("setSolar", deviceId=device, override=True, maxGridChargePercent=50)
    assert body == {"data": {"setSolar": None}}
    api.cloud.settle()
    _, body = await api.op("getSolar", deviceId=device)
    assert body["data"]["getSolar"] == {  # stale: as the charger was added
        "deviceId": device,
        "override": False,
        "chargeAlways": False,
        "maxGridChargePercent": 100,
        "return_value": None,
    }
    status = andersen_charger.status()
    assert (status["solarOverride"], status["solarMaxGridChargePercent"]) == (True, 50)
    _, body = await api.op("setScheduleNames", deviceId=device, schedule1Name="Night")
    assert body["data"]["upsertDeviceInfo"]["schedule1Name"] == "Night"  # cloud-side: at once
    assert andersen_charger.info()["schedule0Name"] == "Schedule 0"


@pytest.mark.andersen_cloud(realism=False)
async def test_the_kind_emulator_answers_objects_and_applies_at_once(
    api: Api, andersen_charger: Charger
) -> None:
    device = andersen_charger.id
    await api.op("runAEVCommand", deviceId=device, functionName="userLock")
    assert andersen_charger.evse_state == 255
    _, body = await api.op("setAllSchedulesDisabled", deviceId=device)
    assert body["data"]["setAllSchedulesDisabled"] == {
        "id": device,
        "name": andersen_charger.name,
        "last_app": "",
        "connected": True,
        "return_value": None,
    }
    assert andersen_charger.evse_state == 1
    await api.op("setSolar", deviceId=device, override=True, maxGridChargePercent=50)
    _, body = await api.op("getSolar", deviceId=device)
    assert body["data"]["getSolar"]["maxGridChargePercent"] == 50


@pytest.mark.andersen_cloud(realism=Realism(get_solar="null"))
async def test_get_solar_may_answer_null(api: Api, andersen_charger: Charger) -> None:
    _, body = await api.op("getSolar", deviceId=andersen_charger.id)
    assert body == {"data": {"getSolar": None}}


async def test_invalid_input_is_refused_and_changes_nothing(
    api: Api, andersen_charger: Charger
) -> None:
    before = andersen_charger.status()
    good = {
        "startHour": 1,
        "startMinute": 0,
        "endHour": 2,
        "endMinute": 0,
        "enabled": True,
        "dayMap": dict.fromkeys(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"), True
        ),
    }
    slots = {"sch0": good, "sch1": good | {"endHour": 24}}
    status, body = await api.op("setSchedules", deviceId=andersen_charger.id, scheduleSlots=slots)
    assert status == 200
    assert body["data"] == {"setSchedules": None}
    (error,) = body["errors"]
    assert error["path"] == ["setSchedules"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "sch1.endHour" in error["message"]
    assert andersen_charger.status() == before

    _, body = await api.op("setSolar", deviceId=andersen_charger.id, maxGridChargePercent=101)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    _, body = await api.op("runAEVCommand", deviceId=andersen_charger.id, functionName="reboot")
    assert body["errors"][0]["message"] == "Function 'reboot' not found"
    _, body = await api.op("registerMobileDevice", token="  ")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# -- NOT_FOUND and ownership ------------------------------------------------------------------


async def test_unknown_and_foreign_devices_are_not_found(api: Api) -> None:
    stranger = api.cloud.add_user("stranger@example.com", "pw")
    theirs = api.cloud.add_charger(stranger, name="Theirs")
    for device in ("no-such-device", theirs.id):
        status, body = await api.op("getDevice", id=device)
        assert status == 200
        assert body["data"] == {"getDevice": None}
        (error,) = body["errors"]
        assert error["message"] == f"Device {device!r} not found"
        assert error["path"] == ["getDevice"]
        assert error["extensions"] == {"code": "NOT_FOUND"}
    _, body = await api.op("runAEVCommand", deviceId=theirs.id, functionName="userLock")
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert theirs.status()["sysUserLock"] is False
    _, body = await api.op("updateChargeRate", id="nope", price=1.0)
    assert body["errors"][0]["message"] == "Charge rate 'nope' not found"
    _, body = await api.op("deleteChargeRate", id="nope")
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_charge_rates_are_found_on_any_of_the_users_chargers(
    api: Api, andersen_user: EmulatedUser, andersen_charger: Charger
) -> None:
    second = api.cloud.add_charger(andersen_user, name="Carport")
    _, body = await api.op("createChargeRate", deviceId=second.id, price=0.3)
    rate_id = body["data"]["createChargeRate"]["id"]
    _, body = await api.op("updateChargeRate", id=rate_id, price=0.25)
    assert body == {"data": {"updateChargeRate": True}}
    assert second.charge_rates()[0]["price"] == 0.25
    assert andersen_charger.charge_rates() == []


async def test_claim_and_unclaim(api: Api, andersen_user: EmulatedUser) -> None:
    loose = api.cloud.add_charger(None, device_name="A2-LOOSE1")
    stranger = api.cloud.add_user("stranger@example.com", "pw")
    api.cloud.add_charger(stranger, device_name="A2-TAKEN1")
    _, body = await api.op("claimDeviceByName", deviceName="a2-loose1")
    assert body == {"data": {"claimDeviceByName": {"id": loose.id, "name": "A2-LOOSE1"}}}
    assert api.cloud.state.owners[loose.id] == andersen_user.username
    _, body = await api.op("claimDeviceByName", deviceName="A2-LOOSE1")  # again: fine
    assert "errors" not in body
    _, body = await api.op("claimDeviceByName", deviceName="A2-TAKEN1")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    _, body = await api.op("claimDeviceByName", deviceName="A2-NOWHERE")
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    _, body = await api.op("unclaimDevice", deviceId=loose.id)
    assert body == {"data": {"unclaimDevice": True}}
    assert loose.id not in api.cloud.state.owners
    _, body = await api.op("unclaimDevice", deviceId=loose.id)
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_account_and_mobile_tokens(api: Api, andersen_user: EmulatedUser) -> None:
    _, body = await api.op("upsertAccount", firstName="Ada")
    assert body == {"data": {"upsertAccount": True}}
    _, body = await api.op("upsertAccount", lastName="Lovelace")
    assert (andersen_user.first_name, andersen_user.last_name) == ("Ada", "Lovelace")
    _, body = await api.op("registerMobileDevice", token="fcm-token-1")
    assert body == {"data": {"registerMobileDevice": True}}
    assert andersen_user.mobile_tokens == {"fcm-token-1"}
    for _ in range(2):  # unregistering is idempotent
        _, body = await api.op("unregisterMobileDevice", token="fcm-token-1")
        assert body == {"data": {"unregisterMobileDevice": True}}
    assert andersen_user.mobile_tokens == set()


async def test_logs_addresses_and_support_message(api: Api, andersen_charger: Charger) -> None:
    _, body = await api.op("getSupportMessage")
    assert body == {"data": {"getSupportMessage": None}}
    _, body = await api.op("searchAddress", addressFragment="RG1 8DQ")
    assert [a["number"] for a in body["data"]["searchAddress"]] == ["12", "14"]
    _, body = await api.op("getDeviceCalculatedChargeLogs", id=andersen_charger.id, limit=2)
    assert len(body["data"]["getDevice"]["deviceCalculatedChargeLogs"]) == 2
    _, body = await api.op(
        "getCalculatedPowerLogsBinned", id=andersen_charger.id, groupBy="DAY", limit=1
    )
    (day,) = body["data"]["getDevice"]["deviceCalculatedPowerLogsBinned"]
    assert day["dateFrom"] == "2025-01-05T12:00:00Z"
    _, body = await api.op("getCalculatedPowerLogsBinned", id=andersen_charger.id, binnedMinutes=0)
    assert body["data"]["getDevice"] == {
        "id": andersen_charger.id,
        "deviceCalculatedPowerLogsBinned": None,
    }
    assert body["errors"][0]["path"] == ["getDevice", "deviceCalculatedPowerLogsBinned"]
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# -- authentication ---------------------------------------------------------------------------


async def test_bad_tokens_get_apollos_unauthenticated_error(api: Api) -> None:
    query = {"query": "{ getSupportMessage }"}
    for auth in ({}, {"Authorization": "Bearer not.a.jwt"}, {"Authorization": "Basic abc"}):
        api.auth = auth.get("Authorization", "")
        status, body, resp = await api.post(query)
        assert (status, body) == (400, UNAUTHENTICATED)
        assert resp.content_type == "application/json"


async def test_expired_token(api: Api) -> None:
    query = {"query": "{ getSupportMessage }"}
    assert (await api.post(query))[0] == 200
    api.cloud.expire_tokens()
    status, body, _ = await api.post(query)
    assert (status, body) == (400, UNAUTHENTICATED)


@pytest.mark.andersen_cloud(unauthenticated_status=500)
async def test_unauthenticated_status_is_configurable(api: Api) -> None:
    api.cloud.expire_tokens()
    status, body, _ = await api.post({"query": "{ getSupportMessage }"})
    assert (status, body) == (500, UNAUTHENTICATED)


async def test_bare_token_without_scheme_is_accepted(api: Api) -> None:
    api.auth = api.auth.removeprefix("Bearer ")
    status, _, _ = await api.post({"query": "{ getSupportMessage }"})
    assert status == 200


# -- bad requests -----------------------------------------------------------------------------


def only_error(body: Any) -> dict[str, Any]:
    assert set(body) == {"errors"}
    (error,) = body["errors"]
    assert isinstance(error, dict)
    return error


async def test_malformed_json_is_refused_before_auth(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    api.auth = "Bearer expired"
    with caplog.at_level(logging.INFO, logger="andersen_ev.testing.graphql_http"):
        status, body, _ = await api.post(
            data=b'{"query": ', headers={"Content-Type": "application/json"}
        )
    assert status == 400
    error = only_error(body)
    assert error["message"].startswith("POST body sent invalid JSON")
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert "rejected (HTTP 400)" in caplog.text
    assert api.cloud.stats.graphql_requests["<anonymous>"] == 1


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
async def test_json_without_nan_or_infinity(api: Api, constant: bytes) -> None:
    query = b'{"query": "query($e: Float) { getSupportMessage }", "variables": {"e": %s}}'
    status, body, _ = await api.post(
        data=query % constant, headers={"Content-Type": "application/json"}
    )
    assert status == 400
    assert constant.lstrip(b"-").decode() in only_error(body)["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([{"query": "{ getSupportMessage }"}], "batching is not enabled"),
        ({}, "JSON object has no keys"),
        ("a string", "JSON object has no keys"),
        ({"query": 5}, "`query` in the POST body must be a string"),
        ({"query": "{ x }", "operationName": 5}, "`operationName` in the POST body"),
        ({"query": "{ x }", "variables": [1]}, "`variables` in a POST body must be an object"),
        ({"variables": {}}, "non-empty `query`"),
    ],
)
async def test_bad_request_bodies(api: Api, body: Any, message: str) -> None:
    status, answer, _ = await api.post(body)
    assert status == 400
    error = only_error(answer)
    assert message in error["message"]
    assert error["extensions"] == {"code": "BAD_REQUEST"}


async def test_body_not_sent_as_json_is_missing(api: Api) -> None:
    status, body, _ = await api.post(
        data=b'{"query": "{ getSupportMessage }"}', headers={"Content-Type": "text/plain"}
    )
    assert status == 400
    assert "invalid Content-Type" in only_error(body)["message"]


async def test_parse_error(api: Api) -> None:
    status, body, _ = await api.post({"query": "query {"})
    assert status == 400
    error = only_error(body)
    assert error["message"].startswith("Syntax Error")
    assert error["locations"] == [{"line": 1, "column": 8}]
    assert error["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}


async def test_validation_errors_are_all_reported(api: Api) -> None:
    status, body, _ = await api.post({"query": "{ getSupportMessage chargeNow bogus }"})
    assert status == 400
    assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_VALIDATION_FAILED"] * 2
    assert "Cannot query field 'chargeNow' on type 'Query'." in body["errors"][0]["message"]


async def test_operation_resolution(api: Api) -> None:
    two = "query a { getSupportMessage } query b { getSupportMessage }"
    status, body, _ = await api.post({"query": two})
    assert status == 400
    assert only_error(body) == {
        "message": "Must provide operation name if query contains multiple operations.",
        "extensions": {"code": "OPERATION_RESOLUTION_FAILURE"},
    }
    status, body, _ = await api.post({"query": two, "operationName": "c"})
    assert status == 400
    assert only_error(body)["message"] == 'Unknown operation named "c".'
    status, body, _ = await api.post({"query": two, "operationName": "b"})
    assert (status, body) == (200, {"data": {"getSupportMessage": None}})
    assert api.cloud.stats.graphql_requests["b"] == 1


async def test_subscriptions_are_not_served_over_http(api: Api, andersen_charger: Charger) -> None:
    status, body = await api.op("deviceStatusUpdated", id=andersen_charger.id)
    assert status == 400
    assert "websocket" in only_error(body)["message"]


@pytest.mark.parametrize(
    "variables",
    [{}, {"id": None}, {"id": ["a"]}, {"id": "x", "unused": 1}],
    ids=["missing", "null", "list", "extra-is-fine"],
)
async def test_bad_variables(api: Api, variables: dict[str, Any]) -> None:
    body = {"query": operation_document("getDeviceStatusSimple"), "variables": variables}
    status, answer, _ = await api.post(body)
    if "unused" in variables:  # graphql-js ignores variables no operation declares
        assert status == 200
        return
    assert status == 400
    error = only_error(answer)
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "$id" in error["message"]


async def test_a_resolver_bug_is_an_internal_error_and_logged(
    api: Api, andersen_charger: Charger, caplog: pytest.LogCaptureFixture
) -> None:
    andersen_charger.set(evseState="three")  # not an Int: cannot be served
    with caplog.at_level(logging.ERROR, logger="andersen_ev.testing.graphql_http"):
        status, body = await api.op("getDeviceStatusSimple", id=andersen_charger.id)
    assert status == 200
    assert body["data"]["getDevice"]["deviceStatus"]["evseState"] is None
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert error["path"] == ["getDevice", "deviceStatus", "evseState"]
    assert "resolver failed" in caplog.text


# -- faults -----------------------------------------------------------------------------------


async def test_injected_5xx_then_recovery(api: Api) -> None:
    api.cloud.faults.fail_http(2)
    for _ in range(2):
        status, body, resp = await api.post({"query": "{ getSupportMessage }"})
        assert status == 503
        assert resp.content_type == "text/html"
        assert "503 Service Unavailable" in body
    assert (await api.post({"query": "{ getSupportMessage }"}))[0] == 200
    assert api.cloud.stats.graphql_requests["<anonymous>"] == 3
    assert api.cloud.stats.faults_injected["http_503"] == 2


async def test_injected_500_is_apollo_json_and_unknown_status_is_a_page(api: Api) -> None:
    api.cloud.faults.fail_http(1, status=500)
    status, body, _ = await api.post({"query": "{ getSupportMessage }"})
    assert status == 500
    assert only_error(body)["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    api.cloud.faults.fail_http(1, status=599)
    status, body, _ = await api.post({"query": "{ getSupportMessage }"})
    assert status == 599
    assert "<title>599 Error</title>" in body


async def test_injected_rate_limit(api: Api) -> None:
    api.cloud.faults.rate_limit(1, retry_after=2.5)
    status, body, resp = await api.post({"query": "{ getSupportMessage }", "operationName": None})
    assert (status, body) == (429, {"message": "Too Many Requests"})
    assert resp.headers["Retry-After"] == "2.5"
    assert api.cloud.stats.faults_injected["http_429"] == 1


async def test_faults_come_before_auth_and_are_counted(api: Api) -> None:
    api.auth = "Bearer nonsense"
    api.cloud.faults.fail_http(1)
    status, _ = await api.op("getSupportMessage")
    assert status == 503
    assert api.cloud.stats.graphql_requests["getSupportMessage"] == 1


async def test_malformed_reply_after_the_mutation_ran(api: Api, andersen_charger: Charger) -> None:
    api.cloud.faults.corrupt_replies(2)
    status, body = await api.op(
        "runAEVCommand", deviceId=andersen_charger.id, functionName="userLock"
    )
    assert status == 200
    assert body == {"data": {"runAEVCommand": "malformed"}}
    assert andersen_charger.pending_command_names() == ["userLock"]  # it went through
    api.cloud.advance(2)
    assert andersen_charger.evse_state == 255
    status, body = await api.op("getSupportMessage")
    assert body == {"data": {"getSupportMessage": {"malformed": True}}}
    assert api.cloud.stats.faults_injected["malformed_reply"] == 2
    _, body = await api.op("getSupportMessage")
    assert body == {"data": {"getSupportMessage": None}}


async def test_latency(api: Api) -> None:
    api.cloud.faults.latency = 0.2
    loop_time = asyncio.get_running_loop().time
    started = loop_time()
    status, _, _ = await api.post({"query": "{ getSupportMessage }"})
    assert status == 200
    assert loop_time() - started >= 0.2
