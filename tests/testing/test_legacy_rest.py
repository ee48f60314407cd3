"""``GET /api/getDevices``: the legacy REST device list the Home Assistant clients start from."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from andersen_ev.testing import AndersenCloud, EmulatedUser, Realism
from andersen_ev.testing.legacy_rest import PATH, reports_user_lock
from tests.testing.ws_helpers import bearer


class Legacy:
    """A raw client of the REST list, as the Home Assistant clients call it."""

    def __init__(self, cloud: AndersenCloud, http: aiohttp.ClientSession) -> None:
        self.cloud, self.http = cloud, http

    async def get(self, authorization: str | None) -> tuple[int, Any]:
        headers = {} if authorization is None else {"Authorization": authorization}
        url = self.cloud.endpoints.graphql_url + PATH
        async with self.http.get(url, headers=headers) as resp:
            return resp.status, await resp.json()


@pytest.fixture
async def legacy(andersen_cloud: AndersenCloud) -> AsyncIterator[Legacy]:
    async with aiohttp.ClientSession() as http:
        yield Legacy(andersen_cloud, http)


def odd(device_id: str) -> bool:
    return zlib.crc32(device_id.encode()) % 2 == 1


async def test_the_account_s_chargers_with_user_lock_sometimes_missing(
    legacy: Legacy, andersen_cloud: AndersenCloud, andersen_user: EmulatedUser
) -> None:
    # one id of each parity, so that both answers show
    ids = ["a" * 24, *(f"{n:024x}" for n in range(1, 40))]
    even_id = next(i for i in ids if not odd(i))
    odd_id = next(i for i in ids if odd(i))
    andersen_cloud.add_charger(andersen_user, "Drive", device_id=even_id, sysUserLock=True)
    andersen_cloud.add_charger(andersen_user, "Barn", device_id=odd_id)
    andersen_cloud.add_charger(None, "Nobody's", device_id="f" * 24)
    status, body = await legacy.get(bearer(andersen_cloud, andersen_user))
    assert status == 200
    assert body == {
        "devices": [
            {"id": even_id, "friendlyName": "Drive", "userLock": True},
            {"id": odd_id, "friendlyName": "Barn"},
        ]
    }
    assert andersen_cloud.stats.legacy_requests == 1


async def test_a_charger_may_say_whether_it_reports_user_lock(
    andersen_cloud: AndersenCloud, andersen_user: EmulatedUser
) -> None:
    charger = andersen_cloud.add_charger(andersen_user, device_id="b" * 24)
    realism = andersen_cloud.realism
    charger.legacy_user_lock = False
    assert reports_user_lock(charger, realism) is False
    charger.legacy_user_lock = True
    assert reports_user_lock(charger, realism) is True
    charger.legacy_user_lock = None
    assert reports_user_lock(charger, realism) is (not odd(charger.id))
    assert reports_user_lock(charger, Realism(legacy_user_lock_gaps=False)) is True


@pytest.mark.andersen_cloud(realism=False)
async def test_the_kind_emulator_always_reports_user_lock(
    legacy: Legacy, andersen_cloud: AndersenCloud, andersen_user: EmulatedUser
) -> None:
    for n in range(6):
        andersen_cloud.add_charger(andersen_user, device_id=f"{n:024x}")
    _, body = await legacy.get(bearer(andersen_cloud, andersen_user))
    assert len(body["devices"]) == 6
    assert all(device["userLock"] is False for device in body["devices"])


@pytest.mark.parametrize("authorization", [None, "Bearer nonsense", "Basic eA=="])
async def test_without_a_valid_token_it_answers_401(
    legacy: Legacy, authorization: str | None
) -> None:
    assert await legacy.get(authorization) == (401, {"error": "Invalid/expired login token"})


async def test_an_expired_token_answers_401(
    legacy: Legacy, andersen_cloud: AndersenCloud, andersen_user: EmulatedUser
) -> None:
    token = bearer(andersen_cloud, andersen_user)
    andersen_cloud.expire_tokens()
    status, _ = await legacy.get(token)
    assert status == 401
