"""Fixtures for the client's tests: a logged-in AndersenA2 with fast retries, against the
emulator or with its GraphQL requests sent to the scripted server."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Final

import pytest

from andersen_ev import AndersenA2
from andersen_ev.retry import RetryPolicy
from andersen_ev.testing import AndersenCloud, EmulatedUser
from tests.scripted_server import Script

#: Retries that keep tests fast: four tries, backoff of a few milliseconds.
FAST: Final = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.02)


@pytest.fixture
async def a2(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
) -> AsyncIterator[AndersenA2]:
    """A client logged in to the emulator's test account."""
    async with AndersenA2(
        endpoints=andersen_cloud.endpoints, retry=FAST, confirm_interval=0.01
    ) as client:
        await client.authenticate(*andersen_credentials)
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
