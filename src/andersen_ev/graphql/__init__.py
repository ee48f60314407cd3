"""The Andersen cloud's API as data: the schema and the operation documents.

This package is the single source of truth shared by the client and the emulator in
:mod:`andersen_ev.testing`. Documents are plain ``.graphql`` files shipped with the
package; they are read once, lazily, and cached (a few kilobytes, read on first use).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Final

__all__ = ["OPERATION_NAMES", "UNAUTHENTICATED", "error_codes", "operation_document", "schema_sdl"]

#: The ``extensions.code`` with which Apollo refuses a token (while creating the request's
#: context, before executing anything), over HTTP and on websockets alike.
UNAUTHENTICATED: Final = "UNAUTHENTICATED"

_PACKAGE = resources.files(__name__)

#: Every operation the library sends, by GraphQL operation name (the file stem).
OPERATION_NAMES: tuple[str, ...] = tuple(
    sorted(
        entry.name.removesuffix(".graphql")
        for entry in _PACKAGE.joinpath("operations").iterdir()
        if entry.name.endswith(".graphql")
    )
)


@cache
def schema_sdl() -> str:
    """Return the SDL of the Andersen cloud's GraphQL schema (``schema.graphql``)."""
    return _PACKAGE.joinpath("schema.graphql").read_text(encoding="utf-8")


@cache
def operation_document(name: str) -> str:
    """Return the GraphQL document of one operation, by its operation name.

    Raises:
        KeyError: ``name`` is not one of :data:`OPERATION_NAMES`.
    """
    if name not in OPERATION_NAMES:
        raise KeyError(f"unknown operation {name!r}; known: {', '.join(OPERATION_NAMES)}")
    return _PACKAGE.joinpath("operations", f"{name}.graphql").read_text(encoding="utf-8")


def error_codes(errors: list[Any]) -> set[str]:
    """The ``extensions.code`` values of a GraphQL ``errors`` list (malformed items skipped)."""
    codes = set()
    for error in errors:
        if isinstance(error, dict) and isinstance(error.get("extensions"), dict):
            code = error["extensions"].get("code")
            if isinstance(code, str):
                codes.add(code)
    return codes
