"""Shared fixtures: the emulator's pytest plugin (loaded explicitly so coverage sees it), the
scripted and raw loopback servers, logged-in clients, child processes, and a permissive umask."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

pytest_plugins = [
    "andersen_ev.testing.pytest_plugin",
    "tests.scripted_server",
    "tests.client_fixtures",
    "tests.processes",
    "tests.raw_server",
    "tests.hostile_server",
]


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """A umask that would leave new files readable by everyone: code must not rely on it."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)
