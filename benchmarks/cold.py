"""A cold command, as a cron job or a shell runs it: a whole process, its CPU counted.

Ours: ``andersen-ev status`` with the tokens a previous ``andersen-ev login`` stored (no
password, no SRP: the stored tokens are used as they are). The seed (0.1.4) keeps no tokens,
so its one-shot job logs in with the password and reads the status (seed_cold.py). Both run
against the same emulator in another process; the CPU is the child process's user + system
time (``resource.getrusage(RUSAGE_CHILDREN)``), interpreter start-up and imports included.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import query

ROUNDS = 7


def child_cpu(command: Sequence[str], env: Mapping[str, str] | None = None) -> float:
    """CPU seconds (user + system) of one run of ``command`` to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(emulator: query.Emulator, seed_python: Path | None) -> dict[str, float]:
    """Median CPU of ``andersen-ev status`` on stored tokens, and of the seed's job."""
    line = emulator.line
    endpoints = json.dumps(line["endpoints"])
    cli = [sys.executable, "-m", "andersen_ev.cli"]
    with tempfile.TemporaryDirectory() as config:
        login = ["login", "--config-dir", config, "--endpoints", endpoints, "--password-stdin"]
        subprocess.run(
            [*cli, *login, line["email"]],
            input=line["password"] + "\n",
            text=True,
            check=True,
            capture_output=True,
            timeout=120,
        )
        status = [*cli, "status", "--config-dir", config, "--json", line["device_id"]]
        figures = {"ours": statistics.median(child_cpu(status) for _ in range(ROUNDS))}
    if seed_python is not None:
        script = [str(seed_python), str(Path(__file__).with_name("seed_cold.py"))]
        env = query.seed_environment(emulator)
        seed = [*script, json.dumps(line)]
        figures["seed"] = statistics.median(child_cpu(seed, env) for _ in range(ROUNDS))
    return figures


def cold_rows(figures: dict[str, float]) -> str:
    """Markdown rows for the cold-command figures."""
    ours = figures["ours"]
    rows = [
        "| cold `andersen-ev status` on stored tokens, whole process CPU"
        f" | {ours * 1e3:.0f} ms | `nox -s bench` |"
    ]
    if "seed" in figures:
        seed = figures["seed"]
        rows.append(
            "| the seed's one-shot job (0.1.4 keeps no tokens: log in, read the status),"
            f" whole process CPU | {seed * 1e3:.0f} ms (ours: {ours / seed:.2f}x of it;"
            " aim: <= 0.5x) | `nox -s bench` |"
        )
    return "".join(row + "\n" for row in rows)
