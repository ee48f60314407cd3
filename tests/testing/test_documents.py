"""The operation documents: fragments change how they are written, never what they select.

The service sends what an operation selects (a ``deviceStatusUpdated`` event carries fewer
fields than a ``getDeviceStatus`` snapshot), so every operation must select exactly the
field paths it selected before shared selections became fragments. The documents of then
are kept in ``data/operations_before_fragments.graphql``; paths are compared with the
fragments expanded by graphql-core's parser, an implementation independent of the regex
with which :func:`andersen_ev.graphql.operation_document` finds the fragments to append.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import pytest
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    build_schema,
    parse,
    print_ast,
    validate,
)

from andersen_ev import graphql as documents
from andersen_ev.graphql import OPERATION_NAMES, operation_document, schema_sdl
from tests.processes import Children
from tests.testing.selections import fragments, operations, selected_paths, spreads

BEFORE: DocumentNode = parse(
    (Path(__file__).parent / "data" / "operations_before_fragments.graphql").read_text()
)
FRAGMENT_FILES = {
    entry.name.removesuffix(".graphql"): entry.read_text(encoding="utf-8")
    for entry in resources.files(documents).joinpath("fragments").iterdir()
    if entry.name.endswith(".graphql")
}


def variables(operation: OperationDefinitionNode) -> list[str]:
    """An operation's variable definitions, printed."""
    return [print_ast(variable) for variable in operation.variable_definitions or ()]


def test_the_baseline_holds_every_operation() -> None:
    assert sorted(operations(BEFORE)) == list(OPERATION_NAMES)
    assert fragments(BEFORE) == {}


@pytest.mark.parametrize("name", OPERATION_NAMES)
def test_every_operation_selects_what_it_selected_before_fragments(name: str) -> None:
    after = parse(operation_document(name))
    assert selected_paths(after, name) == selected_paths(BEFORE, name)
    before_operation, after_operation = operations(BEFORE)[name], operations(after)[name]
    assert after_operation.operation == before_operation.operation
    assert variables(after_operation) == variables(before_operation)


@pytest.mark.parametrize("name", OPERATION_NAMES)
def test_every_document_is_one_operation_and_exactly_the_fragments_it_uses(name: str) -> None:
    document = parse(operation_document(name))
    assert list(operations(document)) == [name]
    defined = [d.name.value for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
    assert len(defined) == len(set(defined)), "a fragment is defined twice"
    used: set[str] = set()
    pending = [operations(document)[name].selection_set]
    while pending:  # transitively: a fragment's own spreads count
        for spread in spreads(pending.pop()) - used:
            used.add(spread)
            pending.append(fragments(document)[spread].selection_set)
    assert set(defined) == used
    # graphql-core's validation agrees (NoUnusedFragments, KnownFragmentNames, ...)
    assert validate(build_schema(schema_sdl()), document) == []


def test_the_fragments_are_shared_and_named_after_their_files() -> None:
    used_by: dict[str, set[str]] = {name: set() for name in FRAGMENT_FILES}
    for operation in OPERATION_NAMES:
        for fragment in fragments(parse(operation_document(operation))):
            used_by[fragment].add(operation)
    for name, text in FRAGMENT_FILES.items():
        assert list(fragments(parse(text))) == [name], f"fragments/{name}.graphql"
        assert used_by[name], f"fragment {name} is used by no operation"
    # the status selections are shared by the snapshot, the simple status and the event
    assert used_by["DeviceStatusSummary"] == {
        "deviceStatusUpdated",
        "getDeviceStatus",
        "getDeviceStatusSimple",
    }
    assert used_by["ScheduleSlotFields"] == {"deviceStatusUpdated", "getDevice", "getDeviceStatus"}


def test_documents_carry_no_comments() -> None:
    # comments in the package files are for readers; each request need not carry them
    for name in OPERATION_NAMES:
        assert "#" not in operation_document(name)


def test_unknown_operation_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="unknown operation 'nope'"):
        operation_document("nope")


@contextmanager
def opened_files() -> Iterator[list[str]]:
    """Every file opened in this process while the block runs (audit hooks see them all)."""
    opened: list[str] = []
    recording = [True]

    def hook(event: str, args: tuple[object, ...]) -> None:
        if recording[0] and event == "open":
            opened.append(str(args[0]))

    sys.addaudithook(hook)  # hooks cannot be removed: this one goes quiet instead
    try:
        yield opened
    finally:
        recording[0] = False


def test_documents_and_schema_are_read_at_import_not_on_use() -> None:
    operation_document.cache_clear()
    with opened_files() as opened:
        texts = [operation_document(name) for name in OPERATION_NAMES] + [schema_sdl()]
    assert all(texts)
    assert opened == []


async def test_importing_the_documents_parses_nothing(children: Children) -> None:
    # import time matters to hosts: the documents are read, not parsed (no graphql-core)
    code = (
        "import sys, andersen_ev.graphql as g\n"
        "assert len(g.OPERATION_NAMES) > 20 and g.schema_sdl()\n"
        "print(sorted(m for m in sys.modules if m == 'graphql' or m.startswith('graphql.')))\n"
    )
    result = await asyncio.to_thread(children.run, [sys.executable, "-c", code])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
