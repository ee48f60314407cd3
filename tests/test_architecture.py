"""The two walls, checked on the import graph read from the source (tools/import_graph.py).

1. The library (everything but ``andersen_ev.cli`` and ``andersen_ev.testing``) never imports
   its command line or its emulator: a host that embeds the client gets neither.
2. The emulator is an independent implementation of the server. It may share the API as
   data (``andersen_ev.graphql``), the SRP primitives and the production endpoints; never
   the client's auth, transport, stream, client or model code, or a misunderstanding shared
   by both halves would pass every test. It is an allow-list, so modules the client gains
   (or moves) later are behind the wall without a change here. ``andersen_ev.models`` stays
   out: the models are the client's reading of the wire, which the emulator must derive
   from the schema on its own.

Every import counts: inside functions, under ``TYPE_CHECKING``, relative, and
``importlib.import_module`` with a literal name.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tools.import_graph import Import, edges, import_graph, main, render, within

LIBRARY_NEVER_IMPORTS = ("andersen_ev.cli", "andersen_ev.testing")
EMULATOR = "andersen_ev.testing"
#: What the emulator may import outside itself. SRP's pure maths may move under ``auth/``
#: (the guide's layout): that module alone, not the rest of ``auth``.
EMULATOR_MAY_IMPORT = (
    "andersen_ev.graphql",
    "andersen_ev.srp",
    "andersen_ev.auth.srp",
    "andersen_ev.const",
)


def library_breaches(graph: dict[str, list[Import]]) -> list[str]:
    """Where a library module imports the CLI or the emulator."""
    return [
        f"{imp.where()}: library module {imp.importer} imports {imp.imported}"
        for module, imports in graph.items()
        if not any(within(module, wall) for wall in LIBRARY_NEVER_IMPORTS)
        for imp in imports
        if any(within(imp.imported, wall) for wall in LIBRARY_NEVER_IMPORTS)
    ]


def emulator_breaches(graph: dict[str, list[Import]]) -> list[str]:
    """Where an emulator module imports library code outside its allow-list."""
    return [
        f"{imp.where()}: emulator module {imp.importer} imports {imp.imported}"
        f" (allowed: {', '.join(EMULATOR_MAY_IMPORT)})"
        for module, imports in graph.items()
        if within(module, EMULATOR)
        for imp in imports
        if not within(imp.imported, EMULATOR)
        and not any(within(imp.imported, allowed) for allowed in EMULATOR_MAY_IMPORT)
    ]


@pytest.fixture(scope="module")
def graph() -> dict[str, list[Import]]:
    return import_graph()


def test_the_graph_sees_the_package(graph: dict[str, list[Import]]) -> None:
    # a scan that found nothing would pass every wall
    assert len(graph) > 30
    assert any(within(module, EMULATOR) for module in graph)
    emulator_imports = {
        imp.imported for m, imps in graph.items() if within(m, EMULATOR) for imp in imps
    }
    assert "andersen_ev.graphql" in emulator_imports
    cli_imports = {
        imp.imported for m, imps in graph.items() if within(m, "andersen_ev.cli") for imp in imps
    }
    assert any(within(imported, EMULATOR) for imported in cli_imports)  # `andersen-ev demo`


def test_the_library_never_imports_its_cli_or_its_emulator(graph: dict[str, list[Import]]) -> None:
    breaches = library_breaches(graph)
    assert not breaches, "the library must not import these:\n" + "\n".join(breaches)


def test_the_emulator_never_imports_the_clients_code(graph: dict[str, list[Import]]) -> None:
    breaches = emulator_breaches(graph)
    assert not breaches, "the emulator must stay independent:\n" + "\n".join(breaches)


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_checks_catch_every_way_of_importing(tmp_path: Path) -> None:
    for package in ("", "testing/", "cli/", "auth/", "stream/"):
        write(tmp_path, f"andersen_ev/{package}__init__.py", "")
    for module in ("srp", "graphql", "models", "auth/srp", "auth/login", "stream/manager"):
        write(tmp_path, f"andersen_ev/{module}.py", "")
    write(
        tmp_path,
        "andersen_ev/client.py",
        "import json\n"
        "def demo():\n"
        "    from andersen_ev.testing import AndersenCloud\n"  # inside a function
        "    import importlib\n"
        "    return importlib.import_module('andersen_ev.cli')\n",  # dynamic
    )
    write(tmp_path, "andersen_ev/auth/session.py", "from ..testing import cloud\n")  # relative
    write(
        tmp_path,
        "andersen_ev/testing/cloud.py",
        "from andersen_ev import srp, graphql\n"  # allowed
        "from andersen_ev.auth import srp as maths\n"  # allowed: the SRP primitives
        "from . import cloud\n"  # itself
        "from andersen_ev import models\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from andersen_ev.auth.login import login\n"
        "import andersen_ev.stream.manager\n"
        "from ..client import demo\n"
        "from andersen_ev import AndersenA2\n",  # the facade: the whole client
    )
    graph = import_graph(tmp_path)
    cloud, client, session = (
        tmp_path / "andersen_ev" / name
        for name in ("testing/cloud.py", "client.py", "auth/session.py")
    )
    assert library_breaches(graph) == [
        f"{session}:1: library module andersen_ev.auth.session imports andersen_ev.testing.cloud",
        f"{client}:3: library module andersen_ev.client imports andersen_ev.testing",
        f"{client}:5: library module andersen_ev.client imports andersen_ev.cli",
    ]
    assert [breach.split(" (allowed")[0] for breach in emulator_breaches(graph)] == [
        f"{cloud}:{line}: emulator module andersen_ev.testing.cloud imports {imported}"
        for line, imported in [
            (4, "andersen_ev.models"),
            (7, "andersen_ev.auth.login"),
            (8, "andersen_ev.stream.manager"),
            (9, "andersen_ev.client"),
            (10, "andersen_ev"),
        ]
    ]


def test_the_graph_renders_as_text_and_graphviz(graph: dict[str, list[Import]]) -> None:
    units = edges(graph, depth=2)
    assert "andersen_ev.graphql" in units[EMULATOR]
    assert EMULATOR not in units[EMULATOR]  # a unit's imports of itself are left out
    text = render(units)
    (emulator,) = (line for line in text if line.startswith(f"{EMULATOR} -> "))
    assert "andersen_ev.graphql" in emulator.split(" -> ")[1].split(", ")
    assert "andersen_ev.graphql -> (nothing)" in text  # the API as data depends on nothing
    dot = render(edges(graph), dot=True)
    assert (dot[0], dot[-1]) == ("digraph imports {", "}")
    assert '  "andersen_ev.testing.executable_schema" -> "andersen_ev.graphql";' in dot


def test_the_script_prints_the_graph(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--depth", "1"]) == 0
    assert capsys.readouterr().out == "andersen_ev -> (nothing)\n"


#: Ways of starting a process; tests/processes.py is the one place tests use them.
_PROCESS_STARTS = ("create_subprocess_", "subprocess.Popen(", "subprocess.run(", "os.system(")


def test_tests_start_processes_only_through_the_children_fixture() -> None:
    # The fixture gives children SIGINT at its default (the suite may run with it ignored)
    # and kills their whole process group at teardown, so no test leaves one behind.
    tests = Path(__file__).parent
    starts = [
        f"{path.relative_to(tests)}:{number}"
        for path in sorted(tests.rglob("*.py"))
        if path.name != "processes.py" and path != Path(__file__)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(start in line for start in _PROCESS_STARTS)
    ]
    assert starts == []
