"""Development sessions: ``nox -s tests tests_lowest lint typecheck docs bench soak``.

Every session installs what it needs into its own virtualenv, so a fresh machine with only
Python and ``pip install nox`` runs all of them.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import nox
from packaging.requirements import Requirement
from packaging.version import Version

nox.options.sessions = ["lint", "typecheck", "tests", "tests_lowest"]
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


def declared_floors() -> dict[str, str]:
    """The lowest version ``[project].dependencies`` allows, per runtime dependency.

    Every runtime dependency must declare one (``name>=version``): a host that pins its own
    versions (Home Assistant does) needs to know what really works.
    """
    project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
    floors = {}
    for line in project["dependencies"]:
        requirement = Requirement(line)
        lowest = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        if len(lowest) != 1:
            raise ValueError(f"{line!r}: declare the floor of every dependency as name>=version")
        floors[requirement.name] = lowest[0]
    return floors


#: Prints the installed version of each distribution named on the command line, as JSON.
INSTALLED_VERSIONS = (
    "import json, sys; from importlib.metadata import version; "
    "print(json.dumps({name: version(name) for name in sys.argv[1:]}))"
)


@nox.session(python=PYTHON)
def tests_lowest(session: nox.Session) -> None:
    """Run the test suite with every direct dependency at the lowest version declared.

    uv resolves ``--resolution lowest-direct``: each runtime dependency (and each test
    tool) at its floor in pyproject.toml, what they depend on at its newest. The session
    fails if a runtime dependency did not land exactly on its declared floor (another
    requirement pushed it up: then the floor is not true). No coverage here: ``tests``
    measures it.
    """
    floors = declared_floors()
    session.install("uv>=0.4")
    session.run("uv", "pip", "install", "--resolution", "lowest-direct", "-e", ".[test]")
    output = session.run("python", "-c", INSTALLED_VERSIONS, *floors, silent=True)
    installed = json.loads(str(output).strip().splitlines()[-1])
    wrong = {name: got for name, got in installed.items() if Version(got) != Version(floors[name])}
    if wrong:
        session.error(f"not at their declared floors: {wrong} (declared: {floors})")
    session.log(f"runtime dependencies at their floors: {installed}")
    session.run("pytest", "-W", "error", "-q", "--durations=5", *session.posargs)


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
