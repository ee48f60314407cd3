"""The standalone emulator: one JSON line out, serves, stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys

import aiohttp
import pytest

from andersen_ev.testing.standalone import build_parser, serve


async def test_serve_prints_endpoints_and_credentials_then_stops() -> None:
    written = asyncio.Event()

    class Out(io.StringIO):
        def flush(self) -> None:
            written.set()

    out = Out()
    stop = asyncio.Event()
    options = build_parser().parse_args(["--email", "me@example.com", "--charger-name", "Garage"])
    task = asyncio.create_task(serve(options, out, stop))
    await written.wait()
    line = json.loads(out.getvalue())
    assert line["email"] == "me@example.com"
    assert line["charger_name"] == "Garage"
    assert line["endpoints"]["graphql_url"].startswith("http://127.0.0.1:")
    async with (
        aiohttp.ClientSession() as http,
        http.post(line["endpoints"]["user_lookup_url"], json={"email": "me@example.com"}) as resp,
    ):
        assert "username" in await resp.json()
    stop.set()
    await task


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_module_runs_as_a_process_until_signalled(signum: int) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "andersen_ev.testing",
        "--token-lifetime",
        "60",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    first = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
    line = json.loads(first)
    assert line["endpoints"]["cognito_url"].startswith("http://127.0.0.1:")
    assert line["device_id"]
    proc.send_signal(signum)
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, stderr.decode()
