"""Helpers shared by the stream tests: a consumer running in its own task, and waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

import pytest

from andersen_ev import AndersenError, DeviceStatus
from andersen_ev.retry import RetryPolicy
from andersen_ev.stream import (
    GRAPHQL_TRANSPORT_WS,
    GRAPHQL_WS,
    DeviceUpdates,
    StatusSnapshot,
    StreamSettings,
)
from andersen_ev.testing import AndersenCloud, Charger

#: Generous bound for anything the tests wait on (never asserted as a duration).
PATIENCE: Final = 15.0
FAST_RETRY: Final = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.02)
FAST_STREAM: Final = StreamSettings(
    backoff=0.01, max_backoff=0.05, keepalive_timeout=10.0, ping_interval=5.0
)


@pytest.fixture(name="protocol", params=[GRAPHQL_WS, GRAPHQL_TRANSPORT_WS])
def only_protocol(request: pytest.FixtureRequest, andersen_cloud: AndersenCloud) -> str:
    """Make the emulator speak only this subprotocol (import it where a test needs it)."""
    chosen: str = request.param
    andersen_cloud.websocket_protocols = (chosen,)
    return chosen


class Follower:
    """Iterates ``updates`` in a task and records what arrives, and how the iteration ended."""

    def __init__(self, updates: DeviceUpdates) -> None:
        self.updates = updates
        self.received: list[DeviceStatus] = []
        self.error: AndersenError | None = None
        self.ended = False
        self._changed = asyncio.Event()
        self.task = asyncio.create_task(self._follow(), name="test follower")

    async def _follow(self) -> None:
        try:
            async for status in self.updates:
                self.received.append(status)
                self._changed.set()
        except AndersenError as error:
            self.error = error
        finally:
            self.ended = True
            self._changed.set()

    async def until(self, predicate: Callable[[Follower], bool]) -> None:
        """Wait until ``predicate(self)`` holds (checked after each status)."""
        async with asyncio.timeout(PATIENCE):
            while not predicate(self):
                self._changed.clear()
                await self._changed.wait()

    async def until_has(self, device_id: str, **wire: object) -> None:
        """Wait until the latest status of the device has these wire-name values."""
        await self.until(lambda follower: follower.has(device_id, **wire))

    async def until_snapshots(self, count: int) -> None:
        """Wait until ``count`` snapshots have arrived."""
        await self.until(lambda follower: len(follower.snapshots()) >= count)

    async def until_ended(self) -> None:
        """Wait until the iteration is over."""
        await self.until(lambda follower: follower.ended)

    def latest(self, device_id: str | None = None) -> DeviceStatus:
        """The last status received (of ``device_id``, if given)."""
        return next(
            status
            for status in reversed(self.received)
            if device_id is None or status.id == device_id
        )

    def snapshots(self, device_id: str | None = None) -> list[StatusSnapshot]:
        """The snapshots received (of ``device_id``, if given)."""
        return [
            status
            for status in self.received
            if isinstance(status, StatusSnapshot) and (device_id is None or status.id == device_id)
        ]

    def has(self, device_id: str, **wire: object) -> bool:
        """True when the latest status of the device has these wire-name values."""
        if not any(status.id == device_id for status in self.received):
            return False
        dumped = self.latest(device_id).model_dump(by_alias=True)
        return all(dumped.get(name) == value for name, value in wire.items())

    async def stop(self) -> None:
        """Cancel the consuming task and wait for it."""
        self.task.cancel()
        await asyncio.wait([self.task])


async def until(predicate: Callable[[], bool]) -> None:
    """Wait until ``predicate()`` holds: the emulator's counters have no event to wait on."""
    async with asyncio.timeout(PATIENCE):
        while not predicate():  # noqa: ASYNC110 - nothing to await but the other side's progress
            await asyncio.sleep(0.005)


def final_state_matches(follower: Follower, charger: Charger) -> bool:
    """True when the follower's latest status of the charger is the server's current one."""
    if not any(status.id == charger.id for status in follower.received):
        return False
    mine = follower.latest(charger.id)
    theirs = charger.status()
    charge = mine.charge_status
    return (
        mine.evse_state == theirs["evseState"]
        and mine.sys_user_lock == theirs["sysUserLock"]
        and mine.sys_solar_power == theirs["sysSolarPower"]
        and charge is not None
        and charge.charge_energy_total == theirs["chargeStatus"]["chargeEnergyTotal"]
    )


def stream_tasks() -> list[asyncio.Task[object]]:
    """Tasks of the stream manager still alive."""
    return [
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith("andersen-ev stream") and not task.done()
    ]


async def quiet(cloud: AndersenCloud) -> None:
    """Wait until no websocket is open at the emulator and no stream task is left."""
    await until(lambda: cloud.stats.websockets_open == 0 and not stream_tasks())
