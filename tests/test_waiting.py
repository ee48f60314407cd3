"""Waiting for a status when the stream fails: the poller carries on, unless the session is
over. The stream manager is replaced by a stand-in: the emulator cannot end one device's
subscription with an error while the websocket stays down, which is what is tested here."""

from __future__ import annotations

from types import TracebackType
from typing import Any, cast

import pytest

from andersen_ev import ApiError, DeviceStatus, InvalidInputError, ReauthRequiredError
from andersen_ev.stream import StreamManager, StreamState
from andersen_ev.waiting import wait_for_status


class FailingStreams:
    """A stream manager whose subscriptions fail with ``error`` once entered."""

    def __init__(self, error: Exception, state: StreamState) -> None:
        self.error = error
        self.state = state
        self.subscribed: list[str] = []

    def subscribe(self, device_id: str) -> FailingStreams:
        self.subscribed.append(device_id)
        return self

    async def __aenter__(self) -> FailingStreams:
        raise self.error

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def __aiter__(self) -> FailingStreams:
        return self

    async def __anext__(self) -> DeviceStatus:
        raise StopAsyncIteration


def streams(error: Exception, state: StreamState) -> tuple[StreamManager, FailingStreams]:
    fake = FailingStreams(error, state)
    return cast(StreamManager, fake), fake


async def test_a_failed_stream_leaves_the_poller_to_find_the_state() -> None:
    manager, fake = streams(ApiError("boom", operation="x", errors=[]), StreamState.RECONNECTING)
    polled: list[str] = []

    async def poll(device_id: str) -> DeviceStatus:
        polled.append(device_id)
        return DeviceStatus(id=device_id, sys_user_lock=len(polled) >= 3)

    status = await wait_for_status(
        manager, poll, "d", lambda s: s.sys_user_lock is True, timeout=5, interval=0.001
    )
    assert status.sys_user_lock is True
    assert polled == ["d", "d", "d"]
    assert fake.subscribed == ["d"]


async def test_a_session_that_is_over_ends_the_wait() -> None:
    manager, _ = streams(ReauthRequiredError("log in again"), StreamState.CONNECTED)

    async def poll(device_id: str) -> DeviceStatus:
        raise AssertionError("the stream is connected: nothing is polled")

    with pytest.raises(ReauthRequiredError, match="log in again"):
        await wait_for_status(manager, poll, "d", lambda s: True, timeout=5, interval=0.001)


async def test_the_predicate_must_be_callable() -> None:
    manager, fake = streams(ApiError("boom", operation="x", errors=[]), StreamState.CLOSED)

    async def poll(device_id: str) -> DeviceStatus:
        return DeviceStatus(id=device_id)

    predicate: Any = "is_charging"
    with pytest.raises(InvalidInputError, match="predicate"):
        await wait_for_status(manager, poll, "d", predicate, timeout=5, interval=0.001)
    assert fake.subscribed == []
