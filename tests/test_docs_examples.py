"""Every code example in README.md and docs/*.md runs, against the emulator.

* ```` ```python ```` blocks run in order, one namespace per page, in a thread with its own
  event loop (as in ``python -m asyncio``: top-level ``await`` works). The namespace starts
  with what the pages say they assume: ``a2`` (an ``AndersenA2`` logged in to the
  emulator), ``device_id`` (its charger "Driveway"), ``endpoints`` (the emulator's),
  ``EMAIL`` and ``PASSWORD`` (the emulator's account, the README's placeholders). A page's
  own ``endpoints = PRODUCTION`` line is the one thing replaced: the emulator's endpoints
  stand in for it. ``test_*`` functions a block defines are run too: directly, or by
  pytest in a subprocess when they take fixtures.
* ```` ```bash ```` blocks run with ``bash -eu`` and the ``andersen-ev`` of this
  environment, except the install and development commands (pip, nox), which the tests of
  the command line and CI stand for.
* ```` ```console ```` and ```` ```text ```` blocks are transcripts and output, not code:
  their interactive parts (password prompt, Ctrl-C) are run by ``test_cli_process.py``.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from andersen_ev import AndersenA2, Endpoints
from andersen_ev.testing import AndersenCloud, Charger
from tests.cli_support import process_env
from tests.processes import Children

ROOT = Path(__file__).resolve().parent.parent
#: Pages whose code another test runs: test_docs_home_assistant.py (Home Assistant stood in).
RUN_ELSEWHERE = {"home-assistant.md"}
PAGES = [
    ROOT / "README.md",
    *sorted(page for page in (ROOT / "docs").glob("*.md") if page.name not in RUN_ELSEWHERE),
]
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
#: The README's placeholders, which are the emulator's account here.
EMAIL = "you@example.com"
PASSWORD = "your Konnect+ password"
#: Commands that install software or run the project's own tooling: not run here.
NOT_RUN = ("pip install", "nox")
PYTEST_INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
asyncio_default_test_loop_scope = function
filterwarnings = error
"""


def blocks(page: Path, language: str) -> list[str]:
    return [
        textwrap.dedent(body)
        for fence, body in FENCE.findall(page.read_text(encoding="utf-8"))
        if fence == language
    ]


def pages_with(language: str) -> list[Path]:
    return [page for page in PAGES if blocks(page, language)]


def test_the_pages_have_examples() -> None:
    python = {page.name for page in pages_with("python")}
    assert {"README.md", "login.md", "devices.md", "schedules.md", "solar.md"} <= python
    assert {"streams.md", "errors.md", "testing.md"} <= python
    assert "cli.md" in {page.name for page in pages_with("bash")}


def compiled(source: str, name: str) -> Any:
    """The block as code, its ``endpoints = PRODUCTION`` line left out."""
    tree = compile(source, name, "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    tree.body = [
        node
        for node in tree.body
        if not (
            isinstance(node, ast.Assign)
            and [ast.unparse(target) for target in node.targets] == ["endpoints"]
            and ast.unparse(node.value) == "PRODUCTION"
        )
    ]
    return compile(tree, name, "exec", ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def run_page(
    page: Path, endpoints: Endpoints, device_id: str, tmp_path: Path, children: Children
) -> list[str]:
    """Run the page's Python blocks in order; returns the names of the tests it ran."""
    ran: list[str] = []
    with asyncio.Runner() as runner:
        a2 = AndersenA2(endpoints=endpoints)
        runner.run(a2.authenticate(EMAIL, PASSWORD))
        namespace: dict[str, Any] = {
            "__name__": "__docs__",
            "a2": a2,
            "device_id": device_id,
            "endpoints": endpoints,
            "EMAIL": EMAIL,
            "PASSWORD": PASSWORD,
        }
        try:
            for number, source in enumerate(blocks(page, "python"), 1):
                before = set(namespace)
                code = compiled(source, f"{page.name}, python block {number}")
                if code.co_flags & inspect.CO_COROUTINE:
                    runner.run(eval(code, namespace))  # noqa: S307 - our own documentation
                else:
                    exec(code, namespace)  # noqa: S102 - our own documentation
                for name in sorted(set(namespace) - before):
                    if name.startswith("test_") and callable(namespace[name]):
                        run_test(namespace[name], source, runner, tmp_path, children)
                        ran.append(name)
        finally:
            runner.run(a2.close())
    return ran


def run_test(
    test: Callable[..., Any],
    source: str,
    runner: asyncio.Runner,
    tmp_path: Path,
    children: Children,
) -> None:
    """A documented test: called when it takes nothing, else run by pytest with fixtures."""
    if not inspect.signature(test).parameters:
        outcome = test()
        if inspect.iscoroutine(outcome):
            runner.run(outcome)
        return
    folder = tmp_path / f"pytest_{test.__name__}"
    folder.mkdir()
    (folder / "pytest.ini").write_text(PYTEST_INI)
    (folder / "test_documented.py").write_text(source)
    result = children.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_documented.py"],
        cwd=folder,
        env=process_env(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


#: The pages whose examples are tests with emulators of their own, and those tests.
OWN_EMULATORS = {
    "testing.md": ["test_unlocking_starts_the_charge", "test_a_revoked_session_needs_a_new_login"],
    "emulator.md": ["test_a_lock_lands_once_the_clock_moves"],
}


@pytest.fixture
async def docs_account(andersen_cloud: AndersenCloud) -> Charger:
    """The account the docs log in to, with its charger charging a car."""
    user = andersen_cloud.add_user(EMAIL, PASSWORD)
    charger = andersen_cloud.add_charger(user, name="Driveway")
    charger.plug_in(energy_wanted_kwh=None)
    andersen_cloud.run_in_real_time(interval=0.05, speed=20)  # events for the streams
    return charger


@pytest.mark.timeout(90)
@pytest.mark.parametrize("page", pages_with("python"), ids=lambda page: page.name)
async def test_python_examples_run_against_the_emulator(
    page: Path,
    andersen_cloud: AndersenCloud,
    docs_account: Charger,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    children: Children,
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # TokenStore("~/...") writes here
    monkeypatch.chdir(tmp_path)
    served = andersen_cloud.stats.http_requests
    ran = await asyncio.to_thread(
        run_page, page, andersen_cloud.endpoints, docs_account.id, tmp_path, children
    )
    if page.name in OWN_EMULATORS:  # its examples start emulators of their own
        assert ran == OWN_EMULATORS[page.name]
    else:
        assert andersen_cloud.stats.http_requests > served  # they talked to the emulator


@pytest.mark.timeout(120)
@pytest.mark.parametrize("page", pages_with("bash"), ids=lambda page: page.name)
def test_bash_examples_run(page: Path, tmp_path: Path, children: Children) -> None:
    scripts = [
        block for block in blocks(page, "bash") if not any(skip in block for skip in NOT_RUN)
    ]
    env = process_env(tmp_path / "config", HOME=str(tmp_path))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    for number, script in enumerate(scripts, 1):
        path = tmp_path / f"example{number}.sh"
        path.write_text(script)
        result = children.run(["bash", "-eu", str(path)], cwd=tmp_path, env=env, timeout=100)
        assert result.returncode == 0, (
            f"{page.name} bash block {number}:\n{result.stdout}\n{result.stderr}"
        )
        if page.name == "cli.md":  # its walk-through, emulator included: quiet (issue 17)
            assert result.stderr == "", result.stderr
