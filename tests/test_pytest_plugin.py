"""The emulator's pytest plugin, as a downstream project gets it: loaded by its ``pytest11``
entry point into a pytest run of its own (a child process), lazy until a fixture is used,
and usable under pytest-socket as Home Assistant's test harness sets it up."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.processes import Children

INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
asyncio_default_test_loop_scope = function
filterwarnings =
    error
    ignore:A test tried to use socket:UserWarning
"""

LAZY = """\
import sys

EMULATOR = "andersen_ev.testing."
PLUGIN = "andersen_ev.testing.pytest_plugin"


def emulator_modules():
    return sorted(name for name in sys.modules if name.startswith(EMULATOR) and name != PLUGIN)


def test_a_run_that_uses_no_fixture_imports_nothing_of_the_emulator(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("andersen_ev")  # its entry point
    assert PLUGIN in sys.modules
    assert emulator_modules() == []
    assert "graphql" not in sys.modules  # graphql-core: the emulator's, not the library's


async def test_its_fixtures_import_it_when_used(andersen_cloud, andersen_charger):
    assert "andersen_ev.testing.cloud" in emulator_modules()
    assert andersen_cloud.charger(andersen_charger.id).id == andersen_charger.id
"""

HOME_ASSISTANT_CONFTEST = """\
import pytest_socket


def pytest_runtest_setup():
    # what Home Assistant's harness does before every test (tests/conftest.py, and
    # pytest-homeassistant-custom-component's plugin)
    pytest_socket.socket_allow_hosts(["127.0.0.1"])
    pytest_socket.disable_socket(allow_unix_socket=True)
"""

UNDER_PYTEST_SOCKET = """\
import asyncio
import socket

import pytest
import pytest_socket

from andersen_ev import AndersenA2, EvseState
from andersen_ev.stream import StatusSnapshot


def test_the_harness_blocks_sockets():
    with pytest.raises(pytest_socket.SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


async def test_the_emulator_serves_the_client(
    andersen_cloud, andersen_charger, andersen_credentials
):
    andersen_charger.plug_in(energy_wanted_kwh=10)
    async with AndersenA2(endpoints=andersen_cloud.endpoints) as a2:
        await a2.authenticate(*andersen_credentials)
        andersen_cloud.advance(60)
        status = await a2.get_device_status(andersen_charger.id)
        assert status.evse_state is EvseState.CHARGING
        async with asyncio.timeout(30), a2.subscribe_device_updates(andersen_charger.id) as updates:
            async for update in updates:  # a snapshot (read over HTTP), then websocket events
                if not isinstance(update, StatusSnapshot):
                    break
                andersen_charger.set(sysSolarPower=3.5)
        assert update.id == andersen_charger.id


async def test_other_hosts_stay_blocked(andersen_cloud):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(pytest_socket.SocketConnectBlockedError):
            sock.connect(("192.0.2.1", 9))  # TEST-NET-1: never reached
"""

HOSTS_WITHOUT_LOOPBACK = """\
import pytest
import pytest_socket

from andersen_ev import AndersenA2


async def test_the_client_cannot_reach_it(andersen_cloud, andersen_user, andersen_credentials):
    async with AndersenA2(endpoints=andersen_cloud.endpoints) as a2:
        with pytest.raises(pytest_socket.SocketConnectBlockedError):
            await a2.authenticate(*andersen_credentials)


@pytest.mark.allow_hosts(["127.0.0.1"])
async def test_allowing_loopback_lets_it_in(andersen_cloud, andersen_user, andersen_credentials):
    async with AndersenA2(endpoints=andersen_cloud.endpoints) as a2:
        await a2.authenticate(*andersen_credentials)
        assert await a2.get_current_user_devices() == []
"""


def run_pytest(
    children: Children, folder: Path, files: dict[str, str], *options: str
) -> tuple[int, str]:
    """Run pytest on ``files`` in ``folder`` (a downstream project's): its exit code and output.

    The plugin comes in through its entry point, as it does for any project that installed
    andersen-ev (nothing here loads it explicitly).
    """
    folder.mkdir()
    (folder / "pytest.ini").write_text(INI)
    for name, text in files.items():
        (folder / name).write_text(text)
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    result = children.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", *options],
        cwd=folder,
        env=env,
        timeout=140,  # a whole pytest run: seconds alone, much longer on a loaded machine
    )
    return result.returncode, result.stdout + result.stderr


@pytest.mark.timeout(150)
def test_the_plugin_imports_nothing_of_the_emulator_until_a_fixture_is_used(
    children: Children, tmp_path: Path
) -> None:
    code, output = run_pytest(children, tmp_path / "lazy", {"test_lazy.py": LAZY})
    assert code == 0, output
    assert "2 passed" in output


@pytest.mark.timeout(150)
def test_the_fixtures_work_in_home_assistants_socket_harness(
    children: Children, tmp_path: Path
) -> None:
    code, output = run_pytest(
        children,
        tmp_path / "ha",
        {"conftest.py": HOME_ASSISTANT_CONFTEST, "test_ha.py": UNDER_PYTEST_SOCKET},
    )
    assert code == 0, output
    assert "3 passed" in output


@pytest.mark.timeout(150)
def test_hosts_without_loopback_refuse_the_emulator_until_it_is_allowed(
    children: Children, tmp_path: Path
) -> None:
    code, output = run_pytest(
        children,
        tmp_path / "hosts",
        {"test_hosts.py": HOSTS_WITHOUT_LOOPBACK},
        "--disable-socket",
        "--allow-unix-socket",
        "--allow-hosts=192.0.2.1",
    )
    assert code == 0, output
    assert "2 passed" in output
