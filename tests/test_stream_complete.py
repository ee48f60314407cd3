"""Complete statuses: every status a consumer gets has every field a status read has.

An event selects about half of a status read's fields; the stream merges it over the latest
snapshot. Here a consumer follows a charger through a lock, an unlock, a schedule change and
a charging session, and after each its latest status is compared, field by field, with a
``get_device_status`` read at the same emulator time: the fields the event sent must equal
the read, the others (which no event carries) the latest snapshot, and none may be missing.
Explicit nulls in events, which the emulator never sends, come from a scripted server.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from andersen_ev import AndersenA2, ChargeStatus, DeviceStatus
from andersen_ev.stream import (
    GRAPHQL_WS,
    StatusSnapshot,
    StatusUpdate,
    StreamState,
)
from andersen_ev.testing import AndersenCloud, Charger, EmulatedUser
from tests.client_fixtures import logged_in
from tests.loopback import serve
from tests.stream_helpers import (
    FAST_RETRY,
    FAST_STREAM,
    Follower,
    only_protocol,  # noqa: F401 - the protocol fixture
    quiet,
    until,
)

FIGURES = logging.getLogger("tests.figures")
CHARGE = "charge_status"


@pytest.fixture
async def a2(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> AsyncIterator[AndersenA2]:
    client = await logged_in(
        andersen_cloud, andersen_credentials, retry=FAST_RETRY, stream_settings=FAST_STREAM
    )
    async with client:
        yield client


def expected_value(
    name: str, update: StatusUpdate, read: DeviceStatus, snapshot: DeviceStatus
) -> Any:
    """What field ``name`` of ``update`` must be: the read's if events carry it, else the
    latest snapshot's (field by field inside the charge session)."""
    if name != CHARGE:
        return getattr(read if name in update.event_fields else snapshot, name)
    session, before = read.charge_status, snapshot.charge_status
    assert session is not None
    values = {
        field: getattr(session if f"{CHARGE}.{field}" in update.event_fields else before, field)
        for field in session.model_fields_set
    }
    return ChargeStatus(**values)


def mismatches(update: DeviceStatus, read: DeviceStatus, snapshot: DeviceStatus) -> list[str]:
    """The fields of the read that ``update`` lacks or holds a wrong value of."""
    assert isinstance(update, StatusUpdate)
    wrong = []
    for name in read.model_fields_set:
        value = getattr(update, name)
        if name not in update.model_fields_set or (value is None and getattr(read, name)):
            wrong.append(f"{name}: missing")
            continue
        expected = expected_value(name, update, read, snapshot)
        if name == CHARGE:
            session = value
            assert isinstance(session, ChargeStatus)
            if any(getattr(session, f) != getattr(expected, f) for f in expected.model_fields_set):
                wrong.append(f"{name}: {session!r} != {expected!r}")
        elif value != expected:
            wrong.append(f"{name}: {value!r} != {expected!r}")
    return wrong


def stale(update: DeviceStatus, read: DeviceStatus) -> list[str]:
    """Fields that differ from the read (those only a status read carries, kept from the
    snapshot): a figure, not a failure."""
    names = [name for name in read.model_fields_set if name != CHARGE]
    differ = [name for name in names if getattr(update, name) != getattr(read, name)]
    session, now = update.charge_status, read.charge_status
    if session is not None and now is not None:
        differ += [
            f"{CHARGE}.{field}"
            for field in now.model_fields_set
            if getattr(session, field) != getattr(now, field)
        ]
    return sorted(differ)


def caught_up(follower: Follower, read: DeviceStatus) -> Callable[[Follower], bool]:
    """True once the follower's latest status carries the read's state in the event fields."""

    def check(_: Follower) -> bool:
        latest = follower.latest()
        if not isinstance(latest, StatusUpdate):
            return False
        top = latest.event_fields & read.model_fields_set - {CHARGE}
        return all(getattr(latest, name) == getattr(read, name) for name in top)

    return check


async def test_statuses_are_complete_through_lock_schedule_and_charging(
    a2: AndersenA2,
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    protocol: str,
) -> None:
    charger = andersen_charger
    follower = Follower(a2.subscribe_device_updates(charger.id))
    await follower.until(lambda f: len(f.received) == 1)
    snapshot = follower.received[0]
    assert isinstance(snapshot, StatusSnapshot)
    first_read = await a2.get_device_status(charger.id)
    assert all(
        getattr(snapshot, name) == getattr(first_read, name) for name in first_read.model_fields_set
    )
    await until(lambda: andersen_cloud.state.hub.subscriber_count(charger.id) == 1)

    every_day = dict.fromkeys(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"), True
    )
    night = {
        "startHour": 1,
        "startMinute": 0,
        "endHour": 5,
        "endMinute": 0,
        "enabled": True,
        "dayMap": every_day,
    }
    steps: list[tuple[str, Callable[[], object], Callable[[DeviceStatus], bool]]] = [
        ("lock", charger.user_lock, lambda s: s.sys_user_lock is True),
        ("unlock", charger.user_unlock, lambda s: s.sys_user_lock is False),
        (
            "schedule",
            lambda: charger.set_schedules({"sch0": night}),
            lambda s: s.schedules[0] is not None and s.schedules[0].start_hour == 1,
        ),
        ("unschedule", charger.disable_all_schedules, lambda s: s.sys_sch_enabled is False),
        ("plug in", charger.plug_in, lambda s: s.evse_state in (2, 3)),
        ("charging", lambda: charger.advance(120), lambda s: s.is_charging),
    ]
    figures = {}
    for name, change, happened in steps:
        change()
        andersen_cloud.advance(5)  # past any command delay; publishes the status too
        read = await a2.get_device_status(charger.id)
        assert happened(read), name  # the step did what it says
        await follower.until(caught_up(follower, read))
        latest = follower.latest()
        assert mismatches(latest, read, snapshot) == [], name
        assert isinstance(latest, StatusUpdate)
        assert latest.konnect_serial == first_read.konnect_serial  # only reads carry it
        assert a2.streams.latest(charger.id) is latest
        figures[name] = stale(latest, read)
    # every status the consumer got after the snapshot was complete
    updates = follower.received[1:]
    assert updates
    assert all(isinstance(status, StatusUpdate) for status in updates)
    assert all(status.konnect_serial is not None for status in updates)
    assert all(status.sys_temperature is not None for status in updates)
    FIGURES.info(
        "%s: %d updates, all complete; fields only a read refreshes, stale after a step: %s",
        protocol,
        len(updates),
        figures,
    )
    await follower.stop()
    assert a2.streams.latest(charger.id) is None  # nobody follows it any more
    await quiet(andersen_cloud)


async def test_latest_is_none_until_fresh_and_while_reconnecting(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    assert a2.streams.latest(andersen_charger.id) is None
    follower = Follower(a2.subscribe_device_updates(andersen_charger.id))
    await follower.until(lambda f: len(f.received) == 1)
    assert a2.streams.latest(andersen_charger.id) is follower.received[0]
    andersen_cloud.faults.refuse_websockets(2)
    await andersen_cloud.drop_websockets()
    await until(lambda: a2.stream_state is StreamState.RECONNECTING)
    assert a2.streams.latest(andersen_charger.id) is None
    await follower.until_snapshots(2)
    assert a2.streams.latest(andersen_charger.id) is follower.latest()
    await follower.stop()
    await quiet(andersen_cloud)


# -- nulls in events --------------------------------------------------------------------------


async def test_a_null_in_an_event_keeps_the_known_value(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
    andersen_charger: Charger,
) -> None:
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=(GRAPHQL_WS,))
        await ws.prepare(request)
        assert (await ws.receive_json())["type"] == "connection_init"
        await ws.send_json({"type": "connection_ack"})
        start = await ws.receive_json()
        await until(lambda: andersen_cloud.stats.graphql_requests["getDeviceStatus"] == 1)
        await until(lambda: bool(follower.received))  # the snapshot is in: events follow it
        event = {
            "id": andersen_charger.id,
            "evseState": 2,
            "sysSolarPower": None,  # not in this event
            "sysUserLock": None,
            "chargeStatus": {"chargePower": 3.5, "chargeEnergyTotal": None, "start": None},
        }
        payload = {"data": {"deviceStatusUpdated": event}}
        await ws.send_str(json.dumps({"id": start["id"], "type": "data", "payload": payload}))
        async for _message in ws:
            pass
        return ws

    andersen_charger.set(sysSolarPower=2.5, chargeStatus={"chargeEnergyTotal": 4.0})
    app = web.Application()
    app.router.add_get("/graphql", handle)
    async with serve(app) as base:
        scripted = dataclasses.replace(
            andersen_cloud.endpoints, websocket_url=base.replace("http", "ws", 1) + "graphql"
        )
        async with await logged_in(
            andersen_cloud,
            andersen_credentials,
            endpoints=scripted,
            retry=FAST_RETRY,
            stream_settings=FAST_STREAM,
        ) as client:
            follower = Follower(client.subscribe_device_updates(andersen_charger.id))
            await follower.until(lambda f: len(f.received) == 2)
            snapshot, update = follower.received
            assert isinstance(update, StatusUpdate)
            assert update.evse_state == 2
            assert update.sys_solar_power == snapshot.sys_solar_power == 2.5
            assert update.sys_user_lock is snapshot.sys_user_lock is False
            assert update.charge_status is not None
            assert update.charge_status.charge_power == 3.5
            assert update.charge_status.charge_energy_total == 4.0
            assert update.event_fields == {
                "id",
                "evse_state",
                "charge_status",
                "charge_status.charge_power",
            }
            await follower.stop()
