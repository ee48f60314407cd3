"""The Andersen cloud's API as data: the schema and the operation documents.

This package is the single source of truth shared by the client and the emulator in
:mod:`andersen_ev.testing`. Documents are plain ``.graphql`` files shipped with the
package: one operation per file in ``operations/``, and in ``fragments/`` one fragment per
file (named after it) for selections that several operations share. Every file is read
once, when this module is imported (a few kilobytes, and nothing is parsed), so no file is
ever read on an event loop. :func:`operation_document` appends to an operation the
fragments it uses, so each request is a standalone document.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, Final

__all__ = [
    "OPERATION_NAMES",
    "UNAUTHENTICATED",
    "error_codes",
    "operation_document",
    "schema_sdl",
    "with_fragments",
]

#: The ``extensions.code`` with which Apollo refuses a token (while creating the request's
#: context, before executing anything), over HTTP and on websockets alike.
UNAUTHENTICATED: Final = "UNAUTHENTICATED"

_PACKAGE = resources.files(__name__)


def _read_documents(folder: Traversable) -> dict[str, str]:
    """Every ``.graphql`` file of ``folder``, by file stem."""
    return {
        entry.name.removesuffix(".graphql"): entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".graphql")
    }


_SCHEMA: Final = _PACKAGE.joinpath("schema.graphql").read_text(encoding="utf-8")
_OPERATIONS: Final = _read_documents(_PACKAGE.joinpath("operations"))
_FRAGMENTS: Final = _read_documents(_PACKAGE.joinpath("fragments"))

#: ``...Name`` (a fragment spread), not ``... on Type`` (an inline fragment).
_SPREAD: Final = re.compile(r"\.\.\.\s*(?!on\b)([_A-Za-z][_0-9A-Za-z]*)")
#: A comment, to its end of line (the documents hold no string literals, where ``#`` is text).
_COMMENT: Final = re.compile(r"#[^\n\r]*")

#: Every operation the library sends, by GraphQL operation name (the file stem).
OPERATION_NAMES: tuple[str, ...] = tuple(sorted(_OPERATIONS))


def schema_sdl() -> str:
    """Return the SDL of the Andersen cloud's GraphQL schema (``schema.graphql``)."""
    return _SCHEMA


@cache
def operation_document(name: str) -> str:
    """Return the GraphQL document of one operation, by its operation name.

    The document is the operation followed by every fragment it uses, directly or through
    another fragment, and no other: a standalone document that validates on its own.

    Raises:
        KeyError: ``name`` is not one of :data:`OPERATION_NAMES`.
    """
    if name not in OPERATION_NAMES:
        raise KeyError(f"unknown operation {name!r}; known: {', '.join(OPERATION_NAMES)}")
    return with_fragments(_OPERATIONS[name])


def with_fragments(operation: str) -> str:
    """Return ``operation`` (the text of one operation) followed by the fragments it uses.

    The fragments used directly or through another fragment, from ``fragments/``, and no
    other: a standalone document. For documents built in code from constants (the batched
    status read of :mod:`andersen_ev.batch`); :func:`operation_document` is this for files.

    Raises:
        KeyError: a spread names no fragment file.
    """
    definitions = [_definition(operation)]
    used = set()
    for definition in definitions:  # grows while it is walked: the fragments' fragments
        for fragment in _SPREAD.findall(definition):
            if fragment not in used:
                used.add(fragment)
                definitions.append(_definition(_FRAGMENTS[fragment]))
    return "\n".join(definitions)


def _definition(text: str) -> str:
    """A document file without its comments and blank lines (they need not travel)."""
    lines = (line.rstrip() for line in _COMMENT.sub("", text).splitlines())
    return "".join(f"{line}\n" for line in lines if line)


def error_codes(errors: list[Any]) -> set[str]:
    """The ``extensions.code`` values of a GraphQL ``errors`` list (malformed items skipped)."""
    codes = set()
    for error in errors:
        if isinstance(error, dict) and isinstance(error.get("extensions"), dict):
            code = error["extensions"].get("code")
            if isinstance(code, str):
                codes.add(code)
    return codes
