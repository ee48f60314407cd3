"""Shared fixtures: the blocking-call detector (on for every test), the emulator's pytest
plugin (loaded explicitly so coverage sees it), the scripted and raw loopback servers,
logged-in clients, child processes, and a permissive umask."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from blockbuster import BlockBuster

from tests import blocking

pytest_plugins = [
    "andersen_ev.testing.pytest_plugin",
    "tests.scripted_server",
    "tests.client_fixtures",
    "tests.processes",
    "tests.raw_server",
]


@pytest.fixture(scope="session")
def blocking_detector() -> BlockBuster:
    """The detector of blocking calls in the event loop (tests/blocking.py), built once."""
    return blocking.build()


@pytest.fixture(autouse=True)
def no_blocking_calls_in_the_event_loop(blocking_detector: BlockBuster) -> Iterator[None]:
    """Every test runs with the detector on: andersen_ev code never blocks a running loop.

    A blocking call (file I/O, ``time.sleep``, a held lock, a first import ...) made by
    ``andersen_ev`` on a thread that runs an event loop raises ``BlockingError``. The
    accepted exceptions, each with its reason, are ``tests.blocking.ALLOWED``.
    """
    with blocking.detector(blocking_detector):
        yield
    if blocking.FOUND:
        pytest.fail("blocking calls in the event loop:\n" + "\n".join(blocking.FOUND))


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """A umask that would leave new files readable by everyone: code must not rely on it."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)
