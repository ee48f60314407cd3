"""The blocking-call detector every test runs under (the autouse fixture in conftest.py).

A host's event loop (Home Assistant's, anyone's) must never wait on a file, a lock or a
``sleep`` inside this package: Home Assistant's own detector reports such a call against
whichever integration has no frame on the stack, often the host itself. So the whole suite
runs with `blockbuster <https://github.com/cbornet/blockbuster>`_ switched on: a blocking
call made on a thread that runs an event loop raises ``BlockingError`` when a frame of
``andersen_ev`` (the library, its emulator, its command line run in-process) is on the
stack. Calls from worker threads (``asyncio.to_thread``) and from code that runs no loop
are free, as they should be.

Beyond blockbuster's own list, the calls Home Assistant's detector reports
(``homeassistant/block_async_io.py``) are watched too: ``open()``, a first-time
``importlib.import_module`` and loading certificates into an SSL context.

:data:`ALLOWED` is the allow-list: each entry names where a blocking call is accepted and
why. Keep it short; prefer fixing the code.
"""

from __future__ import annotations

import importlib.util
import ssl
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, NamedTuple

import blockbuster.blockbuster
from blockbuster import BlockBuster, BlockBusterFunction, BlockingError

import andersen_ev

__all__ = ["ALLOWED", "PACKAGE", "Allowed", "BlockingError", "build", "detector"]

#: The code whose blocking calls are reported: the library, emulator and CLI, all in-process.
PACKAGE: Final = str(Path(andersen_ev.__file__).parent)


class Allowed(NamedTuple):
    """A place where a blocking call is accepted: a function of a file, and why."""

    call: str
    filename: str
    functions: frozenset[str]
    reason: str


#: Every accepted blocking call, with its reason. Filenames match the end of a path.
ALLOWED: Final[tuple[Allowed, ...]] = (
    Allowed(
        "builtins.open",
        "_pytest/assertion/rewrite.py",
        frozenset({"_read_pyc", "_write_pyc", "_rewrite_test"}),
        "pytest's assertion rewriting, as it imports a module for the first time: imports"
        " are not what this detector looks for (blockbuster lets importlib and these"
        " functions read; Home Assistant watches import_module, which is watched here)",
    ),
    *(
        Allowed(
            call,
            "logging/__init__.py",
            frozenset({"emit"}),
            "log records go to whatever handlers the host installed, and pytest's own"
            " writes to a file (/dev/null unless --log-file): how a host's handlers write"
            " is the host's choice (Home Assistant queues records to a thread)",
        )
        for call in ("io.TextIOWrapper.write", "io.BufferedWriter.write")
    ),
    *(
        Allowed(
            call,
            "andersen_ev/testing/schedules.py",
            frozenset({"_zone"}),
            "the emulator reads a time zone's file once per process (cached): the default"
            " (Europe/London) at import; another only after a test body chose it with"
            " Charger.set(timeZoneRegion=...), a test's own knob, not a path a client"
            " reaches. The library compares zone names and reads no zone file",
        )
        for call in ("os.stat", "builtins.open", "io.BufferedReader.read")
    ),
    Allowed(
        "threading.Lock.acquire",
        "andersen_ev/sync/_runtime.py",
        frozenset({"release", "close"}),
        "andersen_ev.sync is the blocking facade, for code without an event loop; closing"
        " one of its handles is allowed anywhere and, inside a loop, waits for the facade's"
        " own thread at most CLOSE_TIMEOUT (documented; everything else there refuses to"
        " run in a loop with RunningEventLoopError)",
    ),
)


def _already_imported(name: str, package: str | None = None, *_: Any, **__: Any) -> bool:
    """Importing a module that is already loaded is a dictionary look-up, not file I/O."""
    if name.startswith(".") and package:
        name = importlib.util.resolve_name(name, package)
    return name in sys.modules


def _extra_functions() -> dict[str, BlockBusterFunction]:
    """What Home Assistant's detector reports and blockbuster does not watch by default."""
    scanned = [andersen_ev]
    functions = {
        # blockbuster watches reads and writes; Home Assistant reports the open() itself
        "builtins.open": BlockBusterFunction(None, "builtins.open", scanned_modules=scanned),
        "importlib.import_module": BlockBusterFunction(
            None,
            "importlib.import_module",
            scanned_modules=scanned,
            can_block_predicate=_already_imported,
        ),
    }
    for method in (
        "load_default_certs",
        "load_verify_locations",
        "set_default_verify_paths",
        "load_cert_chain",
    ):
        functions[f"ssl.SSLContext.{method}"] = BlockBusterFunction(
            ssl.SSLContext, method, scanned_modules=scanned
        )
    return functions


class FoundBlockingError(BlockingError):
    """A blocking call, recorded when raised: code that swallows the error still fails."""

    def __init__(self, func: str) -> None:
        super().__init__(func)
        stack = traceback.extract_stack()[:-2]  # without this frame and blockbuster's
        ours = [frame for frame in stack if frame.filename.startswith(PACKAGE)]
        where = f"{ours[-1].filename}:{ours[-1].lineno} in {ours[-1].name}" if ours else "?"
        calls = "".join(traceback.format_list(stack[-12:]))
        FOUND.append(f"{func} in the event loop, from {where}\n{calls}")


#: What the detector found since the last :func:`detector` block started.
FOUND: Final[list[str]] = []


def build() -> BlockBuster:
    """The detector, not yet switched on: blockbuster's calls plus Home Assistant's."""
    buster = BlockBuster(scanned_modules=[andersen_ev])
    buster.functions.update(_extra_functions())
    for allowed in ALLOWED:
        buster.functions[allowed.call].can_block_in(allowed.filename, allowed.functions)
    return buster


@contextmanager
def detector(buster: BlockBuster | None = None) -> Iterator[BlockBuster]:
    """The detector switched on for the duration of the block."""
    buster = buster or build()
    # every error blockbuster raises is recorded, so a broad ``except`` cannot hide it
    blockbuster.blockbuster.BlockingError = FoundBlockingError  # type: ignore[misc]
    FOUND.clear()
    buster.activate()
    try:
        yield buster
    finally:
        buster.deactivate()
