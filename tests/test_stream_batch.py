"""Batched status reads: a resync of many devices costs a request per 50, not one per device.

The request counts are the emulator's (``stats.graphql_requests``); the results are compared
with single ``get_device_status`` reads at the same emulator time. Replies the emulator never
gives (a device's own error, errors without a path) come from the scripted server.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from graphql import build_schema, parse, validate

from andersen_ev import (
    AndersenA2,
    ApiError,
    DeviceNotFoundError,
    DeviceStatus,
    InvalidInputError,
    ResponseError,
    ServiceUnavailableError,
)
from andersen_ev.batch import BATCH_LIMIT, OPERATION, batch_document
from andersen_ev.graphql import schema_sdl
from andersen_ev.stream import StatusSnapshot
from andersen_ev.testing import AndersenCloud, Charger, EmulatedUser
from tests.client_fixtures import logged_in
from tests.scripted_server import Script, json_reply
from tests.stream_helpers import FAST_RETRY, FAST_STREAM, Follower, quiet, until

UNKNOWN = "0" * 24
SINGLE = "getDeviceStatus"
FIGURES = logging.getLogger("tests.figures")


@pytest.fixture
async def a2(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> AsyncIterator[AndersenA2]:
    # generous timeouts: on a loaded machine a request that timed out would be sent again,
    # and a connection given up would be resynced again, and this file counts requests
    client = await logged_in(
        andersen_cloud,
        andersen_credentials,
        retry=FAST_RETRY,
        stream_settings=dataclasses.replace(FAST_STREAM, keepalive_timeout=30.0),
        timeout=60.0,
    )
    async with client:
        yield client


@pytest.fixture
def fleet(andersen_cloud: AndersenCloud, andersen_user: EmulatedUser) -> list[Charger]:
    """120 chargers in the test account."""
    return [andersen_cloud.add_charger(andersen_user, name=f"Bay {n}") for n in range(120)]


def requests(cloud: AndersenCloud) -> tuple[int, int]:
    """Batched and single status reads the emulator has answered."""
    return cloud.stats.graphql_requests[OPERATION], cloud.stats.graphql_requests[SINGLE]


def same_as_read(status: DeviceStatus, read: DeviceStatus) -> bool:
    """Every field of the status read has the same value in ``status``."""
    return all(getattr(status, name) == getattr(read, name) for name in read.model_fields_set)


def test_the_documents_are_valid_and_hold_no_data() -> None:
    schema = build_schema(schema_sdl())
    for size in range(1, BATCH_LIMIT + 1):
        document = batch_document(size)
        assert validate(schema, parse(document)) == [], size
        assert document.count("getDevice(id: $id") == size
    assert batch_document(3) is batch_document(3)  # built once per size
    for size in (0, BATCH_LIMIT + 1):
        with pytest.raises(ValueError, match="1 to 50"):
            batch_document(size)


async def test_a_resync_of_120_devices_costs_three_requests(
    a2: AndersenA2, andersen_cloud: AndersenCloud, fleet: list[Charger]
) -> None:
    ids = [charger.id for charger in fleet]
    follower = Follower(a2.subscribe_device_updates(*ids))
    await follower.until_snapshots(120)
    assert requests(andersen_cloud) == (3, 0), a2.streams.stats  # 50 + 50 + 20
    assert a2.streams.stats.snapshot_requests == 3
    assert a2.streams.stats.snapshots == 120

    await until(lambda: andersen_cloud.state.hub.subscriber_count() == 120)
    dropped_at = time.perf_counter()
    assert await andersen_cloud.drop_websockets() == 1
    await follower.until_snapshots(240)
    resync = time.perf_counter() - dropped_at
    assert requests(andersen_cloud) == (6, 0), a2.streams.stats

    # a second consumer of 60 of them joins the live connection: two more requests
    joiner = Follower(a2.subscribe_device_updates(*ids[:60]))
    await joiner.until_snapshots(60)
    assert requests(andersen_cloud) == (8, 0)

    # what a batch read says is what a single read says, device by device
    for charger in fleet[::7]:
        read = await a2.get_device_status(charger.id)
        snapshot = follower.snapshots(charger.id)[-1]
        assert same_as_read(snapshot, read)
        if charger.id in ids[:60]:
            assert same_as_read(joiner.snapshots(charger.id)[-1], read)
    FIGURES.info("resync of 120 devices: 3 requests, %.2f s after the drop", resync)
    await follower.stop()
    await joiner.stop()
    await quiet(andersen_cloud)


async def test_an_unknown_device_fails_only_its_own_consumers(
    a2: AndersenA2, andersen_cloud: AndersenCloud, fleet: list[Charger]
) -> None:
    good = Follower(a2.subscribe_device_updates(*(charger.id for charger in fleet[:10])))
    bad = Follower(a2.subscribe_device_updates(UNKNOWN))
    mixed = Follower(a2.subscribe_device_updates(fleet[10].id, UNKNOWN))
    await good.until_snapshots(10)
    await bad.until_ended()
    await mixed.until_ended()
    assert isinstance(bad.error, DeviceNotFoundError)
    assert isinstance(mixed.error, DeviceNotFoundError)
    assert UNKNOWN in str(bad.error)
    # one request for the twelve (the unknown one answered an error), one for the rest
    assert requests(andersen_cloud) == (2, 0)
    assert not good.ended
    fleet[3].set(sysUserLock=True)  # at once: a test knob, not a delayed command
    await good.until_has(fleet[3].id, sysUserLock=True)
    await good.stop()
    await quiet(andersen_cloud)


async def test_garbled_snapshots_are_read_again(
    a2: AndersenA2, andersen_cloud: AndersenCloud, fleet: list[Charger]
) -> None:
    andersen_cloud.faults.corrupt_replies(1)
    follower = Follower(a2.subscribe_device_updates(*(charger.id for charger in fleet[:3])))
    await follower.until_snapshots(3)
    assert requests(andersen_cloud) == (2, 0)
    assert andersen_cloud.stats.faults_injected["malformed_reply"] == 1
    assert all(isinstance(status, StatusSnapshot) for status in follower.received)
    await follower.stop()
    await quiet(andersen_cloud)


# -- get_device_statuses ----------------------------------------------------------------------


async def test_get_device_statuses_reads_fifty_per_request(
    a2: AndersenA2, andersen_cloud: AndersenCloud, fleet: list[Charger]
) -> None:
    ids = [charger.id for charger in reversed(fleet)]
    statuses = await a2.get_device_statuses([*ids, ids[0]])  # a duplicate is read once
    assert list(statuses) == ids
    assert requests(andersen_cloud) == (3, 0)
    for device_id in ids[::11]:
        assert statuses[device_id] == await a2.get_device_status(device_id)
    assert await a2.get_device_statuses([]) == {}
    assert await a2.get_device_statuses(iter(ids[:1])) == {ids[0]: statuses[ids[0]]}
    assert requests(andersen_cloud) == (3, 1 + len(ids[::11]))  # a batch of one is a single read


async def test_get_device_statuses_names_every_unknown_device(
    a2: AndersenA2, andersen_cloud: AndersenCloud, fleet: list[Charger]
) -> None:
    other = "1" * 24
    ids = [fleet[0].id, UNKNOWN, fleet[1].id, other]
    with pytest.raises(DeviceNotFoundError) as raised:
        await a2.get_device_statuses(ids)
    assert UNKNOWN in str(raised.value)
    assert other in str(raised.value)
    assert "missing_ok" in str(raised.value)
    found = await a2.get_device_statuses(ids, missing_ok=True)
    assert list(found) == [fleet[0].id, fleet[1].id]
    assert requests(andersen_cloud) == (4, 0)  # each call: the batch, then the rest again
    with pytest.raises(DeviceNotFoundError):
        await a2.get_device_statuses([UNKNOWN])
    assert await a2.get_device_statuses([UNKNOWN], missing_ok=True) == {}


@pytest.mark.parametrize("device_ids", ["abc", 42, ["ok", ""], [" padded"]])
async def test_get_device_statuses_checks_its_argument(a2: AndersenA2, device_ids: Any) -> None:
    with pytest.raises(InvalidInputError, match="device_ids"):
        await a2.get_device_statuses(device_ids)


def status_of(device_id: str, **fields: object) -> dict[str, Any]:
    return {"deviceStatus": {"id": device_id, "evseState": 1, **fields}}


async def test_a_devices_own_errors_and_garbled_parts(
    scripted_a2: AndersenA2, script: Script
) -> None:
    forbidden = {"message": "Not yours", "path": ["d1"], "extensions": {"code": "FORBIDDEN"}}
    script.replies += [
        # d1 refused: the reply of the others is lost with it, so they are read again
        json_reply({"data": {"d0": None, "d1": None, "d2": None}, "errors": [forbidden]}),
        json_reply({"data": {"d0": status_of("a"), "d1": {"deviceStatus": None}}}),
    ]
    with pytest.raises(ApiError, match="Not yours") as raised:
        await scripted_a2.get_device_statuses(["a", "b", "c"])
    assert raised.value.code == "FORBIDDEN"
    assert [body["variables"] for body in script.bodies] == [
        {"id0": "a", "id1": "b", "id2": "c"},
        {"id0": "a", "id1": "c"},
    ]
    assert all(body["operationName"] == OPERATION for body in script.bodies)

    script.replies += [
        json_reply({"data": {"d0": status_of("a"), "d1": {"deviceStatus": None}}}),
        json_reply({"data": {"d0": status_of("a"), "d1": status_of("b", evseState=True)}}),
    ]
    with pytest.raises(ResponseError, match="has no status"):
        await scripted_a2.get_device_statuses(["a", "b"])
    with pytest.raises(ResponseError, match=r"d1\.deviceStatus\.evseState") as garbled:
        await scripted_a2.get_device_statuses(["a", "b"])
    assert garbled.value.path == "d1.deviceStatus.evseState"


@pytest.mark.parametrize(
    "error",
    [
        {"message": "Query too complex", "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}},
        {"message": "odd", "path": ["somewhere"]},
        {"message": "beyond the batch", "path": ["d7"]},
        "not even an object",
    ],
)
async def test_a_refused_batch_falls_back_to_single_reads(
    scripted_a2: AndersenA2, script: Script, error: object, caplog: pytest.LogCaptureFixture
) -> None:
    script.replies += [
        json_reply({"data": None, "errors": [error]}, status=400),
        json_reply({"data": {"getDevice": status_of("x")}}),
        json_reply({"data": {"getDevice": status_of("x", evseState=3)}}),
    ]
    with caplog.at_level(logging.WARNING, logger="andersen_ev.batch"):
        statuses = await scripted_a2.get_device_statuses(["a", "b"])
    assert sorted(int(status.evse_state or 0) for status in statuses.values()) == [1, 3]
    assert [body["operationName"] for body in script.bodies] == [OPERATION, SINGLE, SINGLE]
    assert {body["variables"]["id"] for body in script.bodies[1:]} == {"a", "b"}
    assert "one by one" in caplog.text


async def test_an_outage_fails_the_whole_read(scripted_a2: AndersenA2, script: Script) -> None:
    script.replies += [json_reply({"message": "nope"}, status=503)] * 4
    with pytest.raises(ServiceUnavailableError):
        await scripted_a2.get_device_statuses(["a", "b"])
