"""pytest fixtures for testing code that uses andersen-ev, against the local emulator.

Loaded automatically (entry point ``pytest11``) wherever andersen-ev is installed. Async
fixtures need pytest-asyncio; without it, requesting them fails with a message saying so.

Fixtures:

``andersen_cloud``
    A running :class:`~andersen_ev.testing.AndersenCloud` on loopback. Options come from the
    ``andersen_cloud`` marker: ``@pytest.mark.andersen_cloud(token_lifetime=2)``.
``andersen_credentials``
    ``(email, password)`` of the test account (override the fixture to change them).
``andersen_user``
    That account, registered in the emulator.
``andersen_charger``
    A simulated charger named "Driveway" claimed by ``andersen_user``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from andersen_ev.testing.charger import Charger
from andersen_ev.testing.cloud import AndersenCloud
from andersen_ev.testing.state import EmulatedUser

__all__ = ["andersen_charger", "andersen_cloud", "andersen_credentials", "andersen_user"]

DEFAULT_EMAIL = "driver@example.com"
DEFAULT_PASSWORD = "correct horse battery staple"  # noqa: S105 - a test account's password


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``andersen_cloud`` marker."""
    config.addinivalue_line(
        "markers",
        "andersen_cloud(**options): keyword arguments for the andersen_cloud fixture's emulator",
    )


async def _running_cloud(request: pytest.FixtureRequest) -> AsyncIterator[AndersenCloud]:
    marker = request.node.get_closest_marker("andersen_cloud")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    async with AndersenCloud(**options) as cloud:
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
        request: pytest.FixtureRequest,
    ) -> AsyncIterator[AndersenCloud]:
        """A running Andersen cloud emulator on loopback, closed after the test."""
        async for cloud in _running_cloud(request):
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
