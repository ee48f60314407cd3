"""Client CPU per ``get_device_status`` against a raw aiohttp POST + ``json.loads``.

Both run side by side in one process, on the same aiohttp session and connection pool,
against the standalone emulator in another process (so ``process_time`` is the client's
alone), in interleaved rounds. The aim (issue 16) is a ratio of at most 1.15.

Run it alone (``python benchmarks/client_cpu.py [--count N] [--profile]``); ``nox -s
bench`` reports the same figures from benchmarks/query.py.

Found so far (2 shared cores, noisy): raw ~1.15 ms, ``GraphQLHttp.execute`` alone ~1.17 ms
(the HTTP path costs what a raw POST costs), ``get_device_status`` ~1.6 ms: the excess is
turning the reply into a ``DeviceStatus`` (operations.Operation.read and the models), not
the transport.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import time
from typing import Final

import query

from andersen_ev import AndersenA2
from andersen_ev.graphql import operation_document

#: The aim: client CPU per get_device_status over a raw POST + json.loads.
AIM: Final = 1.15


async def measure(count: int, profile: bool) -> dict[str, float]:
    """CPU seconds per call of each path, and their ratio."""
    emulator = query.start_emulator()
    try:
        line = emulator.line
        device_id = line["device_id"]
        async with AndersenA2(endpoints=emulator.endpoints) as a2:
            await a2.authenticate(line["email"], line["password"])
            token = await a2.auth.id_token()
            body = json.dumps(
                {
                    "operationName": "getDeviceStatus",
                    "query": operation_document("getDeviceStatus"),
                    "variables": {"id": device_id},
                }
            ).encode()
            headers = {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            }
            http = a2._http()  # the same session and pool as the client's
            url = emulator.endpoints.graphql_url

            async def raw() -> object:
                async with http.post(url, data=body, headers=headers) as reply:
                    return json.loads(await reply.read())

            figures = await query.cpu_per_call(
                {"raw": raw, "ours": lambda: a2.get_device_status(device_id)}, count
            )
            if profile:
                profiler = cProfile.Profile(time.process_time)
                profiler.enable()
                for _ in range(count):
                    await a2.get_device_status(device_id)
                profiler.disable()
                pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    finally:
        emulator.stop()
    figures["ratio"] = figures["ours"] / figures["raw"]
    return figures


def main() -> None:
    """Measure and print the figures next to the aim."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="calls per path")
    parser.add_argument("--profile", action="store_true", help="profile the client's calls")
    arguments = parser.parse_args()
    figures = asyncio.run(measure(arguments.count, arguments.profile))
    print(
        f"raw POST + json.loads: {figures['raw'] * 1e6:.0f} us CPU per call\n"
        f"get_device_status:     {figures['ours'] * 1e6:.0f} us CPU per call\n"
        f"ratio:                 {figures['ratio']:.2f}x (aim: at most {AIM:.2f}x)"
    )


if __name__ == "__main__":
    main()
