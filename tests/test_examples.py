"""The programs in examples/ (asyncio versions of the original library's examples) run
against the emulator, as separate processes configured by ANDERSEN_EV_ENDPOINTS."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest

from andersen_ev.testing import AndersenCloud, Charger, EmulatedUser
from tests.cli_support import example_env
from tests.processes import Children

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


async def run_example(
    children: Children,
    name: str,
    cloud: AndersenCloud,
    credentials: tuple[str, str],
    tmp_path: Path,
    *args: str,
) -> str:
    """Run examples/NAME with the emulator's line in ANDERSEN_EV_ENDPOINTS; its stdout.

    The process runs from a worker thread, so that the emulator keeps serving on this loop.
    """
    env = example_env(cloud, credentials, tmp_path)
    result = await asyncio.to_thread(
        children.run, [sys.executable, str(EXAMPLES / name), *args], env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


@pytest.fixture
def schedule_holding(andersen_charger: Charger) -> Charger:
    """Slot 0 (00:30-04:30) enabled while the charger's clock says noon: charging is held."""
    slots = andersen_charger.status()["scheduleSlotsArray"]
    slots[0]["enabled"] = True
    andersen_charger.set(scheduleSlotsArray=slots, sysUserLock=True)
    return andersen_charger


async def test_konnect_query_runs_the_commands_and_reads_the_charger(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    schedule_holding: Charger,
    andersen_credentials: tuple[str, str],
    tmp_path: Path,
    children: Children,
) -> None:
    with andersen_cloud.fast_forward():  # commands land as soon as they are answered
        out = await run_example(
            children, "konnect-query.py", andersen_cloud, andersen_credentials, tmp_path
        )
    assert "--- unlocked\n<EvseState.DISABLED: 255>\n" in out  # the schedule holds it
    assert "--- schedules disabled\nFalse\n" in out
    assert "--- locked\nTrue\n" in out
    assert f'"id": "{schedule_holding.id}"' in out
    assert "--- LoRa devices\n[{'eui': '70B3D57ED0051A2B'" in out
    status = schedule_holding.status()
    assert (status["sysUserLock"], status["sysSchEnabled"]) == (True, False)


async def test_konnect_status_follows_a_charging_session(
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    andersen_credentials: tuple[str, str],
    tmp_path: Path,
    children: Children,
) -> None:
    andersen_charger.plug_in(energy_wanted_kwh=None)
    andersen_cloud.run_in_real_time(interval=0.05, speed=20)
    out = await run_example(
        children,
        "konnect-status.py",
        andersen_cloud,
        andersen_credentials,
        tmp_path,
        "--count",
        "3",
    )
    states = [line for line in out.splitlines() if line.startswith("EVSE state:")]
    assert len(states) == 3
    assert states[-1].endswith("<EvseState.CHARGING: 3>")
    energies = [float(line.split()[2]) for line in out.splitlines() if line.startswith("Session")]
    assert energies == sorted(energies)
    assert energies[-1] > energies[0]


async def test_is_connected_looks_behind_the_lock_and_puts_it_back(
    andersen_cloud: AndersenCloud,
    schedule_holding: Charger,
    andersen_credentials: tuple[str, str],
    tmp_path: Path,
    children: Children,
) -> None:
    schedule_holding.plug_in()
    with andersen_cloud.fast_forward():  # commands land as soon as they are answered
        out = await run_example(
            children, "is-connected.py", andersen_cloud, andersen_credentials, tmp_path
        )
    assert out.splitlines()[0] == schedule_holding.id
    assert "unlocking for a moment" in out
    # unlocked, the car is seen connected, or already charging once the clock moved on
    assert re.search(r"evseState: <EvseState\.(CONNECTED: 2|CHARGING: 3)>", out), out
    assert out.endswith("Connected: True\n")
    status = schedule_holding.status()  # the lock and the schedule are back
    assert status["sysUserLock"] is True
    assert status["scheduleSlotsArray"][0]["enabled"] is True
    assert status["evseState"] == 255


async def test_is_connected_without_a_car(
    andersen_cloud: AndersenCloud,
    andersen_charger: Charger,
    andersen_credentials: tuple[str, str],
    tmp_path: Path,
    children: Children,
) -> None:
    out = await run_example(
        children, "is-connected.py", andersen_cloud, andersen_credentials, tmp_path
    )
    assert "unlocking" not in out
    assert out.endswith("evseState: <EvseState.READY: 1>\nConnected: False\n")
