"""Benchmarks: ``nox -s bench`` runs this and writes docs/performance.md.

Every figure is measured in one run on this machine; ratios compare figures from the same
run. CPU time (``time.process_time``) is used for client-side costs, wall time for
end-to-end latency; each is the median of several repetitions.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import aiohttp
import cold
import query
import streams

from andersen_ev import srp
from andersen_ev.graphql import operation_document
from andersen_ev.testing import AndersenCloud

REPEAT = 7


def median_cpu(fn: Callable[[], object], number: int) -> float:
    """Median CPU seconds per call of ``fn`` over REPEAT rounds of ``number`` calls."""
    rounds = []
    for _ in range(REPEAT):
        start = time.process_time()
        for _ in range(number):
            fn()
        rounds.append((time.process_time() - start) / number)
    return statistics.median(rounds)


def srp_login_cpu() -> float:
    """Client-side CPU of one SRP login's maths (A, x, S, key, signature)."""
    pool = "t5HV3bFjl"
    salt = secrets.randbits(128)
    x_server = srp.password_x(salt, srp.inner_hash(pool, "user", "pw"))
    v = srp.verifier(x_server)
    b = secrets.randbits(256)
    big_b = (srp.K * v + pow(srp.G, b, srp.N)) % srp.N
    block = "c2VjcmV0"

    def login() -> None:
        # the maths of auth/login.py's login: A once, x, S (reusing A), key, signature
        a = secrets.randbits(256) % srp.N
        big_a = srp.client_public(a)
        x = srp.password_x(salt, srp.inner_hash(pool, "user", "pw"))
        u, premaster = srp.client_session_key(a, big_b, x, big_a=big_a)
        key = srp.derive_key(premaster, u)
        srp.claim_signature(key, pool, "user", block, srp.format_timestamp(datetime.now(UTC)))

    return median_cpu(login, 20)


def import_time(statement: str) -> float:
    """Median wall seconds of a fresh interpreter running ``statement`` (minus a bare start)."""

    def run(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start

    bare = statistics.median(run("pass") for _ in range(5))
    return statistics.median(run(statement) for _ in range(5)) - bare


async def emulator_round_trip() -> float:
    """Median wall seconds of one getDeviceStatus POST to the emulator (raw aiohttp)."""
    async with AndersenCloud() as cloud:
        user = cloud.add_user("bench@example.com", "pw")
        charger = cloud.add_charger(user, name="Bench")
        id_token, _, _ = cloud.tokens.issue(
            sub=user.sub, username=user.username, email=user.email, device_key=None
        )
        body = {
            "query": operation_document("getDeviceStatus"),
            "variables": {"id": charger.id},
            "operationName": "getDeviceStatus",
        }
        headers = {"Authorization": f"Bearer {id_token}"}
        samples = []
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                start = time.perf_counter()
                async with http.post(cloud.endpoints.graphql_url, json=body, headers=headers) as r:
                    await r.read()
                samples.append(time.perf_counter() - start)
        return statistics.median(samples)


def query_table(ours: dict[str, float], seed: dict[str, float] | None) -> str:
    """Markdown rows for the query-path figures (client CPU, emulator in another process)."""
    raw, status, device = ours["raw_status"], ours["ours_status"], ours["ours_get_device"]
    bench = "`nox -s bench`"
    rows = [
        f"| `getDeviceStatus`, client CPU: raw aiohttp POST + `json.loads` (the limit)"
        f" | {raw * 1e3:.3f} ms | `nox -s bench` |",
        f"| `getDeviceStatus`, client CPU: `a2.get_device_status()` (typed model)"
        f" | {status * 1e3:.3f} ms ({status / raw:.2f}x the limit; aim: <= 1.15x) | {bench} |",
        f"| `getDevice`, client CPU: `a2.get_device()` | {device * 1e3:.3f} ms | `nox -s bench` |",
        f"| 500 `get_device_status` with 20 in flight on one connection, wall"
        f" | {ours['ours_concurrent_wall']:.2f} s | `nox -s bench` |",
    ]
    if seed is not None:
        seed_cpu = seed["cpu_per_get_device"]
        rows += [
            f"| `getDevice`, client CPU: the seed (andersen-ev 0.1.4, sync)"
            f" | {seed_cpu * 1e3:.3f} ms (ours: {device / seed_cpu:.2f}x of it; aim: <= 0.5x)"
            f" | {bench} |",
            f"| 500 `get_device` one by one, the seed, wall | {seed['wall_sequential']:.2f} s"
            f" (ours concurrent: {ours['ours_concurrent_wall'] / seed['wall_sequential']:.2f}x)"
            f" | `nox -s bench` |",
        ]
    return "".join(row + "\n" for row in rows)


def main() -> None:
    """Run every benchmark and write the report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--output", type=Path, default=Path("docs/performance.md"))
    parser.add_argument(
        "--seed-python", type=Path, help="python of a venv with andersen-ev 0.1.4 (the seed)"
    )
    parser.add_argument("--queries", type=int, default=500, help="queries per measurement")
    args = parser.parse_args()
    login = srp_login_cpu()
    trip = asyncio.run(emulator_round_trip())
    emulator = query.start_emulator()
    try:
        ours = asyncio.run(query.measure_ours(emulator, args.queries, 500, 20))
        seed = (
            query.measure_seed(emulator, args.seed_python, args.queries)
            if args.seed_python
            else None
        )
        cold_figures = cold.measure(emulator, args.seed_python)
    finally:
        emulator.stop()
    stream_rows = streams.stream_rows(asyncio.run(streams.measure()))
    base_import = import_time("import aiohttp, pydantic")
    our_import = import_time("import andersen_ev")
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("andersen-ev", "aiohttp", "gql", "graphql-core", "pydantic", "botocore")
    )
    ratio = our_import / base_import
    our_ms = our_import * 1000
    query_rows = query_table(ours, seed) + cold.cold_rows(cold_figures) + stream_rows
    bench = "`nox -s bench`"
    report = f"""# Performance

Generated by `nox -s bench` (benchmarks/run.py) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.
Machine: {platform.machine()}, {platform.processor() or "unknown CPU"}, Python
{platform.python_version()} on {platform.system()}. Versions: {versions}.

Medians of {REPEAT} rounds; every ratio compares figures from this one run. Client CPU is
measured with the emulator in another process (`python -m andersen_ev.testing`), so it is
the client's alone; the seed runs in its own venv with its own login pointed at the emulator.
Stream figures come from `benchmarks/streams.py`: events either pass through the emulator
(which executes each with graphql-core, about a thousand a second) or are replayed, as the
emulator rendered them, as fast as the client takes them (what the client can decode).

| what | figure | reproduce |
|---|---|---|
| SRP login maths, client CPU | {login * 1000:.2f} ms (aim: under 20 ms) | `nox -s bench` |
| emulator `getDeviceStatus` round trip, raw aiohttp, wall | {trip * 1000:.2f} ms | `nox -s bench` |
| `import aiohttp, pydantic` (what it stands on) | {base_import * 1000:.0f} ms | {bench} |
{query_rows}| `import andersen_ev` | {our_ms:.0f} ms ({ratio:.2f}x; aim: <= 1.25x) | {bench} |
"""
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
