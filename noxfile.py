"""Development sessions: ``nox -s tests lint typecheck docs bench soak tests_wire_variants``.

Every session installs what it needs into its own virtualenv, so a fresh machine with only
Python and ``pip install nox`` runs all of them.
"""

from __future__ import annotations

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
def tests_wire_variants(session: nox.Session) -> None:
    """Run the test suite with every emulator sending the wire variants.

    Numbers as strings (``evseState: "3"``), floats for integers, null keys left out and
    unknown keys added, as other clients saw the real service answer: the library must
    read them all the same (see docs/testing.md).
    """
    session.install("-e", ".[test]")
    session.run(
        "pytest",
        "-W",
        "error",
        "--durations=10",
        *session.posargs,
        env={"ANDERSEN_EV_EMULATOR_WIRE_VARIANTS": "1"},
    )


@nox.session(python=PYTHON)
def bench_emulator(session: nox.Session) -> None:
    """Print the emulator's CPU per ``getDeviceStatus`` beside a minimal aiohttp server's."""
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/emulator.py", *session.posargs)


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
