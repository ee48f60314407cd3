"""Development sessions: ``nox -s tests lint typecheck docs bench soak mutation``.

Every session installs what it needs into its own virtualenv, so a fresh machine with only
Python and ``pip install nox`` runs all of them.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

PYTHON = ["3.11"]
TYPECHECK_DEPS = ["mypy>=1.11", "botocore-stubs", "nox"]


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite with branch coverage (fails under 95 %).

    Every test is bounded in time (pytest-timeout, configured in pyproject.toml); the ten
    slowest are listed, to keep the suite's wall time in sight.
    """
    session.install("-e", ".[test]")
    session.run(
        "pytest",
        "-W",
        "error",
        "--cov",
        "--cov-report=term-missing",
        "--durations=10",
        *session.posargs,
    )


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Lint and check formatting with ruff."""
    session.install("ruff>=0.6")
    paths = ("src", "tests", "tools", "noxfile.py", "benchmarks", "examples")
    session.run("ruff", "check", *paths, *session.posargs)
    session.run("ruff", "format", "--check", *paths)


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Type-check the package, tests and noxfile with ``mypy --strict``."""
    session.install("-e", ".[test]", *TYPECHECK_DEPS)
    session.run("mypy", "--strict", *session.posargs)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation site with warnings treated as errors."""
    session.install("-e", ".[docs]")
    session.run(
        "mkdocs", "build", "--strict", "--site-dir", "site", env={"NO_MKDOCS_2_WARNING": "1"}
    )


SEED_REQUIREMENTS = [
    # the seed declares no dependencies: what its README and code need, at the versions
    # of its time (gql 3: its RequestsHTTPTransport and WebsocketsTransport)
    "andersen-ev==0.1.4",
    "requests",
    "pycognito",
    "botocore",
    "gql[requests,websockets]>=3.4,<4",
]


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run the benchmarks (seed included, in its own venv) and write docs/performance.md."""
    session.install("-e", ".[test]")
    seed = Path(session.create_tmp()) / "seed-venv"
    if not (seed / "bin" / "python").exists():
        session.run("python", "-m", "venv", str(seed))
    session.run(
        str(seed / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        *SEED_REQUIREMENTS,
        external=True,
    )
    session.run(
        "python",
        "benchmarks/run.py",
        "--output",
        "docs/performance.md",
        "--seed-python",
        str(seed / "bin" / "python"),
        *session.posargs,
    )


@nox.session(python=PYTHON)
def soak(session: nox.Session) -> None:
    """Soak streams, queries and commands under injected faults; write docs/reliability.md.

    Bounded to 5 minutes, loopback only. ``nox -s soak -- --duration 20`` for a short run.
    """
    session.install("-e", ".")
    session.run("python", "benchmarks/soak.py", "--output", "docs/reliability.md", *session.posargs)


#: The mutation tester, pinned: which mutants exist (and their numbers, named in
#: docs/reliability.md) depends on its version.
MUTMUT = "mutmut==3.8.1"
#: mutmut's exit codes, by outcome (mutmut/stats.py): the rest are "suspicious".
_MUTANT_OUTCOMES: dict[str, set[int | None]] = {
    "killed": {1, 3},
    "timeout": {24, -24, 152, 255, 36},
    "survived": {0},
    "no tests": {5, 33},
    "not checked": {None},
}


def _mutation_modules() -> list[str]:
    """The modules ``nox -s mutation`` may mutate: ``only_mutate`` of ``[tool.mutmut]``."""
    config = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))
    modules: list[str] = config["tool"]["mutmut"]["only_mutate"]
    return modules


def _mutation_targets(session: nox.Session, args: list[str]) -> tuple[list[str], list[str]]:
    """The modules to mutate from the session's arguments, and the arguments left for mutmut.

    ``--changed [REF]`` picks the modules changed since the merge base with REF (default
    ``main``), committed or not; paths pick those modules; nothing picks every module.
    """
    modules = _mutation_modules()
    chosen: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--changed":
            ref = "main"
            if index + 1 < len(args) and not args[index + 1].startswith("-"):
                ref = args[index + 1]
                index += 1
            changed = subprocess.run(
                ["git", "diff", "--name-only", "--merge-base", ref],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            chosen += [module for module in modules if module in changed]
            if not chosen:
                session.log(f"no module of [tool.mutmut] only_mutate changed since {ref}")
        elif arg.endswith(".py"):
            path = Path(arg).as_posix().removeprefix("./")
            if path not in modules:
                session.error(f"{arg} is not one of the mutated modules: {', '.join(modules)}")
            chosen.append(path)
        else:
            rest.append(arg)
        index += 1
    return list(dict.fromkeys(chosen)), rest


def _mutant_glob(module: str) -> str:
    """The name pattern of every mutant of ``module`` (``src/a/b.py`` -> ``a.b.*``)."""
    return module.removeprefix("src/").removesuffix(".py").replace("/", ".") + ".*"


def _mutation_summary(session: nox.Session, modules: list[str]) -> None:
    """Log the outcome of each module's mutants, and the names of the survivors."""
    for module in modules:
        meta = Path("mutants") / f"{module}.meta"
        if not meta.exists():
            session.log(f"{module}: no results yet")
            continue
        codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        counts = dict.fromkeys([*_MUTANT_OUTCOMES, "suspicious"], 0)
        survivors = []
        for name, code in sorted(codes.items()):
            outcome = next((o for o, c in _MUTANT_OUTCOMES.items() if code in c), "suspicious")
            counts[outcome] += 1
            if outcome in ("survived", "no tests", "suspicious"):
                survivors.append(f"{name} ({outcome})")
        detected = counts["killed"] + counts["timeout"]
        total = len(codes)
        score = f"{100 * detected / total:.1f} %" if total else "-"
        details = ", ".join(f"{n} {o}" for o, n in counts.items() if n)
        session.log(f"{module}: {detected}/{total} detected ({score}): {details}")
        for survivor in survivors:
            session.log(f"    {survivor}")


@nox.session(python=PYTHON)
def mutation(session: nox.Session) -> None:
    """Mutation-test the modules that carry promises with mutmut; too slow for CI.

    ``nox -s mutation`` runs every mutant of every module in ``[tool.mutmut] only_mutate``
    that has no result yet (all of them on a fresh machine; after a change, those of the
    changed functions). ``nox -s mutation -- src/andersen_ev/srp.py`` reruns all mutants of
    the modules named; ``nox -s mutation -- --changed [REF]`` those of the modules changed
    since the merge base with REF (default ``main``). Other arguments go to ``mutmut run``
    (``--max-children 1``).

    Each mutant runs only the tests that call the function it changes (from the test files
    listed in ``[tool.mutmut]``), under a time bound of (their unmutated time + 10 s) x 4.
    Results stay in ``mutants/``: ``mutmut show NAME`` prints a mutant's diff,
    ``mutmut browse`` lists them all. Scores and equivalent mutants: docs/reliability.md.
    """
    session.install("-e", ".[test]", MUTMUT)
    modules, rest = _mutation_targets(session, list(session.posargs))
    if "--changed" in session.posargs and not modules:
        return
    session.run("mutmut", "run", *rest, *map(_mutant_glob, modules))
    _mutation_summary(session, modules or _mutation_modules())
