"""The README's test command is what CI runs (`.ci/run`), and the install page says the same."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parent.parent


def ci_command() -> str:
    """The command `.ci/run` runs: its last line."""
    return (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]


def test_the_readme_and_the_install_page_show_what_ci_runs() -> None:
    command = ci_command()
    assert command.startswith("python3 -m venv .venv && ")  # PEP 668: never the system pip
    for page in ("README.md", "docs/install.md"):
        lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
        assert command in lines, page
