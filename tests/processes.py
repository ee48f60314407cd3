"""The one way tests start child processes: the ``children`` fixture.

Every child starts in a session (so a process group) of its own, with SIGINT at its default
disposition, and at teardown the fixture kills every group it started, whether the test
passed, failed or was stopped by pytest-timeout. So:

* a suite started with SIGINT ignored (``trap "" INT``, or as a background job of a
  non-interactive shell) still gets children that turn SIGINT into KeyboardInterrupt:
  Python installs that handler at start-up only when SIGINT is not ignored, and an ignored
  signal stays ignored across ``exec``. The command line itself keeps the Unix rule (an
  ignored SIGINT stays ignored); it is the tests that play the user pressing Ctrl-C;
* a Ctrl-C typed at the terminal running pytest reaches pytest only, which then tears down
  and kills the children;
* nothing a test started outlives it, not even what its child started in turn (the demo's
  emulator started by a documented shell script).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import pytest

#: Generous: CI machines are slow, and nothing here waits for a timeout to pass. Below the
#: suite's pytest-timeout default, so that a hang fails with the helper's own message.
TIMEOUT: Final = 25.0


def _sigint_default() -> None:
    """Runs in the child between fork and exec: SIGINT back to its default disposition."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Children:
    """Starts child processes for one test and kills them all (whole groups) at its end."""

    def __init__(self) -> None:
        self._started: list[subprocess.Popen[Any]] = []

    def popen(self, argv: Sequence[str], **options: Any) -> subprocess.Popen[Any]:
        """``subprocess.Popen(argv, **options)`` in a new session, SIGINT at its default.

        stdin is ``/dev/null`` unless given: a child has no business with pytest's terminal.
        """
        options.setdefault("stdin", subprocess.DEVNULL)
        process: subprocess.Popen[Any] = subprocess.Popen(  # noqa: S603 - the tests' own commands
            list(argv),
            start_new_session=True,
            preexec_fn=_sigint_default,  # noqa: PLW1509 - only signal.signal, thread-safe enough
            **options,
        )
        self._started.append(process)
        return process

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        stdin: str = "",
        cwd: Path | None = None,
        timeout: float = TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` to completion with ``stdin`` as its input; its captured text output."""
        process = self.popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=None if env is None else dict(env),
            cwd=cwd,
        )
        out, err = process.communicate(stdin, timeout=timeout)
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)

    def kill_all(self) -> None:
        """SIGKILL every process group started here, reap the leaders and close their pipes."""
        for process in self._started:
            # A group's id stays taken while any member lives, so this reaches what the child
            # left behind even when the child itself was reaped already.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            for pipe in (process.stdin, process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()
        self._started.clear()


@pytest.fixture
async def children() -> AsyncIterator[Children]:
    """Start child processes with ``children.popen``/``children.run``; all die at teardown.

    An async fixture, so that it is torn down before the test's event loop closes: a test
    that timed out in ``await asyncio.to_thread(children.run, ...)`` leaves a worker thread
    waiting for the child, and the loop's closing waits for that thread.
    """
    started = Children()
    try:
        yield started
    finally:
        started.kill_all()
