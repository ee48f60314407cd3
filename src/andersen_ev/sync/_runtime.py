"""The machinery of :mod:`andersen_ev.sync`: a private event loop on a thread, blocking handles.

:class:`ChargeNow` and :class:`DeviceUpdates` wrap the async client's handles of the same names.

Nothing here is public but the classes :mod:`andersen_ev.sync` re-exports.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import itertools
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Final, Self, TypeVar

from andersen_ev import (
    AndersenError,
    DeviceStatus,
    RunningEventLoopError,
    SavedChargeState,
    Schedule,
)
from andersen_ev import AppliedPlan as _AsyncAppliedPlan
from andersen_ev import ChargeNow as _AsyncChargeNow
from andersen_ev import DeviceUpdates as _AsyncUpdates
from andersen_ev.planning import ChargePlan

__all__ = [
    "CLOSE_TIMEOUT",
    "ChargeNow",
    "DeviceUpdates",
    "LoopThread",
    "RunningEventLoopError",
    "entered",
    "outcome",
    "refuse_running_loop",
]

_LOG = logging.getLogger("andersen_ev.sync")
_T = TypeVar("_T")

#: Seconds :meth:`AndersenA2.close` waits for the client to close and the thread to end.
CLOSE_TIMEOUT: Final = 10.0


def refuse_running_loop(method: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RunningEventLoopError(method)


def closed_error() -> AndersenError:
    return AndersenError("this AndersenA2 is closed: create a new one")


_thread_numbers = itertools.count(1)


class LoopThread:
    """A private event loop on a daemon thread, started on first use; runs coroutines."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._closed = False
        self._calls: set[concurrent.futures.Future[Any]] = set()
        self.cleanup: Callable[[], Awaitable[None]] | None = None
        """Awaited on the loop by :meth:`close`, before the loop ends."""

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (or the loop ended)."""
        return self._closed

    def submit(self, make: Callable[[], Awaitable[_T]]) -> concurrent.futures.Future[_T]:
        """Run ``await make()`` on the loop (started if need be); its future."""
        with self._lock:
            if self._closed:
                raise closed_error()
            loop = self._loop or self._start()
            future = asyncio.run_coroutine_threadsafe(awaited(make), loop)
            self._calls.add(future)
        future.add_done_callback(self._calls.discard)
        return future

    def call(self, method: str, make: Callable[[], Awaitable[_T]]) -> _T:
        """Run ``await make()`` on the loop and wait for its outcome (see the module)."""
        refuse_running_loop(method)
        future = self.submit(make)
        self.wait(future)
        return outcome(future, method)

    @staticmethod
    def wait(future: concurrent.futures.Future[Any]) -> None:
        """Wait until ``future`` is done; if the wait is interrupted, cancel it."""
        try:
            concurrent.futures.wait([future])
        except BaseException:  # Ctrl-C, or an exception sent to this thread
            future.cancel()
            raise

    def _start(self) -> asyncio.AbstractEventLoop:
        ready = threading.Event()
        thread = threading.Thread(
            target=self._main,
            args=(ready,),
            name=f"andersen-ev-sync-{next(_thread_numbers)}",
            daemon=True,  # never holds the interpreter up; closed at exit by a finalizer
        )
        thread.start()
        ready.wait()
        if self._loop is None:  # pragma: no cover - only if the loop cannot be created
            raise AndersenError("the event loop of andersen_ev.sync could not start")
        self._thread = thread
        return self._loop

    def _main(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve(loop, ready))
        finally:
            self._closed = True
            ready.set()
            try:
                cancel_all_tasks(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
                # at interpreter exit (3.12+) no thread may start: the workers are gone then
                with contextlib.suppress(RuntimeError):
                    loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()

    async def _serve(self, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        stop = self._stop = asyncio.Event()
        self._loop = loop
        ready.set()
        await stop.wait()
        cleanup = self.cleanup
        if cleanup is not None:
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await cleanup()
            except TimeoutError:  # pragma: no cover - the client closes in milliseconds
                _LOG.warning(
                    "andersen_ev.sync: the client did not close within %s s", CLOSE_TIMEOUT
                )

    def close(self) -> None:
        """Cancel the calls still running, close the client, end the thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread, stop = self._loop, self._thread, self._stop
            calls = list(self._calls)
        if loop is None or thread is None or stop is None:
            return  # never started: nothing was opened
        for future in calls:
            future.cancel()
        if threading.current_thread() is thread:
            stop.set()  # collected on the loop's own thread: it finishes by itself
            return
        with contextlib.suppress(RuntimeError):  # the loop ended already
            loop.call_soon_threadsafe(stop.set)
        thread.join(CLOSE_TIMEOUT)

    def release(self, make: Callable[[], Awaitable[None]]) -> None:
        """Run ``await make()`` on the loop if it still runs: waited for, except on its thread."""
        try:
            future = self.submit(make)
        except AndersenError:
            return  # closed: closing the client released everything
        if threading.current_thread() is not self._thread:
            self.wait(future)
            future.result()


async def awaited(make: Callable[[], Awaitable[_T]]) -> _T:
    return await make()


def outcome(future: concurrent.futures.Future[_T], method: str) -> _T:
    """The result of a finished call, or its exception: the very object, raised here."""
    if future.cancelled():
        raise AndersenError(
            f"this AndersenA2 was closed while {method}() was running: whether it took"
            " effect is unknown (read the device status before repeating it)"
        )
    error = future.exception()
    if error is not None:
        try:
            raise error  # its traceback: this call, then the frames of the async client
        finally:
            del error
    return future.result()


def cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is left on the loop (e.g. a shielded restore) and let it unwind."""
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


class ChargeNow:
    """What :meth:`AndersenA2.charge_now` changed on one charger, and how to put it back.

    The blocking counterpart of :class:`andersen_ev.ChargeNow`; :meth:`restore` is
    idempotent.
    """

    def __init__(self, owner: object, runner: LoopThread, handle: _AsyncChargeNow) -> None:
        self._owner = owner  # keeps the facade (and so its loop) alive while this lives
        self._runner = runner
        self._handle = handle

    def __repr__(self) -> str:
        return repr(self._handle)

    @property
    def saved(self) -> SavedChargeState:
        """The lock state and the five schedule slots as they were before."""
        return self._handle.saved

    @property
    def restored(self) -> bool:
        """Whether :meth:`restore` has put everything back."""
        return self._handle.restored

    def restore(self, *, confirm: bool | float = True) -> None:
        """Put back the saved schedule slots, then the saved lock state.

        Args:
            confirm: Wait until the status shows the restored state (True: up to 30 s).

        Raises:
            RestoreError: a step still failed after retrying; its message says what.
        """
        handle = self._handle
        self._runner.call("restore", functools.partial(handle.restore, confirm=confirm))


class AppliedPlan(ChargeNow):
    """A charging plan in force on one charger, and how to put the charger back.

    The blocking counterpart of :class:`andersen_ev.AppliedPlan`; :meth:`restore` is
    idempotent and puts back the slots and lock state saved before the plan.
    """

    def __init__(self, owner: object, runner: LoopThread, handle: _AsyncAppliedPlan) -> None:
        super().__init__(owner, runner, handle)
        self._plan_handle = handle

    @property
    def plan(self) -> ChargePlan:
        """The plan applied."""
        return self._plan_handle.plan

    @property
    def slots(self) -> tuple[Schedule, ...]:
        """The five schedule slots written for the plan, slot 0 first."""
        return self._plan_handle.slots


class DeviceUpdates(Iterator[DeviceStatus]):
    """The statuses of one or more chargers as they change: ``for status in updates``.

    Made by :meth:`AndersenA2.subscribe_device_updates`; the blocking counterpart of
    :class:`andersen_ev.DeviceUpdates` (snapshots first after every (re)connect, then live
    events; ``status.id`` says which charger). Each ``next()`` waits for a status.

    Stop it by leaving the loop (``break``: the subscription is released when the iterator
    is dropped), with ``with a2.subscribe_device_updates(...) as updates:``, or with
    :meth:`close` from any thread (a ``next()`` waiting in another thread then ends the
    iteration). It also ends, quietly, when the facade is closed.

    Raises:
        DeviceNotFoundError: (while iterating) a device is not in this account.
        ReauthRequiredError: (while iterating) the session needs a new login.
    """

    def __init__(self, owner: object, runner: LoopThread, updates: _AsyncUpdates) -> None:
        self._owner = owner  # keeps the facade (and so its loop) alive while this lives
        self._runner = runner
        self._updates = updates
        self._device_ids = updates.device_ids
        self._lock = threading.RLock()  # re-entered by close() in a signal handler
        self._waiting: concurrent.futures.Future[DeviceStatus | None] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"andersen_ev.sync.DeviceUpdates(device_ids={self._device_ids!r})"

    @property
    def device_ids(self) -> tuple[str, ...]:
        """The chargers followed, in the order given."""
        return self._device_ids

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called, or the facade was closed."""
        return self._closed or self._runner.closed

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> DeviceStatus:
        refuse_running_loop("subscribe_device_updates")
        updates = self._updates
        with self._lock:
            if self._closed:
                raise StopIteration
            try:
                future = self._runner.submit(lambda: anext(updates, None))
            except AndersenError:  # the facade is closed
                self._closed = True
                raise StopIteration from None
            self._waiting = future
        if self.closed:  # by a signal handler, while this thread was submitting
            future.cancel()
        try:
            self._runner.wait(future)
        finally:
            self._waiting = None
        if future.cancelled():  # closed meanwhile, by close() or by the facade
            raise StopIteration
        status = outcome(future, "subscribe_device_updates")
        if status is None:
            raise StopIteration
        return status

    def close(self) -> None:
        """Release the subscriptions now; a ``next()`` waiting in another thread ends.

        Idempotent. May be called from any thread, or from a signal handler.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            waiting = self._waiting
        if waiting is not None:
            waiting.cancel()
        self._runner.release(self._updates.aclose)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextlib.contextmanager
def entered(
    runner: LoopThread, method: str, context: AbstractAsyncContextManager[_T]
) -> Iterator[_T]:
    """Drive an async context manager from this thread: entered and exited on the loop."""
    value = runner.call(method, context.__aenter__)
    try:
        yield value
    except BaseException as exc:
        exit_ = functools.partial(context.__aexit__, type(exc), exc, exc.__traceback__)
        if not runner.call(method, exit_):
            raise
    else:
        runner.call(method, functools.partial(context.__aexit__, None, None, None))
