"""Charge-now and restore promises that the suite left unguarded, counted at the emulator.

Written to kill the mutants of ``andersen_ev/control.py`` that survived (docs/reliability.md,
"Mutation testing"): each restore step is an idempotent write tried up to three times with
growing pauses, a step that still fails does not stop the next one, and the error names
exactly what was not put back.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from andersen_ev import AndersenA2, RestoreError
from andersen_ev.testing import AndersenCloud, Charger
from tests.test_control import prepare, snapshot


def writes(cloud: AndersenCloud) -> tuple[int, int]:
    """(setSchedules, runAEVCommand) requests the emulator has seen."""
    seen = cloud.stats.graphql_requests
    return seen["setSchedules"], seen["runAEVCommand"]


async def test_a_step_failing_twice_is_restored_on_its_third_try(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    before = await prepare(a2, andersen_charger, locked=True)
    handle = await a2.charge_now(andersen_charger.id)
    slots, commands = writes(andersen_cloud)
    andersen_cloud.faults.fail_http(2)
    started = time.monotonic()
    await handle.restore()
    assert time.monotonic() - started >= 0.5 + 1.0  # the pauses after the two failures
    assert writes(andersen_cloud) == (slots + 3, commands + 1)
    assert snapshot(andersen_charger) == before
    assert handle.restored


async def test_a_step_failing_three_times_is_named_and_the_next_still_runs(
    a2: AndersenA2, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    before: Any = await prepare(a2, andersen_charger, locked=True)
    handle = await a2.charge_now(andersen_charger.id)
    slots, commands = writes(andersen_cloud)
    andersen_cloud.faults.fail_http(3)
    started = time.monotonic()
    with pytest.raises(RestoreError) as info:
        await handle.restore()
    assert info.value.not_restored == ["schedule slots 0-4"]
    assert info.value.device_id == andersen_charger.id
    assert time.monotonic() - started >= 0.5 + 1.0
    assert writes(andersen_cloud) == (slots + 3, commands + 1)  # three tries, then the lock
    andersen_cloud.settle()  # the lock command lands a second or two later, as on the service
    assert andersen_charger.status()["sysUserLock"] is before[0]
    assert not handle.restored
