"""The emulator is quiet in normal use: a client that goes away is not an error.

The command line opens a websocket to confirm a command and closes it as soon as the
command shows, sometimes before the handshake is answered; the emulator used to print a
traceback (``ClientConnectionResetError: Cannot write to closing transport``) for each.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import signal
import socket
import struct
import sys
from pathlib import Path

import pytest

from andersen_ev.testing import AndersenCloud
from tests.cli_support import process_env
from tests.processes import Children
from tests.test_docs_examples import ROOT, blocks


async def test_a_client_leaving_during_the_handshake_is_not_an_error(
    andersen_cloud: AndersenCloud, caplog: pytest.LogCaptureFixture
) -> None:
    host, port = andersen_cloud.endpoints.websocket_url.split("//")[1].split("/")[0].split(":")
    key = base64.b64encode(os.urandom(16)).decode()
    handshake = (
        "GET /graphql HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
    ).encode()
    with caplog.at_level(logging.DEBUG):
        for _ in range(20):
            _, writer = await asyncio.open_connection(host, int(port))
            sock = writer.get_extra_info("socket")
            # close with a reset right after the request: the answer finds a closing transport
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.write(handshake)
            await writer.drain()
            writer.transport.abort()
        await _until_quiet(andersen_cloud)
    errors = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert errors == []


async def _until_quiet(cloud: AndersenCloud) -> None:
    for _ in range(200):
        if cloud.stats.websockets_open == 0:
            await asyncio.sleep(0.05)  # the handlers that failed have logged by now
            return
        await asyncio.sleep(0.01)
    raise AssertionError("websockets still open")


def walk_through() -> str:
    """The CLI walk-through of docs/cli.md, without its own emulator (the test starts it)."""
    (script,) = [block for block in blocks(ROOT / "docs" / "cli.md", "bash") if "emulator" in block]
    kept = [
        line
        for line in script.splitlines()
        if "andersen-ev emulator" not in line and "EMULATOR" not in line
    ]
    assert any(line.startswith("andersen-ev lock") for line in kept)
    return "\n".join(kept) + "\n"


@pytest.mark.timeout(120)
def test_the_cli_walk_through_leaves_the_emulators_stderr_empty(
    tmp_path: Path, children: Children
) -> None:
    env = process_env(tmp_path / "config", HOME=str(tmp_path))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    with (
        (tmp_path / "emulator.json").open("w") as line,
        (tmp_path / "emulator.err").open("w") as err,
    ):
        emulator = children.popen(
            [sys.executable, "-m", "andersen_ev.cli", "emulator", "--speed", "10"],
            stdout=line,
            stderr=err,
            env=env,
            cwd=tmp_path,
        )
    script = tmp_path / "walk.sh"
    script.write_text(walk_through())
    result = children.run(["bash", "-eu", str(script)], cwd=tmp_path, env=env, timeout=100)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is locked" in result.stdout
    assert (tmp_path / "sessions.csv").read_text().startswith("start")
    emulator.send_signal(signal.SIGTERM)
    assert emulator.wait(timeout=20) == 0
    assert (tmp_path / "emulator.err").read_text() == ""
