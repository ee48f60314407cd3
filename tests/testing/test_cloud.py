"""The emulator's lifecycle, endpoints and username lookup."""

from __future__ import annotations

import aiohttp
import pytest

from andersen_ev import PRODUCTION
from andersen_ev.testing import AndersenCloud, EmulatedUser


async def test_endpoints_point_at_loopback_with_production_ids(
    andersen_cloud: AndersenCloud,
) -> None:
    endpoints = andersen_cloud.endpoints
    assert endpoints.graphql_url.startswith("http://127.0.0.1:")
    assert endpoints.websocket_url.startswith("ws://127.0.0.1:")
    assert endpoints.websocket_url.endswith("/graphql")
    assert endpoints.user_lookup_url.endswith("/get-pending-user")
    assert endpoints.cognito_url.startswith("http://127.0.0.1:")
    assert endpoints.user_pool_id == PRODUCTION.user_pool_id
    assert endpoints.client_id == PRODUCTION.client_id
    assert endpoints.region == "eu-west-1"
    assert endpoints.pool_name == "t5HV3bFjl"


async def test_endpoints_unavailable_when_stopped() -> None:
    cloud = AndersenCloud()
    with pytest.raises(RuntimeError, match="not running"):
        _ = cloud.endpoints
    async with cloud:
        assert cloud.endpoints
    with pytest.raises(RuntimeError, match="not running"):
        _ = cloud.endpoints
    await cloud.close()  # idempotent


async def test_cannot_start_twice(andersen_cloud: AndersenCloud) -> None:
    with pytest.raises(RuntimeError, match="running already"):
        await andersen_cloud.start()


async def test_lookup_answers_username_case_insensitively(
    andersen_cloud: AndersenCloud, andersen_user: EmulatedUser
) -> None:
    async with aiohttp.ClientSession() as http:
        url = andersen_cloud.endpoints.user_lookup_url
        async with http.post(url, json={"email": andersen_user.email.upper()}) as resp:
            assert await resp.json() == {"username": andersen_user.username}
        async with http.post(url, json={"email": "nobody@example.com"}) as resp:
            assert await resp.json() == {
                "error": 'Pending user with email "nobody@example.com" not found'
            }
        async with http.post(url, data=b"{not json") as resp:
            assert resp.status == 400
            assert "error" in await resp.json()
    assert andersen_cloud.stats.lookups == 3


async def test_username_looks_like_the_real_one(andersen_user: EmulatedUser) -> None:
    uuid_part, _, number = andersen_user.username.rpartition(":")
    assert len(uuid_part) == 36
    assert number.isdigit()


def test_duplicate_user_rejected() -> None:
    cloud = AndersenCloud()
    cloud.add_user("a@example.com", "pw")
    with pytest.raises(ValueError, match="exists already"):
        cloud.add_user("A@example.com", "other")


def test_duplicate_charger_id_rejected() -> None:
    cloud = AndersenCloud()
    user = cloud.add_user("a@example.com", "pw")
    charger = cloud.add_charger(user, device_id="abc")
    assert cloud.charger("abc") is charger
    with pytest.raises(ValueError, match="exists already"):
        cloud.add_charger(user, device_id="abc")
