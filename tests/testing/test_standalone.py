"""The standalone emulator: one JSON line out, serves, stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import io
import json
import signal
from pathlib import Path

import aiohttp
import pytest

from andersen_ev.testing.standalone import build_parser, serve
from tests.cli_support import emulator_process, process_env
from tests.processes import Children


async def test_serve_prints_endpoints_and_credentials_then_stops() -> None:
    written = asyncio.Event()

    class Out(io.StringIO):
        def flush(self) -> None:
            written.set()

    out = Out()
    stop = asyncio.Event()
    options = await asyncio.to_thread(  # argparse reads the disk (gettext): not in the loop
        lambda: build_parser().parse_args(["--email", "me@example.com", "--charger-name", "Garage"])
    )
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


@pytest.mark.timeout(60)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_module_runs_as_a_process_until_signalled(
    signum: signal.Signals, tmp_path: Path, children: Children
) -> None:
    env = process_env(tmp_path)
    with emulator_process(children, "--token-lifetime", "60", env=env, stop=signum) as cloud:
        assert cloud.line["endpoints"]["cognito_url"].startswith("http://127.0.0.1:")
        assert cloud.line["device_id"]
    assert cloud.process.returncode == 0
