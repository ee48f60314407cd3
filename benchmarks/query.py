"""Query-path benchmarks: this library vs a raw aiohttp POST (the limit) vs the seed.

The emulator runs in another process, so the CPU time measured here (``process_time``) is
the client's alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from andersen_ev import AndersenA2, Endpoints
from andersen_ev.graphql import operation_document

ROUNDS = 5


@dataclass
class Emulator:
    """A standalone emulator in another process, and what it printed."""

    process: subprocess.Popen[str]
    line: dict[str, Any]

    @property
    def endpoints(self) -> Endpoints:
        """The emulator's endpoints."""
        return Endpoints(**self.line["endpoints"])

    def stop(self) -> None:
        """Stop the process."""
        self.process.terminate()
        self.process.wait(timeout=30)


def start_emulator() -> Emulator:
    """Start ``python -m andersen_ev.testing`` and read its JSON line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "andersen_ev.testing", "--token-lifetime", "36000"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return Emulator(process, json.loads(process.stdout.readline()))


async def cpu_per_call(
    calls: dict[str, Callable[[], Awaitable[object]]], count: int
) -> dict[str, float]:
    """Median client CPU seconds per awaited call of each, over ROUNDS interleaved rounds.

    Rounds alternate between the calls, so that drift on a noisy machine hits all alike.
    """
    for call in calls.values():
        for _ in range(20):
            await call()
    rounds: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(ROUNDS):
        for name, call in calls.items():
            start = time.process_time()
            for _ in range(count // ROUNDS):
                await call()
            rounds[name].append((time.process_time() - start) / (count // ROUNDS))
    return {name: statistics.median(values) for name, values in rounds.items()}


async def measure_ours(
    emulator: Emulator, count: int, total: int, in_flight: int
) -> dict[str, float]:
    """CPU per query for this library and for a raw POST, and the concurrent wall time."""
    line = emulator.line
    device_id = line["device_id"]
    async with AndersenA2(endpoints=emulator.endpoints) as a2:
        await a2.authenticate(line["email"], line["password"])
        token = await a2.auth.id_token()
        body = json.dumps(
            {
                "query": operation_document("getDeviceStatus"),
                "variables": {"id": device_id},
                "operationName": "getDeviceStatus",
            }
        ).encode()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        http = a2._http()  # the same session and connection pool, for a fair limit

        async def raw() -> object:
            async with http.post(emulator.endpoints.graphql_url, data=body, headers=headers) as r:
                return json.loads(await r.read())

        results = await cpu_per_call(
            {
                "raw_status": raw,
                "ours_status": lambda: a2.get_device_status(device_id),
                "ours_get_device": lambda: a2.get_device(device_id),
            },
            count,
        )
        limit = asyncio.Semaphore(in_flight)

        async def one() -> None:
            async with limit:
                await a2.get_device_status(device_id)

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(total)))
        results["ours_concurrent_wall"] = time.perf_counter() - start
        return results


def seed_environment(emulator: Emulator) -> dict[str, str]:
    """The environment that points the seed's own login (pycognito) at the emulator."""
    endpoints = emulator.line["endpoints"]
    jwks_url = f"{endpoints['cognito_url']}{endpoints['user_pool_id']}/.well-known/jwks.json"
    with urllib.request.urlopen(jwks_url) as reply:
        jwks = reply.read().decode()
    return dict(
        os.environ,
        AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER=endpoints["cognito_url"],
        COGNITO_JWKS=jwks,
    )


def measure_seed(emulator: Emulator, seed_python: Path, count: int) -> dict[str, float]:
    """The seed's figures, measured in its own venv (see seed_client.py)."""
    script = Path(__file__).with_name("seed_client.py")
    done = subprocess.run(
        [str(seed_python), str(script), json.dumps(emulator.line), str(count)],
        env=seed_environment(emulator),
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures
