"""The blocking-call detector every test runs under (tests/blocking.py) catches what it should.

A blocking call is made from a frame that belongs to the package (code compiled under a
file name inside ``andersen_ev``'s directory), in the event loop, in a worker thread and
from the tests' own code; what the detector found is cleared before the autouse fixture
looks, so only what these tests mean to find is found.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import blocking


def in_package(source: str) -> Callable[..., Any]:
    """``run(**names)``: ``source`` executed as if written in a module of andersen_ev."""
    code = compile(source, str(Path(blocking.PACKAGE) / "blocking_probe.py"), "exec")

    def run(**names: Any) -> Any:
        namespace: dict[str, Any] = dict(names)
        exec(code, namespace)  # noqa: S102 - the test's own source
        return namespace.get("result")

    return run


@pytest.fixture
def found() -> Iterator[list[str]]:
    """What the detector records during the test, cleared before the autouse check."""
    yield blocking.FOUND
    blocking.FOUND.clear()


async def test_a_sleep_in_the_package_on_the_loop_is_found(found: list[str]) -> None:
    with pytest.raises(blocking.BlockingError, match="sleep"):
        in_package("time.sleep(0)")(time=time)
    assert len(found) == 1
    assert "blocking_probe.py" in found[0]


async def test_a_swallowed_blocking_error_is_still_recorded(found: list[str]) -> None:
    source = "try:\n    open(path, 'rb')\nexcept Exception:\n    result = 'swallowed'"
    assert in_package(source)(path=__file__) == "swallowed"
    assert [entry.split(" ", 1)[0] for entry in found] == ["builtins.open"]


async def test_the_same_call_off_the_loop_or_outside_the_package_is_free(
    found: list[str],
) -> None:
    read = in_package("with open(path, 'rb') as file:\n    result = file.read(10)")
    assert await asyncio.to_thread(read, path=__file__) == b'"""The blo'
    with open(__file__, "rb") as file:  # noqa: ASYNC230 - the tests' own code is not watched
        assert file.read(3) == b'"""'
    assert found == []


async def test_first_imports_are_found_and_loaded_modules_are_not(found: list[str]) -> None:
    imports = in_package("import importlib\nresult = importlib.import_module(name)")
    assert imports(name="asyncio") is asyncio  # already loaded: a dictionary look-up
    with pytest.raises(blocking.BlockingError, match="import_module"):
        imports(name="tests.never_imported_module")
    assert len(found) == 1


def test_a_synchronous_test_runs_no_loop_and_may_block(found: list[str]) -> None:
    in_package("time.sleep(0)")(time=time)
    assert found == []


def test_every_exception_names_a_watched_call_and_gives_its_reason() -> None:
    watched = blocking.build().functions
    for allowed in blocking.ALLOWED:
        assert allowed.call in watched, allowed
        assert allowed.functions, allowed
        assert len(allowed.reason) > 40, allowed
