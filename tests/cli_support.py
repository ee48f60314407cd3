"""Running ``andersen-ev`` in tests: in-process (in a worker thread, so that an emulator can
serve on the test's event loop) or as a real process, against a standalone emulator process."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from andersen_ev.cli.app import run
from andersen_ev.const import Endpoints
from andersen_ev.testing import AndersenCloud
from tests.processes import TIMEOUT, Children


@dataclass
class Result:
    """What a command did."""

    code: int
    out: str
    err: str


class Terminal(io.StringIO):
    """Output that says it is a terminal (what ``watch`` updates in place)."""

    def isatty(self) -> bool:
        return True


def endpoints_json(endpoints: Endpoints) -> str:
    """The ``--endpoints`` value for an in-process emulator."""
    return json.dumps({"endpoints": dataclasses.asdict(endpoints)})


async def run_cli(
    *argv: str,
    config: Path,
    endpoints: Endpoints | None = None,
    stdin: str | io.StringIO = "",
    stdout: io.StringIO | None = None,
    stderr: io.StringIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> Result:
    """Run the command line in a worker thread (it runs its own event loop).

    Its environment is ``environ`` alone (default: empty), not the test process's.
    """
    out = stdout if stdout is not None else io.StringIO()
    err = stderr if stderr is not None else io.StringIO()
    full = ["--config-dir", str(config), *argv]
    if endpoints is not None:
        full += ["--endpoints", endpoints_json(endpoints)]
    code = await asyncio.to_thread(
        run,
        full,
        stdin=io.StringIO(stdin) if isinstance(stdin, str) else stdin,
        stdout=out,
        stderr=err,
        environ={} if environ is None else environ,
    )
    return Result(code, out.getvalue(), err.getvalue())


async def log_in(
    cloud: AndersenCloud, config: Path, credentials: tuple[str, str], *extra: str
) -> Result:
    """``andersen-ev login EMAIL --password-stdin EXTRA`` against ``cloud``."""
    email, password = credentials
    return await run_cli(
        "login",
        email,
        "--password-stdin",
        *extra,
        config=config,
        endpoints=cloud.endpoints,
        stdin=password + "\n",
    )


def process_env(config_home: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI or emulator process: a private config home, warnings errors."""
    env = {**os.environ, "XDG_CONFIG_HOME": str(config_home), "PYTHONWARNINGS": "error"}
    for name in ("ANDERSEN_EV_ENDPOINTS", "ANDERSEN_EV_EMAIL", "ANDERSEN_EV_PASSWORD"):
        env.pop(name, None)
    return env | extra


def example_env(
    cloud: AndersenCloud, credentials: tuple[str, str], config_home: Path
) -> dict[str, str]:
    """The environment of a program of examples/: the emulator's line (endpoints, account)."""
    email, password = credentials
    line = {"endpoints": dataclasses.asdict(cloud.endpoints), "email": email, "password": password}
    return process_env(config_home, ANDERSEN_EV_ENDPOINTS=json.dumps(line))


def cli_command(*argv: str) -> list[str]:
    """``python -m andersen_ev.cli ARGV`` with this interpreter."""
    return [sys.executable, "-m", "andersen_ev.cli", *argv]


class Reader:
    """Reads a file descriptor (a pipe or a pseudo-terminal) until some text shows up."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.text = ""

    def until(self, wanted: str, timeout: float = TIMEOUT) -> str:
        """Read until ``wanted`` is in the text (AssertionError after ``timeout`` or at EOF)."""
        deadline = time.monotonic() + timeout
        while wanted not in self.text:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.fd], [], [], max(left, 0))
            assert ready, f"timed out waiting for {wanted!r}; got {self.text!r}"
            chunk = self.read_some()
            assert chunk, f"EOF before {wanted!r}; got {self.text!r}"
        return self.text

    def read_some(self) -> str:
        """One read (empty at EOF; a pseudo-terminal whose process ended raises EIO)."""
        try:
            chunk = os.read(self.fd, 4096).decode()
        except OSError:
            chunk = ""
        self.text += chunk
        return chunk

    def rest(self, timeout: float = TIMEOUT) -> str:
        """Read until EOF."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], deadline - time.monotonic())
            if ready and not self.read_some():
                break
        return self.text


@dataclass
class EmulatorProcess:
    """A standalone emulator in another process, and the JSON line it printed."""

    process: subprocess.Popen[str]
    line: dict[str, Any]
    text: str

    @property
    def endpoints(self) -> Endpoints:
        """Its endpoints, as the library takes them."""
        return Endpoints(**self.line["endpoints"])


@contextmanager
def emulator_process(
    children: Children,
    *options: str,
    env: Mapping[str, str],
    command: Sequence[str] = (sys.executable, "-m", "andersen_ev.testing"),
    stop: signal.Signals = signal.SIGINT,
) -> Iterator[EmulatorProcess]:
    """Run the standalone emulator (``command OPTIONS``) until the block ends, then send it
    ``stop`` and check that it exits cleanly (status 0)."""
    process = children.popen(
        [*command, *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env),
    )
    assert process.stdout is not None
    text = process.stdout.readline()
    yield EmulatorProcess(process, json.loads(text), text.strip())
    process.send_signal(stop)
    _, errors = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, errors
