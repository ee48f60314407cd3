"""Commands whose answer is lost, and the RCM fault reset, against the emulator.

A mutation whose answer is lost after sending may or may not have been applied
(:class:`OutcomeUnknownError`). With ``confirm=``, the status is read back instead of
failing blindly: an applied command returns, one that was not raises
:class:`CommandNotConfirmedError` with ``answer_lost``; either way it was sent once.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

import aiohttp
import pytest
from aiohttp import web

from andersen_ev import (
    AndersenA2,
    CommandNotConfirmedError,
    OutcomeUnknownError,
    ServiceUnavailableError,
)
from andersen_ev.testing import AndersenCloud, Charger
from tests.loopback import serve

#: The operation whose answers the proxy loses.
LOST: Final = "runAEVCommand"


@asynccontextmanager
async def losing_proxy(cloud: AndersenCloud) -> AsyncIterator[str]:
    """A proxy to the emulator's GraphQL that forwards every request and answers
    ``runAEVCommand`` with a 502 after the emulator has executed it: the answer is lost."""
    async with aiohttp.ClientSession() as upstream:

        async def forward(request: web.Request) -> web.Response:
            body = await request.read()
            headers = {"Authorization": request.headers["Authorization"]}
            headers["Content-Type"] = "application/json"
            async with upstream.post(
                cloud.endpoints.graphql_url, data=body, headers=headers
            ) as reply:
                answer = await reply.read()
                status = reply.status
            if json.loads(body).get("operationName") == LOST:
                return web.Response(status=502, text="<html>bad gateway</html>")
            return web.Response(body=answer, status=status, content_type="application/json")

        app = web.Application()
        app.router.add_post("/", forward)
        async with serve(app) as url:
            yield url


@asynccontextmanager
async def through_proxy(a2: AndersenA2, cloud: AndersenCloud) -> AsyncIterator[AndersenA2]:
    """A client with ``a2``'s tokens whose GraphQL requests go through :func:`losing_proxy`."""
    async with losing_proxy(cloud) as url:
        endpoints = dataclasses.replace(cloud.endpoints, graphql_url=url)
        async with AndersenA2(
            endpoints=endpoints, tokens=a2.tokens, confirm_interval=0.01
        ) as client:
            yield client


async def test_a_lost_answer_of_an_applied_command_is_settled_by_reading(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    async with through_proxy(a2, andersen_cloud) as client:
        with pytest.raises(OutcomeUnknownError, match="read the state back") as blind:
            await client.user_lock(andersen_charger.id)  # no confirm: the caller decides
        assert not isinstance(blind.value, ServiceUnavailableError)
        assert await client.user_unlock(andersen_charger.id, confirm=5) is None
    status = await a2.get_device_status(andersen_charger.id)
    assert status.sys_user_lock is False
    assert andersen_cloud.stats.graphql_requests[LOST] == 2  # each sent once


async def test_a_lost_answer_of_a_command_not_applied_is_not_confirmed(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    andersen_cloud.faults.fail_http(1, status=502)  # refused before executing
    with pytest.raises(CommandNotConfirmedError) as info:
        await a2.user_lock(andersen_charger.id, confirm=0.5)
    assert info.value.answer_lost
    assert "its answer was lost" in str(info.value)
    assert isinstance(info.value.__cause__, OutcomeUnknownError)
    assert andersen_cloud.stats.graphql_requests[LOST] == 1
    assert (await a2.get_device_status(andersen_charger.id)).sys_user_lock is False


# -- rcm_reset ----------------------------------------------------------------------------------


async def test_rcm_reset_clears_a_fault(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    andersen_charger.set_error(3)
    assert (await a2.get_device_status(andersen_charger.id)).sys_fault_code == 3
    result = await a2.rcm_reset(andersen_charger.id, confirm=5)
    assert result is not None
    status = await a2.get_device_status(andersen_charger.id)
    assert (status.sys_fault_code, status.sys_rcm_user_cleared) == (0, True)
    assert andersen_cloud.stats.graphql_requests[LOST] == 1


async def test_rcm_reset_of_a_charger_without_fault_changes_nothing(
    a2: AndersenA2, andersen_charger: Charger
) -> None:
    before = await a2.get_device_status(andersen_charger.id)
    await a2.rcm_reset(andersen_charger.id)
    after = await a2.get_device_status(andersen_charger.id)
    assert (after.sys_fault_code, after.sys_rcm_user_cleared) == (
        before.sys_fault_code,
        before.sys_rcm_user_cleared,
    )
    assert after.sys_fault_code == 0


async def test_a_fault_that_stays_is_not_confirmed(
    a2: AndersenA2, andersen_charger: Charger
) -> None:
    andersen_charger.set_error(3)
    andersen_charger.set_online(False)  # the reset waits for the charger: the fault stays
    with pytest.raises(CommandNotConfirmedError, match="rcmReset") as info:
        await a2.rcm_reset(andersen_charger.id, confirm=0.2)
    assert not info.value.answer_lost
