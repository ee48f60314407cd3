"""The soak test (``nox -s soak``, ``benchmarks/soak.py``) in its short mode, as CI runs it.

The soak runs in its own processes (client and emulator), with warnings as errors, so that
its leak and memory checks see the library alone; its exit status says whether every check
passed, and its report says what happened.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.processes import Children

SOAK = Path(__file__).parent.parent / "benchmarks" / "soak.py"


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_short_soak_passes_every_check(tmp_path: Path, children: Children) -> None:
    output = tmp_path / "reliability.md"
    run = children.run(
        [
            sys.executable,
            "-W",
            "error",
            str(SOAK),
            "--duration",
            "12",
            "--devices",
            "2",
            "--output",
            str(output),
        ],
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = output.read_text()
    assert "**Result: PASS**" in report
    assert "\n- leaks: 0\n" in report
    assert "\n- mutations applied twice: 0\n" in report
    assert report.count("| pass |") == 4
    injected = report.split("- faults injected: ", 1)[1].split("\n", 1)[0]
    assert int(injected) > 0
