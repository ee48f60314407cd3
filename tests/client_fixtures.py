"""Fixtures for the client's tests, and the one way they build a logged-in client: a2 (fast
retries, against the emulator), scripted_a2 (its GraphQL requests sent to the scripted
server) and a plain aiohttp session."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any, Final

import aiohttp
import pytest

from andersen_ev import AndersenA2
from andersen_ev.retry import RetryPolicy
from andersen_ev.testing import AndersenCloud, EmulatedUser
from tests.scripted_server import Script

#: Retries that keep tests fast: four tries, backoff of a few milliseconds.
FAST: Final = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.02)


async def logged_in(
    cloud: AndersenCloud, credentials: tuple[str, str], **options: Any
) -> AndersenA2:
    """A client of the emulator (``endpoints=`` in ``options`` overrides its endpoints),
    logged in with ``credentials``; the caller closes it (``async with``)."""
    options.setdefault("endpoints", cloud.endpoints)
    client = AndersenA2(**options)
    try:
        await client.authenticate(*credentials)
    except BaseException:
        await client.close()
        raise
    return client


@pytest.fixture
async def a2(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> AsyncIterator[AndersenA2]:
    """A client logged in to the emulator's test account."""
    client = await logged_in(
        andersen_cloud, andersen_credentials, retry=FAST, confirm_interval=0.01
    )
    async with client:
        yield client


@pytest.fixture
async def scripted_a2(
    a2: AndersenA2, andersen_cloud: AndersenCloud, script: Script
) -> AsyncIterator[AndersenA2]:
    """A logged-in client whose GraphQL requests go to the scripted server."""
    endpoints = dataclasses.replace(andersen_cloud.endpoints, graphql_url=script.url)
    async with AndersenA2(
        endpoints=endpoints, tokens=a2.tokens, retry=FAST, confirm_interval=0.01
    ) as client:
        yield client


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, closed after the test."""
    async with aiohttp.ClientSession() as http:
        yield http
