"""The soak rewrites docs/reliability.md and keeps the sections written by hand below it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SOAK = Path(__file__).parent.parent / "benchmarks" / "soak.py"


def load_soak() -> ModuleType:
    spec = importlib.util.spec_from_file_location("soak_under_test", SOAK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_a_rewritten_report_keeps_what_follows_the_marker(tmp_path: Path) -> None:
    soak = load_soak()
    marker: str = soak.KEPT_BELOW
    output = tmp_path / "reliability.md"
    output.write_text(f"# Old report\n\nold counts\n\n{marker}\n\n## Mutation testing\n\nscores\n")
    text = soak.with_kept_part("# New report\n\nnew counts\n", output)
    assert text == f"# New report\n\nnew counts\n\n{marker}\n\n## Mutation testing\n\nscores\n"
    output.write_text(text)
    assert soak.with_kept_part("# Newer\n", output).endswith(
        f"{marker}\n\n## Mutation testing\n\nscores\n"
    )


def test_a_report_without_a_marker_or_a_file_is_written_as_it_is(tmp_path: Path) -> None:
    soak = load_soak()
    output = tmp_path / "reliability.md"
    assert soak.with_kept_part("# New\n", output) == "# New\n"
    output.write_text("# Old report, nothing kept\n")
    assert soak.with_kept_part("# New\n", output) == "# New\n"
