"""pytest fixtures for testing code that uses andersen-ev, against the local emulator.

Loaded automatically (entry point ``pytest11``) wherever andersen-ev is installed, so it is
lazy: loading it imports nothing of the emulator, which is imported when a test first asks
for one of its fixtures. Async fixtures need pytest-asyncio;
without it, requesting them fails with a message saying so.

Fixtures:

``andersen_cloud``
    A running :class:`~andersen_ev.testing.AndersenCloud` on loopback (``127.0.0.1``,
    ports picked by the OS). Options come from the ``andersen_cloud`` marker:
    ``@pytest.mark.andersen_cloud(token_lifetime=2)``.
``andersen_credentials``
    ``(email, password)`` of the test account (override the fixture to change them).
``andersen_user``
    That account, registered in the emulator.
``andersen_charger``
    A simulated charger named "Driveway" claimed by ``andersen_user``.
``andersen_emulator``
    The :class:`~andersen_ev.testing.AndersenCloud` class, for a test that starts its own
    emulator: imported outside the event loop, with loopback sockets allowed under
    pytest-socket (``andersen_cloud`` builds on it).

Under pytest-socket (Home Assistant's test harness blocks sockets with it): the emulator is
a server on loopback and the code under test must connect to it, so ``andersen_cloud`` asks
for pytest-socket's ``socket_enabled`` fixture, the way Home Assistant's own ``hass_client``
does. That lets sockets be created again; which hosts may be connected to stays as the
harness set it, and Home Assistant's (``socket_allow_hosts(["127.0.0.1"])``) lets the
emulator in. If your harness restricts hosts without ``127.0.0.1`` (``--allow-hosts``, an
``allow_hosts`` marker), connecting to the emulator fails with pytest-socket's
``SocketConnectBlockedError``: add ``127.0.0.1`` to the list, for instance with
``@pytest.mark.allow_hosts(["127.0.0.1"])`` on the tests that use the emulator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from andersen_ev.testing.charger import Charger
    from andersen_ev.testing.cloud import AndersenCloud
    from andersen_ev.testing.state import EmulatedUser

__all__ = [
    "andersen_charger",
    "andersen_cloud",
    "andersen_credentials",
    "andersen_emulator",
    "andersen_user",
]

DEFAULT_EMAIL = "driver@example.com"
DEFAULT_PASSWORD = "correct horse battery staple"  # noqa: S105 - a test account's password
#: pytest-socket's name in pytest's plugin manager (its ``pytest11`` entry point).
PYTEST_SOCKET = "socket"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``andersen_cloud`` marker."""
    config.addinivalue_line(
        "markers",
        "andersen_cloud(**options): keyword arguments for the andersen_cloud fixture's emulator",
    )


@pytest.fixture
def andersen_emulator(request: pytest.FixtureRequest) -> type[AndersenCloud]:
    """The emulator's class, imported here, and loopback sockets allowed under pytest-socket.

    A synchronous fixture, so that the emulator's first import (file reads) happens outside
    the event loop. ``andersen_cloud`` builds on it; a test that starts its own
    ``AndersenCloud`` under pytest-socket may ask for it too.
    """
    if request.config.pluginmanager.has_plugin(PYTEST_SOCKET):
        request.getfixturevalue("socket_enabled")
    from andersen_ev.testing.cloud import AndersenCloud  # noqa: PLC0415 - lazily, on first use

    return AndersenCloud


async def _running_cloud(
    request: pytest.FixtureRequest, emulator: type[AndersenCloud]
) -> AsyncIterator[AndersenCloud]:
    marker = request.node.get_closest_marker("andersen_cloud")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    async with emulator(**options) as cloud:
        yield cloud


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - exercised only without pytest-asyncio

    @pytest.fixture
    def andersen_cloud() -> AndersenCloud:
        """Unavailable: the emulator fixture needs pytest-asyncio."""
        pytest.fail("the andersen_cloud fixture needs pytest-asyncio: pip install pytest-asyncio")

else:

    @pytest_asyncio.fixture
    async def andersen_cloud(  # type: ignore[misc]
        request: pytest.FixtureRequest, andersen_emulator: type[AndersenCloud]
    ) -> AsyncIterator[AndersenCloud]:
        """A running Andersen cloud emulator on loopback, closed after the test."""
        async for cloud in _running_cloud(request, andersen_emulator):
            yield cloud


@pytest.fixture
def andersen_credentials() -> tuple[str, str]:
    """``(email, password)`` of the emulator's test account."""
    return DEFAULT_EMAIL, DEFAULT_PASSWORD


@pytest.fixture
def andersen_user(
    andersen_cloud: AndersenCloud, andersen_credentials: tuple[str, str]
) -> EmulatedUser:
    """The test account, registered in the emulator."""
    email, password = andersen_credentials
    return andersen_cloud.add_user(email, password)


@pytest.fixture
def andersen_charger(andersen_cloud: AndersenCloud, andersen_user: EmulatedUser) -> Charger:
    """A simulated charger named "Driveway", claimed by the test account."""
    return andersen_cloud.add_charger(andersen_user, name="Driveway")
