"""Helpers shared by the emulator's tests: tokens and their claims, status payloads, and
waiting on the server."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any

from andersen_ev.testing import AndersenCloud, EmulatedUser


def bearer(cloud: AndersenCloud, user: EmulatedUser) -> str:
    """``Bearer <IdToken>`` for ``user``, issued without going through Cognito."""
    id_token, _, _ = cloud.tokens.issue(
        sub=user.sub, username=user.username, email=user.email, device_key=None
    )
    return f"Bearer {id_token}"


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a JWT (its payload, decoded; the signature is not checked)."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def status(device_id: str, **fields: Any) -> dict[str, Any]:
    """A ``deviceStatusUpdated`` payload as a charger publishes it (absent fields are null)."""
    payload: dict[str, Any] = {
        "id": device_id,
        "evseState": 3,
        "online": True,
        "sysUserLock": False,
        "chargeStatus": {"start": "2023-01-05T00:30:00Z", "chargePower": 7.2, "duration": 60},
    }
    return payload | fields


async def eventually(predicate: Callable[[], bool]) -> None:
    """Wait (at most 5 s) until ``predicate()`` holds: the server acts on frames in its own time.

    The emulator's counters have no event to wait on, so this polls.
    """
    async with asyncio.timeout(5.0):
        while not predicate():  # noqa: ASYNC110 - nothing to await but the server's progress
            await asyncio.sleep(0.005)
