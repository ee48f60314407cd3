"""CPU-heavy steps of a login, run in slices short enough for a host's event loop.

An SRP login needs a few 3072-bit modular exponentiations: tens of milliseconds of pure
Python CPU in all, which would stall every other task of the loop (Home Assistant's, say)
if done in one go. A worker thread would not help: CPython holds the GIL for the whole of
one ``pow()``. So :mod:`andersen_ev.srp` cuts each exponentiation into steps of about a
tenth of a millisecond, and :func:`finish` runs them on the loop, handing it back whenever
a slice has used :data:`SLICE_SECONDS`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Final, TypeVar

from andersen_ev.srp import Steps

__all__ = ["SLICE_SECONDS", "finish"]

_T = TypeVar("_T")

#: The longest the loop is held by one slice of SRP maths (plus one step, ~0.2 ms).
SLICE_SECONDS: Final = 0.002


async def finish(steps: Steps[_T], *, slice_seconds: float = SLICE_SECONDS) -> _T:
    """Run ``steps`` to the end, yielding to the event loop after each slice of CPU.

    Errors raised by the steps propagate unchanged.
    """
    clock = time.perf_counter
    deadline = clock() + slice_seconds
    while True:
        try:
            next(steps)
        except StopIteration as done:
            result: _T = done.value
            return result
        if clock() >= deadline:
            await asyncio.sleep(0)
            deadline = clock() + slice_seconds
