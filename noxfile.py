"""Development sessions: ``nox -s tests tests_lowest lint typecheck docs mutation``, and more.

Every session installs what it needs into its own virtualenv, so a fresh machine with only
Python and ``pip install nox`` runs all of them.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import nox
from packaging.requirements import Requirement
from packaging.version import Version

nox.options.sessions = ["lint", "typecheck", "tests", "tests_lowest"]
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

PYTHON = ["3.11"]
# griffelib: tools/docs_roles.py is a griffe extension of the docs build
TYPECHECK_DEPS = ["mypy>=1.11", "botocore-stubs", "nox", "griffelib>=2"]


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

#: Test files ``tests_lowest`` leaves to ``tests``, to keep CI short (``tests_lowest`` runs
#: the rest, about a third of the suite's time): none is about how a runtime dependency
#: behaves; each exercises what the files it keeps already run, through a slower door.
LOWEST_LEAVES_OUT = {
    # child processes (interpreter start-up dominates); the same calls run in-process
    "tests/test_cli_process.py": "the CLI in child processes (test_cli.py runs it in-process)",
    "tests/test_docs_examples.py": "the docs' examples, mostly in child processes",
    "tests/test_examples.py": "examples/ in child processes",
    "tests/test_pytest_plugin.py": "whole pytest runs in child processes",
    "tests/testing/test_standalone.py": "the emulator as a process",
    # many random inputs: the same models and paths as test_models.py, test_http.py ...
    "tests/test_properties.py": "hypothesis over the models (test_models.py: the same models)",
    "tests/test_planning_properties.py": "hypothesis over the planner (pure, stdlib only)",
    "tests/test_fuzz_replies.py": "random replies (test_http.py, test_stream*.py: the paths)",
    "tests/test_soak.py": "a soak of faults (test_stream*.py: the same reconnections)",
    # judged by test tools, or by the standard library alone
    "tests/testing/test_cognito_third_party.py": "boto3 and pycognito judge the emulator",
    "tests/test_srp.py": "SRP maths against pycognito (stdlib maths)",
    "tests/test_token_store.py": "file handling with killed writers (stdlib files)",
}


@nox.session(python=PYTHON)
def tests_lowest(session: nox.Session) -> None:
    """Run the test suite with every runtime dependency at the lowest version declared.

    The runtime dependencies are pinned to their floors in pyproject.toml (a constraints
    file made from it); the test tools, and what everything depends on, resolve as usual
    (newest that fits): the floors are a promise to hosts (Home Assistant pins its own
    versions), the test tools are not. The session fails if the floors cannot be
    installed together, or did not land exactly (a floor that another dependency pushes
    up is not true). It runs the suite but :data:`LOWEST_LEAVES_OUT`, so that CI runs
    both sessions in well under 15 minutes on two cores; ``nox -s tests_lowest -- tests``
    runs every file. No coverage here: ``tests`` measures it.
    """
    floors = declared_floors()
    # beside the virtualenv's bin/ (session.create_tmp() would set TMPDIR for the tests too)
    constraints = Path(session.bin).parent / "floors.txt"
    constraints.write_text("".join(f"{name}=={version}\n" for name, version in floors.items()))
    session.install("uv>=0.4")
    # --upgrade: test tools at their newest in a reused virtualenv too, as in a new one
    session.run(
        "uv", "pip", "install", "--upgrade", "--constraint", str(constraints), "-e", ".[test]"
    )
    output = session.run("python", "-c", INSTALLED_VERSIONS, *floors, silent=True)
    installed = json.loads(str(output).strip().splitlines()[-1])
    wrong = {name: got for name, got in installed.items() if Version(got) != Version(floors[name])}
    if wrong:
        session.error(f"not at their declared floors: {wrong} (declared: {floors})")
    session.log(f"runtime dependencies at their floors: {installed}")
    selection = list(session.posargs) or [
        "tests",
        "-m",
        "not slow",
        *(f"--ignore={path}" for path in LOWEST_LEAVES_OUT),
    ]
    session.run("pytest", "-W", "error", "-q", "--durations=5", *selection)


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
    """Build the documentation site with warnings treated as errors, then check its pages.

    Docstrings keep Sphinx roles; ``tools/docs_roles.py`` turns them into cross-links at build
    time and then fails the session if any page still shows raw markup (``:class:`` ...).
    """
    session.install("-e", ".[docs]")
    session.run(
        "mkdocs", "build", "--strict", "--site-dir", "site", env={"NO_MKDOCS_2_WARNING": "1"}
    )
    session.run("python", "tools/docs_roles.py", "site")


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
#: Where each module's mutants are made and run: .mutation/<module>/ (git-ignored).
MUTATION_DIR = Path(".mutation")
#: mutmut's exit codes, by outcome (mutmut/stats.py): the rest are "suspicious".
_MUTANT_OUTCOMES: dict[str, set[int | None]] = {
    "killed": {1, 3},
    "timeout": {24, -24, 152, 255, 36},
    "survived": {0},
    "no tests": {5, 33},
    "not checked": {None},
}


def _mutation_plan() -> dict[str, list[str]]:
    """Each module ``nox -s mutation`` mutates, with its test files (pyproject.toml)."""
    config = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))
    plan: dict[str, list[str]] = config["tool"]["andersen_ev"]["mutation"]
    return plan


def _module_name(module: str) -> str:
    """The dotted name of a module's path (``src/a/b.py`` -> ``a.b``): its mutants' prefix."""
    return module.removeprefix("src/").removesuffix(".py").replace("/", ".")


def _mutation_targets(
    session: nox.Session, args: list[str]
) -> tuple[dict[str, list[str]], list[str]]:
    """The modules to mutate with the mutants to rerun, and the arguments left for mutmut.

    Paths pick modules (all their mutants rerun); ``--changed [REF]`` the modules changed
    since the merge base with REF (default ``main``), committed or not; a mutant's name (or
    a pattern) reruns it; nothing picks every module (the mutants without a result yet run).
    ``--survivors`` reruns only the mutants of the modules picked not detected last time.
    """
    modules = list(_mutation_plan())
    chosen: dict[str, list[str]] = {}
    rest: list[str] = []
    survivors = "--survivors" in args
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--changed":
            ref = "main"
            if index + 1 < len(args) and not args[index + 1].startswith("-"):
                ref = args[index + 1]
                index += 1
            for module in _changed(modules, ref):
                chosen.setdefault(module, []).append(f"{_module_name(module)}.*")
        elif arg.endswith(".py"):
            module = Path(arg).as_posix().removeprefix("./")
            if module not in modules:
                session.error(f"{arg} is not one of the mutated modules: {', '.join(modules)}")
            chosen.setdefault(module, []).append(f"{_module_name(module)}.*")
        elif "__mutmut_" in arg:
            owner = [m for m in modules if arg.startswith(_module_name(m) + ".")]
            if not owner:
                session.error(f"{arg} is not a mutant of {', '.join(modules)}")
            chosen.setdefault(owner[0], []).append(arg)
        elif arg != "--survivors":
            rest.append(arg)
        index += 1
    if not chosen and "--changed" not in args:
        chosen = {module: [] for module in modules}
    if survivors:  # of the modules picked, only the mutants not detected last time
        chosen = {module: _undetected(module) for module in chosen if _undetected(module)}
    return chosen, rest


def _changed(modules: list[str], ref: str) -> list[str]:
    """The ``modules`` changed since the merge base with ``ref``, committed or not."""
    changed = subprocess.run(
        ["git", "diff", "--name-only", "--merge-base", ref],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [module for module in modules if module in changed]


def _mutation_workdir(module: str, tests: list[str]) -> Path:
    """Where mutmut runs for ``module``: ``.mutation/<module>/``.

    It holds links to src/ and tests/ and a pyproject.toml made for ``module``; mutmut keeps
    its copy of the code and its results in its ``mutants/``.
    """
    workdir = MUTATION_DIR / _module_name(module).removeprefix("andersen_ev.")
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("src", "tests"):
        link = workdir / name
        if not link.is_symlink():
            link.symlink_to(Path("../..") / name, target_is_directory=True)
    config = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["tool"]
    mutmut = {
        **config["mutmut"],
        "only_mutate": [module],
        "pytest_add_cli_args_test_selection": tests,
    }
    # JSON strings, numbers, booleans and lists of them are TOML too
    lines = ["[tool.pytest.ini_options]"]
    lines += [
        f"{key} = {json.dumps(value)}" for key, value in config["pytest"]["ini_options"].items()
    ]
    lines += ["", "[tool.mutmut]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in mutmut.items()]
    (workdir / "pyproject.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return workdir


def _mutant_results(module: str) -> dict[str, int | None]:
    """The exit code of each mutant of ``module`` in its last run (none before)."""
    workdir = MUTATION_DIR / _module_name(module).removeprefix("andersen_ev.")
    meta = workdir / "mutants" / f"{module}.meta"
    if not meta.exists():
        return {}
    codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    return codes


def _undetected(module: str) -> list[str]:
    """The mutants of ``module`` its tests did not detect in their last run."""
    detected = _MUTANT_OUTCOMES["killed"] | _MUTANT_OUTCOMES["timeout"]
    return [name for name, code in _mutant_results(module).items() if code not in detected]


def _mutation_summary(session: nox.Session, module: str) -> None:
    """Log the outcomes of a module's mutants, and the diff of each one not detected."""
    codes = _mutant_results(module)
    counts = dict.fromkeys([*_MUTANT_OUTCOMES, "suspicious"], 0)
    undetected = []
    for name, code in sorted(codes.items()):
        outcome = next((o for o, c in _MUTANT_OUTCOMES.items() if code in c), "suspicious")
        counts[outcome] += 1
        if outcome not in ("killed", "timeout"):
            undetected.append(name)
    detected = counts["killed"] + counts["timeout"]
    score = f"{100 * detected / len(codes):.1f} %" if codes else "-"
    details = ", ".join(f"{n} {o}" for o, n in counts.items() if n)
    session.log(f"{module}: {detected} of {len(codes)} mutants detected ({score}): {details}")
    with session.chdir(MUTATION_DIR / _module_name(module).removeprefix("andersen_ev.")):
        for name in undetected:
            session.run("mutmut", "show", name)


@nox.session(python=PYTHON)
def mutation(session: nox.Session) -> None:
    """Mutation-test the modules that carry promises with mutmut (slow: not run in CI).

    ``nox -s mutation`` runs, module by module, every mutant without a result yet (all of
    them on a fresh machine; after a change, those of the changed functions).
    ``nox -s mutation -- src/andersen_ev/srp.py`` reruns all mutants of the modules named,
    ``-- --changed [REF]`` those of the modules changed since the merge base with REF
    (default ``main``), ``-- andersen_ev.srp.x_pad__mutmut_3`` that mutant, and
    ``-- --survivors`` (with modules: of those) the mutants not detected last time, after
    adding tests to a file of the module's list (a file added to the list resets its
    results). Other arguments go to ``mutmut run`` (``--max-children 1``).

    The modules and their test files are in ``[tool.andersen_ev.mutation]`` of
    pyproject.toml; each mutant runs only the tests, from its module's files, that call the
    function it changes, under a time bound of (their unmutated time + 10 s) x 4. Each
    module's results stay in ``.mutation/<module>/``; the summary shows the diff of every
    mutant not detected. Scores and equivalent mutants: docs/reliability.md.
    """
    session.install("-e", ".[test]", MUTMUT)
    targets, rest = _mutation_targets(session, list(session.posargs))
    if not targets:
        session.log("no module of [tool.andersen_ev.mutation] changed: nothing to do")
    plan = _mutation_plan()
    for module, names in targets.items():
        workdir = _mutation_workdir(module, plan[module])
        session.log(f"{module}: mutants in {workdir}, tests from {', '.join(plan[module])}")
        with session.chdir(workdir):
            session.run("mutmut", "run", *rest, *names)
    for module in targets:
        _mutation_summary(session, module)
