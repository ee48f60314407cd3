"""The emulator's server CPU per ``getDeviceStatus``, next to a minimal aiohttp server's.

Both servers run in THIS process, one after the other; the requests come from a client in
a child process (``--client``), so the CPU time measured here (``process_time``) is the
server's alone. The minimal server answers every POST with the very bytes the emulator
answered, so the difference is what the emulator does beyond HTTP: authentication,
GraphQL parsing, validation and execution, the simulated charger. Aim (issue 16): at most
~5x. Run: ``python benchmarks/emulator.py [--requests N] [--in-flight K]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, Final

import aiohttp
from aiohttp import web

from andersen_ev.graphql import operation_document
from andersen_ev.testing import AndersenCloud, Realism

OPERATION: Final = "getDeviceStatus"
AIM: Final = 5.0


def request_body(device_id: str) -> bytes:
    """The library's own ``getDeviceStatus`` request, as it sends it."""
    body = {
        "query": operation_document(OPERATION),
        "variables": {"id": device_id},
        "operationName": OPERATION,
    }
    return json.dumps(body).encode()


# -- the client, in a child process -------------------------------------------------------


async def client(url: str, authorization: str, body: bytes, count: int, in_flight: int) -> None:
    """POST ``body`` ``count`` times, ``in_flight`` at a time; every answer must be a 200."""
    headers = {"Authorization": authorization, "Content-Type": "application/json"}
    left = count

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            async with http.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != HTTPStatus.OK:
                    raise SystemExit(f"the server answered {response.status}")

    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(worker(http) for _ in range(in_flight)))


# -- the servers, in this process ---------------------------------------------------------


async def server_cpu(
    url: str, authorization: str, body: bytes, count: int, in_flight: int
) -> float:
    """Seconds of this process's CPU per request while the child client sends ``count``."""
    argv = [sys.executable, __file__, "--client", url, authorization, body.decode()]
    argv += [str(count), str(in_flight)]
    started = time.process_time()
    child = await asyncio.create_subprocess_exec(*argv)
    if await child.wait() != 0:
        raise SystemExit("the benchmark's client failed")
    return (time.process_time() - started) / count


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on a loopback port; its runner and URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/"


def minimal_app(answer: bytes) -> web.Application:
    """An aiohttp server that reads each POST and answers ``answer``: the floor."""

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=answer, content_type="application/json")

    app = web.Application()
    app.router.add_post("/", handle)
    return app


async def measure(count: int, in_flight: int, rounds: int) -> dict[str, Any]:
    """Median server CPU per request of the emulator and of the minimal server."""
    async with AndersenCloud(realism=Realism(wire_variants=False)) as cloud:
        user = cloud.add_user("bench@example.com", "pw")
        charger = cloud.add_charger(user, name="Bench")
        id_token, _, _ = cloud.tokens.issue(
            sub=user.sub, username=user.username, email=user.email, device_key=None
        )
        authorization = f"Bearer {id_token}"
        body = request_body(charger.id)
        url = cloud.endpoints.graphql_url + "/"
        headers = {"Authorization": authorization, "Content-Type": "application/json"}
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, data=body, headers=headers) as response,
        ):
            answer = await response.read()
        assert json.loads(answer)["data"]["getDevice"]["deviceStatus"]["id"] == charger.id
        runner, minimal_url = await serve(minimal_app(answer))
        try:
            servers: dict[str, Callable[[], Awaitable[float]]] = {
                "emulator": lambda: server_cpu(url, authorization, body, count, in_flight),
                "minimal aiohttp": lambda: server_cpu(
                    minimal_url, authorization, body, count, in_flight
                ),
            }
            samples: dict[str, list[float]] = {name: [] for name in servers}
            for _ in range(rounds):  # interleaved, so drift on a busy machine hits both
                for name, run in servers.items():
                    samples[name].append(await run())
        finally:
            await runner.cleanup()
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "requests": count,
        "in_flight": in_flight,
        "rounds": rounds,
        "answer_bytes": len(answer),
        "emulator_ms": medians["emulator"] * 1000,
        "minimal_ms": medians["minimal aiohttp"] * 1000,
        "ratio": medians["emulator"] / medians["minimal aiohttp"],
    }


def main() -> None:
    """Measure and print the two servers' CPU per request side by side."""
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        url, authorization, body, count, in_flight = sys.argv[2:7]
        asyncio.run(client(url, authorization, body.encode(), int(count), int(in_flight)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per round")
    parser.add_argument("--in-flight", type=int, default=4, help="concurrent requests")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (the median is kept)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args()
    figures = asyncio.run(measure(options.requests, options.in_flight, options.rounds))
    if options.json:
        print(json.dumps(figures))
        return
    print(f"server CPU per {OPERATION}: {figures['requests']} requests a round,")
    print(f"{figures['in_flight']} in flight, median of {figures['rounds']} rounds,")
    print(f"{figures['answer_bytes']} B answer")
    print(f"  minimal aiohttp server  {figures['minimal_ms']:7.3f} ms")
    print(f"  emulator                {figures['emulator_ms']:7.3f} ms")
    verdict = "ok" if figures["ratio"] <= AIM else "over"
    print(f"  ratio                   {figures['ratio']:7.2f}x  (aim: <= {AIM:.0f}x, {verdict})")


if __name__ == "__main__":
    main()
