"""Waiting until a charger's status satisfies a predicate: on its stream, or by polling.

Behind ``wait_for`` and ``confirm=`` (:mod:`andersen_ev.commands`) and the restore and
probe steps of :mod:`andersen_ev.control`. The device's update stream starts with a fresh
snapshot, so a change made just before the wait began is seen too; whenever the session's
websocket is not connected (or the stream ended with an error), the full status is polled
every ``interval`` seconds instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from andersen_ev.exceptions import (
    AndersenError,
    AndersenTimeoutError,
    InvalidInputError,
    ReauthRequiredError,
)
from andersen_ev.models import DeviceStatus
from andersen_ev.stream import StreamManager, StreamState

__all__ = ["StatusPredicate", "wait_for_status"]

_LOG = logging.getLogger(__name__)

StatusPredicate = Callable[[DeviceStatus], bool]
"""A test of a status: True when the awaited state is reached."""

Poll = Callable[[str], Awaitable[DeviceStatus]]
"""Reads one device's full status (``AndersenA2.get_device_status``)."""


async def wait_for_status(
    streams: StreamManager,
    poll: Poll,
    device_id: str,
    predicate: StatusPredicate,
    *,
    timeout: float,
    interval: float,
) -> DeviceStatus:
    """The first status of ``device_id`` that satisfies ``predicate``.

    Raises:
        InvalidInputError: ``predicate`` is not callable.
        AndersenTimeoutError: none did within ``timeout`` seconds.
        ReauthRequiredError: the session cannot continue.
    """
    if not callable(predicate):
        raise InvalidInputError("predicate must be a function of a DeviceStatus")
    try:
        async with asyncio.timeout(timeout):
            return await _Wait(streams, poll, device_id, predicate, interval).first_match()
    except TimeoutError:
        raise AndersenTimeoutError(
            f"device {device_id} did not reach the awaited state within {timeout:g} s;"
            " it may be offline: check get_device_status()"
        ) from None


@dataclass(frozen=True)
class _Wait:
    """One wait: for a status of ``device_id`` satisfying ``predicate``."""

    streams: StreamManager
    poll: Poll
    device_id: str
    predicate: StatusPredicate
    interval: float

    async def first_match(self) -> DeviceStatus:
        """The first such status, from the stream or, while it is down, from polls."""
        stream = asyncio.ensure_future(self._from_stream())
        poller = asyncio.ensure_future(self._by_polling())
        try:
            done, _ = await asyncio.wait({stream, poller}, return_when=asyncio.FIRST_COMPLETED)
            if stream in done and stream.result() is None:
                return await poller  # the stream ended with an error: the poller carries on
            winner = stream if stream in done else poller
            result = winner.result()
            assert result is not None  # noqa: S101 - None is handled above
            return result
        finally:
            for task in (stream, poller):
                task.cancel()
            await asyncio.gather(stream, poller, return_exceptions=True)

    async def _from_stream(self) -> DeviceStatus | None:
        """The first streamed status that matches; None if the stream failed."""
        try:
            async with self.streams.subscribe(self.device_id) as updates:
                async for status in updates:
                    if self.predicate(status):
                        return status
        except ReauthRequiredError:
            raise
        except AndersenError as exc:  # the poller carries on alone
            _LOG.debug("wait_for: stream ended (%s); polling", type(exc).__name__)
        return None

    async def _by_polling(self) -> DeviceStatus:
        """Poll the status every ``interval`` seconds while the stream is not connected."""
        while True:
            if self.streams.state is not StreamState.CONNECTED:
                status = await self.poll(self.device_id)
                if self.predicate(status):
                    return status
            await asyncio.sleep(self.interval)
