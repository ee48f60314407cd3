"""Print the import graph of the ``andersen_ev`` modules, read from their source.

Nothing is imported: every ``.py`` file under ``src/andersen_ev`` is parsed with :mod:`ast`,
and every import in it counts, wherever it is (inside functions, under ``TYPE_CHECKING``)
and however it is written (relative, ``from package import module``,
``importlib.import_module("...")`` with a literal name). ``tests/test_architecture.py``
checks the two walls on the same graph.

Usage::

    python tools/import_graph.py              # one line per module: what it imports
    python tools/import_graph.py --depth 2    # collapsed: andersen_ev.testing, andersen_ev.cli ...
    python tools/import_graph.py --dot        # Graphviz, e.g. | dot -Tsvg > imports.svg
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Import",
    "collapse",
    "discover",
    "edges",
    "import_graph",
    "imports_of",
    "main",
    "render",
    "within",
]

PACKAGE = "andersen_ev"
SRC = Path(__file__).resolve().parent.parent / "src"
_DYNAMIC = frozenset({"import_module", "__import__"})


@dataclass(frozen=True, order=True)
class Import:
    """One import of one module by another, with where it is written."""

    importer: str
    imported: str
    path: Path
    line: int

    def where(self) -> str:
        """``path:line`` for messages, the path relative to the working directory if inside it."""
        path = (
            self.path.relative_to(Path.cwd()) if self.path.is_relative_to(Path.cwd()) else self.path
        )
        return f"{path}:{self.line}"


def within(module: str, package: str) -> bool:
    """Whether ``module`` is ``package`` or one of its submodules."""
    return module == package or module.startswith(f"{package}.")


def discover(src: Path = SRC, package: str = PACKAGE) -> dict[str, Path]:
    """Every module of ``package`` under ``src``, by dotted name (packages by their name)."""
    modules = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _package_of(module: str, path: Path) -> str:
    """The package relative imports in ``module`` start from."""
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _resolve_from(node: ast.ImportFrom, module: str, path: Path) -> str:
    """The module a ``from ... import`` statement names (before its imported names)."""
    if not node.level:
        return node.module or ""
    base = _package_of(module, path).split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imported_names(node: ast.AST, module: str, path: Path, known: set[str]) -> Iterator[str]:
    """The modules one AST node imports, resolved to dotted names."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        source = _resolve_from(node, module, path)
        for alias in node.names:
            # `from package import module` imports the module; `from module import name` not
            candidate = f"{source}.{alias.name}"
            yield candidate if candidate in known else source
    elif isinstance(node, ast.Call) and node.args:
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
        first = node.args[0]
        if name in _DYNAMIC and isinstance(first, ast.Constant) and isinstance(first.value, str):
            yield first.value


def imports_of(module: str, path: Path, known: set[str]) -> list[Import]:
    """Every import written in one module's file, anywhere in it, in line order."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = {
        Import(module, imported, path, node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom | ast.Call)
        for imported in _imported_names(node, module, path, known)
    }
    return sorted(found, key=lambda imp: (imp.line, imp.imported))


def import_graph(src: Path = SRC, package: str = PACKAGE) -> dict[str, list[Import]]:
    """Every module of ``package`` and its imports of modules of ``package`` (itself excluded)."""
    modules = discover(src, package)
    known = set(modules)
    return {
        module: [
            imp
            for imp in imports_of(module, path, known)
            if within(imp.imported, package) and imp.imported != module
        ]
        for module, path in modules.items()
    }


def collapse(module: str, depth: int) -> str:
    """``module`` cut to its first ``depth`` dotted parts (0: unchanged)."""
    return ".".join(module.split(".")[:depth]) if depth else module


def edges(graph: dict[str, list[Import]], depth: int = 0) -> dict[str, set[str]]:
    """Who imports whom, names collapsed to ``depth`` parts, a unit's imports of itself left out."""
    found: dict[str, set[str]] = {}
    for module, imports in graph.items():
        source = collapse(module, depth)
        targets = found.setdefault(source, set())
        targets.update(collapse(imp.imported, depth) for imp in imports)
        targets.discard(source)
    return found


def render(found: dict[str, set[str]], *, dot: bool = False) -> list[str]:
    """The lines to print: ``module -> imports`` or, with ``dot``, a Graphviz digraph."""
    if not dot:
        return [f"{m} -> {', '.join(sorted(ts)) or '(nothing)'}" for m, ts in sorted(found.items())]
    arrows = [f'  "{m}" -> "{t}";' for m, ts in sorted(found.items()) for t in sorted(ts)]
    return ["digraph imports {", "  rankdir=LR;", *arrows, "}"]


def main(argv: Sequence[str] | None = None) -> int:
    """Print the graph; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--src", type=Path, default=SRC, help="the folder holding the package")
    parser.add_argument("--depth", type=int, default=0, help="collapse names to N parts")
    parser.add_argument("--dot", action="store_true", help="print Graphviz instead of text")
    options = parser.parse_args(argv)
    lines = render(edges(import_graph(options.src), options.depth), dot=options.dot)
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
